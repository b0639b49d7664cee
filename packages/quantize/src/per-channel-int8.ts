/**
 * Per-output-channel int8 weights for ONNX Runtime's `com.microsoft.DynamicQuantizeMatMul`
 * (`Y = A @ dequant(B)`: A is quantised to uint8 per call, the product runs as an integer GEMM).
 *
 * The alternative int8 path to MatMulNBits bits=8: measured on ORT 1.30 CPU (an AMX/VNNI Xeon) it is
 * several times faster for prefill (many rows of A) and on par for single-token decode.
 *
 * Layout (ORT contrib-op spec): `B` is the **transposed** weight, int8 `[K, N]` (ONNX MatMul
 * orientation; the Hugging Face weight is `[N, K]`), `b_scale` float32 `[N]` (one per output column),
 * optional `b_zero_point` int8 `[N]` (default 0). Dequantised: `W[n, k] = b_scale[n] * (B[k, n] - zp[n])`.
 * - symmetric: `scale = max|w| / 127`, codes in [-127, 127], no zero point (ORT `quantize_dynamic`
 *   with per_channel and int8 weights).
 * - asymmetric: range widened to include 0, `scale = (max - min) / 255`, `zp = round(-128 - min / scale)`,
 *   codes in [-128, 127].
 * - `reduceRange`: 7-bit codes in [-64, 64] for CPUs without VNNI, whose u8 x s8 kernels can saturate
 *   16-bit intermediate sums (ORT's `reduce_range`).
 * Rounding is to nearest with ties toward +Infinity.
 */
import { TinyLlamaError, type HostTensor } from '@tinyllama/core';
import { checkDim, checkFloat32, checkLength, where } from './validate.js';

/** Tile edge of the transposing pass. */
const TILE = 32;

/** Options of {@link quantizePerChannelInt8}. */
export interface PerChannelInt8Options {
  /** Symmetric (no zero points) or asymmetric (int8 zero point per output channel). */
  readonly symmetric: boolean;
  /** 7-bit codes, [-64, 64] (default false). */
  readonly reduceRange?: boolean;
  /** Tensor name used in error messages. */
  readonly name?: string;
}

/** A per-channel int8 weight for DynamicQuantizeMatMul. */
export interface PerChannelInt8Weight {
  /** Output features. */
  readonly N: number;
  /** Input features (the reduced dimension). */
  readonly K: number;
  readonly symmetric: boolean;
  /** int8 `[K, N]`: the weight transposed. */
  readonly B: Int8Array;
  /** float32 `[N]`. */
  readonly scales: Float32Array;
  /** int8 `[N]`, asymmetric only. */
  readonly zeroPoints?: Int8Array;
  /** ONNX dims of each initializer. */
  readonly dims: { readonly B: readonly [number, number]; readonly scales: readonly [number]; readonly zeroPoints?: readonly [number] };
}

/** The parts {@link dequantizePerChannelInt8} needs (a {@link PerChannelInt8Weight} fits). */
export interface PerChannelInt8Parts {
  readonly N: number;
  readonly K: number;
  readonly B: Int8Array;
  readonly scales: Float32Array;
  readonly zeroPoints?: Int8Array;
}

/**
 * Quantises a row-major float32 weight `[N, K]` (Hugging Face `[out, in]`) to int8 per output channel,
 * writing the transposed `[K, N]` codes. Throws `E_ARGUMENT` for a bad size, a length mismatch or a
 * NaN/infinite weight.
 */
