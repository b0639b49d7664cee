/**
 * Weights of ONNX Runtime's `com.microsoft.MatMulNBits` (`Y = A @ dequant(B)^T`), from a Hugging Face
 * `Linear` weight `[out = N, in = K]` in float32.
 *
 * Layout (ORT contrib-op spec, checked against onnxruntime-node 1.30 CPU):
 * - `B`: uint8 `[N, blocksPerCol, blobSize]`, `blocksPerCol = ceil(K / block_size)`,
 *   `blobSize = block_size * bits / 8`. Row `n` holds weight row `n`, blocks in order along K; within a
 *   blob 8-bit codes are one per byte, 4-bit codes two per byte, low nibble first.
 * - `scales`: float32 `[N, blocksPerCol]` (ORT also accepts the flat `[N * blocksPerCol]`).
 * - `zero_points` (asymmetric only): uint8 `[N, ceil(blocksPerCol * bits / 8)]`, packed like `B`
 *   (for 4 bits two blocks per byte, low nibble = even block; each row padded to whole bytes). Absent,
 *   the operator uses 2^(bits-1): 8 for 4 bits, 128 for 8 bits -- exactly the symmetric zero point.
 * - Ragged K (`K % block_size != 0`): the last blob of each row is padded to full size. The CPU
 *   kernel never reads the padding (verified: any padding bytes give identical results); this package
 *   fills it with the block's zero point so it dequantises to exactly 0 for any kernel that might.
 *
 * Attributes: `K`, `N`, `bits`, `block_size`, and `accuracy_level` (0 = float32 math; 4 = A is
 * quantised to int8 per block inside the kernel: several times faster on CPU, ~0.4% error). On ORT 1.30
 * CPU, 8-bit weights with accuracy_level 0 take a slow fallback path (~100x slower than level 4).
 */
import { attr, TinyLlamaError, type AttrValue, type HostTensor } from '@tinyllama/core';
import { blockGeometry, dequantizeBlocks, quantizeBlocks, type BlockGeometry } from './block-quant.js';
import { checkBits, checkBlockSize, checkDim, checkFloat32, checkLength, type BlockSize, type QuantBits } from './validate.js';

/** Options of {@link quantizeMatMulNBits}. */
export interface MatMulNBitsOptions {
  /** 4 or 8 bits per weight. */
  readonly bits: QuantBits;
  /** Weights per block along K: 16, 32, 64, 128 or 256. */
  readonly blockSize: BlockSize;
  /** Symmetric (no zero points, ORT's sign-keeping `scale = -absmax / 2^(bits-1)`) or asymmetric (min/max with zero points). */
  readonly symmetric: boolean;
  /**
   * Search each block's scale for the least squared error instead of rounding to nearest from the
   * largest magnitude (symmetric only; default false: the codes onnxruntime's own quantiser writes).
   */
  readonly scaleSearch?: boolean;
  /** Tensor name used in error messages. */
  readonly name?: string;
}

/** Quantised MatMulNBits weight: the initializers and the attributes they imply. */
export interface MatMulNBitsWeight {
  /** Output features (weight rows). */
  readonly N: number;
  /** Input features (weight columns, the reduced dimension). */
  readonly K: number;
  readonly bits: QuantBits;
  readonly blockSize: BlockSize;
  readonly symmetric: boolean;
  /** `ceil(K / blockSize)`. */
  readonly blocksPerCol: number;
  /** Bytes per block: `blockSize * bits / 8`. */
  readonly blobSize: number;
  /** uint8 `[N, blocksPerCol, blobSize]`. */
  readonly B: Uint8Array;
  /** float32 `[N, blocksPerCol]`. */
  readonly scales: Float32Array;
  /** uint8 `[N, ceil(blocksPerCol * bits / 8)]`, asymmetric only. */
  readonly zeroPoints?: Uint8Array;
  /** ONNX dims of each initializer. */
  readonly dims: {
    readonly B: readonly [number, number, number];
    readonly scales: readonly [number, number];
    readonly zeroPoints?: readonly [number, number];
  };
}

/** The quantised parts {@link dequantizeMatMulNBits} needs (a {@link MatMulNBitsWeight} fits). */
export interface MatMulNBitsParts {
  readonly N: number;
  readonly K: number;
  readonly bits: QuantBits;
  readonly blockSize: BlockSize;
  readonly B: Uint8Array;
  readonly scales: Float32Array;
  /** Packed zero points; absent means the default 2^(bits-1). */
  readonly zeroPoints?: Uint8Array;
}

function geometry(fn: string, name: string | undefined, N: number, K: number, bits: number, blockSize: number): BlockGeometry {
  checkDim(fn, name, 'N', N);
  checkDim(fn, name, 'K', K);
  checkBits(fn, name, bits);
  checkBlockSize(fn, name, blockSize);
  return blockGeometry(N, K, bits, blockSize, true);
}

