/**
 * `@tinyllama/backend-ort/node`: the onnxruntime-node (native CPU) backend.
 * @packageDocumentation
 */
import { TinyLlamaError, type Backend, type InferenceSession, type ModelSource, type RuntimePlugin, type SessionOptions } from '@tinyllama/core';
import { OrtInferenceSession, toOrtOptions, type OrtModule } from './common.js';

/** Options of {@link createOrtNodeBackend}. */
export interface OrtNodeBackendOptions {
  /** Registered name (default `node`). */
  readonly name?: string;
  /** Default intra-op threads (default: ORT's choice, all physical cores). */
  readonly threads?: number;
}

/** Creates the onnxruntime-node backend. `onnxruntime-node` is imported lazily on `init()`. */
export function createOrtNodeBackend(options: OrtNodeBackendOptions = {}): Backend {
  let ort: OrtModule | undefined;
  return {
    name: options.name ?? 'node',
    supportedDomains: ['', 'com.microsoft'],
    async init() {
      try {
        ort = (await import('onnxruntime-node')) as unknown as OrtModule;
      } catch (e) {
        throw new TinyLlamaError('E_BACKEND', `onnxruntime-node could not be loaded: ${(e as Error).message}`, { cause: e });
      }
    },
    async createSession(model: ModelSource, sessionOptions?: SessionOptions): Promise<InferenceSession> {
      if (!ort) throw new TinyLlamaError('E_BACKEND', 'backend not initialised: call init() (the runtime does)');
      const opts = toOrtOptions(
        { threads: options.threads, ...sessionOptions },
        { executionProviders: ['cpu'], graphOptimizationLevel: 'all' },
      );
      try {
        if (model.kind === 'path') return new OrtInferenceSession(ort, await ort.InferenceSession.create(model.path, opts), true);
        if (model.externalData?.length) {
          throw new TinyLlamaError('E_UNSUPPORTED', 'onnxruntime-node loads external data from files: pass the model by path');
        }
        return new OrtInferenceSession(ort, await ort.InferenceSession.create(model.bytes, opts), true);
      } catch (e) {
        if (e instanceof TinyLlamaError) throw e;
        const what = model.kind === 'path' ? `'${model.path}'` : 'model bytes';
        throw new TinyLlamaError('E_BACKEND', `onnxruntime-node could not load ${what}: ${(e as Error).message}`, { cause: e });
      }
    },
  };
}

/** Registers the onnxruntime-node backend (priority 100). */
export function ortNodePlugin(options: OrtNodeBackendOptions = {}): RuntimePlugin {
  return {
    name: 'backend-ort/node',
    register(rt) {
      rt.backends.register(createOrtNodeBackend(options), 100);
    },
  };
}
