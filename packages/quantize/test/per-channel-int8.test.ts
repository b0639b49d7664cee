import { describe, expect, it } from 'vitest';
import { dequantizePerChannelInt8, perChannelInt8Tensors, quantizePerChannelInt8 } from '../src/index.js';
import { expectArgumentError } from './expect-error.js';
import { randomWeights } from './reference.js';

/** Plain reference: per row n, scale/zero point by the documented formulas, codes in [K, N] order. */
function reference(w: Float32Array, N: number, K: number, symmetric: boolean, reduceRange: boolean) {
  const qmin = reduceRange ? -64 : symmetric ? -127 : -128;
  const qmax = reduceRange ? 64 : 127;
  const B = new Array<number>(K * N);
  const scales: number[] = [];
  const zps: number[] = [];
  for (let n = 0; n < N; n++) {
    const row = Array.from(w.subarray(n * K, (n + 1) * K));
    const lo = Math.min(0, ...row);
    const hi = Math.max(0, ...row);
    const scale = symmetric ? Math.fround(Math.max(-lo, hi) / qmax) : Math.fround(Math.fround(hi - lo) / (qmax - qmin));
    const zp = symmetric || scale === 0 ? 0 : Math.min(qmax, Math.max(qmin, Math.floor(qmin - lo / scale + 0.5)));
    const inv = scale === 0 ? 0 : Math.fround(1 / scale);
    scales.push(scale);
    zps.push(zp);
    row.forEach((v, k) => {
      B[k * N + n] = Math.min(qmax, Math.max(qmin, Math.floor(v * inv + zp + 0.5)));
    });
  }
  return { B, scales, zps };
}

describe('quantizePerChannelInt8', () => {
  for (const symmetric of [true, false]) {
    for (const reduceRange of [false, true]) {
      it(`${symmetric ? 'symmetric' : 'asymmetric'}${reduceRange ? ' reduceRange' : ''}: transposed layout, reference codes, error <= scale/2`, () => {
        const N = 172;
        const K = 64;
        const w = randomWeights(N * K, 21, 0.3);
        for (let k = 0; k < K; k++) w[5 * K + k] = Math.abs(w[5 * K + k]); // a row with no negatives
        const q = quantizePerChannelInt8(w, N, K, { symmetric, reduceRange });
        expect(q.dims).toEqual(symmetric ? { B: [K, N], scales: [N] } : { B: [K, N], scales: [N], zeroPoints: [N] });
        const ref = reference(w, N, K, symmetric, reduceRange);
        expect(Array.from(q.B)).toEqual(ref.B);
        expect(Array.from(q.scales)).toEqual(ref.scales);
        if (symmetric) expect(q.zeroPoints).toBeUndefined();
        else expect(Array.from(q.zeroPoints!)).toEqual(ref.zps);
        const d = dequantizePerChannelInt8(q);
        let worst = 0; // largest error in units of scale/2
        for (let i = 0; i < w.length; i++) {
          worst = Math.max(worst, Math.abs(d[i] - w[i]) / ((q.scales[Math.floor(i / K)] / 2) * (1 + 1e-5) + Math.abs(w[i]) * 2 ** -23));
        }
        expect(worst).toBeLessThanOrEqual(1);
        const lim = reduceRange ? 64 : 127;
        expect(q.B.every((c) => c >= (symmetric || reduceRange ? -lim : -128) && c <= lim)).toBe(true);
      });
    }
  }

  it('is exact on the grid, handles zero rows, and exposes host tensors', () => {
    const N = 3;
    const K = 5;
    const w = Float32Array.from([-127, -3, 0, 5, 127, 0, 0, 0, 0, 0, 1, 2, 3, -4, 0].map((v, i) => v * (i < 5 ? 0.25 : 0.5)));
    const q = quantizePerChannelInt8(w, N, K, { symmetric: true });
    expect(Array.from(q.scales)).toEqual([0.25, 0, Math.fround(2 / 127)]);
    expect(Array.from(dequantizePerChannelInt8(q)).slice(0, 10)).toEqual(Array.from(w).slice(0, 10));
    const t = perChannelInt8Tensors(q);
    expect(t.B).toMatchObject({ dtype: 'int8', dims: [K, N] });
    expect(t.scales).toMatchObject({ dtype: 'float32', dims: [N] });
    expect(t.zeroPoints).toBeUndefined();
    expect(perChannelInt8Tensors(quantizePerChannelInt8(w, N, K, { symmetric: false })).zeroPoints).toMatchObject({ dtype: 'int8', dims: [N] });
  });

  it('rejects bad arguments with E_ARGUMENT', () => {
    const check = expectArgumentError;
    check(() => quantizePerChannelInt8(new Float32Array(6), 2, 4, { symmetric: true, name: 'o_proj' }), /o_proj.*weight has 6 elements, expected 8/);
    check(() => quantizePerChannelInt8(new Float32Array(6), 2, 0, { symmetric: true }), /K must be a positive integer, got 0/);
    check(() => quantizePerChannelInt8(Float32Array.of(1, Infinity), 1, 2, { symmetric: true }), /non-finite .* row 0/);
    const q = quantizePerChannelInt8(new Float32Array(8), 2, 4, { symmetric: false });
    check(() => dequantizePerChannelInt8({ ...q, zeroPoints: new Int8Array(3) }), /zeroPoints has 3 elements, expected 2/);
  });
});
