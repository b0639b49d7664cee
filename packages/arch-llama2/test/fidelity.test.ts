import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Checkpoint } from '@tinyllama/core';
import { openCheckpoint } from '@tinyllama/loader-pytorch';
import * as ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildLlamaModel, gqaAttention, normalizeLlamaConfig, portableAttention, type LlamaConfig } from '../src/index.js';
import { Decoder, FIXTURES, SHARED_FIXTURES, createSession, maxAbsDiff, readJson, type Golden } from './helpers.js';

const TOLERANCE = 1e-4;
const STRATEGIES = [portableAttention, gqaAttention];

const TINY = path.join(FIXTURES, 'tiny');
const VARIANTS = readdirSync(TINY, { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(path.join(TINY, d.name, 'golden.json')))
  .map((d) => d.name)
  .sort();

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyllama-fidelity-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** Opens a checkpoint and builds one decoder per strategy (portable from bytes, gqa from a file + external data). */
async function openDecoders(dir: string, name: string): Promise<{ config: LlamaConfig; decoders: Map<string, Decoder>; checkpoint: Checkpoint }> {
  const config = normalizeLlamaConfig(readJson(path.join(dir, 'config.json')));
  const checkpoint = await openCheckpoint(dir);
  const decoders = new Map<string, Decoder>();
  for (const attention of STRATEGIES) {
    const model = await buildLlamaModel(checkpoint, config, { attention });
    const via = attention === gqaAttention ? { dir: path.join(tmp, `${name}-${attention.name}`) } : ({ bytes: true } as const);
    decoders.set(attention.name, new Decoder(await createSession(model, via), config));
  }
  return { config, decoders, checkpoint };
}

describe.each(VARIANTS)('tiny fixture %s', (variant) => {
  const dir = path.join(TINY, variant);
  const golden = readJson<Golden>(path.join(dir, 'golden.json'));
  let decoders: Map<string, Decoder>;
  let checkpoint: Checkpoint;

  beforeAll(async () => {
    ({ decoders, checkpoint } = await openDecoders(dir, variant));
  });
  afterAll(async () => {
    for (const d of decoders?.values() ?? []) await d.session.release();
    await checkpoint?.close();
  });

  describe.each(STRATEGIES.map((s) => s.name))('%s attention', (strategy) => {
    it(`full-sequence fp32 logits are within ${TOLERANCE} of the PyTorch golden`, async () => {
      const d = decoders.get(strategy) as Decoder;
      d.reset();
      const rows = await d.step(golden.inputIds);
      expect(maxAbsDiff(rows, golden.logits)).toBeLessThan(TOLERANCE);
    });

    it('greedy decoding with the KV cache equals the golden ids', async () => {
      const d = decoders.get(strategy) as Decoder;
      expect(await d.greedy(golden.greedy.promptIds, golden.greedy.ids.length)).toEqual(golden.greedy.ids);
    });

    it('prefill then decode (single tokens and a multi-token chunk) equals the full-sequence logits', async () => {
      const d = decoders.get(strategy) as Decoder;
      const ids = golden.inputIds;
      d.reset();
      const full = await d.step(ids);
      d.reset();
      const rows = [...(await d.step(ids.slice(0, 5)))];
      for (let i = 5; i < 8; i++) rows.push(...(await d.step([ids[i]])));
      rows.push(...(await d.step(ids.slice(8, 12)))); // chunk with a non-empty past
      for (let i = 12; i < ids.length; i++) rows.push(...(await d.step([ids[i]])));
      expect(d.pastLength).toBe(ids.length);
      expect(maxAbsDiff(rows, full)).toBeLessThan(TOLERANCE);
    });

    it('logits_to_keep K runs the head on the last K positions only: the same rows as the full sequence', async () => {
      const d = decoders.get(strategy) as Decoder;
      const ids = golden.inputIds;
      d.reset();
      const full = await d.step(ids);
      for (const keep of [1, 3]) {
        d.reset();
        const rows = await d.step(ids, keep);
        expect(rows).toHaveLength(keep);
        expect(maxAbsDiff(rows, full.slice(ids.length - keep))).toBeLessThan(1e-5);
        // the cache is the full sequence's: the next token's logits are unchanged
        const next = await d.step([ids[0]], 1);
        d.reset();
        await d.step(ids);
        expect(maxAbsDiff(next, await d.step([ids[0]]))).toBeLessThan(1e-5);
      }
    });
  });
});

describe('batched prompts with padding', () => {
  const variant = 'gqa-f32-safetensors';
  const dir = path.join(TINY, variant);
  const skip = !existsSync(path.join(dir, 'golden.json'));

  it.skipIf(skip)('portable: left padding matches unpadded rows; gqa: right padding matches unpadded rows', async () => {
    const { config, decoders, checkpoint } = await openDecoders(dir, `${variant}-batch`);
    const golden = readJson<Golden>(path.join(dir, 'golden.json'));
    const V = config.vocabSize;
    const a = golden.inputIds.slice(0, 9);
    const b = golden.inputIds.slice(3, 9); // 6 tokens, padded to 9
    const single = decoders.get('portable') as Decoder;
    single.reset();
    const rowsA = await single.step(a);
    single.reset();
    const rowsB = await single.step(b);

    const run = async (d: Decoder, left: boolean) => {
      const pad = a.length - b.length;
      const ids = left ? [...a, ...Array(pad).fill(0), ...b] : [...a, ...b, ...Array(pad).fill(0)];
      const mask = left ? [...a.map(() => 1), ...Array(pad).fill(0), ...b.map(() => 1)] : [...a.map(() => 1), ...b.map(() => 1), ...Array(pad).fill(0)];
      const pos = left ? [...a.keys(), ...Array(pad).fill(1), ...b.keys()] : [...a.keys(), ...b.keys(), ...Array(pad).fill(1)];
      const L = a.length;
      const feeds: Record<string, ort.Tensor> = {
        input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [2, L]),
        attention_mask: new ort.Tensor('int64', BigInt64Array.from(mask, BigInt), [2, L]),
        position_ids: new ort.Tensor('int64', BigInt64Array.from(pos, BigInt), [2, L]),
        logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(BigInt(L)), []),
      };
      for (let i = 0; i < config.numLayers; i++) {
        for (const kind of ['key', 'value']) {
          feeds[`past_key_values.${i}.${kind}`] = new ort.Tensor('float32', new Float32Array(0), [2, config.numKeyValueHeads, 0, config.headDim]);
        }
      }
      const logits = (await d.session.run(feeds)).logits.data as Float32Array;
      const row = (batch: number, i: number) => logits.slice((batch * L + i) * V, (batch * L + i + 1) * V);
      const gotA = a.map((_, i) => row(0, i));
      const gotB = b.map((_, i) => row(1, left ? pad + i : i));
      expect(maxAbsDiff(gotA, rowsA)).toBeLessThan(TOLERANCE);
      expect(maxAbsDiff(gotB, rowsB)).toBeLessThan(TOLERANCE);
    };
    await run(decoders.get('portable') as Decoder, true);
    await run(decoders.get('gqa') as Decoder, false);
    for (const d of decoders.values()) await d.session.release();
    await checkpoint.close();
  });
});

