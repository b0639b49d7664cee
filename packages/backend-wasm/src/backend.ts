import { TinyLlamaError, type Backend, type HostTensor, type InferenceSession, type ModelSource, type RunOptions, type RuntimePlugin, type TensorAllocator } from '@tinyllama/core';
import { decodeModel } from '@tinyllama/onnx';
import { importRuntime, isNode } from './env.js';
import { GraphExecutor, type ExternalDataReader, type GraphStats } from './executor.js';
import { WasmKernels, type WasmKernelsOptions } from './kernels.js';

/** Options of {@link createWasmKernelsBackend}. */
export interface WasmKernelsBackendOptions extends WasmKernelsOptions {
  /** Registered name (default `wasm-kernels`). */
  readonly name?: string;
  /**
   * Every session this backend creates adds its milliseconds per operator type here (see
   * {@link WasmKernelsSession.profile}); for bundles, whose chunks are separate sessions.
   */
  readonly profile?: Map<string, number>;
}

/** A session of the wasm-kernels backend. */
export interface WasmKernelsSession extends InferenceSession {
  /** What went where when the graph was loaded. */
  readonly stats: GraphStats;
  /** Set a map to collect milliseconds per operator type over the following runs; undefined stops. */
  profile: Map<string, number> | undefined;
}

function normalize(p: string): string {
  return p.replace(/\\/g, '/').replace(/^\.\//, '');
}

/** Reads external data from in-memory files (by relative path). */
function memoryReader(files: readonly { readonly path: string; readonly data: Uint8Array }[]): ExternalDataReader {
  const byPath = new Map(files.map((f) => [normalize(f.path), f.data]));
  return async (location, offset, length) => {
    const data = byPath.get(normalize(location));
    if (!data) throw new TinyLlamaError('E_NOT_FOUND', `external data file '${location}' was not given with the model bytes`);
    const end = length < 0 ? data.byteLength : offset + length;
    if (end > data.byteLength) throw new TinyLlamaError('E_CORRUPT', `external data file '${location}': range ${offset}..${end} is past its end (${data.byteLength} bytes)`);
    return data.subarray(offset, end);
  };
}

/** Node: reads the model file and, per tensor, the ranges of its external data files. */
async function fileSource(path: string): Promise<{ bytes: Uint8Array; reader: ExternalDataReader; close: () => Promise<void> }> {
  const fs = (await importRuntime('node:fs/promises')) as typeof import('node:fs/promises');
  const nodePath = (await importRuntime('node:path')) as typeof import('node:path');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await fs.readFile(path));
  } catch (e) {
    throw new TinyLlamaError('E_IO', `cannot read model '${path}': ${(e as Error).message}`, { cause: e });
  }
  const handles = new Map<string, import('node:fs/promises').FileHandle>();
  const reader: ExternalDataReader = async (location, offset, length) => {
    const file = nodePath.resolve(nodePath.dirname(path), location);
    let h = handles.get(file);
    try {
      if (!h) {
        h = await fs.open(file, 'r');
        handles.set(file, h);
      }
      const size = length < 0 ? (await h.stat()).size - offset : length;
      const out = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const { bytesRead } = await h.read(out, done, size - done, offset + done);
        if (bytesRead === 0) throw new TinyLlamaError('E_CORRUPT', `external data file '${file}' ends before byte ${offset + size}`);
        done += bytesRead;
      }
      return out;
    } catch (e) {
      if (e instanceof TinyLlamaError) throw e;
      throw new TinyLlamaError('E_IO', `cannot read external data '${file}': ${(e as Error).message}`, { cause: e });
    }
  };
  const close = async () => {
    for (const h of handles.values()) await h.close();
  };
  return { bytes, reader, close };
}

/**
 * Our own WebAssembly backend: ONNX graphs run by a small executor whose block-quantised matmuls are
 * SIMD128 / relaxed-SIMD kernels on worker threads sharing one memory (see `docs/wasm-backend.md`).
 * Runs in browsers (threads need cross-origin isolation) and in Node. `SessionOptions.threads` is not
 * per session: threads are set once with the backend's options.
 */
