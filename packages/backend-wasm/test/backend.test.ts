/**
 * End-to-end tests of the wasm-kernels backend: the committed tiny checkpoints are built into ONNX
 * model directories the way `tinyllama build` does (float32, int4 and int8 at accuracy level 4), then
 * run through `createWasmKernelsBackend` and onnxruntime-node: prompt logits and greedy generation
 * with a KV cache must agree. Also: bytes vs path loading, errors, session statistics, and (when
 * ../shared/fixtures is present) the trained stories260K against its PyTorch reference.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  argmax,
  greedyIds,
  createRuntime,
  DecoderRunner,
  isTinyLlamaError,
  TinyLlamaError,
  type Backend,
  type DecoderConfig,
  type HostTensor,
  type InferenceSession,
  type ModelSource,
  type Runtime,
  type WeightFormat,
} from '@tinyllama/core';
import { buildModelDir, readConfigJson } from '@tinyllama/core/node';
import { decodeModel, GraphBuilder } from '@tinyllama/onnx';
import { matMulNBitsAttributes, matMulNBitsTensors, quantizeMatMulNBits } from '@tinyllama/quantize';
import { createOrtNodeBackend } from '@tinyllama/backend-ort/node';
import { createWasmKernelsBackend, type WasmKernelsSession } from '../src/index.js';
import { llama2Architecture, llama2Plugin } from '@tinyllama/arch-llama2';
import { checkpointLoadersPlugin } from '@tinyllama/loader-pytorch';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const TINY = join(ROOT, 'fixtures/tiny');
const SHARED = resolve(ROOT, '../shared/fixtures');
const STORIES = join(SHARED, 'stories260k-hf');
const HAS_STORIES = existsSync(join(STORIES, 'config.json'));

/** The CLI's formats: `--dtype f32`, `--dtype int4` and `--dtype int8` (block 32, accuracy level 4, symmetric). */
const FORMATS = {
  f32: { dtype: 'float32' },
  int4: { dtype: 'int4', blockSize: 32, accuracyLevel: 4, symmetric: true },
  int8: { dtype: 'int8', blockSize: 32, accuracyLevel: 4, symmetric: true },
} as const satisfies Record<string, WeightFormat>;
type Format = keyof typeof FORMATS;

let work: string;
let rt: Runtime;
let wasm: Backend;
let ort: Backend;
const built = new Map<string, string>();

/** Builds (once) `variant` (a fixtures/tiny checkpoint, or a full path) in `format`; returns model.onnx. */
async function modelFile(src: string, format: Format): Promise<string> {
  const key = `${src}|${format}`;
  let dir = built.get(key);
  if (!dir) {
    dir = join(work, `${src.replace(/[^a-z0-9]+/gi, '_')}-${format}`);
    await buildModelDir(rt, src.startsWith('/') ? src : join(TINY, src), dir, { weights: FORMATS[format] });
    built.set(key, dir);
  }
  return join(dir, 'model.onnx');
}

async function configOf(src: string): Promise<DecoderConfig> {
  return llama2Architecture.normalizeConfig(await readConfigJson(src.startsWith('/') ? src : join(TINY, src)));
}

async function withSessions<T>(file: string, f: (ours: WasmKernelsSession, ref: InferenceSession) => Promise<T>): Promise<T> {
  const source: ModelSource = { kind: 'path', path: file };
  const ours = (await wasm.createSession(source)) as WasmKernelsSession;
  const ref = await ort.createSession(source, { threads: 1 });
  try {
    return await f(ours, ref);
  } finally {
    await ours.release();
    await ref.release();
  }
}

/** MatMulNBits nodes of a model file with accuracy_level 4 (those the wasm kernels should run). */
async function level4Matmuls(file: string): Promise<number> {
  const model = decodeModel(new Uint8Array(await readFile(file)));
  return model.nodes.filter((n) => {
    const level = n.attrs.accuracy_level;
    return n.opType === 'MatMulNBits' && level?.type === 'int' && level.value === 4;
  }).length;
}

/** Greedy ids after `prompt` with the KV cache (one token per step). */
async function greedy(
  session: InferenceSession,
  config: DecoderConfig,
  prompt: readonly number[],
  steps: number,
  options?: ConstructorParameters<typeof DecoderRunner>[2],
): Promise<number[]> {
  return greedyIds(new DecoderRunner(session, config, options), prompt, steps);
}

