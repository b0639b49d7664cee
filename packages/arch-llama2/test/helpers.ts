import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DecoderConfig } from '@tinyllama/core';
import type { OnnxModel } from '@tinyllama/onnx';
import * as ort from 'onnxruntime-node';

/** Repository root (/work/main). */
export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
/** Committed fixtures. */
export const FIXTURES = path.join(REPO_ROOT, 'fixtures');
/** Shared read-only fixtures (may be absent). */
export const SHARED_FIXTURES = path.resolve(REPO_ROOT, '../shared/fixtures');

/** golden.json of a tiny variant. */
export interface Golden {
  readonly variant: string;
  readonly inputIds: number[];
  readonly logits: number[][];
  readonly greedy: { readonly promptIds: number[]; readonly ids: number[] };
}

export function readJson<T>(file: string): T {
  return JSON.parse(readFileSync(file, 'utf8')) as T;
}

/** Creates an onnxruntime session from a model, via `toBytes()` or via `writeTo(dir)` (external data). */
export async function createSession(model: OnnxModel, via: { bytes: true } | { dir: string }): Promise<ort.InferenceSession> {
  const options: ort.InferenceSession.SessionOptions = { logSeverityLevel: 3, intraOpNumThreads: 1 };
  if ('dir' in via) return ort.InferenceSession.create(await model.writeTo(via.dir), options);
  return ort.InferenceSession.create(await model.toBytes(), options);
}

/** Batch-1 decoder driver over the `IO` names, with its own KV cache. */
export class Decoder {
  #past: ort.Tensor[] = [];
  #pastLen = 0;

  constructor(
    readonly session: ort.InferenceSession,
    readonly config: DecoderConfig,
  ) {
    this.reset();
  }

  get pastLength(): number {
    return this.#pastLen;
  }

  reset(): void {
    const { numLayers, numKeyValueHeads, headDim } = this.config;
    this.#past = [];
    for (let i = 0; i < 2 * numLayers; i++) this.#past.push(new ort.Tensor('float32', new Float32Array(0), [1, numKeyValueHeads, 0, headDim]));
    this.#pastLen = 0;
  }

  /**
   * Feeds `ids` after the cached tokens; returns the logits rows of the last `keep` new tokens (default
   * all of them) and keeps the cache.
   */
  async step(ids: readonly number[], keep = ids.length): Promise<Float32Array[]> {
    const S = ids.length;
    const P = this.#pastLen;
    const T = P + S;
    const feeds: Record<string, ort.Tensor> = {
      input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, S]),
      attention_mask: new ort.Tensor('int64', new BigInt64Array(T).fill(1n), [1, T]),
      position_ids: new ort.Tensor('int64', BigInt64Array.from({ length: S }, (_, i) => BigInt(P + i)), [1, S]),
      logits_to_keep: new ort.Tensor('int64', BigInt64Array.of(BigInt(keep)), []),
    };
    for (let i = 0; i < this.config.numLayers; i++) {
      feeds[`past_key_values.${i}.key`] = this.#past[2 * i];
      feeds[`past_key_values.${i}.value`] = this.#past[2 * i + 1];
    }
    const out = await this.session.run(feeds);
    for (let i = 0; i < this.config.numLayers; i++) {
      this.#past[2 * i] = out[`present.${i}.key`];
      this.#past[2 * i + 1] = out[`present.${i}.value`];
    }
    this.#pastLen = T;
    const V = this.config.vocabSize;
    const logits = out.logits.data as Float32Array;
    if (logits.length !== keep * V) throw new Error(`logits have ${logits.length} values, expected ${keep} x ${V}`);
    return Array.from({ length: keep }, (_, i) => logits.slice(i * V, (i + 1) * V));
  }

  /** Greedy decoding with the KV cache: prefill `prompt`, then one token at a time. */
  async greedy(prompt: readonly number[], steps: number): Promise<number[]> {
    this.reset();
    const ids: number[] = [];
    let rows = await this.step(prompt, 1);
    for (let k = 0; k < steps; k++) {
      const next = argmax(rows[rows.length - 1]);
      ids.push(next);
      if (k + 1 < steps) rows = await this.step([next]);
    }
    return ids;
  }
}

/** Index of the largest value (lowest index on ties). */
export function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i] > row[best]) best = i;
  return best;
}

/** Largest absolute difference between two logits matrices. */
export function maxAbsDiff(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): number {
  let m = 0;
  if (a.length !== b.length) return Infinity;
  for (let i = 0; i < a.length; i++) {
    if (a[i].length !== b[i].length) return Infinity;
    for (let j = 0; j < a[i].length; j++) m = Math.max(m, Math.abs(a[i][j] - b[i][j]));
  }
  return m;
}