export function quantizePerChannelInt8(weight: Float32Array, N: number, K: number, options: PerChannelInt8Options): PerChannelInt8Weight {
  const fn = 'quantizePerChannelInt8';
  const { symmetric, name } = options;
  checkDim(fn, name, 'N', N);
  checkDim(fn, name, 'K', K);
  checkFloat32(fn, name, 'weight', weight);
  checkLength(fn, name, 'weight', weight, N * K, `[N=${N}, K=${K}]`);
  const reduce = options.reduceRange === true;
  const qmin = reduce ? -64 : symmetric ? -127 : -128;
  const qmax = reduce ? 64 : 127;
  const width = qmax - qmin;
  const fround = Math.fround;

  const B = new Int8Array(K * N); // [K, N]
  const scales = new Float32Array(N);
  const zeroPoints = symmetric ? undefined : new Int8Array(N);
  const inverse = new Float64Array(N); // 1 / scale per row
  const bias = new Float64Array(N); // zp - qmin + 0.5 per row

  // Pass 1, row by row: range, scale, zero point.
  for (let n = 0; n < N; n++) {
    const row = n * K;
    let mn = Infinity;
    let mx = -Infinity;
    let sum = 0;
    for (let k = row; k < row + K; k++) {
      const v = weight[k];
      if (v < mn) mn = v;
      if (v > mx) mx = v;
      sum += v;
    }
    if (!Number.isFinite(sum)) {
      throw new TinyLlamaError('E_ARGUMENT', `${where(fn, name)}: non-finite weight (NaN or Infinity) in row ${n}`);
    }
    let scale: number;
    let zp = 0;
    if (symmetric) {
      scale = fround(Math.max(Math.abs(mn), Math.abs(mx)) / qmax);
    } else {
      const lo = mn < 0 ? mn : 0;
      scale = fround(fround((mx > 0 ? mx : 0) - lo) / width);
      const z = scale !== 0 ? Math.floor(qmin - lo / scale + 0.5) : 0;
      zp = z < qmin ? qmin : z > qmax ? qmax : z;
    }
    let inv = fround(1 / scale);
    if (!(scale >= 1.1754943508222875e-38)) {
      scale = 0; // all-zero (or below float32's normal range) row: every code is the zero point
      inv = 0;
      zp = 0;
    }
    scales[n] = scale;
    if (zeroPoints !== undefined) zeroPoints[n] = zp;
    inverse[n] = inv;
    bias[n] = zp - qmin + 0.5;
  }

  // Pass 2, in TILE x TILE tiles so the transposed writes stay in cache.
  // x = w / scale + zp - qmin + 0.5 lies in [-tiny, width + 1 + tiny]: truncate, clamp the top, shift back.
  for (let n0 = 0; n0 < N; n0 += TILE) {
    const n1 = Math.min(N, n0 + TILE);
    for (let k0 = 0; k0 < K; k0 += TILE) {
      const k1 = Math.min(K, k0 + TILE);
      for (let n = n0; n < n1; n++) {
        const inv = inverse[n];
        const b = bias[n];
        const row = n * K;
        for (let k = k0; k < k1; k++) {
          const t = (weight[row + k] * inv + b) | 0;
          B[k * N + n] = (t > width ? width : t) + qmin;
        }
      }
    }
  }
  const dims = { B: [K, N] as const, scales: [N] as const };
  if (zeroPoints === undefined) return { N, K, symmetric, B, scales, dims };
  return { N, K, symmetric, B, scales, zeroPoints, dims: { ...dims, zeroPoints: [N] } };
}

/** Dequantises back to the row-major float32 `[N, K]` (Hugging Face) orientation. */
export function dequantizePerChannelInt8(parts: PerChannelInt8Parts): Float32Array {
  const fn = 'dequantizePerChannelInt8';
  const { N, K, B, scales, zeroPoints } = parts;
  checkDim(fn, undefined, 'N', N);
  checkDim(fn, undefined, 'K', K);
  checkLength(fn, undefined, 'B', B, K * N, `[K=${K}, N=${N}]`);
  checkLength(fn, undefined, 'scales', scales, N, `[N=${N}]`);
  if (zeroPoints !== undefined) checkLength(fn, undefined, 'zeroPoints', zeroPoints, N, `[N=${N}]`);
  const out = new Float32Array(N * K);
  for (let n = 0; n < N; n++) {
    const scale = scales[n];
    const zp = zeroPoints === undefined ? 0 : zeroPoints[n];
    for (let k = 0; k < K; k++) out[n * K + k] = (B[k * N + n] - zp) * scale;
  }
  return out;
}

/** The initializers as host tensors: `B` int8 `[K, N]`, `scales` float32 `[N]`, `zeroPoints` int8 `[N]`. */
export function perChannelInt8Tensors(q: PerChannelInt8Weight): { B: HostTensor; scales: HostTensor; zeroPoints?: HostTensor } {
  const B: HostTensor = { dtype: 'int8', dims: q.dims.B, data: q.B };
  const scales: HostTensor = { dtype: 'float32', dims: q.dims.scales, data: q.scales };
  if (q.zeroPoints === undefined || q.dims.zeroPoints === undefined) return { B, scales };
  return { B, scales, zeroPoints: { dtype: 'int8', dims: q.dims.zeroPoints, data: q.zeroPoints } };
}
