import { describe, expect, it } from 'vitest';
import {
  DecoderRunner,
  greedyIds,
  IO,
  TextGenerator,
  type HostTensor,
  type IncrementalDecoder,
  type InferenceSession,
  type Tokenizer,
} from '@tinyllama/core';

const V = 8;
/** A fake model: the next token is always (last id + 1) mod V, and it checks the KV-cache protocol. */
function fakeSession(calls: { S: number; P: number; K?: number }[], keepsLogits = false): InferenceSession {
  return {
    supportsInPlaceOutputs: false,
    inputNames: [IO.inputIds, IO.attentionMask, IO.positionIds, IO.pastKey(0), IO.pastValue(0), ...(keepsLogits ? [IO.logitsToKeep] : [])],
    outputNames: [IO.logits, IO.presentKey(0), IO.presentValue(0)],
    async run(feeds) {
      const ids = feeds[IO.inputIds].data as BigInt64Array;
      const S = ids.length;
      const P = feeds[IO.pastKey(0)].dims[2];
      const pos = feeds[IO.positionIds].data as BigInt64Array;
      expect(Number(pos[0])).toBe(P);
      expect(feeds[IO.attentionMask].dims).toEqual([1, P + S]);
      const keep = feeds[IO.logitsToKeep];
      expect(keep !== undefined).toBe(keepsLogits);
      if (keep) expect(keep.dims).toEqual([]);
      const K = keep ? Number((keep.data as BigInt64Array)[0]) : S; // logits of the last K positions
      calls.push(keep ? { S, P, K } : { S, P });
      const logits = new Float32Array(K * V);
      for (let k = 0; k < K; k++) logits[k * V + ((Number(ids[S - K + k]) + 1) % V)] = 1;
      const kv = (): HostTensor => ({ dtype: 'float32', dims: [1, 1, P + S, 2], data: new Float32Array((P + S) * 2) });
      return { [IO.logits]: { dtype: 'float32', dims: [1, K, V], data: logits }, [IO.presentKey(0)]: kv(), [IO.presentValue(0)]: kv() };
    },
    async release() {},
  };
}

const tokenizer: Tokenizer = {
  vocabSize: V,
  bosId: 1,
  eosId: 2,
  unkId: 0,
  padId: -1,
  encode: (text, o) => [...(o?.addBos ? [1] : []), ...[...text].map((c) => Number(c))],
  decode: (ids) => ids.filter((i) => i > 2).map(String).join(''),
  idToPiece: (id) => String(id),
  createDecoder(): IncrementalDecoder {
    return { push: (id) => (id > 2 ? String(id) : ''), flush: () => '' };
  },
};

const make = (ctx = 64, keepsLogits = false) => {
  const calls: { S: number; P: number; K?: number }[] = [];
  const runner = new DecoderRunner(fakeSession(calls, keepsLogits), { numLayers: 1, numKeyValueHeads: 1, headDim: 2, vocabSize: V, maxPositionEmbeddings: ctx });
  return { calls, runner, gen: new TextGenerator(runner, tokenizer) };
};

describe('DecoderRunner with a logits_to_keep graph', () => {
  it('asks for the last position only when generating, and for every position when all logits are wanted', async () => {
    const { calls, runner, gen } = make(64, true);
    const r = await gen.generate([1, 3], { maxNewTokens: 10 });
    expect(r.ids).toEqual([4, 5, 6, 7, 0, 1]); // as without logits_to_keep
    expect(calls.every((c) => c.K === 1)).toBe(true);
    runner.reset();
    const all = await runner.forward([3, 4, 5], true); // [S, V]
    expect(calls.at(-1)).toEqual({ S: 3, P: 0, K: 3 });
    expect([0, 1, 2].map((s) => all.subarray(s * V, (s + 1) * V).indexOf(1))).toEqual([4, 5, 6]);
    const last = await runner.forward([6, 7]); // [V]
    expect(calls.at(-1)).toEqual({ S: 2, P: 3, K: 1 });
    expect(last.length).toBe(V);
    expect(last.indexOf(1)).toBe(0);
  });
});

