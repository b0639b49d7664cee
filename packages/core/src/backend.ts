import { TinyLlamaError } from './errors.js';
import { Registry } from './registry.js';
import { numel, type HostTensor } from './tensor.js';

/** Where a backend reads a model from. */
export type ModelSource =
  /** A model file on disk; external data files sit beside it. */
  | { readonly kind: 'path'; readonly path: string }
  /** In-memory bytes, with external data files by their relative path. */
  | {
      readonly kind: 'bytes';
      readonly bytes: Uint8Array;
      readonly externalData?: readonly ExternalDataFile[];
    };

/** An external data file given with in-memory model bytes. */
export interface ExternalDataFile {
  /** Path relative to the model, as the graph's `location` names it. */
  readonly path: string;
  readonly data: Uint8Array;
  /**
   * The bytes were allocated by this backend (e.g. `WasmKernels.stage`) and pass to the session, which
   * may keep its weights where they are instead of copying them, and frees them when it is released
   * (or when `createSession` fails). The caller must not use or release them afterwards. Backends that
   * did not allocate them copy what they need as usual; set it only for bytes from the backend itself.
   */
  readonly transfer?: boolean;
}

/** Options common to backends; each backend maps what it supports. */
export interface SessionOptions {
  /** Intra-op threads (0 or absent: backend default). */
  readonly threads?: number;
  /** Graph optimisation level. */
  readonly graphOptimization?: 'none' | 'basic' | 'extended' | 'all';
  /** Where to save the optimised graph (for inspection). */
  readonly optimizedModelPath?: string;
  /** Enables the backend's profiler; profile files are named with this prefix. */
  readonly profilePrefix?: string;
  /**
   * Whether idle intra-op threads spin-wait for work (backend default: usually true). Turn it off when
   * several sessions run one after another (a chunked bundle): spinning threads of the previous
   * session compete with the running one (TinyLlama-1.1B int4, 13 sessions, 2 cores: 3-10 tok/s
   * spinning vs 22 tok/s without).
   */
  readonly spinWait?: boolean;
}

/** Options of {@link InferenceSession.run}. */
export interface RunOptions {
  /**
   * Caller-allocated output tensors, written in place (zero copy). Only when the session's
   * `supportsInPlaceOutputs` is true; an output passed here may share its buffer with an input (the
   * KV cache's past/present buffers with GroupQueryAttention).
   */
  readonly outputs?: Readonly<Record<string, HostTensor>>;
  /**
   * Names of the outputs wanted (default: all). A backend may skip the others, or return them anyway;
   * in-place {@link outputs} are always written.
   */
  readonly fetch?: readonly string[];
}

/** A loaded model. Tensors cross the boundary as {@link HostTensor}. */
export interface InferenceSession {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  /** True when `run` writes {@link RunOptions.outputs} in place, sharing the caller's memory. */
  readonly supportsInPlaceOutputs: boolean;
  /**
   * Runs the graph. Feeds are not mutated (except buffers also passed as in-place outputs); other
   * outputs are fresh tensors owned by the caller.
   */
  run(feeds: Readonly<Record<string, HostTensor>>, options?: RunOptions): Promise<Record<string, HostTensor>>;
  /** Frees native resources. Idempotent. */
  release(): Promise<void>;
}

/**
 * Memory for tensors that live across runs (the KV cache), where a backend's kernels read and write
 * them in place (e.g. WebAssembly linear memory).
 */
export interface TensorAllocator {
  /**
   * A zero-filled float32 tensor of `dims`. Its `data` may be a getter returning a fresh view (read it
   * again after other allocations rather than keeping it).
   */
  allocate(dims: readonly number[]): HostTensor;
  /** Frees a tensor from `allocate`. Idempotent. */
  free(t: HostTensor): void;
}

/** Plain JS memory: `Float32Array`s, freed by the garbage collector. */
export const jsTensorAllocator: TensorAllocator = {
  allocate: (dims) => ({ dtype: 'float32', dims: [...dims], data: new Float32Array(numel(dims)) }),
  free: () => {},
};

/** What a loader knows of a model before it picks a backend (see {@link Backend.suits}). */
export interface ModelFacts {
  /** Dtype of the linear layers' weights (`int4`, `int8`, `f16`, `f32`); absent when unknown. */
  readonly weightDtype?: string;
  /** Quantised weights without zero points. */
  readonly symmetric?: boolean;
}

/**
 * Model facts from a weights record as `tinyllama-build.json` (`weights`) and a bundle manifest
 * (`quantization`) both write it: `{ dtype, symmetric }`; fields of another type count as unknown.
 */
export function modelFacts(weights: { readonly dtype?: unknown; readonly symmetric?: unknown } | undefined): ModelFacts {
  return {
    weightDtype: typeof weights?.dtype === 'string' ? weights.dtype : undefined,
    symmetric: typeof weights?.symmetric === 'boolean' ? weights.symmetric : undefined,
  };
}

/**
 * An execution backend (onnxruntime `js/common` style): lazy `init`, then sessions.
 * `supportedDomains` lets the runtime pick an attention strategy the backend can run.
 */
export interface Backend {
  readonly name: string;
  /** Operator domains the backend runs, e.g. `['', 'com.microsoft']`. */
  readonly supportedDomains: readonly string[];
  /**
   * Where a shared KV cache should live for this backend's sessions (after `init`); absent: JS memory
   * ({@link jsTensorAllocator}).
   */
  readonly tensorAllocator?: TensorAllocator;
  /**
   * Whether to pick this backend for a model when the caller names none (absent: any model). A backend
   * that is the fastest only for some weights says so here; it still runs any model it is named for.
   */
  suits?(model: ModelFacts): boolean;
  /** One-time initialisation (load native/wasm binaries). Called once, shared by all callers. */
  init(): Promise<void>;
  createSession(model: ModelSource, options?: SessionOptions): Promise<InferenceSession>;
}

/**
 * Backends by name and priority, with lazy initialisation shared by concurrent callers and one combined
 * error when none of the candidates works.
 */
export class BackendRegistry {
  readonly #registry = new Registry<Backend>('backend');
  readonly #inits = new Map<string, Promise<void>>();

  register(backend: Backend, priority = 0): this {
    this.#registry.register(backend.name, backend, priority);
    this.#inits.delete(backend.name);
    return this;
  }

  names(): string[] {
    return this.#registry.names();
  }

  /**
   * Initialises and returns the first backend that works among `hints` (in that order), or among all
   * registered backends by priority when `hints` is empty (skipping those that do not
   * {@link Backend.suits suit} `model`).
   */
  async resolve(hints: readonly string[] = [], model: ModelFacts = {}): Promise<Backend> {
    const candidates = hints.length > 0 ? hints : this.names().filter((n) => this.#registry.get(n).suits?.(model) ?? true);
    if (candidates.length === 0) throw new TinyLlamaError('E_BACKEND', 'no backend is registered');
    const errors: string[] = [];
    const causes: unknown[] = [];
    for (const name of candidates) {
      let backend: Backend;
      try {
        backend = this.#registry.get(name);
      } catch (e) {
        errors.push(`${name}: not registered`);
        causes.push(e);
        continue;
      }
      let init = this.#inits.get(name);
      if (!init) {
        init = backend.init();
        this.#inits.set(name, init);
      }
      try {
        await init;
        return backend;
      } catch (e) {
        errors.push(`${name}: ${e instanceof Error ? e.message : String(e)}`);
        causes.push(e);
      }
    }
    throw new TinyLlamaError('E_BACKEND', `no available backend found. ERR: ${errors.join('; ')}`, {
      cause: new AggregateError(causes),
    });
  }
}
