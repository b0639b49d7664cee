import type { DecoderConfig } from './architecture.js';
import type { Backend, InferenceSession, TensorAllocator } from './backend.js';
import { TinyLlamaError } from './errors.js';
import { IO } from './io-names.js';
import { SharedKvCache } from './kv-cache.js';
import { forwardInChunks, prefillChunkOption } from './prefill.js';
import type { HostTensor } from './tensor.js';

/** The shape facts a {@link DecoderRunner} needs about a model. */
export type DecoderShape = Pick<DecoderConfig, 'numLayers' | 'numKeyValueHeads' | 'headDim' | 'vocabSize' | 'maxPositionEmbeddings'>;

/** The int64 inputs of one forward step of batch 1 (after checking the context limit and token ids). */
export interface StepInputs {
  readonly S: number;
  readonly T: number;
  /** [1, S] */
  readonly inputIds: HostTensor;
  /** [1, T], all ones */
  readonly attentionMask: HostTensor;
  /** [1, S], P .. T-1 */
  readonly positionIds: HostTensor;
}

/**
 * Checks a step of `ids` after `P` cached tokens (`E_ARGUMENT` for no or out-of-range ids, `E_CONTEXT`
 * past the context limit) and builds its inputs.
 */
export function stepInputs(shape: DecoderShape, P: number, ids: readonly number[]): StepInputs {
  const S = ids.length;
  if (S === 0) throw new TinyLlamaError('E_ARGUMENT', 'forward() needs at least one token');
  const T = P + S;
  if (T > shape.maxPositionEmbeddings) {
    throw new TinyLlamaError('E_CONTEXT', `context limit exceeded: ${T} tokens > ${shape.maxPositionEmbeddings}`);
  }
  for (const id of ids) {
    if (!Number.isInteger(id) || id < 0 || id >= shape.vocabSize) {
      throw new TinyLlamaError('E_ARGUMENT', `token id ${id} is out of range [0, ${shape.vocabSize})`);
    }
  }
  return {
    S,
    T,
    inputIds: { dtype: 'int64', dims: [1, S], data: BigInt64Array.from(ids, (v) => BigInt(v)) },
    attentionMask: { dtype: 'int64', dims: [1, T], data: new BigInt64Array(T).fill(1n) },
    positionIds: { dtype: 'int64', dims: [1, S], data: BigInt64Array.from(ids, (_, i) => BigInt(P + i)) },
  };
}

/** An empty KV cache: `2 * numLayers` tensors [1, Hkv, 0, D] (key, value per layer). */
export function emptyKvCache(shape: DecoderShape): HostTensor[] {
  const empty: HostTensor = { dtype: 'float32', dims: [1, shape.numKeyValueHeads, 0, shape.headDim], data: new Float32Array(0) };
  return Array.from({ length: 2 * shape.numLayers }, () => empty);
}

/**
 * How the KV cache crosses the session boundary:
 * - `concat`: each step feeds `past` [1, Hkv, P, D] and keeps the fresh `present` [1, Hkv, T, D]
 *   (any graph; the backend allocates and copies the whole cache every step);
 * - `shared`: one buffer per layer, [1, Hkv, capacity, D] ({@link SharedKvCache}: the capacity grows by
 *   doubling up to the context limit, in the backend's memory when it has a `tensorAllocator`), fed as
 *   `past` and bound as the in-place `present` output, so the step writes only the new rows (needs a
 *   graph whose attention reads the valid length from `attention_mask`, i.e. GroupQueryAttention, and
 *   a backend with in-place outputs);
 * - `rows`: the same per-layer buffers, fed as `past`, but the session returns only the step's new rows
 *   (`present_rows.{i}.*` [1, Hkv, S, D], fetched without `present`) and the runner copies them in (needs
 *   such a graph: GroupQueryAttention graphs from graph version 6). For backends that hand every output
 *   back in a new buffer (onnxruntime-node), this replaces copying the whole cache out of the session
 *   each step by copying S rows.
 */
export type KvCacheMode = 'concat' | 'shared' | 'rows';

/**
 * The mode `auto` stands for: `shared` where the graph's attention can share buffers (and the sessions
 * write in place) and the backend keeps tensors in its own memory (a `tensorAllocator`, e.g.
 * wasm-kernels: attention reads the cache in place); else `rows` where the graph returns the step's rows
 * (`canAppendRows`); else `concat`. onnxruntime-node writes `shared` buffers in place but then copies
 * every output back into a new JS buffer, so there `shared` copies the whole buffer each step
 * (TinyLlama-1.1B int4, context 16: 10.1 tok/s shared with full-context buffers vs 23.1 tok/s concat),
 * and `rows` avoids both that copy and concat's (see docs/benchmarks.md).
 */
