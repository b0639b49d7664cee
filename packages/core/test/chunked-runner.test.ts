import { describe, expect, it } from 'vitest';
import {
  BUNDLE_IO,
  ChunkedRunner,
  IO,
  TinyLlamaError,
  parseBundleManifest,
  type ChunkSessionProvider,
  type DecoderShape,
  type HostTensor,
  type InferenceSession,
} from '@tinyllama/core';

const shape: DecoderShape = { numLayers: 4, numKeyValueHeads: 1, headDim: 2, vocabSize: 5, maxPositionEmbeddings: 64 };
const E = 3;

/** A session that adds `delta` to the hidden state and appends one KV row per token per layer. */
function fakeChunk(layers: number[], delta: number, log: string[], name: string): InferenceSession {
  let released = false;
  return {
    inputNames: [BUNDLE_IO.hidden, IO.attentionMask, ...layers.flatMap((l) => [IO.pastKey(l), IO.pastValue(l)])],
    outputNames: [],
    supportsInPlaceOutputs: false,
    async run(feeds) {
      if (released) throw new Error(`${name} used after release`);
      log.push(`run ${name}`);
      const h = feeds[BUNDLE_IO.hidden].data as Float32Array; // [1, S, E]
      const S = h.length / E;
      const out: Record<string, HostTensor> = { [BUNDLE_IO.hiddenOut]: { dtype: 'float32', dims: [1, S, E], data: h.map((x) => x + delta) } };
      for (const l of layers) {
        for (const name of [IO.pastKey(l), IO.pastValue(l)]) {
          const past = feeds[name];
          const P = past.dims[2];
          const data = new Float32Array((P + S) * 2); // [1, 1, P + S, 2]
          data.set(past.data as Float32Array);
          data.fill(l, P * 2);
          out[name.replace('past_key_values', 'present')] = { dtype: 'float32', dims: [1, 1, P + S, 2], data };
        }
      }
      return out;
    },
    async release() {
      released = true;
      log.push(`release ${name}`);
    },
  };
}

const embed: InferenceSession = {
  inputNames: [IO.inputIds],
  outputNames: [BUNDLE_IO.hidden],
  supportsInPlaceOutputs: false,
  async run(feeds) {
    const ids = feeds[IO.inputIds].data as BigInt64Array;
    return { [BUNDLE_IO.hidden]: { dtype: 'float32', dims: [1, ids.length, E], data: new Float32Array(ids.length * E).fill(Number(ids[0])) } };
  },
  async release() {},
};

const head: InferenceSession = {
  inputNames: [BUNDLE_IO.hidden],
  outputNames: [IO.logits],
  supportsInPlaceOutputs: false,
  async run(feeds) {
    const h = feeds[BUNDLE_IO.hidden].data as Float32Array;
    const S = h.length / E;
    const logits = new Float32Array(S * shape.vocabSize);
    for (let s = 0; s < S; s++) logits[s * shape.vocabSize + (h[s * E] % shape.vocabSize)] = 1; // argmax = hidden mod V
    return { [IO.logits]: { dtype: 'float32', dims: [1, S, shape.vocabSize], data: logits } };
  },
  async release() {},
};

function provider(log: string[], failing = new Set<number>()): ChunkSessionProvider {
  return {
    numChunks: 4,
    layers: (i) => [i],
    bytes: () => 1024 * 1024,
    async open(i) {
      log.push(`open ${i}`);
      if (failing.has(i)) throw new TinyLlamaError('E_CORRUPT', `bundle file 'chunk_0${i}.onnx': checksum failed`);
      return fakeChunk([i], 1, log, `c${i}`);
    },
  };
}

