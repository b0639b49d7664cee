/**
 * Micro-benchmark of the hot reference kernels on TinyLlama-1.1B decode/prefill shapes (not a test:
 * run by hand with `pnpm exec tsx packages/backend-wasm/test/bench/reference-kernels.bench.ts`).
 * Prints microseconds per call (best of 15 batches); the kernels are first also called on other dtypes/shapes so their
 * call sites see the same type mix as in a real graph.
 */
import type { HostTensor } from '@tinyllama/core';
import { REFERENCE_KERNELS } from '../../src/ops/index.js';
import type { Attrs, OpKernel } from '../../src/ops/types.js';

// KERNELS=/path/to/ops/index.js compares another build of the kernels (e.g. a copy of an older dist/ops)
const K: Readonly<Record<string, OpKernel>> = process.env.KERNELS
  ? ((await import(process.env.KERNELS)) as { REFERENCE_KERNELS: Record<string, OpKernel> }).REFERENCE_KERNELS
  : REFERENCE_KERNELS;

function f32(dims: number[], seed = 1): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  const d = new Float32Array(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) >>> 0;
    d[i] = (s / 2 ** 32) * 4 - 2;
  }
  return { dtype: 'float32', dims, data: d };
}
const i64 = (dims: number[], v: bigint[]): HostTensor => ({ dtype: 'int64', dims, data: BigInt64Array.from(v) });

/** Best of 15 batches (the machine is noisy): microseconds per call. */
function time(label: string, k: OpKernel, inputs: HostTensor[], attrs: Attrs = {}, iters = 30): void {
  for (let i = 0; i < 20; i++) k(inputs, attrs);
  let best = Infinity;
  for (let b = 0; b < 15; b++) {
    const t0 = performance.now();
    for (let i = 0; i < iters; i++) k(inputs, attrs);
    best = Math.min(best, (performance.now() - t0) / iters);
  }
  console.log(`${label.padEnd(52)} ${(best * 1000).toFixed(1).padStart(8)} us/call`);
}

// pollute type feedback like a real graph does (int64 shape arithmetic, broadcasts)
for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
  for (let i = 0; i < 50; i++) {
    K[op]!([i64([1], [3n]), i64([1], [2n])], {});
    K[op]!([f32([2, 3]), f32([3])], {});
    K[op]!([f32([4]), f32([1])], {});
  }
}
const attrs: Attrs = { axis: { type: 'int', value: -1 }, epsilon: { type: 'float', value: 1e-5 } };
for (const S of [1, 16]) {
  const ff = f32([1, S, 5632]);
  const ff2 = f32([1, S, 5632], 7);
  const h = f32([1, S, 2048]);
  const h2 = f32([1, S, 2048], 3);
  time(`Mul same [1,${S},5632]`, K['Mul']!, [ff, ff2]);
  time(`Add same [1,${S},2048]`, K['Add']!, [h, h2]);
  time(`Sub same [1,${S},2048]`, K['Sub']!, [h, h2]);
  time(`Div same [1,${S},2048]`, K['Div']!, [h, h2]);
  time(`Mul scalar [1,${S},5632]*[]`, K['Mul']!, [ff, f32([], 5)]);
  time(`Div scalar []/[1,${S},2048]`, K['Div']!, [f32([], 5), h]);
  time(`Add row [1,${S},2048]+[2048]`, K['Add']!, [h, f32([2048], 9)]);
  time(`Mul row [2048]*[1,${S},2048]`, K['Mul']!, [f32([2048], 9), h]);
  time(`Mul column [1,${S},2048]*[1,${S},1]`, K['Mul']!, [h, f32([1, S, 1], 9)]);
  time(`Sigmoid [1,${S},5632]`, K['Sigmoid']!, [ff]);
  time(`SimplifiedLayerNormalization [1,${S},2048]`, K['SimplifiedLayerNormalization']!, [h, f32([2048], 11)], attrs);
  time(
    `SkipSimplifiedLayerNormalization [1,${S},2048]`,
    K['com.microsoft:SkipSimplifiedLayerNormalization']!,
    [h, h2, f32([2048], 11)],
    attrs,
  );
}