/**
 * Quantises a row-major float32 weight `[N, K]` (a Hugging Face `Linear` weight `[out, in]`, used
 * as-is: no transpose) into MatMulNBits blocks along K. Throws `E_ARGUMENT` for a bad size, bit width
 * or block size, a length mismatch, or a NaN/infinite weight.
 */
export function quantizeMatMulNBits(weight: Float32Array, N: number, K: number, options: MatMulNBitsOptions): MatMulNBitsWeight {
  const fn = 'quantizeMatMulNBits';
  const { bits, blockSize, symmetric, name, scaleSearch } = options;
  const geo = geometry(fn, name, N, K, bits, blockSize);
  checkFloat32(fn, name, 'weight', weight);
  checkLength(fn, name, 'weight', weight, N * K, `[N=${N}, K=${K}]`);
  const q = quantizeBlocks(weight, geo, symmetric, true, fn, name, scaleSearch);
  const nb = geo.blocksPerRow;
  const base = {
    N,
    K,
    bits: bits as QuantBits,
    blockSize: blockSize as BlockSize,
    symmetric,
    blocksPerCol: nb,
    blobSize: geo.blobSize,
    B: q.data,
    scales: q.scales,
  };
  const dimsB = [N, nb, geo.blobSize] as const;
  const dimsScales = [N, nb] as const;
  if (q.zeroPoints === undefined) return { ...base, dims: { B: dimsB, scales: dimsScales } };
  return { ...base, zeroPoints: q.zeroPoints, dims: { B: dimsB, scales: dimsScales, zeroPoints: [N, geo.zeroPointRowBytes] } };
}

/**
 * Dequantises MatMulNBits parts back to a row-major float32 `[N, K]` weight, computing
 * `scale * (q - zp)` in float32 exactly as the operator does.
 */
export function dequantizeMatMulNBits(parts: MatMulNBitsParts): Float32Array {
  const fn = 'dequantizeMatMulNBits';
  const { N, K, bits, blockSize, B, scales, zeroPoints } = parts;
  const geo = geometry(fn, undefined, N, K, bits, blockSize);
  checkLength(fn, undefined, 'B', B, N * geo.rowBytes, `[${N}, ${geo.blocksPerRow}, ${geo.blobSize}]`);
  checkLength(fn, undefined, 'scales', scales, N * geo.blocksPerRow, `[${N}, ${geo.blocksPerRow}]`);
  if (zeroPoints !== undefined) {
    checkLength(fn, undefined, 'zeroPoints', zeroPoints, N * geo.zeroPointRowBytes, `[${N}, ${geo.zeroPointRowBytes}]`);
  }
  return dequantizeBlocks({ data: B, scales, zeroPoints }, geo);
}

/** The initializers of a quantised weight as host tensors (`zeroPoints` only when asymmetric). */
export function matMulNBitsTensors(q: MatMulNBitsWeight): { B: HostTensor; scales: HostTensor; zeroPoints?: HostTensor } {
  const B: HostTensor = { dtype: 'uint8', dims: q.dims.B, data: q.B };
  const scales: HostTensor = { dtype: 'float32', dims: q.dims.scales, data: q.scales };
  if (q.zeroPoints === undefined || q.dims.zeroPoints === undefined) return { B, scales };
  return { B, scales, zeroPoints: { dtype: 'uint8', dims: q.dims.zeroPoints, data: q.zeroPoints } };
}

/** ORT `accuracy_level` of MatMulNBits: 0 unset (float32 math), 1 fp32, 2 fp16, 3 bf16, 4 int8 activations. */
export type AccuracyLevel = 0 | 1 | 2 | 3 | 4;

/**
 * The node attributes of a MatMulNBits over `q` (domain `com.microsoft`, inputs `A, B, scales
 * [, zero_points]`). `accuracyLevel` defaults to 4, the fast CPU path (required in practice for 8 bits).
 */
export function matMulNBitsAttributes(q: MatMulNBitsWeight, accuracyLevel: AccuracyLevel = 4): Record<string, AttrValue> {
  if (!(Number.isInteger(accuracyLevel) && accuracyLevel >= 0 && accuracyLevel <= 4)) {
    throw new TinyLlamaError('E_ARGUMENT', `matMulNBitsAttributes: accuracyLevel must be 0, 1, 2, 3 or 4, got ${String(accuracyLevel)}`);
  }
  return {
    K: attr.int(q.K),
    N: attr.int(q.N),
    bits: attr.int(q.bits),
    block_size: attr.int(q.blockSize),
    accuracy_level: attr.int(accuracyLevel),
  };
}
