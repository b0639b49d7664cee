/** Dense float32 matrix products: MatMul (numpy batched) and Gemm. */
import { numel, shapeToString } from '@tinyllama/core';
import type { OpKernel } from './types.js';
import { broadcastShapes, floatAttr, input, intAttr, requireFloat32, shapeError, tensor, broadcastOffsets } from './util.js';

/** `c[m, n] += a[m, k] @ b[k, n]` with i-k-j loop order (inner loop contiguous in b and c). */
function gemmNN(a: Float32Array, aOff: number, b: Float32Array, bOff: number, c: Float32Array, cOff: number, M: number, K: number, N: number): void {
  for (let i = 0; i < M; i++) {
    const ci = cOff + i * N;
    const ai = aOff + i * K;
    for (let k = 0; k < K; k++) {
      const av = a[ai + k];
      const bk = bOff + k * N;
      for (let j = 0; j < N; j++) c[ci + j] += av * b[bk + j];
    }
  }
}

/**
 * `MatMul` with numpy semantics: 1-D operands are promoted (and the added axis removed), leading batch
 * dims broadcast. float32.
 */
export const matmul: OpKernel = (inputs) => {
  const op = 'MatMul';
  const A = input(op, inputs, 0, 'A');
  const B = input(op, inputs, 1, 'B');
  const a = requireFloat32(op, A, 'A');
  const b = requireFloat32(op, B, 'B');
  const aDims = A.dims.length === 1 ? [1, A.dims[0]] : A.dims;
  const bDims = B.dims.length === 1 ? [B.dims[0], 1] : B.dims;
  if (aDims.length < 2 || bDims.length < 2) shapeError(op, 'scalar operands');
  const M = aDims[aDims.length - 2];
  const K = aDims[aDims.length - 1];
  const K2 = bDims[bDims.length - 2];
  const N = bDims[bDims.length - 1];
  if (K !== K2) shapeError(op, `inner dims differ: ${shapeToString(A.dims)} @ ${shapeToString(B.dims)}`);
  const aBatch = aDims.slice(0, -2);
  const bBatch = bDims.slice(0, -2);
  const batch = broadcastShapes(op, [aBatch, bBatch]);
  const nb = numel(batch);
  const c = new Float32Array(nb * M * N);
  const oa = broadcastOffsets(aBatch, batch);
  const ob = broadcastOffsets(bBatch, batch);
  for (let t = 0; t < nb; t++) {
    const ia = oa === undefined ? t : oa[t];
    const ib = ob === undefined ? t : ob[t];
    gemmNN(a, ia * M * K, b, ib * K * N, c, t * M * N, M, K, N);
  }
  const dims = [...batch];
  if (A.dims.length !== 1) dims.push(M);
  if (B.dims.length !== 1) dims.push(N);
  return [tensor('float32', dims, c)];
};

/**
 * `Gemm`: `Y = alpha * A' @ B' + beta * C`, A' = transA ? A^T : A (`[M, K]`), B' = transB ? B^T : B
 * (`[K, N]`), C optional and unidirectionally broadcast to `[M, N]`. float32.
 */
export const gemm: OpKernel = (inputs, attrs) => {
  const op = 'Gemm';
  const A = input(op, inputs, 0, 'A');
  const B = input(op, inputs, 1, 'B');
  const a = requireFloat32(op, A, 'A');
  const b = requireFloat32(op, B, 'B');
  const alpha = floatAttr(attrs, 'alpha', 1);
  const beta = floatAttr(attrs, 'beta', 1);
  const transA = intAttr(attrs, 'transA', 0) !== 0;
  const transB = intAttr(attrs, 'transB', 0) !== 0;
  if (A.dims.length !== 2 || B.dims.length !== 2) shapeError(op, `A ${shapeToString(A.dims)} and B ${shapeToString(B.dims)} must be 2-D`);
  const [M, K] = transA ? [A.dims[1], A.dims[0]] : [A.dims[0], A.dims[1]];
  const [K2, N] = transB ? [B.dims[1], B.dims[0]] : [B.dims[0], B.dims[1]];
  if (K !== K2) shapeError(op, `inner dims differ: A ${shapeToString(A.dims)} transA=${+transA}, B ${shapeToString(B.dims)} transB=${+transB}`);
  // A' contiguous [M, K].
  let am = a;
  if (transA) {
    am = new Float32Array(M * K);
    for (let k = 0; k < K; k++) for (let i = 0; i < M; i++) am[i * K + k] = a[k * M + i];
  }
  const y = new Float32Array(M * N);
  if (transB) {
    // B is [N, K]: each output is a dot product of two contiguous rows.
    for (let i = 0; i < M; i++) {
      const ai = i * K;
      for (let j = 0; j < N; j++) {
        const bj = j * K;
        let s = 0;
        for (let k = 0; k < K; k++) s += am[ai + k] * b[bj + k];
        y[i * N + j] = s;
      }
    }
  } else gemmNN(am, 0, b, 0, y, 0, M, K, N);
  if (alpha !== 1) for (let i = 0; i < y.length; i++) y[i] *= alpha;
  const C = inputs[2];
  if (C !== undefined && beta !== 0) {
    const c = requireFloat32(op, C, 'C');
    const cb = broadcastShapes(op, [C.dims, [M, N]]);
    if (cb.length !== 2 || cb[0] !== M || cb[1] !== N) shapeError(op, `C ${shapeToString(C.dims)} does not broadcast to [${M}, ${N}]`);
    const offs = broadcastOffsets(C.dims, [M, N]);
    for (let e = 0; e < y.length; e++) y[e] += beta * c[c.length === 1 ? 0 : offs === undefined ? e : offs[e]];
  }
  return [tensor('float32', [M, N], y)];
};