export function autoKvCacheMode(canShare: boolean, backend: Pick<Backend, 'tensorAllocator'>, canAppendRows = false): KvCacheMode {
  if (canShare && backend.tensorAllocator) return 'shared';
  return canAppendRows ? 'rows' : 'concat';
}

/** True when `session` returns the step's own K/V rows for every layer (the `rows` KV cache). */
export function hasRowOutputs(session: Pick<InferenceSession, 'outputNames'>, numLayers: number): boolean {
  const names = new Set(session.outputNames);
  for (let i = 0; i < numLayers; i++) {
    if (!names.has(IO.presentKeyRows(i)) || !names.has(IO.presentValueRows(i))) return false;
  }
  return numLayers > 0;
}

/**
 * Drives a decoder session with a KV cache (batch 1): `forward(ids)` appends tokens and returns
 * logits. The cache holds the un-repeated KV heads per layer (see {@link KvCacheMode}).
 */
export class DecoderRunner {
  #past: HostTensor[] = [];
  #length = 0;
  readonly #needsPositions: boolean;
  readonly #keepsLogits: boolean;
  readonly #shared: SharedKvCache | undefined;
  /** `rows` mode: the names fetched each step (logits, then every layer's key and value rows). */
  readonly #fetch: readonly string[] | undefined;
  readonly #prefillChunk: number;
  readonly kvCache: KvCacheMode;

  constructor(
    readonly session: InferenceSession,
    readonly shape: DecoderShape,
    options: {
      readonly kvCache?: KvCacheMode;
      /** Where a shared KV cache lives (the backend's `tensorAllocator`; default JS memory). */
      readonly allocator?: TensorAllocator;
      /** First capacity of a shared KV cache, in rows per head (default 256). */
      readonly initialCapacity?: number;
      /**
       * Longest step run at once (default `DEFAULT_PREFILL_CHUNK`; 0: no limit): a longer `forward`
       * (a long prompt) runs in steps of this many tokens, so attention's [H, S, T] scores and the
       * activations stay bounded.
       */
      readonly prefillChunk?: number;
    } = {},
  ) {
    this.#prefillChunk = prefillChunkOption(options.prefillChunk);
    this.#needsPositions = session.inputNames.includes(IO.positionIds);
    this.#keepsLogits = session.inputNames.includes(IO.logitsToKeep);
    this.kvCache = options.kvCache ?? 'concat';
    if (this.kvCache === 'shared' && !session.supportsInPlaceOutputs) {
      throw new TinyLlamaError('E_UNSUPPORTED', 'shared KV cache needs a backend session with in-place outputs');
    }
    if (this.kvCache === 'rows' && !hasRowOutputs(session, shape.numLayers)) {
      throw new TinyLlamaError('E_UNSUPPORTED', `the rows KV cache needs a graph with ${IO.presentKeyRows(0)} outputs (GroupQueryAttention, graph version 6 or later)`);
    }
    if (this.kvCache !== 'concat') this.#shared = new SharedKvCache(shape, { allocator: options.allocator, initialCapacity: options.initialCapacity });
    if (this.kvCache === 'rows') {
      const fetch: string[] = [IO.logits];
      for (let i = 0; i < shape.numLayers; i++) fetch.push(IO.presentKeyRows(i), IO.presentValueRows(i));
      this.#fetch = fetch;
    }
    this.reset();
  }

  /** Tokens currently in the cache. */
  get length(): number {
    return this.#length;
  }

