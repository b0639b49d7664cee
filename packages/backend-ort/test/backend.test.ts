import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createRuntime, isTinyLlamaError, type Backend } from '@tinyllama/core';
import { GraphBuilder } from '@tinyllama/onnx';
import { createOrtNodeBackend, ortNodePlugin } from '@tinyllama/backend-ort/node';
import { createOrtWebBackend } from '@tinyllama/backend-ort/web';

/** y = x * w + 1 over float32 [2, 3], with a weight large enough to go to external data. */
async function tinyModel() {
  const g = new GraphBuilder({ name: 'tiny' });
  g.input('x', 'float32', [2, 3]);
  const w = g.initializer('w', { dtype: 'float32', dims: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) });
  g.output('y', 'float32', [2, 3]);
  g.node('Add', [g.op('Mul', ['x', w]), g.float32([1], true)], { outputs: ['y'] });
  return g.build();
}

const x = { dtype: 'float32' as const, dims: [2, 3], data: Float32Array.from([1, 1, 1, 2, 2, 2]) };
const expected = [2, 3, 4, 9, 11, 13];

async function check(backend: Backend, source: 'bytes' | 'path') {
  await backend.init();
  const model = await tinyModel();
  const session =
    source === 'bytes'
      ? await backend.createSession({ kind: 'bytes', bytes: await model.toBytes() })
      : await backend.createSession({ kind: 'path', path: await model.writeTo(await mkdtemp(join(tmpdir(), 'ort-'))) });
  expect(session.inputNames).toEqual(['x']);
  const out = await session.run({ x });
  expect(Array.from(out.y.data as Float32Array)).toEqual(expected);
  expect(out.y.dims).toEqual([2, 3]);
  await session.release();
  await session.release(); // idempotent
  await expect(session.run({ x })).rejects.toThrow(/released/);
}

describe('onnxruntime-node backend', () => {
  it('runs a model from bytes and from a file', async () => {
    await check(createOrtNodeBackend(), 'bytes');
    await check(createOrtNodeBackend(), 'path');
  });
  it('reports a missing input and a bad model as typed errors', async () => {
    const b = createOrtNodeBackend();
    await b.init();
    const s = await b.createSession({ kind: 'bytes', bytes: await (await tinyModel()).toBytes() });
    await expect(s.run({})).rejects.toThrow(/missing input 'x'/);
    const bad = await b.createSession({ kind: 'bytes', bytes: new Uint8Array([1, 2, 3]) }).catch((e: unknown) => e);
    expect(isTinyLlamaError(bad, 'E_BACKEND')).toBe(true);
  });
  it('registers through the runtime and resolves by priority', async () => {
    const rt = createRuntime({ plugins: [ortNodePlugin()] });
    expect((await rt.backends.resolve()).name).toBe('node');
  });
});

describe('onnxruntime-web backend (wasm, in Node)', () => {
  it('runs a model from bytes', async () => {
    await check(createOrtWebBackend({ numThreads: 1 }), 'bytes');
  });
});
