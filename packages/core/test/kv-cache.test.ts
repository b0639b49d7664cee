import { describe, expect, it } from 'vitest';
import {
  BUNDLE_IO,
  ChunkedRunner,
  DecoderRunner,
  IO,
  SharedKvCache,
  autoKvCacheMode,
  hasRowOutputs,
  jsTensorAllocator,
  type ChunkSessionProvider,
  type DecoderShape,
  type HostTensor,
  type InferenceSession,
  type RunOptions,
  type TensorAllocator,
} from '@tinyllama/core';

/**
 * A wasm-memory-like allocator: one growing Float32Array, every allocation moves it (stale views
 * keep pointing at the old copy), tensors expose `data` through a getter, counts allocate/free.
 */
class MovingAllocator implements TensorAllocator {
  #memory = new Float32Array(0);
  readonly live = new Set<HostTensor>();
  allocs = 0;
  frees = 0;

  allocate(dims: readonly number[]): HostTensor {
    const n = dims.reduce((a, b) => a * b, 1);
    const offset = this.#memory.length;
    const grown = new Float32Array(offset + n); // zero-filled tail
    grown.set(this.#memory);
    this.#memory = grown;
    this.allocs++;
    const live = this.live;
    const self = this;
    const t: HostTensor = {
      dtype: 'float32',
      dims: [...dims],
      get data() {
        if (!live.has(t)) throw new Error('tensor used after free');
        return self.#memory.subarray(offset, offset + n);
      },
    };
    this.live.add(t);
    return t;
  }

  free(t: HostTensor): void {
    if (this.live.delete(t)) this.frees++;
  }
}

const shape: DecoderShape = { numLayers: 3, numKeyValueHeads: 2, headDim: 3, vocabSize: 7, maxPositionEmbeddings: 40 };
const E = 4;

/** A value identifying (tensor, head, row, column). */
const cell = (t: number, h: number, r: number, d: number) => 10000 * t + 1000 * h + 10 * r + d; // exact in float32

describe('SharedKvCache', () => {
  it('grows by doubling and keeps every valid row of every head (head stride changes), freeing the old buffers', () => {
    const alloc = new MovingAllocator();
    const c = new SharedKvCache(shape, { allocator: alloc, initialCapacity: 4 });
    const { numKeyValueHeads: H, headDim: D } = shape;
    expect(c.capacity).toBe(4);
    expect(alloc.allocs).toBe(2 * shape.numLayers);
    const write = (from: number, to: number) => {
      for (let t = 0; t < 2 * shape.numLayers; t++) {
        const x = t % 2 ? c.value(t >> 1) : c.key(t >> 1); // [1, H, capacity, D]
        expect(x.dims).toEqual([1, H, c.capacity, D]);
        const data = x.data as Float32Array;
        for (let h = 0; h < H; h++) for (let r = from; r < to; r++) for (let d = 0; d < D; d++) data[(h * c.capacity + r) * D + d] = cell(t, h, r, d);
      }
    };
    const check = (rows: number) => {
      for (let t = 0; t < 2 * shape.numLayers; t++) {
        const data = (t % 2 ? c.value(t >> 1) : c.key(t >> 1)).data as Float32Array;
        for (let h = 0; h < H; h++) for (let r = 0; r < rows; r++) for (let d = 0; d < D; d++) expect(data[(h * c.capacity + r) * D + d]).toBe(cell(t, h, r, d));
      }
    };
    c.reserve(3);
    write(0, 3);
    c.commit(3);
    c.reserve(4); // fits
    expect(alloc.allocs).toBe(6);
    write(3, 4);
    c.commit(4);
    c.reserve(9); // 4 → 8 → 16
    expect(c.capacity).toBe(16);
    expect(alloc.allocs).toBe(12);
    expect(alloc.frees).toBe(6);
    expect(alloc.live.size).toBe(6);
    check(4);
    write(4, 9);
    c.commit(9);
    c.reserve(17); // 32
    check(9);
    expect(c.capacity).toBe(32);
    c.reserve(33); // capped at the context limit
    expect(c.capacity).toBe(40);
    check(9);
    expect(() => c.reserve(41)).toThrow(expect.objectContaining({ code: 'E_CONTEXT' }));
    expect(() => c.commit(41)).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
    expect(c.length).toBe(9);
    c.reset();
    expect(c.length).toBe(0);
    c.release();
    c.release(); // idempotent
    expect(alloc.live.size).toBe(0);
    expect(alloc.frees).toBe(alloc.allocs);
    expect(() => c.key(0)).toThrow(/released/);
  });

  it('never allocates above the context limit; defaults to 256 rows and JS memory', () => {
    const small = new SharedKvCache(shape);
    expect(small.capacity).toBe(40);
    expect(small.key(0).data).toBeInstanceOf(Float32Array);
    const big = new SharedKvCache({ ...shape, maxPositionEmbeddings: 2048 }, { allocator: jsTensorAllocator });
    expect(big.capacity).toBe(256);
    expect(big.key(2).dims).toEqual([1, 2, 256, 3]);
    expect(() => new SharedKvCache(shape, { initialCapacity: 0 })).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
  });
});

/**
 * A chunk over `layers`: K/V rows derived from the hidden state, hidden out at position p = hidden + a
 * sum over the cached rows up to p (causal, like attention), so the output depends on the whole cache. In place (shared mode) it checks that
 * past and present are the same tensor objects and writes rows P..T-1; in `rows` mode it reads a
 * capacity-sized past without writing it and returns only the new rows `present_rows` [1, H, S, D];
 * otherwise it returns fresh `present` tensors [1, H, T, D].
 */
function fakeChunk(layers: number[], inPlace: boolean | 'rows', calls: { n: number; failAt?: number }): InferenceSession {
  const { numKeyValueHeads: H, headDim: D } = shape;
  return {
    inputNames: [BUNDLE_IO.hidden, IO.attentionMask, ...layers.flatMap((l) => [IO.pastKey(l), IO.pastValue(l)])],
    outputNames: inPlace === 'rows' ? layers.flatMap((l) => [IO.presentKeyRows(l), IO.presentValueRows(l)]) : [],
    supportsInPlaceOutputs: inPlace === true,
    async run(feeds, options?: RunOptions) {
      if (++calls.n === calls.failAt) throw new Error('chunk failed');
      const hidden = feeds[BUNDLE_IO.hidden]!.data as Float32Array; // [1, S, E]
      const S = hidden.length / E;
      const T = feeds[IO.attentionMask]!.dims[1]!;
      const P = T - S;
      const out: Record<string, HostTensor> = {};
      const acc = new Float64Array(S); // per position s: a sum over the cached rows r <= P + s (causal)
      for (const l of layers) {
        for (const [k, name] of [IO.pastKey(l), IO.pastValue(l)].entries()) {
          const present = name.replace('past_key_values', 'present');
          const past = feeds[name]!;
          let buf: HostTensor;
          if (inPlace === 'rows') {
            expect(options?.outputs).toBeUndefined();
            expect(options?.fetch).toContain(present.replace('present.', 'present_rows.'));
            expect(past.dims[2]).toBeGreaterThanOrEqual(T);
            buf = { dtype: 'float32', dims: past.dims, data: Float32Array.from(past.data as Float32Array) }; // past is only read
          } else if (inPlace) {
            expect(options?.outputs?.[present]).toBe(past);
            expect(past.dims[2]).toBeGreaterThanOrEqual(T);
            buf = past;
          } else {
            expect(options?.outputs).toBeUndefined();
            expect(past.dims[2]).toBe(P);
            const data = new Float32Array(H * T * D); // [1, H, T, D]
            const src = past.data as Float32Array;
            for (let h = 0; h < H; h++) data.set(src.subarray(h * P * D, (h + 1) * P * D), h * T * D);
            buf = { dtype: 'float32', dims: [1, H, T, D], data };
            out[present] = buf;
          }
          const cap = buf.dims[2]!;
          const data = buf.data as Float32Array; // [1, H, cap, D]
          for (let h = 0; h < H; h++) {
            for (let s = 0; s < S; s++) for (let d = 0; d < D; d++) data[(h * cap + P + s) * D + d] = hidden[s * E]! * (h + 1) + d + l + k / 2;
            for (let r = 0; r < T; r++) {
              for (let d = 0; d < D; d++) for (let s = Math.max(0, r - P); s < S; s++) acc[s] += data[(h * cap + r) * D + d]!;
            }
          }
          if (inPlace === 'rows') {
            const rows = new Float32Array(H * S * D); // [1, H, S, D]
            for (let h = 0; h < H; h++) rows.set(data.subarray((h * cap + P) * D, (h * cap + T) * D), h * S * D);
            out[present.replace('present.', 'present_rows.')] = { dtype: 'float32', dims: [1, H, S, D], data: rows };
          }
        }
      }
      out[BUNDLE_IO.hiddenOut] = { dtype: 'float32', dims: [1, S, E], data: hidden.map((x, i) => (x + acc[Math.floor(i / E)]! / 64 + P * E + i) % 97) };
      return out;
    },
    async release() {},
  };
}

const embed: InferenceSession = {
  inputNames: [IO.inputIds],
  outputNames: [BUNDLE_IO.hidden],
  supportsInPlaceOutputs: false,
  async run(feeds) {
    const ids = feeds[IO.inputIds]!.data as BigInt64Array;
    const data = new Float32Array(ids.length * E);
    ids.forEach((id, s) => data.fill(Number(id) * 1.125 + 0.5, s * E, (s + 1) * E)); // a function of the id only (position comes from the cache)
    return { [BUNDLE_IO.hidden]: { dtype: 'float32', dims: [1, ids.length, E], data } };
  },
  async release() {},
};

/** Logits [1, S, V] straight from the hidden state (exact comparisons). */
const head: InferenceSession = {
  inputNames: [BUNDLE_IO.hidden],
  outputNames: [IO.logits],
  supportsInPlaceOutputs: false,
  async run(feeds) {
    const h = feeds[BUNDLE_IO.hidden]!.data as Float32Array;
    const S = h.length / E;
    const V = shape.vocabSize;
    const logits = new Float32Array(S * V);
    for (let s = 0; s < S; s++) for (let v = 0; v < V; v++) logits[s * V + v] = h[s * E + (v % E)]! * (v + 1);
    return { [IO.logits]: { dtype: 'float32', dims: [1, S, V], data: logits } };
  },
  async release() {},
};

/** Chunks of one layer each (layers 0, 1, 2). */
function provider(inPlace: (i: number) => boolean, calls: { n: number; failAt?: number } = { n: 0 }): ChunkSessionProvider {
  return { numChunks: 3, layers: (i) => [i], bytes: () => 1024, open: async (i) => fakeChunk([i], inPlace(i), calls) };
}

const STEPS = [[1, 2, 3], [4], [5, 6, 0, 1, 2], [3], [4, 5, 6, 0, 1, 2, 3, 4, 5], [6], [1]]; // 21 tokens, totals 3, 4, 9, 10, 19, 20, 21

describe('ChunkedRunner with a shared KV cache', () => {
  it('gives the concat logits over several steps, growing past the first capacity, in resident and streaming modes', async () => {
    for (const maxResidentChunks of [undefined, 1]) {
      const concat = await ChunkedRunner.create(embed, head, provider(() => false), shape, { maxResidentChunks });
      const alloc = new MovingAllocator();
      const shared = await ChunkedRunner.create(embed, head, provider(() => true), shape, { maxResidentChunks, kvCache: 'shared', allocator: alloc, initialCapacity: 4 });
      expect(concat.kvCache).toBe('concat');
      expect(shared.kvCache).toBe('shared');
      for (const [i, ids] of STEPS.entries()) {
        const all = i % 2 === 0;
        expect(await shared.forward(ids, all)).toEqual(await concat.forward(ids, all));
        expect(shared.length).toBe(concat.length);
      }
      expect(alloc.allocs).toBe(3 * 2 * shape.numLayers); // capacities 4, 16 (9 rows: doubled twice at once), 32
      shared.reset();
      concat.reset();
      expect(await shared.forward([2, 3], true)).toEqual(await concat.forward([2, 3], true));
      await shared.release();
      await concat.release();
      expect(alloc.live.size).toBe(0);
    }
  });

  it('needs in-place outputs from every chunk session (E_UNSUPPORTED naming the chunk)', async () => {
    const err = await ChunkedRunner.create(embed, head, provider((i) => i !== 1), shape, { kvCache: 'shared' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/chunk 1/) });
    const streaming = await ChunkedRunner.create(embed, head, provider((i) => i !== 2), shape, { kvCache: 'shared', maxResidentChunks: 1 });
    await expect(streaming.forward([1])).rejects.toMatchObject({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/chunk 2/) });
    expect(streaming.length).toBe(0);
    await streaming.release();
  });

