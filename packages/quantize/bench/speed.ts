/**
 * Single-threaded quantisation speed on TinyLlama-1.1B-shaped tensors (random weights; best of 5), in
 * millions of weights per second.
 * Run from the repo root: `npx tsx --conditions source packages/quantize/bench/speed.ts`
 */
import {
  quantizeGatherBlock,
  quantizeMatMulNBits,
  quantizePerChannelInt8,
  type BlockSize,
  type QuantBits,
} from '../src/index.js';

function weights(n: number): Float32Array {
  const w = new Float32Array(n);
  let s = 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    w[i] = (s / 2 ** 32 - 0.5) * 0.05;
  }
  return w;
}

/**
 * Best of 5 runs, as M weights per second of wall time and per second of this thread's CPU time
 * (the latter is what a single core delivers when the machine is shared).
 */
function best(n: number, f: () => unknown): { wall: number; cpu: number } {
  let wall = Infinity;
  let cpu = Infinity;
  for (let r = 0; r < 5; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    f();
    wall = Math.min(wall, performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu = Math.min(cpu, (c.user + c.system) / 1e3);
  }
  return { wall: n / wall / 1e3, cpu: n / cpu / 1e3 };
}

const print = (label: string, r: { wall: number; cpu: number }) =>
  process.stdout.write(`${label.padEnd(58)} ${r.wall.toFixed(0).padStart(5)} M/s wall ${r.cpu.toFixed(0).padStart(5)} M/s cpu\n`);

const mlp = { N: 5632, K: 2048 }; // gate_proj / up_proj
const down = { N: 2048, K: 5632 }; // down_proj
const wMlp = weights(mlp.N * mlp.K);
const wDown = weights(down.N * down.K);
for (const bits of [4, 8] as QuantBits[]) {
  for (const symmetric of [true, false]) {
    for (const blockSize of [32, 128] as BlockSize[]) {
      const opts = { bits, blockSize, symmetric };
      print(`MatMulNBits bits=${bits} ${symmetric ? 'sym ' : 'asym'} block=${blockSize} [5632, 2048]`, best(wMlp.length, () => quantizeMatMulNBits(wMlp, mlp.N, mlp.K, opts)));
    }
  }
}
print('MatMulNBits bits=4 sym  block=32 [2048, 5632]', best(wDown.length, () => quantizeMatMulNBits(wDown, down.N, down.K, { bits: 4, blockSize: 32, symmetric: true })));
const V = 32000;
const E = 2048;
const table = weights(V * E);
print(`GatherBlockQuantized bits=4 asym block=32 [${V}, ${E}]`, best(table.length, () => quantizeGatherBlock(table, V, E, { bits: 4, blockSize: 32, symmetric: false })));
print(`GatherBlockQuantized bits=8 sym  block=32 [${V}, ${E}]`, best(table.length, () => quantizeGatherBlock(table, V, E, { bits: 8, blockSize: 32, symmetric: true })));
print('per-channel int8 sym (transposed) [5632, 2048]', best(wMlp.length, () => quantizePerChannelInt8(wMlp, mlp.N, mlp.K, { symmetric: true })));
print('per-channel int8 asym (transposed) [2048, 5632]', best(wDown.length, () => quantizePerChannelInt8(wDown, down.N, down.K, { symmetric: false })));
