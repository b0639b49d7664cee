/**
 * Reference kernels of the default-domain operators, each checked against onnxruntime-node on a
 * one-node model with small random inputs.
 */
import { describe, expect, it } from 'vitest';
import { attr, f32ToF16, isTinyLlamaError, type HostTensor } from '@tinyllama/core';
import { REFERENCE_KERNELS, opKey } from '../src/ops/index.js';

import { check } from './support/ort-harness.js';
import { f32, i64, i64r, bool, ints } from './support/tensors.js';

// ---- tests ----

describe('element-wise', () => {
  it('Add/Sub/Mul/Div broadcast float32', async () => {
    for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
      await check({ op, inputs: [f32([2, 3, 4]), f32([3, 1], 0.5, 2)] });
      await check({ op, inputs: [f32([1, 4]), f32([3, 1], 0.5, 2)] });
      await check({ op, inputs: [f32([5]), f32([], 0.5, 2)] });
    }
  });
  it('Add/Sub/Mul/Div on int64', async () => {
    for (const op of ['Add', 'Sub', 'Mul', 'Div']) {
      await check({ op, inputs: [i64r([2, 3], -50, 50), i64([1], [1])] });
      await check({ op, inputs: [i64r([2, 3], -50, 50), i64r([3], 1, 7)] });
    }
  });
  it('Pow, Sqrt, Neg, Sigmoid', async () => {
    await check({ op: 'Pow', inputs: [f32([3, 4]), { init: { dtype: 'float32', dims: [], data: Float32Array.of(2) } }] });
    await check({ op: 'Pow', inputs: [f32([3, 4], 0.1, 3), f32([4], -2, 2)] });
    await check({ op: 'Sqrt', inputs: [f32([3, 4], 0, 5)] });
    await check({ op: 'Neg', inputs: [f32([3, 4])] });
    await check({ op: 'Neg', inputs: [i64r([5], -9, 9)] });
    await check({ op: 'Sigmoid', inputs: [f32([4, 5], -20, 20)] });
  });
  it('Equal, LessOrEqual, And, Where', async () => {
    await check({ op: 'Equal', inputs: [i64r([3, 4], 0, 3), i64r([4], 0, 3)] });
    await check({ op: 'LessOrEqual', inputs: [i64r([3, 1], 0, 5), i64r([1, 4], 0, 5)] });
    const a = f32([6]);
    await check({ op: 'LessOrEqual', inputs: [a, { dtype: 'float32', dims: [6], data: Float32Array.from(a.data as Float32Array, (v, i) => (i % 2 ? v : v + 0.1)) }] });
    await check({ op: 'And', inputs: [bool([2, 3]), bool([3])] });
    await check({ op: 'Where', inputs: [bool([2, 1, 4]), f32([3, 1]), f32([])] });
    await check({ op: 'Where', inputs: [bool([4]), i64r([2, 4], 0, 9), i64r([4], 0, 9)] });
  });
  it('Cast between float32, float16, int64, int32 and bool', async () => {
    const x = f32([40], -70000, 70000);
    const edge: HostTensor = { dtype: 'float32', dims: [8], data: Float32Array.of(65504, 65520, 1e-8, -3e-5, 0.1, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0) };
    for (const to of [1, 6, 7, 9, 10]) {
      await check({ op: 'Cast', inputs: [x], attrs: { to: attr.int(to) } });
      await check({ op: 'Cast', inputs: [edge], attrs: { to: attr.int(to) } });
    }
    const h: HostTensor = { dtype: 'float16', dims: [6], data: Uint16Array.from([1.5, -2, 65504, 6e-8, 0.3, 0], (v) => f32ToF16(v)) };
    for (const to of [1, 7, 9]) await check({ op: 'Cast', inputs: [h], attrs: { to: attr.int(to) } });
    const l = i64([5], [-3, 0, 1, 7, 1 << 30]);
    for (const to of [1, 6, 7, 9, 10]) await check({ op: 'Cast', inputs: [l], attrs: { to: attr.int(to) } });
    for (const to of [1, 6, 7]) await check({ op: 'Cast', inputs: [bool([7])], attrs: { to: attr.int(to) } });
    await check({ op: 'Cast', inputs: [{ dtype: 'int32', dims: [3], data: Int32Array.of(-4, 0, 9) }], attrs: { to: attr.int(1) } });
    expect(() => REFERENCE_KERNELS.Cast([x], { to: attr.int(17) })).toThrow(/Cast/);
  });
});

