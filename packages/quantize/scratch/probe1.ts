import { attr } from '@tinyllama/core';
import { GraphBuilder } from '@tinyllama/onnx';
import * as ort from 'onnxruntime-node';

// naive reference quantiser (4 or 8 bits, symmetric ORT-style or asymmetric)
function quant(w: Float32Array, N: number, K: number, bits: number, bs: number, sym: boolean, padByte: number) {
  const nb = Math.ceil(K / bs), blob = (bs * bits) / 8, qmax = (1 << bits) - 1, mid = 1 << (bits - 1);
  const B = new Uint8Array(N * nb * blob).fill(padByte);
  const scales = new Float32Array(N * nb);
  const zpu = new Uint8Array(N * nb);
  const deq = new Float32Array(N * K);
  for (let n = 0; n < N; n++) for (let b = 0; b < nb; b++) {
    let mn = Infinity, mx = -Infinity;
    for (let k = b * bs; k < Math.min(K, (b + 1) * bs); k++) { mn = Math.min(mn, w[n * K + k]); mx = Math.max(mx, w[n * K + k]); }
    let s: number, zp: number;
    if (sym) { const m = Math.abs(mx) > Math.abs(mn) ? mx : mn; s = Math.fround(-m / mid); zp = mid; }
    else { mn = Math.min(mn, 0); mx = Math.max(mx, 0); s = Math.fround((mx - mn) / qmax); zp = s ? Math.min(qmax, Math.max(0, Math.round(-mn / s))) : 0; }
    scales[n * nb + b] = s; zpu[n * nb + b] = zp;
    for (let k = b * bs; k < Math.min(K, (b + 1) * bs); k++) {
      const q = Math.min(qmax, Math.max(0, Math.round((s ? w[n * K + k] / s : 0) + zp)));
      deq[n * K + k] = (q - zp) * s;
      const j = k - b * bs, base = (n * nb + b) * blob;
      if (bits === 8) B[base + j] = q;
      else { const byte = base + (j >> 1); if (j & 1) B[byte] = (B[byte] & 0x0f) | (q << 4); else B[byte] = (B[byte] & 0xf0) | q; }
    }
  }
  let zp: Uint8Array | undefined;
  if (!sym) {
    if (bits === 8) zp = zpu;
    else { const per = Math.ceil(nb / 2); zp = new Uint8Array(N * per); for (let n = 0; n < N; n++) for (let b = 0; b < nb; b++) zp[n * per + (b >> 1)] |= zpu[n * nb + b] << ((b & 1) * 4); }
  }
  return { B, scales, zp, deq, nb, blob };
}

function rand(n: number, seed = 1) { let s = seed; const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = ((s >>> 8) / (1 << 24) - 0.5) * 2; } return a; }

async function run(N: number, K: number, bits: number, bs: number, sym: boolean, opts: { scales2d?: boolean; acc?: number; padByte?: number; M?: number }) {
  const w = rand(N * K, 7);
  const q = quant(w, N, K, bits, bs, sym, opts.padByte ?? 0);
  const M = opts.M ?? 3;
  const g = new GraphBuilder();
  g.useOpset('com.microsoft', 1);
  const a = g.input('A', 'float32', [M, K]);
  const B = g.initializer('B', { dtype: 'uint8', dims: [N, q.nb, q.blob], data: q.B });
  const sc = g.initializer('scales', { dtype: 'float32', dims: opts.scales2d ? [N, q.nb] : [N * q.nb], data: q.scales });
  const ins = [a, B, sc];
  if (q.zp) ins.push(g.initializer('zp', { dtype: 'uint8', dims: bits === 8 ? [N, q.nb] : [N, Math.ceil(q.nb / 2)], data: q.zp }));
  const attrs: any = { K: attr.int(K), N: attr.int(N), bits: attr.int(bits), block_size: attr.int(bs) };
  if (opts.acc !== undefined) attrs.accuracy_level = attr.int(opts.acc);
  g.node('MatMulNBits', ins, { domain: 'com.microsoft', attrs, outputs: ['Y'] });
  g.output('Y', 'float32', [M, N]);
  const bytes = await g.build().toBytes();
  const sess = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1 });
  const A = rand(M * K, 3);
  const out = (await sess.run({ A: new ort.Tensor('float32', A, [M, K]) })).Y.data as Float32Array;
  let maxRel = 0, maxAbs = 0, ref = 0;
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0; for (let k = 0; k < K; k++) s += A[m * K + k] * q.deq[n * K + k];
    maxAbs = Math.max(maxAbs, Math.abs(s - out[m * N + n])); ref = Math.max(ref, Math.abs(s));
  }
  maxRel = maxAbs / ref;
  return { maxAbs, maxRel };
}

const cases: [string, () => Promise<unknown>][] = [];
for (const bits of [4, 8]) for (const sym of [true, false]) for (const acc of [undefined, 0, 1, 4]) for (const s2 of [false, true]) {
  cases.push([`bits=${bits} sym=${sym} acc=${acc} scales2d=${s2} K=256`, () => run(64, 256, bits, 32, sym, { acc, scales2d: s2 })]);
}
for (const bits of [4, 8]) for (const sym of [true, false]) for (const acc of [0, 4]) for (const pad of [0, 0xff]) {
  cases.push([`ragged bits=${bits} sym=${sym} acc=${acc} pad=${pad} K=172`, () => run(172, 172, bits, 32, sym, { acc, padByte: pad })]);
}
for (const bs of [16, 64, 128, 256]) cases.push([`bs=${bs} bits4 sym acc4`, () => run(32, 512, 4, bs, true, { acc: 4 })]);
for (const bs of [16, 64, 128, 256]) cases.push([`bs=${bs} bits8 asym acc4`, () => run(32, 512, 8, bs, false, { acc: 4 })]);
cases.push([`M=1 bits4 sym acc4 K=2048`, () => run(256, 2048, 4, 32, true, { acc: 4, M: 1 })]);
cases.push([`M=1 bits8 sym acc4 K=2048`, () => run(256, 2048, 8, 32, true, { acc: 4, M: 1 })]);
for (const [name, f] of cases) {
  try { console.log(name, JSON.stringify(await f())); } catch (e) { console.log(name, 'FAILED', (e as Error).message.slice(0, 300)); }
}
