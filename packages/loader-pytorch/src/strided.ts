import { contiguousStrides } from '@tinyllama/core';

/** True when a view with these strides is dense row-major (dims of size 1 may have any stride). */
export function isContiguous(shape: readonly number[], stride: readonly number[]): boolean {
  if (shape.some((d) => d === 0)) return true;
  const want = contiguousStrides(shape);
  return shape.every((d, i) => d === 1 || stride[i] === want[i]);
}

/** Largest element index a view touches, relative to its storage offset (views with elements only). */
export function maxRelativeIndex(shape: readonly number[], stride: readonly number[]): number {
  let m = 0;
  for (let i = 0; i < shape.length; i++) m += (shape[i] - 1) * stride[i];
  return m;
}

/**
 * Copies a strided view into a new dense row-major buffer. `src` holds the storage bytes starting at the
 * view's first element (its storage offset); `stride` is in elements of `itemSize` bytes. Runs along a
 * unit-stride last dimension are copied as blocks.
 */
export function gatherStrided(src: Uint8Array, itemSize: number, shape: readonly number[], stride: readonly number[]): Uint8Array {
  let count = 1;
  for (const d of shape) count *= d;
  const out = new Uint8Array(count * itemSize);
  if (count === 0) return out;
  const rank = shape.length;
  const unitLast = rank > 0 && stride[rank - 1] === 1;
  const runBytes = (unitLast ? shape[rank - 1] : 1) * itemSize;
  const outer = unitLast ? rank - 1 : rank; // dims iterated one by one
  const idx = new Array<number>(outer).fill(0);
  let srcElem = 0;
  for (let o = 0; o < out.length; o += runBytes) {
    const s = srcElem * itemSize;
    out.set(src.subarray(s, s + runBytes), o);
    // advance the odometer over the outer dims
    for (let k = outer - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) {
        srcElem += stride[k];
        break;
      }
      srcElem -= (shape[k] - 1) * stride[k];
      idx[k] = 0;
    }
  }
  return out;
}
