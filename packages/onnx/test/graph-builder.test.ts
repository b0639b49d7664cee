import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { attr, f32ToF16, isTinyLlamaError, type LazyTensor, type Progress } from '@tinyllama/core';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GraphBuilder } from '../src/index.js';

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyllama-onnx-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** y = (x @ W + b) * 2 with W lazily produced [K, N]; also exercises attributes and symbolic dims. */
function linearGraph(k: number, n: number, loads: { count: number }) {
  const g = new GraphBuilder({ name: 'linear' });
  const x = g.input('x', 'float32', ['batch', k]);
  const wData = Float32Array.from({ length: k * n }, (_, i) => ((i % 13) - 6) / 8);
  const w: LazyTensor = {
    dtype: 'float32',
    dims: [k, n],
    load: async () => {
      loads.count++;
      return new Uint8Array(wData.slice().buffer);
    },
  };
  const wName = g.initializer('W', w);
  const b = g.initializer('b', { dtype: 'float32', dims: [n], data: Float32Array.from({ length: n }, (_, i) => i) });
  const mm = g.op('MatMul', [x, wName]);
  const biased = g.op('Add', [mm, b]);
  const scaled = g.op('Mul', [biased, g.float32([2], true)]);
  const [y] = g.node('Identity', [scaled], { outputs: ['y'] });
  g.output(y, 'float32', ['batch', n]);
  // mean over the last axis with a negative axis attribute and keepdims
  g.node('ReduceMean', [y], { outputs: ['m'], attrs: { axes: attr.ints([-1]), keepdims: attr.int(1) } });
  g.output('m', 'float32', ['batch', 1]);
  const expected = (xs: Float32Array, rows: number) => {
    const out = new Float32Array(rows * n);
    for (let r = 0; r < rows; r++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let i = 0; i < k; i++) s += xs[r * k + i] * wData[i * n + j];
        out[r * n + j] = (s + j) * 2;
      }
    return out;
  };
  return { g, expected };
}

async function run(session: ort.InferenceSession, feeds: Record<string, ort.Tensor>) {
  const out = await session.run(feeds);
  return out;
}

describe('GraphBuilder + OnnxModel with onnxruntime', () => {
  it('runs a model serialized to bytes (all tensors inline)', async () => {
    const loads = { count: 0 };
    const { g, expected } = linearGraph(8, 4, loads);
    const model = g.build();
    expect(model.parameterCount).toBe(8 * 4 + 4);
    const bytes = await model.toBytes();
    expect(loads.count).toBe(1);
    const session = await ort.InferenceSession.create(bytes);
    const xs = Float32Array.from({ length: 16 }, (_, i) => i / 10);
    const out = await run(session, { x: new ort.Tensor('float32', xs, [2, 8]) });
    const y = out.y.data as Float32Array;
    const want = expected(xs, 2);
    for (let i = 0; i < want.length; i++) expect(y[i]).toBeCloseTo(want[i], 4);
    expect(out.m.dims).toEqual([2, 1]);
    await session.release();
  });

  it('writes external data with aligned offsets, atomically, loading each lazy tensor once', async () => {
    const loads = { count: 0 };
    const { g, expected } = linearGraph(64, 32, loads); // W = 8 KiB -> external, b = 128 B -> inline
    const extra = g.initializer('extra', { dtype: 'float32', dims: [300], data: new Float32Array(300).fill(1) });
    g.node('ReduceSum', [extra], { outputs: ['extra_sum'], attrs: { keepdims: attr.int(0) } });
    g.output('extra_sum', 'float32', []);
    const model = g.build({ externalDataAlignment: 4096 });
    const progress: Progress[] = [];
    const dir = path.join(tmp, 'ext');
    const file = await model.writeTo(dir, { onProgress: (p) => progress.push(p) });
    expect(file).toBe(path.join(dir, 'model.onnx'));
    expect(loads.count).toBe(1);
    expect((await readdir(dir)).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    // W at 0 (8192 bytes), extra (1200 bytes) at the next 4096 boundary
    expect((await stat(path.join(dir, 'model.onnx.data'))).size).toBe(8192 + 1200);
    expect((await stat(file)).size).toBeLessThan(2000);
    const proto = await readFile(file);
    expect(proto.includes(Buffer.from('model.onnx.data'))).toBe(true);
    expect(proto.includes(Buffer.from('8192'))).toBe(true);
    expect(progress.at(-1)).toMatchObject({ phase: 'write-weights', done: 8192 + 1200, total: 8192 + 1200, unit: 'bytes' });

    const session = await ort.InferenceSession.create(file);
    const xs = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i));
    const out = await run(session, { x: new ort.Tensor('float32', xs, [1, 64]) });
    const y = out.y.data as Float32Array;
    const want = expected(xs, 1);
    for (let i = 0; i < want.length; i++) expect(y[i]).toBeCloseTo(want[i], 4);
    expect(out.extra_sum.data[0]).toBe(300);
    await session.release();
  });

  it('supports a custom file name, com.microsoft ops, float16 and int64 tensors', async () => {
    const g = new GraphBuilder();
    g.useOpset('com.microsoft', 1);
    const x = g.input('x', 'float16', [2]);
    const ids = g.input('ids', 'int64', ['n']);
    const table = g.initializer('table', {
      dtype: 'float16',
      dims: [3, 2],
      data: Uint16Array.from([1, 2, 3, 4, 5, 6].map(f32ToF16)),
    });
    const gathered = g.op('Gather', [table, ids], { axis: attr.int(0) }); // [n, 2] f16
    const sum = g.op('Add', [gathered, x]);
    const f = g.op('Cast', [sum], { to: attr.int(1) });
    const gelu = g.op('Gelu', [f], undefined, 'com.microsoft');
    g.node('Identity', [gelu], { outputs: ['y'] });
    g.output('y', 'float32', ['n', 2]);
    const cos = g.node('ConstantOfShape', [g.int64([2])], { attrs: { value: attr.tensor({ dtype: 'float32', dims: [1], data: Float32Array.of(0.5) }) }, outputs: ['z'] });
    g.output(cos[0], 'float32', [2]);
    expect(g.int64([2])).toBe(g.int64([2])); // constants are deduplicated
    const file = await g.build().writeTo(path.join(tmp, 'custom'), { fileName: 'tiny.onnx' });
    expect(await readdir(path.dirname(file))).toEqual(['tiny.onnx']); // nothing big enough for external data
    const session = await ort.InferenceSession.create(file);
    const out = await session.run({
      x: new ort.Tensor('float16', Uint16Array.from([0, 0].map(f32ToF16)), [2]),
      ids: new ort.Tensor('int64', BigInt64Array.from([2n, 0n]), [2]),
    });
    const y = Array.from(out.y.data as Float32Array);
    const gelu32 = (v: number) => 0.5 * v * (1 + erf(v / Math.SQRT2));
    [5, 6, 1, 2].forEach((v, i) => expect(y[i]).toBeCloseTo(gelu32(v), 4));
    expect(Array.from(out.z.data as Float32Array)).toEqual([0.5, 0.5]);
    await session.release();
  });
});

