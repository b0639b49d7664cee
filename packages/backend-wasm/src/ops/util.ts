/**
 * Shared helpers of the reference kernels: attribute readers, input checks, typed-array allocation,
 * and numpy-style broadcasting.
 */
import { contiguousStrides, numel, shapeToString, TinyLlamaError, type DType, type HostTensor, type TensorData } from '@tinyllama/core';
import type { Attrs } from './types.js';

/** Element access over any {@link TensorData} (numbers, or bigints for int64). */
export interface Indexable {
  [i: number]: number | bigint;
  readonly length: number;
}

/** Throws `E_SHAPE` naming the op. */
export function shapeError(op: string, message: string): never {
  throw new TinyLlamaError('E_SHAPE', `${op}: ${message}`);
}

/** Throws `E_UNSUPPORTED` naming the op. */
export function unsupported(op: string, message: string): never {
  throw new TinyLlamaError('E_UNSUPPORTED', `${op}: ${message}`);
}

/** Throws `E_DTYPE` naming the op. */
export function dtypeError(op: string, message: string): never {
  throw new TinyLlamaError('E_DTYPE', `${op}: ${message}`);
}

/** A required input, or `E_SHAPE` when it is missing. */
export function input(op: string, inputs: readonly (HostTensor | undefined)[], i: number, name: string): HostTensor {
  const t = inputs[i];
  if (t === undefined) shapeError(op, `missing required input ${i} '${name}'`);
  return t;
}

/** An int attribute (or the default). */
export function intAttr(attrs: Attrs, name: string, def: number): number {
  const a = attrs[name];
  if (a === undefined) return def;
  if (a.type !== 'int') throw new TinyLlamaError('E_ARGUMENT', `attribute '${name}' should be an int, got ${a.type}`);
  return a.value;
}

/** A float attribute (or the default). */
export function floatAttr(attrs: Attrs, name: string, def: number): number {
  const a = attrs[name];
  if (a === undefined) return def;
  if (a.type !== 'float' && a.type !== 'int') throw new TinyLlamaError('E_ARGUMENT', `attribute '${name}' should be a float, got ${a.type}`);
  return a.value;
}

/** An ints attribute, or undefined when absent. */
export function intsAttr(attrs: Attrs, name: string): readonly number[] | undefined {
  const a = attrs[name];
  if (a === undefined) return undefined;
  if (a.type !== 'ints') throw new TinyLlamaError('E_ARGUMENT', `attribute '${name}' should be ints, got ${a.type}`);
  return a.value;
}

/** The values of an integer (int64/int32/...) tensor as JS numbers. */
export function intValues(op: string, t: HostTensor, name: string): number[] {
  if (t.dtype === 'float32' || t.dtype === 'float16' || t.dtype === 'bfloat16' || t.dtype === 'float64') {
    dtypeError(op, `input '${name}' must be an integer tensor, got ${t.dtype}`);
  }
  const out: number[] = new Array<number>(t.data.length);
  const d = t.data as Indexable;
  for (let i = 0; i < out.length; i++) out[i] = Number(d[i]);
  return out;
}

/** Normalises a possibly negative axis for a rank, or `E_SHAPE`. */
export function normAxis(op: string, axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (a < 0 || a >= rank || !Number.isInteger(a)) shapeError(op, `axis ${axis} out of range for rank ${rank}`);
  return a;
}

/** A zero-filled typed array for `n` elements of `dtype`. */
export function alloc(dtype: DType, n: number): TensorData {
  switch (dtype) {
    case 'float32':
      return new Float32Array(n);
    case 'float64':
      return new Float64Array(n);
    case 'float16':
    case 'bfloat16':
      return new Uint16Array(n);
    case 'int64':
      return new BigInt64Array(n);
    case 'int32':
      return new Int32Array(n);
    case 'int16':
      return new Int16Array(n);
    case 'int8':
      return new Int8Array(n);
    case 'uint8':
    case 'bool':
      return new Uint8Array(n);
  }
}

/** Copies `n` elements of the same element type from `src[srcOff..]` to `dst[dstOff..]`. */
export function copyElems(dst: TensorData, dstOff: number, src: TensorData, srcOff: number, n: number): void {
  // Same typed-array class at runtime; the casts only satisfy the union's method signatures.
  (dst as Float32Array).set((src as Float32Array).subarray(srcOff, srcOff + n), dstOff);
}

/** A tensor value. */
export function tensor(dtype: DType, dims: readonly number[], data: TensorData): HostTensor {
  return { dtype, dims: [...dims], data };
}

/** Row-major strides of a shape. */
export const stridesOf = contiguousStrides;

/** Numpy (multidirectional) broadcast of several shapes, or `E_SHAPE` naming the op. */
export function broadcastShapes(op: string, shapes: readonly (readonly number[])[]): number[] {
  let rank = 0;
  for (const s of shapes) rank = Math.max(rank, s.length);
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    const off = rank - s.length;
    for (let i = 0; i < s.length; i++) {
      const d = s[i];
      const o = out[off + i];
      if (d === o || d === 1) continue;
      if (o === 1) out[off + i] = d;
      else shapeError(op, `shapes ${shapes.map((x) => shapeToString(x)).join(', ')} do not broadcast`);
    }
  }
  return out;
}

/**
 * For every element of `outDims` (row-major), the offset of the element of a tensor of shape `inDims`
 * that broadcasts onto it. Returns undefined when no mapping is needed (same shape).
 */
export function broadcastOffsets(inDims: readonly number[], outDims: readonly number[]): Int32Array | undefined {
  const n = numel(outDims);
  if (inDims.length === outDims.length && inDims.every((d, i) => d === outDims[i])) return undefined;
  const rank = outDims.length;
  const off = rank - inDims.length;
  const inStrides = stridesOf(inDims);
  // Per output axis: the input stride, 0 where broadcast.
  const bs = new Array<number>(rank).fill(0);
  for (let i = 0; i < inDims.length; i++) bs[off + i] = inDims[i] === 1 ? 0 : inStrides[i];
  const res = new Int32Array(n);
  if (n === 0) return res;
  const idx = new Array<number>(rank).fill(0);
  let cur = 0;
  for (let e = 0; e < n; e++) {
    res[e] = cur;
    // Odometer increment.
    for (let a = rank - 1; a >= 0; a--) {
      idx[a]++;
      cur += bs[a];
      if (idx[a] < outDims[a]) break;
      cur -= bs[a] * idx[a];
      idx[a] = 0;
    }
  }
  return res;
}

/** Requires float32, or `E_DTYPE` naming the op and input. */
export function requireFloat32(op: string, t: HostTensor, name: string): Float32Array {
  if (t.dtype !== 'float32') dtypeError(op, `input '${name}' must be float32, got ${t.dtype}`);
  return t.data as Float32Array;
}
