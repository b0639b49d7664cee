import { attr, DTYPE_BYTES } from '@tinyllama/core';
import { GraphBuilder, ONNX_DATA_TYPE } from '@tinyllama/onnx';
import * as ort from 'onnxruntime-node';

function rand(n: number, seed = 1) { let s = seed; const a = new Float32Array(n); for (let i = 0; i < n; i++) { s = (s * 1103515245 + 12345) >>> 0; a[i] = ((s >>> 8) / (1 << 24) - 0.5) * 2; } return a; }

// mode: 'u8' (uint8 container, bits 4 or 8, zp default 2^(b-1)), 'uint4', 'int4'
async function run(V: number, E: number, bs: number, mode: 'u8' | 'uint4' | 'int4', bits: number, withZp: boolean, opts: { irVersion?: number } = {}) {
  const w = rand(V * E, 5);
  const nb = Math.ceil(E / bs);
  const signed = mode === 'int4';
  const qmax = (1 << bits) - 1, mid = 1 << (bits - 1);
  const q = new Int32Array(V * E), zps = new Int32Array(V * nb), scales = new Float32Array(V * nb), deq = new Float32Array(V * E);
  for (let v = 0; v < V; v++) for (let b = 0; b < nb; b++) {
    let mn = 0, mx = 0;
    for (let e = b * bs; e < Math.min(E, (b + 1) * bs); e++) { mn = Math.min(mn, w[v * E + e]); mx = Math.max(mx, w[v * E + e]); }
    let s: number, zp: number;
    if (!withZp) { const m = Math.abs(mx) > Math.abs(mn) ? mx : mn; s = Math.fround(-m / mid); zp = mode === 'u8' ? mid : 0; }
    else { s = Math.fround((mx - mn) / qmax); zp = Math.round(-mn / s) + (signed ? -mid : 0); }
    const lo = signed ? -mid : 0, hi = signed ? mid - 1 : qmax;
    scales[v * nb + b] = s; zps[v * nb + b] = zp;
    for (let e = b * bs; e < Math.min(E, (b + 1) * bs); e++) {
      const qq = Math.min(hi, Math.max(lo, Math.round(w[v * E + e] / s + zp)));
      q[v * E + e] = qq; deq[v * E + e] = (qq - zp) * s;
    }
  }
  const g = new GraphBuilder();
  g.useOpset('com.microsoft', 1);
  const idx = g.input('ids', 'int64', [4]);
  let data: Uint8Array, dataDims: number[], zpData: Uint8Array | undefined, zpDims: number[] = [];
  if (mode === 'u8') {
    if (bits === 8) { data = Uint8Array.from(q); dataDims = [V, E]; if (withZp) { zpData = Uint8Array.from(zps); zpDims = [V, nb]; } }
    else {
      data = new Uint8Array(V * E / 2); for (let i = 0; i < V * E; i++) data[i >> 1] |= (q[i] & 15) << ((i & 1) * 4); dataDims = [V, E / 2];
      if (withZp) { const per = Math.ceil(nb / 2); zpData = new Uint8Array(V * per); for (let v = 0; v < V; v++) for (let b = 0; b < nb; b++) zpData[v * per + (b >> 1)] |= (zps[v * nb + b] & 15) << ((b & 1) * 4); zpDims = [V, per]; }
    }
  } else {
    data = new Uint8Array(Math.ceil(V * E / 2)); for (let i = 0; i < V * E; i++) data[i >> 1] |= (q[i] & 15) << ((i & 1) * 4); dataDims = [V, E];
    if (withZp) { zpData = new Uint8Array(Math.ceil(V * nb / 2)); for (let i = 0; i < V * nb; i++) zpData[i >> 1] |= (zps[i] & 15) << ((i & 1) * 4); zpDims = [V, nb]; }
  }
  // hack for int4 types: encode as 'int8' dtype with patched tables (probe only)
  const dt = mode === 'u8' ? 'uint8' : 'int8';
  if (mode !== 'u8') { (ONNX_DATA_TYPE as any).int8 = mode === 'int4' ? 22 : 21; (DTYPE_BYTES as any).int8 = 0.5; }
  try {
    const D = g.initializer('data', { dtype: dt, dims: dataDims, data } as any);
    const S = g.initializer('scales', { dtype: 'float32', dims: [V, nb], data: scales });
    const ins = [D, idx, S];
    if (zpData) ins.push(g.initializer('zp', { dtype: dt, dims: zpDims, data: zpData } as any));
    const attrs: any = { gather_axis: attr.int(0), quantize_axis: attr.int(1), block_size: attr.int(bs) };
    if (mode === 'u8') attrs.bits = attr.int(bits);
    g.node('GatherBlockQuantized', ins, { domain: 'com.microsoft', attrs, outputs: ['Y'] });
    g.output('Y', 'float32', [4, E]);
    const bytes = await g.build({ irVersion: opts.irVersion ?? 8 }).toBytes();
    const sess = await ort.InferenceSession.create(bytes);
    const ids = [0, V - 1, 3, 1];
    const out = (await sess.run({ ids: new ort.Tensor('int64', BigInt64Array.from(ids.map(BigInt)), [4]) })).Y.data as Float32Array;
    let maxAbs = 0;
    ids.forEach((id, r) => { for (let e = 0; e < E; e++) maxAbs = Math.max(maxAbs, Math.abs(out[r * E + e] - deq[id * E + e])); });
    return { maxAbs };
  } finally { (ONNX_DATA_TYPE as any).int8 = 3; (DTYPE_BYTES as any).int8 = 1; }
}

for (const [mode, bits] of [['u8', 4], ['u8', 8], ['uint4', 4], ['int4', 4]] as const)
  for (const zp of [false, true]) for (const bs of [32, 64]) for (const E of [256, 192, 200]) for (const V of [10, 7]) for (const ir of [8, 10]) {
    if (mode === 'u8' && ir === 10) continue;
    const name = `${mode} bits=${bits} zp=${zp} bs=${bs} V=${V} E=${E} ir=${ir}`;
    try { console.log(name, JSON.stringify(await run(V, E, bs, mode, bits, zp, { irVersion: ir }))); } catch (e) { console.log(name, 'FAILED', (e as Error).message.slice(0, 200)); }
  }
