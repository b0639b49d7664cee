/**
 * `@tinyllama/backend-ort/web`: the onnxruntime-web backend (wasm with SIMD and threads; WebGPU where
 * the browser has it). Works in browsers and in Node.
 * @packageDocumentation
 */
import { TinyLlamaError, type Backend, type InferenceSession, type ModelSource, type RuntimePlugin, type SessionOptions } from '@tinyllama/core';
import { OrtInferenceSession, toOrtOptions, type OrtModule } from './common.js';

/** Options of {@link createOrtWebBackend}. */
export interface OrtWebBackendOptions {
  /** Registered name (default `wasm`). */
  readonly name?: string;
  /** Execution providers in order (default `['wasm']`; e.g. `['webgpu', 'wasm']`). */
  readonly executionProviders?: readonly string[];
  /** wasm threads (default: ORT's choice; needs cross-origin isolation in browsers). */
  readonly numThreads?: number;
  /** Where ORT's .wasm/.mjs files are served from (browsers). */
  readonly wasmPaths?: string;
}

interface OrtWebModule extends OrtModule {
  readonly env: { wasm: { numThreads?: number; wasmPaths?: string; simd?: boolean } };
}

/** Creates the onnxruntime-web backend; `onnxruntime-web` is imported lazily on `init()`. */
export function createOrtWebBackend(options: OrtWebBackendOptions = {}): Backend {
  let ort: OrtWebModule | undefined;
  const eps = options.executionProviders ?? ['wasm'];
  return {
    name: options.name ?? 'wasm',
    supportedDomains: ['', 'com.microsoft'],
    async init() {
      try {
        ort = (await import('onnxruntime-web')) as unknown as OrtWebModule;
      } catch (e) {
        throw new TinyLlamaError('E_BACKEND', `onnxruntime-web could not be loaded: ${(e as Error).message}`, { cause: e });
      }
      if (options.numThreads !== undefined) ort.env.wasm.numThreads = options.numThreads;
      if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
    },
    async createSession(model: ModelSource, sessionOptions?: SessionOptions): Promise<InferenceSession> {
      if (!ort) throw new TinyLlamaError('E_BACKEND', 'backend not initialised: call init() (the runtime does)');
      const opts = toOrtOptions(sessionOptions, { executionProviders: [...eps], graphOptimizationLevel: 'all' });
      try {
        const source = model.kind === 'path' && isNode() ? await readModelFiles(model.path) : model;
        if (source.kind === 'path') {
          return new OrtInferenceSession(ort, await ort.InferenceSession.create(source.path, opts), false);
        }
        const withData = source.externalData?.length
          ? { ...opts, externalData: source.externalData.map((d) => ({ path: d.path, data: d.data })) }
          : opts;
        return new OrtInferenceSession(ort, await ort.InferenceSession.create(source.bytes, withData), false);
      } catch (e) {
        throw new TinyLlamaError('E_BACKEND', `onnxruntime-web could not create a session: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}

function isNode(): boolean {
  return typeof process !== 'undefined' && typeof process.versions?.node === 'string';
}

/**
 * In Node, onnxruntime-web cannot read files itself: read the model and its external data file
 * (`<model>.data`, the name this framework writes) into memory.
 */
async function readModelFiles(path: string): Promise<ModelSource> {
  const fs = await import('node:fs/promises');
  const bytes = new Uint8Array(await fs.readFile(path));
  const dataPath = `${path}.data`;
  const name = dataPath.slice(Math.max(dataPath.lastIndexOf('/'), dataPath.lastIndexOf('\\')) + 1);
  try {
    const data = new Uint8Array(await fs.readFile(dataPath));
    return { kind: 'bytes', bytes, externalData: [{ path: name, data }] };
  } catch {
    return { kind: 'bytes', bytes };
  }
}

/** Registers the onnxruntime-web backend (priority 50: below native where both exist). */
export function ortWebPlugin(options: OrtWebBackendOptions = {}): RuntimePlugin {
  return {
    name: 'backend-ort/web',
    register(rt) {
      rt.backends.register(createOrtWebBackend(options), 50);
    },
  };
}