  it('a failed step leaves the length unchanged, and the next steps match concat', async () => {
    const calls = { n: 0, failAt: undefined as number | undefined };
    const concat = await ChunkedRunner.create(embed, head, provider(() => false), shape);
    const shared = await ChunkedRunner.create(embed, head, provider(() => true, calls), shape, { kvCache: 'shared', initialCapacity: 2 });
    expect(await shared.forward([1, 2], true)).toEqual(await concat.forward([1, 2], true));
    calls.failAt = calls.n + 3; // the last chunk of the next step, after chunks 0 and 1 wrote their rows
    await expect(shared.forward([3, 4, 5])).rejects.toThrow('chunk failed');
    expect(shared.length).toBe(2);
    for (const ids of [[6, 0], [1], [2, 3, 4, 5]]) expect(await shared.forward(ids, true)).toEqual(await concat.forward(ids, true));
    expect(shared.length).toBe(9);
    await shared.release();
    await concat.release();
  });
});

describe('ChunkedRunner prefill chunks', () => {
  it('give the logits of whole steps (concat and shared, resident and streaming), and a failed piece restores the cache', async () => {
    for (const shared of [false, true]) {
      for (const maxResidentChunks of [undefined, 1]) {
        const kv = shared ? ({ kvCache: 'shared', initialCapacity: 4 } as const) : {};
        const whole = await ChunkedRunner.create(embed, head, provider(() => shared), shape, { maxResidentChunks, prefillChunk: 0, ...kv });
        const calls = { n: 0, failAt: undefined as number | undefined };
        const chunked = await ChunkedRunner.create(embed, head, provider(() => shared, calls), shape, { maxResidentChunks, prefillChunk: 2, ...kv });
        for (const [i, ids] of STEPS.entries()) expect(await chunked.forward(ids, i % 2 === 0)).toEqual(await whole.forward(ids, i % 2 === 0));
        calls.failAt = calls.n + 4; // a chunk of the second piece of the next forward
        await expect(chunked.forward([1, 2, 3, 4])).rejects.toThrow('chunk failed');
        expect(chunked.length).toBe(21);
        expect(await chunked.forward([5, 6, 0], true)).toEqual(await whole.forward([5, 6, 0], true));
        await chunked.release();
        await whole.release();
      }
    }
  });
});