export function createWasmKernelsBackend(options: WasmKernelsBackendOptions = {}): Backend & { readonly kernels: () => WasmKernels | undefined } {
  let kernels: WasmKernels | undefined;
  return {
    name: options.name ?? 'wasm-kernels',
    supportedDomains: ['', 'com.microsoft'],
    kernels: () => kernels,
    /** Tensors in the kernels' memory: a KV cache here is read by attention in place (available after init). */
    get tensorAllocator(): TensorAllocator | undefined {
      const k = kernels;
      return k && { allocate: (dims) => k.allocTensor(dims), free: (t) => k.freeTensor(t) };
    },
    async init() {
      if (typeof WebAssembly === 'undefined') throw new TinyLlamaError('E_BACKEND', 'WebAssembly is not available');
      kernels = await WasmKernels.create(options);
    },
    async createSession(model: ModelSource): Promise<WasmKernelsSession> {
      const k = kernels;
      if (!k) throw new TinyLlamaError('E_BACKEND', 'backend not initialised: call init() (the runtime does)');
      let bytes: Uint8Array;
      let reader: ExternalDataReader;
      let close = async () => {};
      // files staged in the kernels' memory and handed over: the session keeps weights where they are
      const regions = model.kind === 'bytes' ? (model.externalData ?? []).filter((f) => f.transfer && k.mem.owns(f.data)).map((f) => f.data) : [];
      let exec: GraphExecutor;
      try {
        if (model.kind === 'path') {
          if (!isNode()) throw new TinyLlamaError('E_UNSUPPORTED', `wasm-kernels: load '${model.path}' as bytes in browsers`);
          ({ bytes, reader, close } = await fileSource(model.path));
        } else {
          bytes = model.bytes;
          reader = memoryReader(model.externalData ?? []);
        }
        exec = await GraphExecutor.load(decodeModel(bytes), reader, k, { regions, release: () => regions.forEach((r) => k.releaseStaging(r)) });
      } catch (e) {
        for (const r of regions) k.releaseStaging(r);
        throw e;
      } finally {
        await close();
      }
      const session = new KernelsSession(exec);
      session.profile = options.profile;
      return session;
    },
  };
}

class KernelsSession implements WasmKernelsSession {
  /** In-place outputs: GroupQueryAttention writes a shared KV cache's new rows where the caller keeps it. */
  readonly supportsInPlaceOutputs = true;
  readonly #exec: GraphExecutor;

  constructor(exec: GraphExecutor) {
    this.#exec = exec;
  }

  get inputNames(): readonly string[] {
    return this.#exec.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.#exec.outputNames;
  }

  get stats(): GraphStats {
    return this.#exec.stats;
  }

  get profile(): Map<string, number> | undefined {
    return this.#exec.profile;
  }

  set profile(p: Map<string, number> | undefined) {
    this.#exec.profile = p;
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, options?: RunOptions): Promise<Record<string, HostTensor>> {
    const outputs = options?.outputs;
    if (!outputs) return this.#exec.run(feeds, undefined, options?.fetch);
    for (const name of Object.keys(outputs)) {
      if (!this.#exec.outputNames.includes(name)) throw new TinyLlamaError('E_ARGUMENT', `in-place output '${name}' is not an output of the graph`);
    }
    return this.#exec.run(feeds, outputs, options?.fetch);
  }

  async release(): Promise<void> {
    this.#exec.release();
  }
}

/** Registers the wasm-kernels backend (priority 60: above onnxruntime-web, below native onnxruntime-node). */
export function wasmKernelsPlugin(options: WasmKernelsBackendOptions = {}): RuntimePlugin {
  return {
    name: 'backend-wasm',
    register(rt) {
      rt.backends.register(createWasmKernelsBackend(options), 60);
    },
  };
}