describe('ChunkedRunner', () => {
  it('resident mode loads every chunk once and keeps the KV cache across steps', async () => {
    const log: string[] = [];
    const r = await ChunkedRunner.create(embed, head, provider(log), shape);
    expect(r.mode).toBe('resident');
    const a = await r.forward([1, 2], true); // hidden 1 + 4 chunks = 5 → token 0
    expect(a).toHaveLength(2 * shape.vocabSize);
    await r.forward([3]);
    expect(r.length).toBe(3);
    expect(log.filter((l) => l.startsWith('open'))).toEqual(['open 0', 'open 1', 'open 2', 'open 3']);
    await r.release();
    expect(log.filter((l) => l.startsWith('release'))).toHaveLength(4);
  });

  it('streaming mode pins the first chunks so a cycle reloads only the rest', async () => {
    const log: string[] = [];
    // 4 chunks, room for 3, no prefetch: chunks 0 and 1 are pinned, 2 and 3 share one slot.
    const r = await ChunkedRunner.create(embed, head, provider(log), shape, { maxResidentChunks: 3, prefetch: false });
    await r.forward([1]); // warm-up: loads 0 (preloaded), 1, 2, 3
    const before = r.stats.loads;
    for (let t = 0; t < 3; t++) await r.forward([t + 2]);
    expect(r.stats.loads - before).toBe(3 * 2); // per token: chunks 2 and 3 only
    expect(r.stats.peakResident).toBeLessThanOrEqual(3);
    expect(log.filter((l) => l === 'open 0' || l === 'open 1')).toEqual(['open 0', 'open 1']);
    await r.release();
    expect(r.residentChunks).toBe(0);
  });

  it('streaming mode bounds loaded sessions, prefetches, and never runs a released session', async () => {
    const log: string[] = [];
    const r = await ChunkedRunner.create(embed, head, provider(log), shape, { maxResidentChunks: 2 });
    expect(r.mode).toBe('streaming');
    for (let t = 0; t < 3; t++) await r.forward([t + 1]);
    expect(r.length).toBe(3);
    expect(r.stats.peakResident).toBeLessThanOrEqual(2);
    expect(r.stats.loads).toBeGreaterThan(4);
    expect(r.stats.evictions).toBeGreaterThan(0);
    // Prefetch: chunk 1 is opened while chunk 0 runs.
    expect(log.indexOf('open 1')).toBeLessThan(log.indexOf('run c0'));
    await r.release();
    expect(r.residentChunks).toBe(0);
    const plain: string[] = [];
    const p = await ChunkedRunner.create(embed, head, provider(plain), shape, { maxResidentChunks: 2, prefetch: false });
    await p.forward([1]);
    expect(plain.indexOf('open 1')).toBeGreaterThan(plain.indexOf('run c0'));
    await p.release();
  });

  it('gives the same logits in resident and streaming modes', async () => {
    const res = await ChunkedRunner.create(embed, head, provider([]), shape);
    const str = await ChunkedRunner.create(embed, head, provider([]), shape, { maxResidentChunks: 1 });
    for (const ids of [[1, 2, 3], [4], [2]]) expect(await str.forward(ids, true)).toEqual(await res.forward(ids, true));
    await res.release();
    await str.release();
  });

  it('a chunk that fails to load fails the step, commits nothing, and is retried next time', async () => {
    const log: string[] = [];
    const failing = new Set([2]);
    const r = await ChunkedRunner.create(embed, head, provider(log, failing), shape, { maxResidentChunks: 3 });
    await expect(r.forward([1])).rejects.toMatchObject({ code: 'E_CORRUPT' });
    expect(r.length).toBe(0);
    failing.clear();
    await r.forward([1]);
    expect(r.length).toBe(1);
    expect(log.filter((l) => l === 'open 2').length).toBeGreaterThanOrEqual(2);
    await r.release();
  });

  it('reuses its step buffers with sessions that write outputs in place', async () => {
    /** Like a backend with in-place outputs: copies each result into the caller's tensor of that name. */
    const inPlace = (s: InferenceSession, seen: Array<[HostTensor, HostTensor]>): InferenceSession => ({
      ...s,
      supportsInPlaceOutputs: true,
      async run(feeds, options) {
        const out = await s.run(feeds);
        for (const [name, target] of Object.entries(options?.outputs ?? {})) {
          expect(target.data).toHaveLength(out[name]!.data.length);
          (target.data as Float32Array).set(out[name]!.data as Float32Array);
          if (feeds[BUNDLE_IO.hidden]) seen.push([feeds[BUNDLE_IO.hidden]!, target]);
          out[name] = target;
        }
        return out;
      },
    });
    const seen: Array<[HostTensor, HostTensor]> = [];
    const log: string[] = [];
    const base = provider(log);
    const reuse = await ChunkedRunner.create(embed, inPlace(head, seen), { ...base, open: async (i) => inPlace(await base.open(i), seen) }, shape);
    const plain = await ChunkedRunner.create(embed, head, provider([]), shape);
    expect(await reuse.forward([1, 2], true)).toEqual(await plain.forward([1, 2], true));
    const first = await reuse.forward([3]);
    expect(first).toEqual(await plain.forward([3]));
    const copy = first.slice();
    const second = await reuse.forward([4]);
    expect(second).toEqual(await plain.forward([4]));
    expect(second).toBe(first); // one logits buffer for every step (the Runner contract allows it)
    expect(copy).not.toEqual(second);
    // a chunk never writes into the buffer it reads; one position's hidden states use two buffers in turn
    for (const [input, output] of seen) expect(output.data).not.toBe(input.data);
    const buffers = new Set(seen.filter(([i]) => i.dims[1] === 1).map(([, o]) => o.data));
    expect(buffers.size).toBe(3); // two hidden buffers and the logits
    await reuse.release();
    await plain.release();
  });

  it('rejects a memory limit that cannot hold one chunk', async () => {
    await expect(ChunkedRunner.create(embed, head, provider([]), shape, { memoryLimitMB: 0.5 })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
    const r = await ChunkedRunner.create(embed, head, provider([]), shape, { memoryLimitMB: 2.5, fixedBytes: 0 });
    expect(r.mode).toBe('streaming');
    await r.forward([1, 2]);
    expect(r.stats.peakResident).toBeLessThanOrEqual(2);
    await r.release();
  });
});

describe('parseBundleManifest', () => {
  const file = (path: string, role = 'chunk') => ({ path, size: 1, sha256: 'a'.repeat(64), role });
  const graph = (path: string) => ({ path, files: [path], bytes: 1 });
  const valid = {
    format: 'tinyllama-bundle/1',
    tokenizer: { type: 'sentencepiece', file: 'tokenizer.model' },
    streaming: { enabled: true, total_chunks: 2, chunk_size_mb: 0, layers_per_chunk: 1, preload_chunks: 1 },
    graphs: { embed: graph('embed.onnx'), head: graph('head.onnx'), chunks: [{ ...graph('c0.onnx'), index: 0, layers: [0] }, { ...graph('c1.onnx'), index: 1, layers: [1] }] },
    files: [file('embed.onnx'), file('head.onnx'), file('c0.onnx'), file('c1.onnx'), file('tokenizer.model', 'tokenizer')],
  };
  it('accepts a consistent manifest and names the problem otherwise', () => {
    expect(parseBundleManifest(JSON.stringify(valid), 'm').graphs.chunks).toHaveLength(2);
    expect(() => parseBundleManifest('{', 'm.json')).toThrow(/m.json/);
    const gap = { ...valid, graphs: { ...valid.graphs, chunks: [valid.graphs.chunks[0], { ...valid.graphs.chunks[1], layers: [2] }] } };
    expect(() => parseBundleManifest(JSON.stringify(gap), 'm')).toThrow(/layer sequence/);
    const escape = { ...valid, files: [...valid.files, file('../x')] };
    expect(() => parseBundleManifest(JSON.stringify(escape), 'm')).toThrow(/plain file name/);
    const unlisted = { ...valid, files: valid.files.slice(1) };
    expect(() => parseBundleManifest(JSON.stringify(unlisted), 'm')).toThrow(/embed.onnx/);
  });
});