describe('DecoderRunner with a shared KV cache', () => {
  /** A whole decoder as one session: input ids → fake chunks → logits. */
  function decoderSession(inPlace: boolean | 'rows', calls: { n: number; failAt?: number }): InferenceSession {
    const layers = [0, 1, 2];
    const body = fakeChunk(layers, inPlace, { n: 0 });
    return {
      inputNames: [IO.inputIds, IO.attentionMask, ...layers.flatMap((l) => [IO.pastKey(l), IO.pastValue(l)])],
      outputNames: [IO.logits, ...body.outputNames],
      supportsInPlaceOutputs: inPlace === true,
      async run(feeds, options) {
        if (++calls.n === calls.failAt) throw new Error('session failed');
        const hidden = (await embed.run({ [IO.inputIds]: feeds[IO.inputIds]! }))[BUNDLE_IO.hidden]!;
        const out = await body.run({ ...feeds, [BUNDLE_IO.hidden]: hidden }, options);
        return { ...out, ...(await head.run({ [BUNDLE_IO.hidden]: out[BUNDLE_IO.hiddenOut]! })) };
      },
      async release() {},
    };
  }

  it('gives the concat logits while the cache grows, and commits only successful steps', async () => {
    const calls = { n: 0, failAt: undefined as number | undefined };
    const concat = new DecoderRunner(decoderSession(false, { n: 0 }), shape);
    const alloc = new MovingAllocator();
    const shared = new DecoderRunner(decoderSession(true, calls), shape, { kvCache: 'shared', allocator: alloc, initialCapacity: 4 });
    for (const ids of STEPS) expect(await shared.forward(ids, true)).toEqual(await concat.forward(ids, true));
    calls.failAt = calls.n + 1;
    await expect(shared.forward([1, 2])).rejects.toThrow('session failed');
    expect(shared.length).toBe(21);
    expect(await shared.forward([3])).toEqual(await concat.forward([3]));
    shared.release();
    expect(alloc.live.size).toBe(0);
    expect(() => new DecoderRunner(decoderSession(false, { n: 0 }), shape, { kvCache: 'shared' })).toThrow(expect.objectContaining({ code: 'E_UNSUPPORTED' }));
  });

  it('rows: copies each step\'s returned rows into its own buffers and gives the concat logits', async () => {
    const calls = { n: 0, failAt: undefined as number | undefined };
    const concat = new DecoderRunner(decoderSession(false, { n: 0 }), shape);
    const alloc = new MovingAllocator();
    const rows = new DecoderRunner(decoderSession('rows', calls), shape, { kvCache: 'rows', allocator: alloc, initialCapacity: 4 });
    expect(rows.kvCache).toBe('rows');
    for (const ids of STEPS) expect(await rows.forward(ids, true)).toEqual(await concat.forward(ids, true));
    expect(alloc.allocs).toBe(3 * 2 * shape.numLayers); // capacities 4, 16, 32
    calls.failAt = calls.n + 1;
    await expect(rows.forward([1, 2])).rejects.toThrow('session failed');
    expect(rows.length).toBe(21);
    expect(await rows.forward([3])).toEqual(await concat.forward([3]));
    rows.reset();
    concat.reset();
    expect(await rows.forward([2, 3], true)).toEqual(await concat.forward([2, 3], true));
    rows.release();
    expect(alloc.live.size).toBe(0);
  });

  it('rows: needs a session with present_rows outputs for every layer (E_UNSUPPORTED), and auto picks it only where allowed', () => {
    expect(() => new DecoderRunner(decoderSession(false, { n: 0 }), shape, { kvCache: 'rows' })).toThrow(
      expect.objectContaining({ code: 'E_UNSUPPORTED', message: expect.stringMatching(/present_rows\.0\.key/) }),
    );
    expect(hasRowOutputs(decoderSession('rows', { n: 0 }), shape.numLayers)).toBe(true);
    expect(hasRowOutputs(decoderSession('rows', { n: 0 }), shape.numLayers + 1)).toBe(false);
    expect(autoKvCacheMode(true, { tensorAllocator: jsTensorAllocator }, true)).toBe('shared');
    expect(autoKvCacheMode(true, {}, true)).toBe('rows');
    expect(autoKvCacheMode(true, {})).toBe('concat');
  });

  it('chunked bundles refuse the rows mode', async () => {
    const err = await ChunkedRunner.create(embed, head, provider(() => false), shape, { kvCache: 'rows' }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'E_UNSUPPORTED' });
  });

  it('runs a long forward in prefill chunks with the same logits, and restores the cache when a chunk fails', async () => {
    for (const mode of [false, true, 'rows'] as const) {
      const whole = new DecoderRunner(decoderSession(mode, { n: 0 }), shape, { kvCache: mode === 'rows' ? 'rows' : mode ? 'shared' : 'concat', prefillChunk: 0, initialCapacity: 4 });
      const calls = { n: 0, failAt: undefined as number | undefined };
      const chunked = new DecoderRunner(decoderSession(mode, calls), shape, { kvCache: whole.kvCache, prefillChunk: 2, initialCapacity: 4 });
      for (const [i, ids] of STEPS.entries()) {
        const all = i % 2 === 0;
        expect(await chunked.forward(ids, all)).toEqual(await whole.forward(ids, all));
      }
      expect(calls.n).toBe(2 + 1 + 3 + 1 + 5 + 1 + 1); // ceil(S / 2) steps each
      calls.failAt = calls.n + 2; // the second chunk of the next forward
      await expect(chunked.forward([1, 2, 3, 4, 5])).rejects.toThrow('session failed');
      expect(chunked.length).toBe(21);
      expect(await chunked.forward([6, 0, 1], true)).toEqual(await whole.forward([6, 0, 1], true));
    }
    expect(() => new DecoderRunner(decoderSession(false, { n: 0 }), shape, { prefillChunk: -1 })).toThrow(expect.objectContaining({ code: 'E_ARGUMENT' }));
  });
});
