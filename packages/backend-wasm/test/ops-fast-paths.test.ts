/**
 * The float32 fast paths of the reference kernels (Add/Sub/Mul/Div broadcasts, Sigmoid, RMS norms)
 * against naive per-element references: arithmetic bit-exact, Sigmoid within 1 ulp.
 */
import { describe, expect, it } from 'vitest';
import { attr, type HostTensor } from '@tinyllama/core';
import { REFERENCE_KERNELS, opKey } from '../src/ops/index.js';
import { f32, reseed } from './support/tensors.js';

reseed(4242);

/** Naive numpy broadcast of `f` (float64 op rounded to float32, like every path of the kernels). */
function naive(a: HostTensor, b: HostTensor, f: (x: number, y: number) => number): Float32Array {
  const R = Math.max(a.dims.length, b.dims.length);
  const pad = (d: readonly number[]) => [...new Array<number>(R - d.length).fill(1), ...d];
  const da = pad(a.dims);
  const db = pad(b.dims);
  const out = da.map((d, i) => (d === 1 ? db[i] : d));
  const n = out.reduce((x, y) => x * y, 1);
  const res = new Float32Array(n);
  const x = a.data as Float32Array;
  const y = b.data as Float32Array;
  for (let e = 0; e < n; e++) {
    let rem = e;
    let ia = 0;
    let ib = 0;
    let sa = 1;
    let sb = 1;
    for (let ax = R - 1; ax >= 0; ax--) {
      const idx = rem % out[ax];
      rem = Math.floor(rem / out[ax]);
      ia += (da[ax] === 1 ? 0 : idx) * sa;
      ib += (db[ax] === 1 ? 0 : idx) * sb;
      sa *= da[ax];
      sb *= db[ax];
    }
    res[e] = f(x[ia], y[ib]);
  }
  return res;
}

const OPS: Record<string, (x: number, y: number) => number> = {
  Add: (x, y) => x + y,
  Sub: (x, y) => x - y,
  Mul: (x, y) => x * y,
  Div: (x, y) => x / y,
};

describe('float32 arithmetic fast paths', () => {
  const cases: [readonly number[], readonly number[]][] = [
    [[1, 3, 8], [1, 3, 8]], // same shape
    [[2, 3, 8], [3, 8]], // same numel after leading ones: full vs row
    [[1, 3, 8], []], // scalar B
    [[], [2, 5]], // scalar A
    [[1, 1, 1], [4, 8]], // scalar with rank
    [[2, 3, 8], [8]], // row B
    [[8], [2, 3, 8]], // row A
    [[2, 3, 8], [1, 3, 8]], // row spanning two axes
    [[2, 3, 8], [2, 3, 1]], // column B
    [[2, 3, 1], [2, 3, 8]], // column A
    [[3, 1], [1, 8]], // outer product (column x row)
    [[2, 3, 4], [3, 1]], // middle-axis broadcast: generic path
    [[2, 1, 4], [1, 3, 1]], // generic
    [[0, 8], [8]], // empty
  ];
  for (const [op, f] of Object.entries(OPS)) {
    it(`${op} matches a naive broadcast bit for bit`, () => {
      for (const [da, db] of cases) {
        const a = f32(da);
        const b = f32(db, 0.25, 2);
        const [y] = REFERENCE_KERNELS[op]([a, b], {});
        const ref = naive(a, b, f);
        expect([...y.data as Float32Array], `${op} ${JSON.stringify(da)} ${JSON.stringify(db)}`).toEqual([...ref]);
      }
    });
  }
  it('keeps int64 and float64 on the generic path', () => {
    const [y] = REFERENCE_KERNELS.Add([{ dtype: 'int64', dims: [2], data: BigInt64Array.from([1n, 2n]) }, { dtype: 'int64', dims: [], data: BigInt64Array.from([5n]) }], {});
    expect([...(y.data as BigInt64Array)]).toEqual([6n, 7n]);
    const [z] = REFERENCE_KERNELS.Mul([{ dtype: 'float64', dims: [2], data: Float64Array.from([0.1, 3]) }, { dtype: 'float64', dims: [1], data: Float64Array.from([3]) }], {});
    expect(z.data).toBeInstanceOf(Float64Array);
    expect([...(z.data as Float64Array)]).toEqual([0.1 * 3, 9]);
  });
});