  /** Empties the cache. */
  reset(): void {
    this.#length = 0;
    if (this.#shared) this.#shared.reset(); // rows past `length` are never read
    else this.#past = emptyKvCache(this.shape);
  }

  /** Frees a shared KV cache's buffers (the session is the caller's). */
  release(): void {
    this.#shared?.release();
  }

  /**
   * Runs `ids` after the cached tokens, in steps of at most `prefillChunk` tokens. Returns logits
   * [S, V] when `allLogits`, else the last position's logits [V]. When a step fails, the cache is as
   * before the call.
   */
  forward(ids: readonly number[], allLogits = false): Promise<Float32Array> {
    return forwardInChunks(ids, allLogits, this.#prefillChunk, this.shape.vocabSize, (part, all) => this.#step(part, all), () => this.#checkpoint());
  }

  /** A function that puts the cache back as it is now (the rows past `length` are never read). */
  #checkpoint(): () => void {
    const length = this.#length;
    const past = this.#past.slice(); // concat: a step replaces entries in place
    return () => {
      this.#length = length;
      if (this.#shared) this.#shared.commit(length);
      else this.#past = past;
    };
  }

  async #step(ids: readonly number[], allLogits: boolean): Promise<Float32Array> {
    const step = stepInputs(this.shape, this.#length, ids);
    const { S, T } = step;
    const feeds: Record<string, HostTensor> = { [IO.inputIds]: step.inputIds, [IO.attentionMask]: step.attentionMask };
    if (this.#needsPositions) feeds[IO.positionIds] = step.positionIds;
    // graphs with `logits_to_keep` run the LM head on the rows wanted only
    const rows = allLogits || !this.#keepsLogits ? S : 1;
    if (this.#keepsLogits) feeds[IO.logitsToKeep] = { dtype: 'int64', dims: [], data: BigInt64Array.of(BigInt(rows)) };
    const shared = this.#shared;
    if (shared) {
      shared.reserve(T);
      // shared: past is also bound as the in-place present (rows [P, T) written there); rows: the
      // session returns only those rows (`#fetch`) and they are copied in below
      const outputs: Record<string, HostTensor> | undefined = this.#fetch ? undefined : {};
      for (let i = 0; i < this.shape.numLayers; i++) {
        const k = (feeds[IO.pastKey(i)] = shared.key(i)); // [1, Hkv, capacity, D], rows [0, P) valid
        const v = (feeds[IO.pastValue(i)] = shared.value(i));
        if (outputs) {
          outputs[IO.presentKey(i)] = k;
          outputs[IO.presentValue(i)] = v;
        }
      }
      const out = await this.session.run(feeds, outputs ? { outputs, fetch: LOGITS_ONLY } : { fetch: this.#fetch }); // (shared: present_rows, if any, not wanted)
      const logits = this.#logits(out, rows, allLogits);
      if (!outputs) {
        for (let i = 0; i < this.shape.numLayers; i++) {
          appendRows(shared.key(i), rowsOutput(out, IO.presentKeyRows(i), S, this.shape), this.#length, S); // [1, Hkv, S, D] → rows [P, T)
          appendRows(shared.value(i), rowsOutput(out, IO.presentValueRows(i), S, this.shape), this.#length, S);
        }
      }
      shared.commit(T); // only now: after a failed step `length` is unchanged and rows past it are never read
      this.#length = T;
      return logits;
    }
    for (let i = 0; i < this.shape.numLayers; i++) {
      feeds[IO.pastKey(i)] = this.#past[2 * i]; // [1, Hkv, P, D]
      feeds[IO.pastValue(i)] = this.#past[2 * i + 1];
    }
    const out = await this.session.run(feeds);
    for (let i = 0; i < this.shape.numLayers; i++) {
      const k = out[IO.presentKey(i)];
      const v = out[IO.presentValue(i)];
      if (!k || !v) throw new TinyLlamaError('E_BACKEND', `session did not return ${IO.presentKey(i)} / ${IO.presentValue(i)}`);
      this.#past[2 * i] = k; // [1, Hkv, T, D]
      this.#past[2 * i + 1] = v;
    }
    this.#length = T;
    return this.#logits(out, rows, allLogits);
  }

  /** The logits of the step's last position, or of all `rows` (the step's S) when `allLogits`. */
  #logits(out: Record<string, HostTensor>, rows: number, allLogits: boolean): Float32Array {
    const logits = out[IO.logits];
    if (!logits || !(logits.data instanceof Float32Array)) throw new TinyLlamaError('E_BACKEND', 'session returned no float32 logits');
    const V = this.shape.vocabSize;
    const data = logits.data; // [1, rows, V]
    if (data.length !== rows * V) {
      throw new TinyLlamaError('E_SHAPE', `logits have ${data.length} values, expected ${rows} x ${V}`);
    }
    return allLogits ? data : data.subarray((rows - 1) * V, rows * V);
  }
}

const LOGITS_ONLY: readonly string[] = [IO.logits];

/** A step's `present_rows` output, checked: float32 [1, Hkv, S, D]. */
function rowsOutput(out: Record<string, HostTensor>, name: string, S: number, shape: DecoderShape): Float32Array {
  const t = out[name];
  if (!t) throw new TinyLlamaError('E_BACKEND', `session did not return ${name}`);
  const n = shape.numKeyValueHeads * S * shape.headDim;
  if (!(t.data instanceof Float32Array) || t.data.length !== n) {
    throw new TinyLlamaError('E_SHAPE', `${name}: expected float32 [1, ${shape.numKeyValueHeads}, ${S}, ${shape.headDim}], got ${t.dtype} [${t.dims.join(', ')}]`);
  }
  return t.data;
}

/** Copies `rows` [1, Hkv, S, D] into rows [P, P + S) of each head of `cache` [1, Hkv, capacity, D]. */
function appendRows(cache: HostTensor, rows: Float32Array, P: number, S: number): void {
  const [, Hkv, capacity, D] = cache.dims;
  const dst = cache.data as Float32Array; // read after the run: an allocator may have moved its memory
  const n = S * D;
  for (let h = 0; h < Hkv; h++) dst.set(rows.subarray(h * n, (h + 1) * n), (h * capacity + P) * D);
}