function erf(x: number): number {
  // Abramowitz-Stegun 7.1.26 is too coarse for 1e-4 on gelu(1); integrate numerically instead.
  const n = 2000;
  let s = 0;
  for (let i = 0; i < n; i++) {
    const t = ((i + 0.5) / n) * x;
    s += Math.exp(-t * t);
  }
  return ((2 / Math.sqrt(Math.PI)) * s * x) / n;
}

describe('GraphBuilder errors', () => {
  const code = (fn: () => unknown) => {
    try {
      fn();
    } catch (e) {
      return isTinyLlamaError(e) ? `${e.code}: ${e.message}` : String(e);
    }
    return 'no error';
  };

  it('rejects undefined inputs, duplicate names, unknown domains and unproduced outputs', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1]);
    expect(code(() => g.op('Relu', ['nope']))).toMatch(/E_ARGUMENT.*'nope' is not defined/);
    expect(code(() => g.input('x', 'float32', [1]))).toMatch(/E_ARGUMENT.*'x'/);
    expect(code(() => g.op('Gelu', [x], undefined, 'com.microsoft'))).toMatch(/E_ARGUMENT.*com.microsoft/);
    g.initializer('w', { dtype: 'float32', dims: [1], data: new Float32Array(1) });
    expect(code(() => g.initializer('w', { dtype: 'float32', dims: [1], data: new Float32Array(1) }))).toMatch(/E_ARGUMENT.*'w'/);
    expect(code(() => g.initializer('v', { dtype: 'float32', dims: [2], data: new Float32Array(1) }))).toMatch(/E_SHAPE.*'v'/);
    const r = g.op('Relu', [x]);
    expect(code(() => g.node('Relu', [x], { outputs: [r] }))).toMatch(/E_ARGUMENT.*already produced/);
    g.output('never', 'float32', [1]);
    expect(code(() => g.build())).toMatch(/E_ARGUMENT.*'never' is never produced/);
  });

  it('hands out fresh names usable as explicit outputs', () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1]);
    const a = g.fresh('h');
    const b = g.fresh('h');
    expect(a).toBe('h');
    expect(b).toBe('h_1');
    expect(g.node('Relu', [x], { outputs: [a] })).toEqual(['h']);
    expect(code(() => g.input('h_1', 'float32', [1]))).toBe('no error');
  });

  it('refuses toBytes over 2 GB without loading anything', async () => {
    const g = new GraphBuilder();
    let loaded = false;
    g.initializer('huge', {
      dtype: 'float32',
      dims: [600_000_000],
      load: async () => {
        loaded = true;
        return new Uint8Array(0);
      },
    });
    const err = await g.build().toBytes().catch((e: unknown) => e);
    expect(isTinyLlamaError(err, 'E_UNSUPPORTED')).toBe(true);
    expect(loaded).toBe(false);
  });

  it('leaves no files behind when a lazy tensor is wrong', async () => {
    const g = new GraphBuilder();
    const x = g.input('x', 'float32', [1024]);
    const w = g.initializer('w', { dtype: 'float32', dims: [1024], load: async () => new Uint8Array(10) });
    g.node('Add', [x, w], { outputs: ['y'] });
    g.output('y', 'float32', [1024]);
    const dir = path.join(tmp, 'broken');
    const err = await g.build().writeTo(dir).catch((e: unknown) => e);
    expect(isTinyLlamaError(err, 'E_SHAPE')).toBe(true);
    expect((err as Error).message).toContain("'w'");
    expect(await readdir(dir)).toEqual([]);
  });
});