describe('Sigmoid', () => {
  it('is within 1 ulp of 1 / (1 + Math.exp(-x)) everywhere, exact at the extremes', () => {
    const xs = [...(f32([4000], -30, 30).data as Float32Array), 0, -0, 1e-30, -1e-30, 88, -88, 103, -103, 120, -120, 1e6, -1e6, Infinity, -Infinity];
    const [y] = REFERENCE_KERNELS.Sigmoid([{ dtype: 'float32', dims: [xs.length], data: Float32Array.from(xs) }], {});
    const got = new Int32Array((y.data as Float32Array).buffer);
    const want = Float32Array.from(xs, (x) => (x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x))));
    const wantBits = new Int32Array(want.buffer);
    let worst = 0;
    for (let i = 0; i < xs.length; i++) worst = Math.max(worst, Math.abs(got[i] - wantBits[i]));
    expect(worst).toBeLessThanOrEqual(1);
    const d = y.data as Float32Array;
    expect([d[xs.length - 2], d[xs.length - 1]]).toEqual([1, 0]);
    const [n] = REFERENCE_KERNELS.Sigmoid([{ dtype: 'float32', dims: [1], data: Float32Array.of(NaN) }], {});
    expect(Number.isNaN((n.data as Float32Array)[0])).toBe(true);
  });
});

describe('RMS norms', () => {
  function rms(x: Float32Array, scale: Float32Array, len: number, eps: number): Float32Array {
    const y = new Float32Array(x.length);
    for (let o = 0; o < x.length; o += len) {
      let ss = 0;
      for (let i = 0; i < len; i++) ss += x[o + i] * x[o + i];
      const s = Math.fround(1 / Math.sqrt(Math.fround(ss / len) + eps));
      for (let i = 0; i < len; i++) y[o + i] = x[o + i] * s * scale[i];
    }
    return y;
  }
  it('SimplifiedLayerNormalization with ragged row lengths', () => {
    for (const len of [1, 3, 8, 13]) {
      const X = f32([2, 3, len]);
      const S = f32([len]);
      const [y] = REFERENCE_KERNELS.SimplifiedLayerNormalization([X, S], { epsilon: attr.float(1e-5) });
      const ref = rms(X.data as Float32Array, S.data as Float32Array, len, Math.fround(1e-5));
      const got = y.data as Float32Array;
      for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThanOrEqual(2e-7 * Math.abs(ref[i]) + 1e-12);
    }
  });
  it('SkipSimplifiedLayerNormalization with a batch-broadcast skip and a bias', () => {
    const X = f32([2, 3, 8]);
    const Sk = f32([3, 8]);
    const G = f32([8]);
    const B = f32([8]);
    const outs = REFERENCE_KERNELS[opKey('com.microsoft', 'SkipSimplifiedLayerNormalization')]([X, Sk, G, B], { epsilon: attr.float(1e-6) });
    const x = X.data as Float32Array;
    const sk = Sk.data as Float32Array;
    const b = B.data as Float32Array;
    const sum = Float32Array.from(x, (v, i) => v + sk[i % 24] + b[i % 8]);
    expect([...(outs[3].data as Float32Array)]).toEqual([...sum]);
    const ref = rms(sum, G.data as Float32Array, 8, Math.fround(1e-6));
    const got = outs[0].data as Float32Array;
    for (let i = 0; i < ref.length; i++) expect(Math.abs(got[i] - ref[i])).toBeLessThanOrEqual(2e-7 * Math.abs(ref[i]) + 1e-12);
  });
});
