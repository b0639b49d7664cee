import { LRUCache } from 'lru-cache';
import type { InferenceSession, TensorAllocator } from './backend.js';
import { BUNDLE_IO, type BundleGraph, type BundleManifest } from './bundle.js';
import { emptyKvCache, stepInputs, type DecoderShape, type KvCacheMode } from './decoder.js';
import { EmbeddingLookupSession } from './embedding-lookup.js';
import { forwardInChunks, prefillChunkOption } from './prefill.js';
import { TinyLlamaError } from './errors.js';
import { IO } from './io-names.js';
import { SharedKvCache } from './kv-cache.js';
import type { Runner } from './runner.js';
import { numel, type HostTensor } from './tensor.js';

/** Opens the sessions of a bundle's layer chunks (verifying their files first). */
export interface ChunkSessionProvider {
  readonly numChunks: number;
  /** Global layer indices of chunk `i`. */
  layers(i: number): readonly number[];
  /** Bytes of chunk `i`'s files (graph + external data): its memory estimate. */
  bytes(i: number): number;
  /** Verifies chunk `i`'s files and creates its session; a failure leaves nothing loaded. */
  open(i: number): Promise<InferenceSession>;
}

/** Limits of {@link ChunkedRunner}; without any, every chunk stays resident. */
export interface ChunkedRunnerOptions {
  /** At most this many chunk sessions loaded at once. */
  readonly maxResidentChunks?: number;
  /**
   * Budget in MB for loaded weights, estimated from file sizes: the embed and head graphs (always
   * resident) plus the loaded chunks. Runtime, activations and the KV cache come on top.
   */
  readonly memoryLimitMB?: number;
  /**
   * Bytes of the always-resident embed and head graphs (counted against `memoryLimitMB`; an embedding
   * read on demand from its file counts 0).
   */
  readonly fixedBytes?: number;
  /** Create the next chunk's session while the current one runs (default true when it fits). */
  readonly prefetch?: boolean;
  /** Chunks loaded by {@link ChunkedRunner.create} in streaming mode (default 1). */
  readonly preloadChunks?: number;
  /**
   * How the KV cache crosses the chunk sessions (default `concat`). `shared` needs every chunk session
   * to support in-place outputs and GroupQueryAttention graphs (see {@link KvCacheMode}).
   */
  readonly kvCache?: KvCacheMode;
  /** Where a shared KV cache lives (the backend's `tensorAllocator`; default JS memory). */
  readonly allocator?: TensorAllocator;
  /** First capacity of a shared KV cache, in rows per head (default 256; it grows by doubling). */
  readonly initialCapacity?: number;
  /**
   * Longest step run at once (default `DEFAULT_PREFILL_CHUNK`; 0: no limit): a longer `forward` runs in
   * steps of this many tokens (in streaming mode each step cycles through the chunks).
   */
  readonly prefillChunk?: number;
}

/** Counters of chunk session loads (streaming mode). */
export interface ChunkStats {
  /** Chunk sessions created (including prefetches). */
  loads: number;
  /** Chunk uses that found the session already loaded (resident, cached or prefetched). */
  hits: number;
  /** Sessions dropped from the LRU (they are released once no run uses them). */
  evictions: number;
  /** Most chunk sessions loaded at the same time. */
  peakResident: number;
}

interface Entry {
  readonly session: Promise<InferenceSession>;
  refs: number;
  evicted: boolean;
  released: boolean;
}

/**
 * A {@link Runner} over a chunked bundle: the embed session, one session per group of layers, and the
 * head session, with the KV cache kept across chunk loads: in JS (`concat`), or in buffers the chunk
 * sessions write in place (`shared`, e.g. in the wasm backend's memory). Without `allLogits` the head
 * runs on the last position only.
 *
 * - resident mode: every chunk session is created up front and kept;
 * - streaming mode: chunks are used in a fixed cycle, where a plain LRU would miss every time, so the
 *   first chunks are pinned (loaded once, kept) and the rest cycle through the remaining slots, an LRU
 *   (`lru-cache`) bounded by `maxResidentChunks` or `memoryLimitMB` (one slot, or two when the next
 *   chunk's session is prefetched while the current one runs); an evicted session is released once no
 *   run uses it. Loads per token: chunks − pinned.
 *
 * A step commits the KV cache only when every chunk succeeded, so a failed load leaves the runner as
 * it was.
 */