describe('shape ops', () => {
  it('Shape (start/end), Reshape, Squeeze, Unsqueeze, Flatten, Identity', async () => {
    const x = f32([2, 3, 1, 4]);
    await check({ op: 'Shape', inputs: [x] });
    await check({ op: 'Shape', inputs: [x], attrs: { start: attr.int(1), end: attr.int(-1) } });
    await check({ op: 'Shape', inputs: [x], attrs: { start: attr.int(-2) } });
    await check({ op: 'Reshape', inputs: [x, ints([0, -1, 2])] });
    await check({ op: 'Reshape', inputs: [x, ints([0, 0, 4])] });
    await check({ op: 'Squeeze', inputs: [x, ints([2])] });
    await check({ op: 'Squeeze', inputs: [f32([1, 3, 1])] });
    await check({ op: 'Unsqueeze', inputs: [x, ints([0, -1])] });
    await check({ op: 'Unsqueeze', inputs: [i64([], [5]), ints([0])] });
    await check({ op: 'Flatten', inputs: [x], attrs: { axis: attr.int(2) } });
    await check({ op: 'Flatten', inputs: [x], attrs: { axis: attr.int(-1) } });
    await check({ op: 'Identity', inputs: [i64r([3], 0, 9)] });
    expect(() => REFERENCE_KERNELS.Reshape([x, i64([2], [5, -1])], {})).toThrow(/Reshape/);
  });
  it('Concat, Split, Gather, Transpose, Expand, Range', async () => {
    await check({ op: 'Concat', inputs: [f32([2, 3, 2]), f32([2, 3, 4])], attrs: { axis: attr.int(-1) } });
    await check({ op: 'Concat', inputs: [i64r([1], 0, 9), i64r([2], 0, 9), i64r([1], 0, 9)], attrs: { axis: attr.int(0) } });
    await check({ op: 'Split', inputs: [f32([2, 3, 8]), ints([3, 5])], attrs: { axis: attr.int(-1) } });
    await check({ op: 'Split', inputs: [f32([7, 2])], attrs: { axis: attr.int(0), num_outputs: attr.int(3) }, opset: 18 });
    expect(() => REFERENCE_KERNELS.Split([f32([4])], {})).toThrow(/Split: needs the split input or the num_outputs/);
    await check({ op: 'Gather', inputs: [f32([5, 3]), i64([2, 2], [0, -1, 4, 2])] });
    await check({ op: 'Gather', inputs: [f32([2, 5, 3]), i64([], [-2])], attrs: { axis: attr.int(1) } });
    await check({ op: 'Gather', inputs: [i64r([4], 0, 9), { dtype: 'int32', dims: [3], data: Int32Array.of(3, 0, -4) }] });
    await check({ op: 'Transpose', inputs: [f32([2, 3, 4, 5])], attrs: { perm: attr.ints([0, 2, 1, 3]) } });
    await check({ op: 'Transpose', inputs: [f32([2, 3, 4])] });
    await check({ op: 'Expand', inputs: [f32([3, 1]), ints([2, 3, 4])] });
    await check({ op: 'Expand', inputs: [f32([2, 3]), ints([1, 1])] });
    const sc = (dt: 'int64' | 'float32', v: number): HostTensor =>
      dt === 'int64' ? i64([], [v]) : { dtype: 'float32', dims: [], data: Float32Array.of(v) };
    await check({ op: 'Range', inputs: [sc('int64', 2), sc('int64', 11), sc('int64', 3)] });
    await check({ op: 'Range', inputs: [sc('int64', 5), sc('int64', 0), sc('int64', -2)] });
    await check({ op: 'Range', inputs: [sc('float32', 0.5), sc('float32', 3), sc('float32', 0.25)] });
  });
  it('Slice (axes, negative and clamped indices, steps, empty results)', async () => {
    await check({ op: 'Slice', inputs: [f32([1, 2, 9, 4]), ints([3]), ints([7]), ints([2])] }); // KV rows
    await check({ op: 'Slice', inputs: [f32([3, 5]), ints([0, 1]), ints([-1, 100])] }); // default axes, clamped end
    await check({ op: 'Slice', inputs: [f32([4, 6]), ints([-1, 5]), ints([-100, 0]), ints([0, 1]), ints([-1, -2])] });
    await check({ op: 'Slice', inputs: [f32([2, 7, 3]), ints([1]), ints([7]), ints([-2]), ints([3])] });
    await check({ op: 'Slice', inputs: [i64r([6], 0, 9), ints([4]), ints([2])] }); // empty
    const one = (v: number) => i64([1], [v]);
    expect(() => REFERENCE_KERNELS.Slice([f32([4]), one(0), one(2), one(0), one(0)], {})).toThrow(/Slice: step 0/);
  });
});