/** Max |a - b| and max |b| over all values, and the fraction of rows (length V) whose argmax agrees. */
function compareLogits(a: Float32Array, b: Float32Array, V: number): { maxDiff: number; maxAbs: number; top1: number } {
  expect(a.length).toBe(b.length);
  let maxDiff = 0;
  let maxAbs = 0;
  for (let i = 0; i < a.length; i++) {
    maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    maxAbs = Math.max(maxAbs, Math.abs(b[i]));
  }
  let agree = 0;
  const rows = a.length / V;
  for (let r = 0; r < rows; r++) if (argmax(a.subarray(r * V, (r + 1) * V)) === argmax(b.subarray(r * V, (r + 1) * V))) agree++;
  return { maxDiff, maxAbs, top1: agree / rows };
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tinyllama-wasm-backend-'));
  rt = createRuntime({ plugins: [llama2Plugin, checkpointLoadersPlugin] }); // what `tinyllama build` needs
  wasm = createWasmKernelsBackend({ threads: 2 });
  ort = createOrtNodeBackend({ threads: 1 });
  await wasm.init();
  await ort.init();
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const VARIANTS = ['gqa-f32-safetensors', 'mha-f16-bin-untied'] as const;

describe('tiny checkpoints: wasm-kernels vs onnxruntime-node', () => {
  for (const variant of VARIANTS) {
    for (const format of ['f32', 'int4', 'int8'] as const) {
      it(`${variant} ${format}: prompt logits and greedy ids`, async () => {
        const golden = JSON.parse(await readFile(join(TINY, variant, 'golden.json'), 'utf8')) as { inputIds: number[] };
        const config = await configOf(variant);
        const V = config.vocabSize;
        const file = await modelFile(variant, format);
        await withSessions(file, async (ours, ref) => {
          const n4 = await level4Matmuls(file);
          expect(n4 > 0).toBe(format !== 'f32');
          expect(ours.stats.wasmMatmuls).toBe(n4);
          ours.profile = new Map();
          const a = await new DecoderRunner(ours, config).forward(golden.inputIds, true); // [S, V]
          // quantised MLPs run their gate and up projections and SwiGLU as one fused step
          expect(ours.profile.has('MatMulNBits+SwiGLU')).toBe(format !== 'f32');
          ours.profile = undefined;
          const b = await new DecoderRunner(ref, config).forward(golden.inputIds, true);
          const c = compareLogits(a, b, V);
          const ga = await greedy(ours, config, golden.inputIds, 24);
          const gb = await greedy(ref, config, golden.inputIds, 24);
          const same = ga.findIndex((id, i) => id !== gb[i]);
          console.info(
            `${variant} ${format}: logits max |diff| ${c.maxDiff.toExponential(2)} (max |logit| ${c.maxAbs.toFixed(2)}), ` +
              `top-1 agreement ${(c.top1 * 100).toFixed(0)}%, greedy ids ${same < 0 ? 'identical' : `differ from step ${same}`}`,
          );
          if (format === 'f32') {
            expect(c.maxDiff).toBeLessThanOrEqual(1e-4);
            expect(ga).toEqual(gb);
          } else {
            // int8 activations per block on both sides, but the rounding of the activation scales and
            // the order of the int32 sums may differ (observed: ~1e-5 of the largest logit on x86-64)
            expect(c.maxDiff).toBeLessThanOrEqual(1e-2 * c.maxAbs);
            expect(c.top1).toBeGreaterThanOrEqual(0.9);
          }
        });
      });
    }
  }
});

describe('shared KV cache', () => {
  it('in the kernels\' memory (read in place by attention) and in JS buffers: the same greedy ids as concat, across capacity growth', async () => {
    const file = await modelFile('gqa-f32-safetensors', 'int4');
    const config = await configOf('gqa-f32-safetensors');
    const prompt = [1, 5, 17, 99, 200, 7, 3];
    await withSessions(file, async (ours, ref) => {
      expect(ours.supportsInPlaceOutputs).toBe(true);
      const allocator = wasm.tensorAllocator!;
      const k = wasm.kernels()!;
      const used = k.mem.usedBytes;
      const concat = await greedy(ours, config, prompt, 20);
      // capacity 4 grows to 8, 16, 32 during the run
      const inWasm = await greedy(ours, config, prompt, 20, { kvCache: 'shared', allocator, initialCapacity: 4 });
      const inJs = await greedy(ours, config, prompt, 20, { kvCache: 'shared', initialCapacity: 4 });
      const onOrt = await greedy(ref, config, prompt, 20, { kvCache: 'shared', initialCapacity: 4 });
      // the prompt in prefill chunks of 3 (steps with a past): the kernels' attention and ORT's
      const chunked = await greedy(ours, config, prompt, 20, { kvCache: 'shared', allocator, initialCapacity: 4, prefillChunk: 3 });
      const rowsOnOrt = await greedy(ref, config, prompt, 20, { kvCache: 'rows', initialCapacity: 4, prefillChunk: 3 });
      expect(inWasm).toEqual(concat);
      expect(inJs).toEqual(concat);
      expect(onOrt).toEqual(concat);
      expect(chunked).toEqual(concat);
      expect(rowsOnOrt).toEqual(concat);
      // activations live in the kernels' memory during a run and are all freed after it
      const warm = new DecoderRunner(ours, config, { kvCache: 'shared', allocator, initialCapacity: 32 });
      await warm.forward(prompt);
      const before = k.mem.usedBytes;
      for (let i = 0; i < 5; i++) await warm.forward([7 + i]);
      expect(k.mem.usedBytes).toBe(before);
      warm.release();
      // a released runner gives its buffers back
      const r = new DecoderRunner(ours, config, { kvCache: 'shared', allocator, initialCapacity: 64 });
      expect(k.mem.usedBytes).toBeGreaterThan(used);
      r.release();
      expect(k.mem.usedBytes).toBeLessThanOrEqual(used + 64 * 1024); // scratch may have grown
    });
  });
});

describe('loading and errors', () => {
  it("kind 'bytes' with externalData equals kind 'path'", async () => {
    const file = await modelFile('gqa-f32-safetensors', 'int4');
    const config = await configOf('gqa-f32-safetensors');
    const bytes = new Uint8Array(await readFile(file));
    const data = new Uint8Array(await readFile(`${file}.data`));
    const s1 = await wasm.createSession({ kind: 'path', path: file });
    const s2 = await wasm.createSession({ kind: 'bytes', bytes, externalData: [{ path: './model.onnx.data', data }] });
    try {
      const ids = [1, 5, 17, 99, 200];
      const a = await new DecoderRunner(s1, config).forward(ids, true);
      const b = await new DecoderRunner(s2, config).forward(ids, true);
      expect(b).toEqual(a);
    } finally {
      await s1.release();
      await s2.release();
    }
  });

  it('results in the kernels\' memory pass through Reshape and Identity (resident views), leave as graph outputs, and nothing leaks', async () => {
    const M = 2, K = 64, N = 32, N2 = 16;
    const w1 = quantizeMatMulNBits(Float32Array.from({ length: N * K }, (_, i) => Math.sin(i * 0.37)), N, K, { bits: 4, blockSize: 32, symmetric: true });
    const w2 = quantizeMatMulNBits(Float32Array.from({ length: N2 * N }, (_, i) => Math.cos(i * 0.21)), N2, N, { bits: 4, blockSize: 32, symmetric: true });
    const g = new GraphBuilder({ opset: 17 });
    g.useOpset('com.microsoft', 1);
    const x = g.input('x', 'float32', [M, K]);
    const matmul = (a: string, w: typeof w1, name: string, out?: string) => {
      const t = matMulNBitsTensors(w);
      return g.node('MatMulNBits', [a, g.initializer(`${name}.B`, t.B), g.initializer(`${name}.scales`, t.scales)], {
        domain: 'com.microsoft',
        name,
        attrs: matMulNBitsAttributes(w, 4),
        outputs: [out ?? g.fresh(name)],
      })[0]!;
    };
    const y1 = matmul(x, w1, 'mm1', g.output('y1', 'float32', [M, N])); // a graph output also read below
    const r = g.node('Reshape', [y1, g.int64([4, N / 2])], { outputs: [g.output('r', 'float32', [4, N / 2])] })[0]!;
    const id = g.op('Identity', [r]);
    const back = g.op('Reshape', [id, g.int64([M, N])]);
    matmul(back, w2, 'mm2', g.output('y2', 'float32', [M, N2]));
    const s = (await wasm.createSession({ kind: 'bytes', bytes: await g.build().toBytes() })) as WasmKernelsSession;
    const k = wasm.kernels()!;
    try {
      const xs = Float32Array.from({ length: M * K }, (_, i) => Math.cos(i));
      await s.run({ x: { dtype: 'float32', dims: [M, K], data: xs } }); // scratch reaches its size
      const used = k.mem.usedBytes;
      const out = await s.run({ x: { dtype: 'float32', dims: [M, K], data: xs } });
      expect(k.mem.usedBytes).toBe(used);
      for (const name of ['y1', 'r', 'y2']) expect(k.mem.owns(out[name]!.data), name).toBe(false); // copied out
      // a caller's in-place output receives the result straight from the kernels' memory
      const y2: HostTensor = { dtype: 'float32', dims: [M, N2], data: new Float32Array(M * N2) };
      const into = await s.run({ x: { dtype: 'float32', dims: [M, K], data: xs } }, { outputs: { y2 } });
      expect(into.y2).toBe(y2);
      expect(y2.data).toEqual(out.y2!.data);
      expect(k.mem.usedBytes).toBe(used);
      const small: HostTensor = { dtype: 'float32', dims: [1, N2], data: new Float32Array(N2) };
      await expect(s.run({ x: { dtype: 'float32', dims: [M, K], data: xs } }, { outputs: { y2: small } })).rejects.toMatchObject({ code: 'E_SHAPE', message: expect.stringContaining("in-place output 'y2'") });
      expect(k.mem.usedBytes).toBe(used);
      // fetch: only the steps the wanted outputs need run (here mm1 and the Reshape, not mm2)
      s.profile = new Map();
      const some = await s.run({ x: { dtype: 'float32', dims: [M, K], data: xs } }, { fetch: ['r'] });
      expect(Object.keys(some)).toEqual(['y1', 'r']); // y1 is computed on the way
      expect(some.r!.data).toEqual(out.r!.data);
      expect(s.profile.get('MatMulNBits')).toBeGreaterThan(0);
      expect([...s.profile.keys()].filter((op) => op === 'Identity')).toEqual([]);
      s.profile = undefined;
      const withTarget = await s.run({ x: { dtype: 'float32', dims: [M, K], data: xs } }, { outputs: { y2 }, fetch: [] });
      expect(Object.keys(withTarget)).toEqual(['y1', 'r', 'y2']);
      expect(k.mem.usedBytes).toBe(used);
      await expect(s.run({ x: { dtype: 'float32', dims: [M, K], data: xs } }, { fetch: ['nope'] })).rejects.toMatchObject({ code: 'E_ARGUMENT', message: expect.stringContaining("'nope'") });
      const u1 = k.uploadNBits({ K, N, bits: 4, blockSize: 32, q: w1.B, scales: w1.scales }, 'u1');
      const u2 = k.uploadNBits({ K: N, N: N2, bits: 4, blockSize: 32, q: w2.B, scales: w2.scales }, 'u2');
      try {
        const want1 = k.matmulNBits(xs, M, u1);
        expect(out.y1!.data).toEqual(want1);
        expect(out.r!.dims).toEqual([4, N / 2]);
        expect(out.r!.data).toEqual(want1);
        expect(out.y2!.data).toEqual(k.matmulNBits(want1, M, u2));
      } finally {
        k.releaseNBits(u1);
        k.releaseNBits(u2);
      }
    } finally {
      await s.release();
    }
  });

  it('external data staged in the kernels\' memory and transferred: weights stay in the file, same logits, freed with the session', async () => {
    const file = await modelFile('gqa-f32-safetensors', 'int4');
    const config = await configOf('gqa-f32-safetensors');
    const bytes = new Uint8Array(await readFile(file));
    const data = new Uint8Array(await readFile(`${file}.data`));
    const k = wasm.kernels()!;
    const base = k.mem.usedBytes;
    const copied = await wasm.createSession({ kind: 'bytes', bytes, externalData: [{ path: './model.onnx.data', data }] });
    const copiedBytes = k.mem.usedBytes - base;
    const want = await new DecoderRunner(copied, config).forward([1, 5, 17, 99, 200], true);
    await copied.release();
    const before = k.mem.usedBytes;
    const staged = k.stage(data.byteLength);
    staged.set(data);
    const s = (await wasm.createSession({ kind: 'bytes', bytes, externalData: [{ path: './model.onnx.data', data: staged, transfer: true }] })) as WasmKernelsSession;
    try {
      // the file is the weights' storage: beyond it only what is not kept there (scales that are not
      // 4-byte aligned in the file)
      expect(copiedBytes).toBeGreaterThanOrEqual(s.stats.wasmWeightBytes);
      expect(k.mem.usedBytes - before - data.byteLength).toBeLessThan(s.stats.wasmWeightBytes / 4);
      expect(await new DecoderRunner(s, config).forward([1, 5, 17, 99, 200], true)).toEqual(want);
    } finally {
      await s.release();
    }
    expect(k.mem.usedBytes).toBeLessThanOrEqual(before + 64 * 1024);
    // a failed load frees a transferred file too
    const bad = k.stage(16);
    const e = await wasm.createSession({ kind: 'bytes', bytes, externalData: [{ path: './model.onnx.data', data: bad, transfer: true }] }).catch((err: unknown) => err);
    expect(isTinyLlamaError(e, 'E_CORRUPT')).toBe(true);
    expect(k.mem.usedBytes).toBeLessThanOrEqual(before + 64 * 1024);
  });

  it('an unsupported operator gives E_UNSUPPORTED naming it', async () => {
    const g = new GraphBuilder({ opset: 17 });
    const x = g.input('x', 'float32', [2]);
    g.node('Erf', [x], { outputs: [g.output('y', 'float32', [2])] });
    const bytes = await g.build().toBytes();
    const e = await wasm.createSession({ kind: 'bytes', bytes }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isTinyLlamaError(e, 'E_UNSUPPORTED')).toBe(true);
    expect((e as Error).message).toMatch(/\bErf\b/);
  });

  it('a missing external data file gives a clear error', async () => {
    const file = await modelFile('gqa-f32-safetensors', 'f32');
    // bytes without the data file: E_NOT_FOUND naming it
    const bytes = new Uint8Array(await readFile(file));
    const e1 = await wasm.createSession({ kind: 'bytes', bytes }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(isTinyLlamaError(e1, 'E_NOT_FOUND')).toBe(true);
    expect((e1 as Error).message).toMatch(/model\.onnx\.data/);
    // a path whose data file is absent: E_IO naming the file
    const { copyFile, mkdir } = await import('node:fs/promises');
    const lonely = join(work, 'no-data');
    await mkdir(lonely, { recursive: true });
    await copyFile(file, join(lonely, 'model.onnx'));
    const e2 = await wasm.createSession({ kind: 'path', path: join(lonely, 'model.onnx') }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(e2).toBeInstanceOf(TinyLlamaError);
    expect((e2 as TinyLlamaError).code).toBe('E_IO');
    expect((e2 as Error).message).toContain(join(lonely, 'model.onnx.data'));
  });

  it('stats count the matmuls on the wasm kernels', async () => {
    const config = await configOf('gqa-f32-safetensors');
    for (const format of ['f32', 'int8'] as const) {
      const file = await modelFile('gqa-f32-safetensors', format);
      const s = (await wasm.createSession({ kind: 'path', path: file })) as WasmKernelsSession;
      try {
        // int8: every linear layer (fused qkv, o, fused gate/up, down per layer) and the LM head
        expect(s.stats.wasmMatmuls).toBe(format === 'f32' ? 0 : await level4Matmuls(file));
        if (format === 'int8') expect(s.stats.wasmMatmuls).toBeGreaterThanOrEqual(config.numLayers * 3 + 1);
        expect(s.stats.nodes).toBeGreaterThan(0);
        if (format === 'int8') expect(s.stats.wasmWeightBytes).toBeGreaterThan(0);
      } finally {
        await s.release();
      }
    }
  });
});

describe.skipIf(!HAS_STORIES)('stories260K (needs ../shared/fixtures/stories260k-hf; skipped when absent)', () => {
  it('f32 greedy ids from BOS match the PyTorch reference; int8 runs like onnxruntime', async () => {
    const ref = JSON.parse(await readFile(join(ROOT, 'fixtures/stories260k/reference.json'), 'utf8')) as { greedyFromBos: { promptIds: number[]; ids: number[] } };
    const config = await configOf(STORIES);
    const prompt = ref.greedyFromBos.promptIds;
    await withSessions(await modelFile(STORIES, 'f32'), async (ours) => {
      expect(await greedy(ours, config, prompt, 64)).toEqual(ref.greedyFromBos.ids.slice(0, 64));
    });
    await withSessions(await modelFile(STORIES, 'int8'), async (ours, other) => {
      const a = await greedy(ours, config, prompt, 32);
      const b = await greedy(other, config, prompt, 32);
      const same = a.findIndex((id, i) => id !== b[i]);
      console.info(`stories260K int8: greedy ids vs onnxruntime ${same < 0 ? 'identical' : `differ from step ${same}`} (32 steps)`);
      expect(a.length).toBe(32);
    });
  });
});
