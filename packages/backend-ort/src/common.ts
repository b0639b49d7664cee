import { TinyLlamaError, type DType, type HostTensor, type InferenceSession, type RunOptions, type SessionOptions } from '@tinyllama/core';
import type { InferenceSession as OrtSession, Tensor as OrtTensor } from 'onnxruntime-common';

/**
 * The parts of an onnxruntime JS package (`onnxruntime-node` or `onnxruntime-web`) this backend uses.
 * Each entry point passes its own runtime in, so no module imports both.
 */
export interface OrtModule {
  readonly Tensor: new (type: OrtTensor.Type, data: OrtTensor.DataType, dims: readonly number[]) => OrtTensor;
  readonly InferenceSession: {
    create(pathOrBytes: string | Uint8Array, options?: OrtSession.SessionOptions): Promise<OrtSession>;
  };
}

const TO_ORT: Partial<Record<DType, OrtTensor.Type>> = {
  float32: 'float32',
  float16: 'float16',
  int64: 'int64',
  int32: 'int32',
  int16: 'int16',
  int8: 'int8',
  uint8: 'uint8',
  bool: 'bool',
  float64: 'float64',
};

/** The inverse of {@link TO_ORT}: onnxruntime type name → framework dtype. */
const FROM_ORT: Partial<Record<string, DType>> = Object.fromEntries(Object.entries(TO_ORT).map(([k, v]) => [v, k as DType]));

/** Wraps a host tensor as an ORT tensor (no copy). */
export function toOrtTensor(ort: OrtModule, name: string, t: HostTensor): OrtTensor {
  const type = TO_ORT[t.dtype];
  if (!type) throw new TinyLlamaError('E_DTYPE', `input '${name}': dtype ${t.dtype} is not supported by onnxruntime`);
  return new ort.Tensor(type, t.data as OrtTensor.DataType, t.dims);
}

/** Views an ORT output tensor as a host tensor (no copy). */
export function fromOrtTensor(name: string, t: OrtTensor): HostTensor {
  const dtype = FROM_ORT[t.type];
  if (!dtype) throw new TinyLlamaError('E_DTYPE', `output '${name}': onnxruntime type ${t.type} is not supported`);
  return { dtype, dims: [...t.dims], data: t.data as HostTensor['data'] };
}

/** Maps the framework's session options onto ORT's. */
export function toOrtOptions(options: SessionOptions | undefined, base: OrtSession.SessionOptions): OrtSession.SessionOptions {
  const o: OrtSession.SessionOptions = { ...base };
  if (options?.threads && options.threads > 0) o.intraOpNumThreads = options.threads;
  if (options?.graphOptimization) {
    o.graphOptimizationLevel = options.graphOptimization === 'none' ? 'disabled' : options.graphOptimization;
  }
  if (options?.optimizedModelPath) o.optimizedModelFilePath = options.optimizedModelPath;
  if (options?.spinWait !== undefined) o.extra = { ...o.extra, session: { intra_op: { allow_spinning: options.spinWait ? '1' : '0' } } };
  if (options?.profilePrefix) {
    o.enableProfiling = true;
    o.profileFilePrefix = options.profilePrefix;
  }
  return o;
}

/** A framework {@link InferenceSession} over an ORT session. */
export class OrtInferenceSession implements InferenceSession {
  #released = false;

  constructor(
    private readonly ort: OrtModule,
    private readonly session: OrtSession,
    /** onnxruntime-node binds caller buffers as outputs without copying; onnxruntime-web copies. */
    readonly supportsInPlaceOutputs: boolean,
  ) {}

  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  async run(feeds: Readonly<Record<string, HostTensor>>, options?: RunOptions): Promise<Record<string, HostTensor>> {
    if (this.#released) throw new TinyLlamaError('E_BACKEND', 'session was released');
    const ortFeeds: Record<string, OrtTensor> = {};
    for (const name of this.session.inputNames) {
      const t = feeds[name];
      if (!t) throw new TinyLlamaError('E_ARGUMENT', `missing input '${name}'`);
      ortFeeds[name] = toOrtTensor(this.ort, name, t);
    }
    let out: OrtSession.ReturnType;
    try {
      if (options?.outputs) {
        const wanted = options.fetch ? new Set(options.fetch) : undefined;
        const fetches: Record<string, OrtTensor | null> = {};
        for (const name of this.session.outputNames) {
          const t = options.outputs[name];
          if (t) fetches[name] = toOrtTensor(this.ort, name, t);
          else if (!wanted || wanted.has(name)) fetches[name] = null;
        }
        out = await this.session.run(ortFeeds, fetches);
      } else if (options?.fetch) {
        // only these come back: unfetched outputs (e.g. the whole KV cache) are not copied out
        for (const name of options.fetch) {
          if (!this.session.outputNames.includes(name)) throw new TinyLlamaError('E_ARGUMENT', `no output named '${name}'`);
        }
        out = await this.session.run(ortFeeds, [...options.fetch]);
      } else {
        out = await this.session.run(ortFeeds);
      }
    } catch (e) {
      throw new TinyLlamaError('E_BACKEND', `onnxruntime run failed: ${(e as Error).message}`, { cause: e });
    }
    const result: Record<string, HostTensor> = {};
    for (const [name, t] of Object.entries(out)) result[name] = fromOrtTensor(name, t);
    return result;
  }

  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    await this.session.release();
  }
}