export class ChunkedRunner implements Runner {
  #past: HostTensor[] = [];
  #length = 0;
  readonly #shared: SharedKvCache | undefined;
  readonly #prefillChunk: number;
  readonly #cache: LRUCache<number, Entry>;
  /** Chunks 0 .. pinCount-1 in streaming mode: loaded on first use, never evicted. */
  readonly #pinned = new Map<number, Entry>();
  readonly #pinCount: number;
  readonly #live = new Set<Entry>();
  readonly #capacity: number;
  readonly #sizes: readonly number[];
  readonly #lruCapacity: number;
  readonly #lruMaxSize: number | undefined;
  readonly #releasing = new Set<Promise<void>>();
  readonly #prefetch: boolean;
  /** Step buffers reused across steps, for sessions that write outputs in place (see {@link ChunkedRunner.forward}). */
  readonly #buffers = new Map<string, Float32Array>();
  readonly mode: 'resident' | 'streaming';
  readonly stats: ChunkStats = { loads: 0, hits: 0, evictions: 0, peakResident: 0 };

  private constructor(
    readonly embed: InferenceSession,
    readonly head: InferenceSession,
    readonly chunks: ChunkSessionProvider,
    readonly shape: DecoderShape,
    options: ChunkedRunnerOptions,
  ) {
    const n = chunks.numChunks;
    const sizes = Array.from({ length: n }, (_, i) => Math.max(1, chunks.bytes(i)));
    let capacity = Math.min(n, options.maxResidentChunks ?? n);
    let maxSize: number | undefined;
    if (options.memoryLimitMB !== undefined) {
      const budget = Math.floor(options.memoryLimitMB * 1024 * 1024 - (options.fixedBytes ?? 0));
      const largest = Math.max(...sizes);
      if (budget < largest) {
        const need = Math.ceil(((options.fixedBytes ?? 0) + largest) / 1024 / 1024);
        throw new TinyLlamaError('E_ARGUMENT', `memory limit ${options.memoryLimitMB} MB is below the resident graphs (head, and embed unless read on demand) plus one chunk (${need} MB)`);
      }
      maxSize = budget;
      const ascending = [...sizes].sort((a, b) => a - b);
      let fit = 0;
      for (let sum = 0; fit < n && sum + ascending[fit] <= budget; fit++) sum += ascending[fit];
      capacity = Math.min(capacity, fit);
      if (sizes.reduce((a, b) => a + b, 0) <= budget) maxSize = undefined;
    }
    if (capacity < 1) throw new TinyLlamaError('E_ARGUMENT', `max resident chunks must be at least 1, got ${options.maxResidentChunks}`);
    this.#capacity = capacity;
    this.#prefillChunk = prefillChunkOption(options.prefillChunk);
    this.#sizes = sizes;
    this.mode = capacity >= n ? 'resident' : 'streaming';
    // The current chunk is pinned while it runs, so prefetching needs room for two.
    this.#prefetch = this.mode === 'streaming' && (options.prefetch ?? true) && capacity >= 2 && (maxSize === undefined || 2 * Math.max(...sizes) <= maxSize);
    // Pin all but the cycling slots (one, or two with prefetch): in a fixed cycle they always hit.
    const slots = this.#prefetch ? 2 : 1;
    this.#pinCount = this.mode === 'streaming' ? Math.max(0, capacity - slots) : 0;
    const pinnedBytes = sizes.slice(0, this.#pinCount).reduce((a, b) => a + b, 0);
    const lruMaxSize = maxSize === undefined ? undefined : maxSize - pinnedBytes;
    this.#lruCapacity = capacity - this.#pinCount;
    this.#lruMaxSize = lruMaxSize;
    if (options.kvCache === 'rows') throw new TinyLlamaError('E_UNSUPPORTED', "chunked bundles keep the KV cache with 'shared' or 'concat', not 'rows'");
    if (options.kvCache === 'shared') this.#shared = new SharedKvCache(shape, { allocator: options.allocator, initialCapacity: options.initialCapacity });
    this.#cache = new LRUCache<number, Entry>({
      max: this.#lruCapacity,
      ...(lruMaxSize !== undefined ? { maxSize: lruMaxSize, sizeCalculation: (_e: Entry, i: number) => sizes[i] } : {}),
      dispose: (entry) => {
        entry.evicted = true;
        this.stats.evictions++;
        this.#maybeRelease(entry);
      },
    });
    this.reset();
  }

  /**
   * Creates the runner and loads chunks: all of them in resident mode, `preloadChunks` (default 1) in
   * streaming mode.
   */
  static async create(
    embed: InferenceSession,
    head: InferenceSession,
    chunks: ChunkSessionProvider,
    shape: DecoderShape,
    options: ChunkedRunnerOptions = {},
  ): Promise<ChunkedRunner> {
    const r = new ChunkedRunner(embed, head, chunks, shape, options);
    const preload = r.mode === 'resident' ? chunks.numChunks : Math.min(r.#capacity, options.preloadChunks ?? 1);
    try {
      for (let i = 0; i < preload; i++) r.#release(await r.#acquire(i));
    } catch (e) {
      await r.release();
      throw e;
    }
    return r;
  }

  /**
   * Opens a bundle's embed and head graphs with `openGraph` and creates the runner over its chunks
   * (the memory budget counts the head, and the embed graph unless `openGraph` gave an
   * `EmbeddingLookupSession`; the manifest's preload count). On failure every session opened here is
   * released.
   */
  static async fromManifest(
    manifest: BundleManifest,
    openGraph: (g: BundleGraph) => Promise<InferenceSession>,
    shape: DecoderShape,
    options: Omit<ChunkedRunnerOptions, 'fixedBytes' | 'preloadChunks'> = {},
  ): Promise<ChunkedRunner> {
    const { chunks, embed: embedGraph, head: headGraph } = manifest.graphs;
    const provider: ChunkSessionProvider = {
      numChunks: chunks.length,
      layers: (i) => chunks[i].layers,
      bytes: (i) => chunks[i].bytes,
      open: (i) => openGraph(chunks[i]),
    };
    const embed = await openGraph(embedGraph);
    let head: InferenceSession | undefined;
    try {
      head = await openGraph(headGraph);
      // an embedding read row by row from its file holds only its scales (see EmbeddingLookupSession)
      const embedBytes = embed instanceof EmbeddingLookupSession ? 0 : embedGraph.bytes;
      return await ChunkedRunner.create(embed, head, provider, shape, {
        ...options,
        fixedBytes: embedBytes + headGraph.bytes,
        preloadChunks: manifest.streaming.preload_chunks,
      });
    } catch (e) {
      await embed.release();
      await head?.release();
      throw e;
    }
  }

  /** Tokens currently in the cache. */
  get length(): number {
    return this.#length;
  }

  /** Chunk sessions currently loaded (including ones evicted but still running). */
  get residentChunks(): number {
    return this.#live.size;
  }

  /** Empties the KV cache (loaded sessions stay). */
  reset(): void {
    if (this.#shared) this.#shared.reset();
    else this.#past = emptyKvCache(this.shape); // [1, Hkv, 0, D] per layer
    this.#length = 0;
  }

  /** How the KV cache crosses the chunk sessions. */
  get kvCache(): KvCacheMode {
    return this.#shared ? 'shared' : 'concat';
  }

  /**
   * Runs `ids` after the cached tokens through embed → every chunk → head, in steps of at most
   * `prefillChunk` tokens. Returns logits [S, V] when `allLogits`, else the last position's logits [V].
   * When a step fails, the cache is as before the call.
   */
  forward(ids: readonly number[], allLogits = false): Promise<Float32Array> {
    return forwardInChunks(ids, allLogits, this.#prefillChunk, this.shape.vocabSize, (part, all) => this.#step(part, all), () => this.#checkpoint());
  }

  /** A function that puts the KV cache back as it is now (the rows past `length` are never read). */
  #checkpoint(): () => void {
    const length = this.#length;
    const past = this.#past.slice();
    return () => {
      this.#length = length;
      if (this.#shared) this.#shared.commit(length);
      else this.#past = past;
    };
  }

  async #step(ids: readonly number[], allLogits: boolean): Promise<Float32Array> {
    const { S, T, inputIds, attentionMask: mask, positionIds: positions } = stepInputs(this.shape, this.#length, ids);

    let hidden = expectOutput(await this.embed.run({ [IO.inputIds]: inputIds }), BUNDLE_IO.hidden, 'embed'); // [1, S, E]
    const present = new Map<number, HostTensor>();
    const shared = this.#shared;
    shared?.reserve(T);
    const n = this.chunks.numChunks;
    for (let c = 0; c < n; c++) {
      const entry = await this.#acquire(c);
      try {
        if (this.#prefetch) this.#prefetchChunk((c + 1) % n);
        const session = await entry.session;
        const feeds: Record<string, HostTensor> = { [BUNDLE_IO.hidden]: hidden, [IO.attentionMask]: mask };
        if (session.inputNames.includes(IO.positionIds)) feeds[IO.positionIds] = positions;
        if (shared) {
          const outputs: Record<string, HostTensor> = {};
          for (const l of this.chunks.layers(c)) {
            feeds[IO.pastKey(l)] = outputs[IO.presentKey(l)] = shared.key(l); // [1, Hkv, capacity, D], rows [P, T) written in place
            feeds[IO.pastValue(l)] = outputs[IO.presentValue(l)] = shared.value(l);
          }
          if (session.supportsInPlaceOutputs) outputs[BUNDLE_IO.hiddenOut] = this.#hiddenBuffer(c, hidden);
          hidden = expectOutput(await session.run(feeds, { outputs }), BUNDLE_IO.hiddenOut, `chunk ${c}`); // [1, S, E]
          continue;
        }
        for (const l of this.chunks.layers(c)) {
          feeds[IO.pastKey(l)] = this.#past[2 * l]; // [1, Hkv, P, D]
          feeds[IO.pastValue(l)] = this.#past[2 * l + 1];
        }
        const out = await session.run(feeds, session.supportsInPlaceOutputs ? { outputs: { [BUNDLE_IO.hiddenOut]: this.#hiddenBuffer(c, hidden) } } : undefined);
        hidden = expectOutput(out, BUNDLE_IO.hiddenOut, `chunk ${c}`); // [1, S, E]
        for (const l of this.chunks.layers(c)) {
          present.set(2 * l, expectOutput(out, IO.presentKey(l), `chunk ${c}`)); // [1, Hkv, T, D]
          present.set(2 * l + 1, expectOutput(out, IO.presentValue(l), `chunk ${c}`));
        }
      } finally {
        this.#release(entry);
      }
    }
    // the head (lm_head: the largest matmul) on the last position only, unless every row is wanted
    const rows = allLogits ? S : 1;
    if (!allLogits && S > 1) {
      const E = hidden.dims[2]!;
      hidden = { dtype: hidden.dtype, dims: [1, 1, E], data: hidden.data.subarray((S - 1) * E, S * E) } as HostTensor; // [1, 1, E]
    }
    const V = this.shape.vocabSize;
    // one position's logits go to a buffer reused every step (the Runner contract allows it)
    const logitsOut = !allLogits && this.head.supportsInPlaceOutputs ? { outputs: { [IO.logits]: this.#tensor('logits', [1, 1, V]) } } : undefined;
    const logits = expectOutput(await this.head.run({ [BUNDLE_IO.hidden]: hidden }, logitsOut), IO.logits, 'head'); // [1, rows, V]
    if (!(logits.data instanceof Float32Array) || logits.data.length !== rows * V) {
      throw new TinyLlamaError('E_SHAPE', `head logits have ${logits.data.length} values, expected ${rows} x ${V} float32`);
    }
    if (shared) shared.commit(T);
    for (const [i, t] of present) this.#past[i] = t;
    this.#length = T;
    return logits.data;
  }

  /**
   * The in-place output for chunk `c`'s hidden states, shaped like its input `hidden`: two buffers used
   * in turn (a chunk's input is the previous chunk's output), so a decode step allocates no JS memory
   * for them (ArrayBuffers are freed only when V8 collects: ~11 MB per 128 tokens of TinyLlama otherwise).
   */
  #hiddenBuffer(c: number, hidden: HostTensor): HostTensor {
    return this.#tensor(`hidden${c % 2}`, hidden.dims);
  }

  /** A float32 tensor of `dims` over the reused buffer `name` (reallocated when the size changes). */
  #tensor(name: string, dims: readonly number[]): HostTensor {
    const n = numel(dims);
    let data = this.#buffers.get(name);
    if (data?.length !== n) this.#buffers.set(name, (data = new Float32Array(n)));
    return { dtype: 'float32', dims: [...dims], data };
  }

  /** Releases every session (embed, head, chunks) and frees a shared KV cache's buffers. */
  async release(): Promise<void> {
    this.#shared?.release();
    this.#cache.clear();
    this.#pinned.clear();
    await Promise.all([...this.#live].map((e) => this.#releaseEntry(e)));
    await Promise.all([this.embed.release(), this.head.release()]);
  }

  /** Returns chunk `i`'s entry, pinned (loading it when missing). */
  async #acquire(i: number): Promise<Entry> {
    let entry = i < this.#pinCount ? this.#pinned.get(i) : this.#cache.get(i);
    if (entry && !entry.released) {
      this.stats.hits++;
    } else {
      entry = this.#load(i);
    }
    entry.refs++;
    try {
      const session = await entry.session;
      if (this.#shared && !session.supportsInPlaceOutputs) {
        throw new TinyLlamaError('E_UNSUPPORTED', `bundle chunk ${i}: the shared KV cache needs a session with in-place outputs (use --kv-cache concat)`);
      }
    } catch (e) {
      this.#release(entry);
      throw e;
    }
    return entry;
  }

  #load(i: number): Entry {
    this.stats.loads++;
    if (i < this.#pinCount) return this.#loadPinned(i);
    // Make room first (least recently used out; a pinned one is released after its run), and create
    // the new session only once evicted sessions are released, so the bound holds during loads too.
    const fits = () =>
      this.#cache.size < this.#lruCapacity && (this.#lruMaxSize === undefined || this.#cache.calculatedSize + this.#sizes[i] <= this.#lruMaxSize);
    while (this.#cache.size > 0 && !fits()) this.#cache.pop();
    const released = Promise.all(this.#releasing);
    const entry: Entry = { session: released.then(() => this.chunks.open(i)), refs: 0, evicted: false, released: false };
    this.#live.add(entry);
    this.stats.peakResident = Math.max(this.stats.peakResident, this.#live.size);
    this.#cache.set(i, entry);
    if (this.#cache.get(i) !== entry) entry.evicted = true; // not cacheable: released after use
    entry.session.catch(() => {
      if (this.#cache.peek(i) === entry) this.#cache.delete(i); // a failed load is never reused
      else this.#maybeRelease(entry);
    });
    return entry;
  }

  /** Loads a pinned chunk (kept until {@link release}); a failed load is forgotten. */
  #loadPinned(i: number): Entry {
    const entry: Entry = { session: Promise.all(this.#releasing).then(() => this.chunks.open(i)), refs: 0, evicted: false, released: false };
    this.#live.add(entry);
    this.stats.peakResident = Math.max(this.stats.peakResident, this.#live.size);
    this.#pinned.set(i, entry);
    entry.session.catch(() => {
      if (this.#pinned.get(i) === entry) this.#pinned.delete(i);
      entry.evicted = true;
      this.#maybeRelease(entry);
    });
    return entry;
  }

  #prefetchChunk(i: number): void {
    if (i < this.#pinCount ? this.#pinned.has(i) : this.#cache.has(i)) return;
    this.#load(i).session.catch(() => undefined); // errors surface when the chunk is used
  }

  #release(entry: Entry): void {
    entry.refs--;
    this.#maybeRelease(entry);
  }

  #maybeRelease(entry: Entry): void {
    if (!entry.evicted || entry.refs > 0 || entry.released) return;
    const p = this.#releaseEntry(entry);
    this.#releasing.add(p);
    void p.finally(() => this.#releasing.delete(p));
  }

  async #releaseEntry(entry: Entry): Promise<void> {
    if (entry.released) return;
    entry.released = true;
    this.#live.delete(entry);
    try {
      await (await entry.session).release();
    } catch {
      // a session that failed to load holds nothing
    }
  }
}

function expectOutput(out: Record<string, HostTensor>, name: string, graph: string): HostTensor {
  const t = out[name];
  if (!t) throw new TinyLlamaError('E_BACKEND', `bundle ${graph} session did not return '${name}'`);
  return t;
}