const STORIES_DIR = path.join(SHARED_FIXTURES, 'stories260k-hf');
const STORIES_REFERENCE = path.join(FIXTURES, 'stories260k', 'reference.json');
const storiesMissing = !existsSync(path.join(STORIES_DIR, 'config.json')) || !existsSync(STORIES_REFERENCE);

describe.skipIf(storiesMissing)(
  `stories260K (trained, head_dim 8, tied)${storiesMissing ? ' -- SKIPPED: ../shared/fixtures/stories260k-hf or its reference.json is absent' : ''}`,
  () => {
    interface Reference {
      greedyFromBos: { promptIds: number[]; ids: number[] };
      logitsFirst: number[][];
    }
    let decoders: Map<string, Decoder>;
    let checkpoint: Checkpoint;
    let reference: Reference;

    beforeAll(async () => {
      reference = readJson<Reference>(STORIES_REFERENCE);
      ({ decoders, checkpoint } = await openDecoders(STORIES_DIR, 'stories260k'));
    });
    afterAll(async () => {
      for (const d of decoders?.values() ?? []) await d.session.release();
      await checkpoint?.close();
    });

    it.each(STRATEGIES.map((s) => s.name))('%s: greedy from BOS with the KV cache equals the reference', async (strategy) => {
      const { promptIds, ids } = reference.greedyFromBos;
      expect(ids.length).toBeGreaterThanOrEqual(200);
      const d = decoders.get(strategy) as Decoder;
      expect(await d.greedy(promptIds, ids.length)).toEqual(ids);
    });

    it.each(STRATEGIES.map((s) => s.name))(`%s: first logits are within ${TOLERANCE} of the reference`, async (strategy) => {
      const rows = reference.logitsFirst;
      const ids = [...reference.greedyFromBos.promptIds, ...reference.greedyFromBos.ids].slice(0, rows.length);
      const d = decoders.get(strategy) as Decoder;
      d.reset();
      expect(maxAbsDiff(await d.step(ids), rows)).toBeLessThan(TOLERANCE);
    });
  },
);
