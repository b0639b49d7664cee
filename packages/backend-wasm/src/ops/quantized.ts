/**
 * Block-quantised weights (com.microsoft): MatMulNBits (`Y = A @ dequant(B)^T`) and
 * GatherBlockQuantized (gather rows of a quantised table). Dequantisation is exactly
 * `w = (q - zp) * scale` in float32; codes 4-bit (two per byte, low nibble first) or 8-bit.
 */
import { shapeToString, type HostTensor } from '@tinyllama/core';
import { dequantizeBlockRow } from '@tinyllama/quantize';
import type { OpKernel } from './types.js';
import { dtypeError, input, intAttr, intValues, requireFloat32, shapeError, tensor, unsupported } from './util.js';

function checkBits(op: string, bits: number): asserts bits is 4 | 8 {
  if (bits !== 4 && bits !== 8) unsupported(op, `attribute bits=${bits} (only 4 and 8)`);
}

function zeroPointsOf(op: string, t: HostTensor | undefined, rows: number, zpRow: number): Uint8Array | undefined {
  if (t === undefined) return undefined;
  if (t.dtype !== 'uint8') unsupported(op, `zero_points of type ${t.dtype} (only packed uint8)`);
  if (t.data.length !== rows * zpRow) shapeError(op, `zero_points ${shapeToString(t.dims)} should hold ${rows} x ${zpRow} bytes`);
  return t.data as Uint8Array;
}

/**
 * `com.microsoft.MatMulNBits`: A float32 `[..., K]`, B uint8 `[N, k_blocks, blob_size]` (ragged last
 * block padded), scales float32 `[N * k_blocks]` or `[N, k_blocks]`, optional packed uint8 zero points
 * (default 8 / 128), optional bias `[N]`; output `[..., N]`. `accuracy_level` is ignored (float32
 * math); `g_idx` is unsupported.
 */
export const matMulNBits: OpKernel = (inputs, attrs) => {
  const op = 'com.microsoft:MatMulNBits';
  const A = input(op, inputs, 0, 'A');
  const Bt = input(op, inputs, 1, 'B');
  const St = input(op, inputs, 2, 'scales');
  const a = requireFloat32(op, A, 'A');
  const scales = requireFloat32(op, St, 'scales');
  const K = intAttr(attrs, 'K', -1);
  const N = intAttr(attrs, 'N', -1);
  const bits = intAttr(attrs, 'bits', 4);
  const blockSize = intAttr(attrs, 'block_size', -1);
  checkBits(op, bits);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) unsupported(op, `attribute block_size=${blockSize} (a power of two >= 16)`);
  if (K <= 0 || N <= 0) shapeError(op, `attributes K=${K}, N=${N} must be positive`);
  if (inputs[4] !== undefined) unsupported(op, 'input g_idx');
  if (Bt.dtype !== 'uint8') dtypeError(op, `B must be uint8, got ${Bt.dtype}`);
  const kb = Math.ceil(K / blockSize);
  const blob = (blockSize * bits) / 8;
  const b = Bt.data as Uint8Array;
  if (b.length !== N * kb * blob) shapeError(op, `B ${shapeToString(Bt.dims)} should be [${N}, ${kb}, ${blob}]`);
  if (scales.length !== N * kb) shapeError(op, `scales ${shapeToString(St.dims)} should hold ${N} x ${kb} values`);
  const zpRow = Math.ceil((kb * bits) / 8);
  const zp = zeroPointsOf(op, inputs[3], N, zpRow);
  const biasT = inputs[5];
  const bias = biasT === undefined ? undefined : requireFloat32(op, biasT, 'bias');
  if (bias !== undefined && bias.length !== N) shapeError(op, `bias ${shapeToString(biasT?.dims ?? [])} should be [${N}]`);
  if (A.dims.length < 1 || A.dims[A.dims.length - 1] !== K) shapeError(op, `A ${shapeToString(A.dims)} should end in K=${K}`);
  const M = a.length / K;
  const y = new Float32Array(M * N);
  const w = new Float32Array(K); // one dequantised weight row [K]
  for (let n = 0; n < N; n++) {
    dequantizeBlockRow(b, n * kb * blob, scales, n * kb, zp, n, { cols: K, bits, blockSize, blobSize: blob, zeroPointRowBytes: zpRow }, w);
    const bn = bias === undefined ? 0 : bias[n];
    for (let m = 0; m < M; m++) {
      const am = m * K;
      let s = 0;
      for (let k = 0; k < K; k++) s += a[am + k] * w[k];
      y[m * N + n] = s + bn;
    }
  }
  return [tensor('float32', [...A.dims.slice(0, -1), N], y)];
};

/**
 * `com.microsoft.GatherBlockQuantized` in the uint8-container form our quantiser writes: data uint8
 * `[V, E * bits / 8]` (tight rows), indices int64/int32 of any shape (negative from the end), scales
 * float32 `[V, ceil(E / block_size)]`, optional packed uint8 zero points (default 8 / 128). Only
 * `gather_axis = 0` and `quantize_axis = 1` (the last axis) are supported. Output `[...indices, E]`.
 */
export const gatherBlockQuantized: OpKernel = (inputs, attrs) => {
  const op = 'com.microsoft:GatherBlockQuantized';
  const D = input(op, inputs, 0, 'data');
  const I = input(op, inputs, 1, 'indices');
  const St = input(op, inputs, 2, 'scales');
  const scales = requireFloat32(op, St, 'scales');
  const bits = intAttr(attrs, 'bits', 4);
  const blockSize = intAttr(attrs, 'block_size', 128);
  checkBits(op, bits);
  if (D.dtype !== 'uint8') unsupported(op, `data of type ${D.dtype} (only the uint8 container)`);
  if (D.dims.length !== 2) unsupported(op, `data of rank ${D.dims.length} (only 2-D [V, E * bits / 8])`);
  const gatherAxis = intAttr(attrs, 'gather_axis', 0);
  const quantizeAxis = intAttr(attrs, 'quantize_axis', 1);
  if (gatherAxis !== 0 && gatherAxis !== -2) unsupported(op, `attribute gather_axis=${gatherAxis} (only 0)`);
  if (quantizeAxis !== 1 && quantizeAxis !== -1) unsupported(op, `attribute quantize_axis=${quantizeAxis} (only the last axis)`);
  if (blockSize < 16 || (blockSize & (blockSize - 1)) !== 0) unsupported(op, `attribute block_size=${blockSize} (a power of two >= 16)`);
  const [V, rowBytes] = D.dims;
  const E = (rowBytes * 8) / bits;
  const nb = Math.ceil(E / blockSize);
  if (scales.length !== V * nb) shapeError(op, `scales ${shapeToString(St.dims)} should be [${V}, ${nb}]`);
  const zpRow = Math.ceil((nb * bits) / 8);
  const zp = zeroPointsOf(op, inputs[3], V, zpRow);
  const idx = intValues(op, I, 'indices');
  const data = D.data as Uint8Array;
  const out = new Float32Array(idx.length * E);
  const row = new Float32Array(E);
  const blob = (blockSize * bits) / 8;
  for (let t = 0; t < idx.length; t++) {
    const v = idx[t] < 0 ? idx[t] + V : idx[t];
    if (v < 0 || v >= V) shapeError(op, `index ${idx[t]} out of range for ${V} rows`);
    dequantizeBlockRow(data, v * rowBytes, scales, v * nb, zp, v, { cols: E, bits, blockSize, blobSize: blob, zeroPointRowBytes: zpRow }, row);
    out.set(row, t * E);
  }
  return [tensor('float32', [...I.dims, E], out)];
};
