/**
 * Reference kernels of the default-domain operators, each checked against onnxruntime-node on a
 * one-node model with small random inputs.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { attr, f32ToF16, isTinyLlamaError, type AttrValue, type Backend, type HostTensor } from '@tinyllama/core';
import { GraphBuilder } from '@tinyllama/onnx';
import { createOrtNodeBackend } from '@tinyllama/backend-ort/node';
import { REFERENCE_KERNELS, opKey } from '../src/ops/index.js';

// ---- harness (kept in each ops test file: test files cannot share a non-test module) ----

let backend: Backend;
beforeAll(async () => {
  backend = createOrtNodeBackend({ threads: 1 });
  await backend.init();
});

/** One node input: a graph input by default, or an initializer (`init`); `undefined` = omitted. */
type In = HostTensor | { readonly init: HostTensor } | undefined;

interface Case {
  readonly op: string;
  readonly inputs: readonly In[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  readonly domain?: string;
  readonly opset?: number;
}

function plain(i: In): HostTensor | undefined {
  return i === undefined ? undefined : 'init' in i ? i.init : i;
}

/** Runs the case with our kernel and with onnxruntime; returns both output lists. */
async function both(c: Case): Promise<{ ours: HostTensor[]; ort: HostTensor[] }> {
  const kernel = REFERENCE_KERNELS[opKey(c.domain ?? '', c.op)];
  if (kernel === undefined) throw new Error(`no kernel for ${c.op}`);
  const attrs = c.attrs ?? {};
  const ours = kernel(c.inputs.map(plain), attrs);
  const g = new GraphBuilder({ opset: c.opset ?? 17 });
  if (c.domain) g.useOpset(c.domain, 1);
  const feeds: Record<string, HostTensor> = {};
  const names = c.inputs.map((i, k) => {
    if (i === undefined) return '';
    if ('init' in i) return g.initializer(`w${k}`, i.init);
    feeds[`x${k}`] = i;
    return g.input(`x${k}`, i.dtype, i.dims);
  });
  const outs = ours.map((t, k) => g.output(`y${k}`, t.dtype, t.dims.map((_, d) => `y${k}_${d}`)));
  g.node(c.op, names, { outputs: outs, attrs, domain: c.domain });
  const session = await backend.createSession({ kind: 'bytes', bytes: await g.build().toBytes() });
  try {
    const res = await session.run(feeds);
    return { ours, ort: outs.map((n) => res[n]) };
  } finally {
    await session.release();
  }
}

/** Float tolerance: |ours - ort| <= rtol * |ort| + atol. */
interface Tol {
  readonly rtol: number;
  readonly atol: number;
}
const TOL: Tol = { rtol: 1e-5, atol: 1e-7 };

/** Asserts equal dtype, dims, and values (ints exact, floats within `tol`, by default ~1e-5 relative). */
function expectClose(ours: HostTensor, ref: HostTensor, what: string, tol: Tol = TOL): void {
  expect(ours.dtype, `${what} dtype`).toBe(ref.dtype);
  expect([...ours.dims], `${what} dims`).toEqual([...ref.dims]);
  if (ours.dtype !== 'float32' && ours.dtype !== 'float64') {
    expect(Array.from(ours.data as ArrayLike<number>), `${what} values`).toEqual(Array.from(ref.data as ArrayLike<number>));
    return;
  }
  const a = ours.data as Float32Array;
  const b = ref.data as Float32Array;
  let worst = 0;
  let at = -1;
  for (let i = 0; i < b.length; i++) {
    if (Number.isNaN(b[i]) && Number.isNaN(a[i])) continue;
    const err = Math.abs(a[i] - b[i]) / (tol.rtol * Math.abs(b[i]) + tol.atol);
    if (!(err <= worst)) {
      worst = err;
      at = i;
    }
  }
  expect(worst, `${what}: worst error (in tolerances) at ${at}: ours ${a[at]} vs ort ${b[at]}`).toBeLessThanOrEqual(1);
}

/** Runs a case and compares every output (or the first `n`). */
async function check(c: Case, n?: number, tol?: Tol): Promise<HostTensor[]> {
  const { ours, ort } = await both(c);
  const k = n ?? ours.length;
  for (let i = 0; i < k; i++) expectClose(ours[i], ort[i], `${c.op} output ${i}`, tol);
  return ours;
}

let seed = 12345;
function rand(): number {
  seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
  return seed / 2 ** 32;
}
function f32(dims: readonly number[], lo = -2, hi = 2): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'float32', dims, data: Float32Array.from({ length: n }, () => lo + (hi - lo) * rand()) };
}
function i64(dims: readonly number[], values: readonly number[]): HostTensor {
  return { dtype: 'int64', dims, data: BigInt64Array.from(values, (v) => BigInt(v)) };
}
function i64r(dims: readonly number[], lo: number, hi: number): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return i64(dims, Array.from({ length: n }, () => lo + Math.floor((hi - lo) * rand())));
}
function bool(dims: readonly number[]): HostTensor {
  const n = dims.reduce((a, b) => a * b, 1);
  return { dtype: 'bool', dims, data: Uint8Array.from({ length: n }, () => (rand() < 0.5 ? 1 : 0)) };
}
const ints = (v: number[]) => ({ init: i64([v.length], v) });

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
