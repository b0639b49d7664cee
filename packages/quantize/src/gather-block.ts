/**
 * Embedding tables for ONNX Runtime's `com.microsoft.GatherBlockQuantized` (a Gather that dequantises
 * the rows it picks), quantised along the hidden axis E in blocks.
 *
 * This package uses the op's **uint8 container** form (`T1 = uint8` with the `bits` attribute), which
 * the CPU kernel of ORT 1.30 accepts for bits 4 and 8 and which needs no 4-bit ONNX tensor type:
 * - `data`: uint8 `[V, E * bits / 8]`; each row holds the codes of one token along E, 4-bit codes two
 *   per byte, low nibble first (the op's output last dim is `data` last dim * 8 / bits = E). Rows are
 *   tight: a ragged last block (E % block_size != 0) is simply shorter, no padding.
 * - `scales`: float32 `[V, ceil(E / block_size)]` (same rank as data; dtype = output dtype).
 * - `zero_points` (asymmetric only): uint8 `[V, ceil(blocks * bits / 8)]`, packed per row like
 *   MatMulNBits zero points. Absent, the op uses 2^(bits-1) (8 / 128) for uint8 data.
 * - attributes: `gather_axis = 0`, `quantize_axis = 1` (must be the last axis for uint8 data),
 *   `block_size`, `bits`.
 * The math and codes are exactly those of MatMulNBits: when E is a multiple of the block size, `data`
 * is byte-identical to a MatMulNBits `B` of the same matrix (`[V, blocks, blob]` flattened), so a tied
 * embedding / LM head can share one initializer.
 *
 * (The `int4`/`uint4` tensor-type form also works in ORT 1.30 -- int4 with default zero point 0 --
 * but would need 4-bit dtypes in the ONNX writer; see the README.)
 */
import { attr, TinyLlamaError, type AttrValue, type HostTensor } from '@tinyllama/core';
import { blockGeometry, dequantizeBlocks, quantizeBlocks, type BlockGeometry } from './block-quant.js';
import { checkBits, checkBlockSize, checkDim, checkFloat32, checkLength, where, type BlockSize, type QuantBits } from './validate.js';

/** Options of {@link quantizeGatherBlock}. */
export interface GatherBlockOptions {
  /** 4 or 8 bits per value. */
  readonly bits: QuantBits;
  /** Values per block along E: 16, 32, 64, 128 or 256. */
  readonly blockSize: BlockSize;
  /** Symmetric (default zero point, no zero-point input) or asymmetric (with zero points). */
  readonly symmetric: boolean;
  /**
   * Search each block's scale for the least squared error instead of rounding to nearest from the
   * largest magnitude (symmetric only; default false: the codes onnxruntime's own quantiser writes).
   */
  readonly scaleSearch?: boolean;
  /** Tensor name used in error messages. */
  readonly name?: string;
}

/** A quantised embedding table: the initializers and the attributes they imply. */
export interface GatherBlockWeight {
  /** Rows (vocabulary size). */
  readonly V: number;
  /** Values per row (hidden size). */
  readonly E: number;
  readonly bits: QuantBits;
  readonly blockSize: BlockSize;
  readonly symmetric: boolean;
  /** `ceil(E / blockSize)`. */
  readonly blocksPerRow: number;
  /** uint8 `[V, E * bits / 8]`. */
  readonly data: Uint8Array;
  /** float32 `[V, blocksPerRow]`. */
  readonly scales: Float32Array;
  /** uint8 `[V, ceil(blocksPerRow * bits / 8)]`, asymmetric only. */
  readonly zeroPoints?: Uint8Array;
  /** ONNX dims of each initializer. */
  readonly dims: {
    readonly data: readonly [number, number];
    readonly scales: readonly [number, number];
    readonly zeroPoints?: readonly [number, number];
  };
}

/** The quantised parts {@link dequantizeGatherBlock} needs (a {@link GatherBlockWeight} fits). */
export interface GatherBlockParts {
  readonly V: number;
  readonly E: number;
  readonly bits: QuantBits;
  readonly blockSize: BlockSize;
  readonly data: Uint8Array;
  readonly scales: Float32Array;
  /** Packed zero points; absent means the default 2^(bits-1). */
  readonly zeroPoints?: Uint8Array;
}

