/** RMS normalisation: SimplifiedLayerNormalization and com.microsoft SkipSimplifiedLayerNormalization. */
import { numel, shapeToString } from '@tinyllama/core';
import type { OpKernel } from './types.js';
import { floatAttr, input, intAttr, normAxis, requireFloat32, shapeError, tensor } from './util.js';

/**
 * `y[r, :] = x[r, :] * invStd[r] * scale`, `invStd[r] = 1 / sqrt(mean(x[r, :]^2) + eps)`; writes
 * invStd per row. Rows of length `len`. Tight loops: the sum of squares in float64 over four
 * independent accumulators, then one scaling pass per row.
 */
function rmsRows(x: Float32Array, scale: Float32Array, rows: number, len: number, eps: number, y: Float32Array, inv: Float32Array): void {
  const len4 = len - (len % 4);
  for (let r = 0, o = 0; r < rows; r++, o += len) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    let s3 = 0;
    let i = 0;
    for (; i < len4; i += 4) {
      const a = x[o + i];
      const b = x[o + i + 1];
      const c = x[o + i + 2];
      const d = x[o + i + 3];
      s0 += a * a;
      s1 += b * b;
      s2 += c * c;
      s3 += d * d;
    }
    for (; i < len; i++) s0 += x[o + i] * x[o + i];
    const s = Math.fround(1 / Math.sqrt(Math.fround((s0 + s1 + (s2 + s3)) / len) + eps));
    inv[r] = s;
    for (let j = 0; j < len; j++) y[o + j] = x[o + j] * s * scale[j];
  }
}

/**
 * `SimplifiedLayerNormalization` (onnxruntime, default domain): RMSNorm over the axes from `axis`
 * (default -1) to the end, `epsilon` (default 1e-5). Outputs Y and float32 inv_std_var `[..., 1, ...]`.
 */
export const simplifiedLayerNorm: OpKernel = (inputs, attrs) => {
  const op = 'SimplifiedLayerNormalization';
  const X = input(op, inputs, 0, 'X');
  const S = input(op, inputs, 1, 'scale');
  const x = requireFloat32(op, X, 'X');
  const scale = requireFloat32(op, S, 'scale');
  const r = X.dims.length;
  const axis = normAxis(op, intAttr(attrs, 'axis', -1), r);
  const eps = floatAttr(attrs, 'epsilon', 1e-5);
  const len = numel(X.dims.slice(axis));
  if (scale.length !== len) shapeError(op, `scale ${shapeToString(S.dims)} does not match normalised dims of ${shapeToString(X.dims)}`);
  const rows = numel(X.dims.slice(0, axis));
  const y = new Float32Array(x.length);
  const inv = new Float32Array(rows);
  rmsRows(x, scale, rows, len, eps, y, inv);
  const invDims = X.dims.map((d, i) => (i < axis ? d : 1));
  return [tensor('float32', X.dims, y), tensor('float32', invDims, inv)];
};

/**
 * `com.microsoft.SkipSimplifiedLayerNormalization`: `s = input + skip (+ bias)`, `output = RMSNorm(s) *
 * gamma` over the last axis (`epsilon` default 1e-12). `skip` is `[B, S, E]`, `[1, S, E]` or `[S, E]`
 * (broadcast over the batch). Outputs: output, mean (zeros, unused), inv_std_var `[B, S, 1]`,
 * input_skip_bias_sum.
 */
export const skipSimplifiedLayerNorm: OpKernel = (inputs, attrs) => {
  const op = 'com.microsoft:SkipSimplifiedLayerNormalization';
  const X = input(op, inputs, 0, 'input');
  const Sk = input(op, inputs, 1, 'skip');
  const G = input(op, inputs, 2, 'gamma');
  const x = requireFloat32(op, X, 'input');
  const skip = requireFloat32(op, Sk, 'skip');
  const gamma = requireFloat32(op, G, 'gamma');
  const B = inputs[3];
  const bias = B === undefined ? undefined : requireFloat32(op, B, 'bias');
  const eps = floatAttr(attrs, 'epsilon', 1e-12);
  const r = X.dims.length;
  if (r < 2) shapeError(op, `input ${shapeToString(X.dims)} must be at least 2-D`);
  const len = X.dims[r - 1];
  if (gamma.length !== len) shapeError(op, `gamma ${shapeToString(G.dims)} does not match hidden size ${len}`);
  if (bias !== undefined && bias.length !== len) shapeError(op, `bias ${shapeToString(B?.dims ?? [])} does not match hidden size ${len}`);
  if (skip.length === 0 || x.length % skip.length !== 0 || Sk.dims[Sk.dims.length - 1] !== len) {
    shapeError(op, `skip ${shapeToString(Sk.dims)} does not match input ${shapeToString(X.dims)}`);
  }
  const rows = x.length / len;
  const sum = new Float32Array(x.length);
  const sl = skip.length;
  // [rows, len]; skip repeats every sl / len rows (batch broadcast)
  for (let r = 0, o = 0; r < rows; r++, o += len) {
    const so = o % sl;
    if (bias === undefined) {
      for (let i = 0; i < len; i++) sum[o + i] = x[o + i] + skip[so + i];
    } else {
      for (let i = 0; i < len; i++) sum[o + i] = x[o + i] + skip[so + i] + bias[i];
    }
  }
  const y = new Float32Array(x.length);
  const inv = new Float32Array(rows);
  rmsRows(sum, gamma, rows, len, eps, y, inv);
  const statDims = [...X.dims.slice(0, -1), 1];
  return [tensor('float32', X.dims, y), tensor('float32', statDims, new Float32Array(rows)), tensor('float32', statDims, inv), tensor('float32', X.dims, sum)];
};
