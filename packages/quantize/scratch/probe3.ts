import { attr } from '@tinyllama/core';
import { GraphBuilder } from '@tinyllama/onnx';
import * as ort from 'onnxruntime-node';

function rand(n: number, seed = 1) { let s = seed; const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = ((s >>> 8) / (1 << 24) - 0.5) * 0.1; } return a; }
const K = 2048, N = 5632;
async function bench(name: string, build: (g: GraphBuilder, a: string) => string, M: number) {
  const g = new GraphBuilder(); g.useOpset('com.microsoft', 1);
  const a = g.input('A', 'float32', ['M', K]);
  const y = build(g, a);
  g.node('Identity', [y], { outputs: ['Y'] }); g.output('Y', 'float32', ['M', N]);
  const sess = await ort.InferenceSession.create(await g.build().toBytes(), { intraOpNumThreads: 2 });
  const feeds = { A: new ort.Tensor('float32', rand(M * K, 3), [M, K]) };
  for (let i = 0; i < 3; i++) await sess.run(feeds);
  const reps = M === 1 ? 50 : 10; const t0 = performance.now();
  for (let i = 0; i < reps; i++) await sess.run(feeds);
  const ms = (performance.now() - t0) / reps;
  console.log(`${name.padEnd(34)} M=${M}: ${ms.toFixed(3)} ms`);
  await sess.release();
}
const nbits = (bits: number, acc: number, bs = 32, zp = false) => (g: GraphBuilder, a: string) => {
  const nb = K / bs, blob = bs * bits / 8;
  const B = g.initializer('B', { dtype: 'uint8', dims: [N, nb, blob], data: new Uint8Array(N * nb * blob).map((_, i) => (i * 37) & 255) });
  const s = g.initializer('s', { dtype: 'float32', dims: [N * nb], data: rand(N * nb).map(Math.abs) });
  const ins = [a, B, s];
  if (zp) ins.push(g.initializer('zp', { dtype: 'uint8', dims: [N, Math.ceil(nb * bits / 8)], data: new Uint8Array(N * Math.ceil(nb * bits / 8)).fill(bits === 4 ? 0x88 : 128) }));
  return g.op('MatMulNBits', ins, { K: attr.int(K), N: attr.int(N), bits: attr.int(bits), block_size: attr.int(bs), accuracy_level: attr.int(acc) }, 'com.microsoft');
};
const fp32 = (g: GraphBuilder, a: string) => g.op('MatMul', [a, g.initializer('W', { dtype: 'float32', dims: [K, N], data: rand(K * N) })]);
const dqmm = (g: GraphBuilder, a: string) => {
  const B = g.initializer('B', { dtype: 'int8', dims: [K, N], data: new Int8Array(K * N).map((_, i) => ((i * 37) & 255) - 128) });
  const s = g.initializer('s', { dtype: 'float32', dims: [N], data: rand(N).map(Math.abs) });
  return g.op('DynamicQuantizeMatMul', [a, B, s], {}, 'com.microsoft');
};
for (const M of [1, 1]) {

  await bench('DynamicQuantizeMatMul int8 perchan', dqmm, M);
  for (const bits of [4, 8]) for (const acc of [4]) for (const bs of [32, 128]) await bench(`MatMulNBits b${bits} acc${acc} bs${bs}`, nbits(bits, acc, bs), M);
  await bench(`MatMulNBits b4 acc4 bs32 zp`, nbits(4, 4, 32, true), M);
  await bench(`MatMulNBits b8 acc4 bs32 zp`, nbits(8, 4, 32, true), M);
}
