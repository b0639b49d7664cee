/**
 * Argument checks shared by the quantisers. Every failure is a `TinyLlamaError` with code `E_ARGUMENT`
 * that names the function, the tensor (when the caller passed a name) and the offending value.
 */
import { TinyLlamaError } from '@tinyllama/core';

/** Block sizes accepted by MatMulNBits and GatherBlockQuantized: a power of two, at least 16. */
export const BLOCK_SIZES = [16, 32, 64, 128, 256] as const;

/** A supported quantisation block size (elements per block along the reduced/quantised axis). */
export type BlockSize = (typeof BLOCK_SIZES)[number];

/** Bit widths of the block-wise formats. */
export type QuantBits = 4 | 8;

/** `fn 'name'` for messages. */
export function where(fn: string, name: string | undefined): string {
  return name ? `${fn} '${name}'` : fn;
}

/** Checks that `value` is a positive safe integer (a dimension). */
export function checkDim(fn: string, name: string | undefined, label: string, value: number): void {
  if (!Number.isSafeInteger(value) || value <= 0) {
    throw new TinyLlamaError('E_ARGUMENT', `${where(fn, name)}: ${label} must be a positive integer, got ${String(value)}`);
  }
}

/** Checks the bit width. */
export function checkBits(fn: string, name: string | undefined, bits: number): asserts bits is QuantBits {
  if (bits !== 4 && bits !== 8) {
    throw new TinyLlamaError('E_ARGUMENT', `${where(fn, name)}: bits must be 4 or 8, got ${String(bits)}`);
  }
}

/** Checks the block size. */
export function checkBlockSize(fn: string, name: string | undefined, blockSize: number): asserts blockSize is BlockSize {
  if (!(BLOCK_SIZES as readonly number[]).includes(blockSize)) {
    throw new TinyLlamaError(
      'E_ARGUMENT',
      `${where(fn, name)}: blockSize must be one of ${BLOCK_SIZES.join(', ')}, got ${String(blockSize)}`,
    );
  }
}

/** Checks that a typed array has exactly `expected` elements. */
export function checkLength(
  fn: string,
  name: string | undefined,
  label: string,
  array: ArrayLike<number> | undefined,
  expected: number,
  shape: string,
): void {
  if (array === undefined) {
    throw new TinyLlamaError('E_ARGUMENT', `${where(fn, name)}: ${label} is missing (expected ${expected} elements for ${shape})`);
  }
  if (array.length !== expected) {
    throw new TinyLlamaError(
      'E_ARGUMENT',
      `${where(fn, name)}: ${label} has ${array.length} elements, expected ${expected} for ${shape}`,
    );
  }
}

/** Checks that `array` is a `Float32Array` (the quantisers read float32 only). */
export function checkFloat32(fn: string, name: string | undefined, label: string, array: unknown): asserts array is Float32Array {
  if (!(array instanceof Float32Array)) {
    const got = array === null ? 'null' : typeof array === 'object' ? (array.constructor?.name ?? 'object') : typeof array;
    throw new TinyLlamaError('E_ARGUMENT', `${where(fn, name)}: ${label} must be a Float32Array, got ${got}`);
  }
}