describe('reductions, softmax, matmul, norm', () => {
  it('ReduceSum and ReduceMean', async () => {
    const x = f32([2, 3, 4]);
    await check({ op: 'ReduceSum', inputs: [i64r([2, 5], 0, 2), ints([1])], attrs: { keepdims: attr.int(0) } });
    await check({ op: 'ReduceSum', inputs: [x, ints([0, -1])] });
    await check({ op: 'ReduceSum', inputs: [x] });
    await check({ op: 'ReduceSum', inputs: [x, { init: i64([0], []) }], attrs: { noop_with_empty_axes: attr.int(1) } });
    await check({ op: 'ReduceMean', inputs: [x], attrs: { axes: attr.ints([-1]), keepdims: attr.int(1) } }); // opset 17: attribute
    await check({ op: 'ReduceMean', inputs: [x, ints([1])], attrs: { keepdims: attr.int(0) }, opset: 18 });
  });
  it('Softmax', async () => {
    await check({ op: 'Softmax', inputs: [f32([2, 3, 5], -5, 5)] });
    await check({ op: 'Softmax', inputs: [f32([2, 3, 5], -5, 5)], attrs: { axis: attr.int(1) } });
  });
  it('MatMul (batched, broadcast, 1-D)', async () => {
    await check({ op: 'MatMul', inputs: [f32([2, 1, 3, 8]), f32([3, 8, 5])] });
    await check({ op: 'MatMul', inputs: [f32([4, 8]), f32([8])] });
    await check({ op: 'MatMul', inputs: [f32([8]), f32([2, 8, 3])] });
    await check({ op: 'MatMul', inputs: [f32([1, 3, 16]), { init: f32([16, 7]) }] });
    expect(() => REFERENCE_KERNELS.MatMul([f32([2, 3]), f32([4, 2])], {})).toThrow(/MatMul/);
  });
  it('Gemm (alpha, beta, transA, transB, C broadcast)', async () => {
    await check({ op: 'Gemm', inputs: [f32([3, 8]), { init: f32([5, 8]) }, { init: f32([5]) }], attrs: { transB: attr.int(1) } });
    await check({ op: 'Gemm', inputs: [f32([8, 3]), f32([8, 5]), f32([3, 1])], attrs: { transA: attr.int(1), alpha: attr.float(0.5), beta: attr.float(2) } });
    await check({ op: 'Gemm', inputs: [f32([3, 8]), f32([8, 5])] });
    await check({ op: 'Gemm', inputs: [f32([8, 3]), f32([5, 8]), f32([])], attrs: { transA: attr.int(1), transB: attr.int(1) } });
  });
  it('SimplifiedLayerNormalization', async () => {
    await check(
      { op: 'SimplifiedLayerNormalization', inputs: [f32([2, 3, 16]), { init: f32([16]) }], attrs: { axis: attr.int(-1), epsilon: attr.float(1e-5), stash_type: attr.int(1) } },
      1,
    );
    await check({ op: 'SimplifiedLayerNormalization', inputs: [f32([4, 32], -0.01, 0.01), { init: f32([32]) }], attrs: { epsilon: attr.float(1e-6) } }, 1);
  });
});

describe('errors', () => {
  it('names the op', () => {
    try {
      REFERENCE_KERNELS.Add([f32([2, 3]), f32([4])], {});
      expect.unreachable();
    } catch (e) {
      expect(isTinyLlamaError(e, 'E_SHAPE')).toBe(true);
      expect((e as Error).message).toMatch(/^Add:/);
    }
  });
});