describe('TextGenerator', () => {
  it('prefills then decodes one token at a time and stops on EOS', async () => {
    const { calls, gen } = make();
    const r = await gen.generate([1, 3], { maxNewTokens: 10 });
    expect(r.ids).toEqual([4, 5, 6, 7, 0, 1]); // 1 -> 2 = EOS
    expect(r.finishReason).toBe('eos');
    expect(calls[0]).toEqual({ S: 2, P: 0 });
    expect(calls.slice(1).every((c, i) => c.S === 1 && c.P === 2 + i)).toBe(true);
  });
  it('ignores EOS, honours max tokens, stop ids and stop strings', async () => {
    const { gen } = make();
    expect((await gen.generate([5], { maxNewTokens: 5, ignoreEos: true })).ids).toEqual([6, 7, 0, 1, 2]);
    const s = await gen.generate([5], { maxNewTokens: 5, stopIds: [0] });
    expect([s.ids, s.finishReason]).toEqual([[6, 7], 'stop-id']);
    const t = await gen.generate([3], { maxNewTokens: 9, stopStrings: ['56'] });
    expect([t.text, t.finishReason]).toEqual(['4', 'stop-string']);
  });
  it('streams tokens that add up to the text', async () => {
    const { gen } = make();
    const stream = gen.stream('3', { maxNewTokens: 3 });
    const seen: string[] = [];
    for await (const t of stream) seen.push(t.text);
    const r = await stream.result;
    expect(seen.join('')).toBe(r.text);
    expect(r.promptIds).toEqual([1, 3]);
    expect(r.text).toBe('456');
  });
  it('enforces the context limit unless truncation is asked for', async () => {
    const { gen } = make(8);
    await expect(gen.generate([1, 3, 3, 3, 3, 3], { maxNewTokens: 4 })).rejects.toMatchObject({ code: 'E_CONTEXT' });
    const r = await gen.generate([1, 3, 4, 5, 6, 7], { maxNewTokens: 4, truncate: true, ignoreEos: true });
    expect(r.promptIds).toEqual([1, 5, 6, 7]);
    expect(r.ids.length).toBe(4);
  });
  it('stops when aborted', async () => {
    const { gen } = make();
    const ac = new AbortController();
    const stream = gen.stream([3], { maxNewTokens: 50, ignoreEos: true, signal: ac.signal });
    let n = 0;
    for await (const _ of stream) if (++n === 3) ac.abort();
    const r = await stream.result;
    expect(r.finishReason).toBe('aborted');
    expect(r.ids.length).toBeLessThan(50);
  });
  it('rejects out-of-range ids with a clear error', async () => {
    const { gen } = make();
    await expect(gen.generate([1, 99], { maxNewTokens: 2 })).rejects.toThrow(/token id 99 is out of range/);
  });
});

describe('GenerateOptions.onToken', () => {
  it('sees each token before the next step runs', async () => {
    const { calls, gen } = make();
    const seen: { id: number; stepsRun: number }[] = [];
    const r = await gen.generate([1, 3], { maxNewTokens: 3, temperature: 0, ignoreEos: true, onToken: (t) => seen.push({ id: t.id, stepsRun: calls.length }) });
    expect(seen.map((s) => s.id)).toEqual(r.ids);
    expect(seen.map((s) => s.stepsRun)).toEqual([1, 2, 3]); // prefill, then one step per token after it
  });
});

describe('greedyIds', () => {
  it('is the argmax continuation through the KV cache, the prompt in one pass', async () => {
    const { calls, runner } = make();
    expect(await greedyIds(runner, [1, 3], 3)).toEqual([4, 5, 6]); // the fake model predicts last id + 1
    expect(calls).toEqual([{ S: 2, P: 0 }, { S: 1, P: 2 }, { S: 1, P: 3 }]);
  });
});
