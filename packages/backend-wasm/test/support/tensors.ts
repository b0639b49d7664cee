/** Seeded test data shared by the ops tests (each test file gets its own module instance). */
import type { HostTensor } from '@tinyllama/core';

let seed = 12345;

/** Restarts the sequence (files that want their own stream call it first). */
export function reseed(s: number): void {
  seed = s;
}
export function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
export function f32(dims: readonly number[], lo = -2, hi = 2): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => lo + (hi - lo) * rand()) };
}
export function i64(dims: readonly number[], values: readonly number[]): HostTensor {
  return { dtype: 'int64', dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}
export function i64r(dims: readonly number[], lo: number, hi: number): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return i64(dims, Array.from({ length: n }, () => lo + Math.floor((hi - lo) * rand())));
}
export function bool(dims: readonly number[]): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'bool', dims, data: Uint8Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0)) };
}
export const ints = (v: number[]) => ({ init: i64([v.length], v) });