function geometry(fn: string, name: string | undefined, V: number, E: number, bits: number, blockSize: number): BlockGeometry {
  checkDim(fn, name, 'V', V);
  checkDim(fn, name, 'E', E);
  checkBits(fn, name, bits);
  checkBlockSize(fn, name, blockSize);
  if (bits === 4 && E % 2 !== 0) {
    throw new TinyLlamaError('E_ARGUMENT', `${where(fn, name)}: E must be even for 4-bit rows packed two per byte, got ${E}`);
  }
  return blockGeometry(V, E, bits, blockSize, false);
}

/**
 * Quantises a row-major float32 embedding table `[V, E]` for GatherBlockQuantized (blocks along E).
 * Throws `E_ARGUMENT` for a bad size, bit width or block size, an odd E with 4 bits, a length mismatch,
 * or a NaN/infinite value.
 */
export function quantizeGatherBlock(table: Float32Array, V: number, E: number, options: GatherBlockOptions): GatherBlockWeight {
  const fn = 'quantizeGatherBlock';
  const { bits, blockSize, symmetric, name, scaleSearch } = options;
  const geo = geometry(fn, name, V, E, bits, blockSize);
  checkFloat32(fn, name, 'table', table);
  checkLength(fn, name, 'table', table, V * E, `[V=${V}, E=${E}]`);
  const q = quantizeBlocks(table, geo, symmetric, false, fn, name, scaleSearch);
  const nb = geo.blocksPerRow;
  const base = {
    V,
    E,
    bits: bits as QuantBits,
    blockSize: blockSize as BlockSize,
    symmetric,
    blocksPerRow: nb,
    data: q.data,
    scales: q.scales,
  };
  const dimsData = [V, geo.rowBytes] as const;
  const dimsScales = [V, nb] as const;
  if (q.zeroPoints === undefined) return { ...base, dims: { data: dimsData, scales: dimsScales } };
  return { ...base, zeroPoints: q.zeroPoints, dims: { data: dimsData, scales: dimsScales, zeroPoints: [V, geo.zeroPointRowBytes] } };
}

/** Dequantises a GatherBlockQuantized table back to row-major float32 `[V, E]` (what the op outputs per row). */
export function dequantizeGatherBlock(parts: GatherBlockParts): Float32Array {
  const fn = 'dequantizeGatherBlock';
  const { V, E, bits, blockSize, data, scales, zeroPoints } = parts;
  const geo = geometry(fn, undefined, V, E, bits, blockSize);
  checkLength(fn, undefined, 'data', data, V * geo.rowBytes, `[${V}, ${geo.rowBytes}]`);
  checkLength(fn, undefined, 'scales', scales, V * geo.blocksPerRow, `[${V}, ${geo.blocksPerRow}]`);
  if (zeroPoints !== undefined) {
    checkLength(fn, undefined, 'zeroPoints', zeroPoints, V * geo.zeroPointRowBytes, `[${V}, ${geo.zeroPointRowBytes}]`);
  }
  return dequantizeBlocks({ data, scales, zeroPoints }, geo);
}

/** The initializers of a quantised table as host tensors (`zeroPoints` only when asymmetric). */
export function gatherBlockTensors(q: GatherBlockWeight): { data: HostTensor; scales: HostTensor; zeroPoints?: HostTensor } {
  const data: HostTensor = { dtype: 'uint8', dims: q.dims.data, data: q.data };
  const scales: HostTensor = { dtype: 'float32', dims: q.dims.scales, data: q.scales };
  if (q.zeroPoints === undefined || q.dims.zeroPoints === undefined) return { data, scales };
  return { data, scales, zeroPoints: { dtype: 'uint8', dims: q.dims.zeroPoints, data: q.zeroPoints } };
}

/**
 * The node attributes of a GatherBlockQuantized over `q` (domain `com.microsoft`, inputs `data,
 * indices, scales [, zero_points]`; indices int32 or int64 of any shape; output `[...indices, E]`).
 */
export function gatherBlockAttributes(q: GatherBlockWeight): Record<string, AttrValue> {
  return {
    gather_axis: attr.int(0),
    quantize_axis: attr.int(1),
    block_size: attr.int(q.blockSize),
    bits: attr.int(q.bits),
  };
}
