import type { DecoderConfig } from './architecture.js';
import type { InferenceSession } from './backend.js';
import { TinyLlamaError } from './errors.js';
import { IO } from './io-names.js';
import type { HostTensor } from './tensor.js';

/** The shape facts a {@link DecoderRunner} needs about a model. */
export type DecoderShape = Pick<DecoderConfig, 'numLayers' | 'numKeyValueHeads' | 'headDim' | 'vocabSize' | 'maxPositionEmbeddings'>;

/**
 * Drives a decoder session with a KV cache (batch 1): `forward(ids)` appends tokens and returns
 * logits, keeping `present.*` outputs as the next `past_key_values.*` inputs. The cache holds the
 * un-repeated KV heads: [1, Hkv, T, D] per layer.
 */
export class DecoderRunner {
  #past: HostTensor[] = [];
  #length = 0;
  readonly #needsPositions: boolean;

  constructor(
    readonly session: InferenceSession,
    readonly shape: DecoderShape,
  ) {
    this.#needsPositions = session.inputNames.includes(IO.positionIds);
    this.reset();
  }

  /** Tokens currently in the cache. */
  get length(): number {
    return this.#length;
  }

  /** Empties the cache. */
  reset(): void {
    const { numLayers, numKeyValueHeads, headDim } = this.shape;
    const empty: HostTensor = { dtype: 'float32', dims: [1, numKeyValueHeads, 0, headDim], data: new Float32Array(0) };
    this.#past = Array.from({ length: 2 * numLayers }, () => empty);
    this.#length = 0;
  }

  /**
   * Runs `ids` after the cached tokens. Returns logits [S, V] when `allLogits`, else the last
   * position's logits [V].
   */
  async forward(ids: readonly number[], allLogits = false): Promise<Float32Array> {
    const S = ids.length;
    if (S === 0) throw new TinyLlamaError('E_ARGUMENT', 'forward() needs at least one token');
    const P = this.#length;
    const T = P + S;
    if (T > this.shape.maxPositionEmbeddings) {
      throw new TinyLlamaError('E_CONTEXT', `context limit exceeded: ${T} tokens > ${this.shape.maxPositionEmbeddings}`);
    }
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.shape.vocabSize) {
        throw new TinyLlamaError('E_ARGUMENT', `token id ${id} is out of range [0, ${this.shape.vocabSize})`);
      }
    }
    const feeds: Record<string, HostTensor> = {
      [IO.inputIds]: { dtype: 'int64', dims: [1, S], data: BigInt64Array.from(ids, (v) => BigInt(v)) }, // [1, S]
      [IO.attentionMask]: { dtype: 'int64', dims: [1, T], data: new BigInt64Array(T).fill(1n) }, // [1, T]
    };
    if (this.#needsPositions) {
      feeds[IO.positionIds] = { dtype: 'int64', dims: [1, S], data: BigInt64Array.from(ids, (_, i) => BigInt(P + i)) }; // [1, S]
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
    const logits = out[IO.logits];
    if (!logits || !(logits.data instanceof Float32Array)) throw new TinyLlamaError('E_BACKEND', 'session returned no float32 logits');
    const V = this.shape.vocabSize;
    const data = logits.data; // [1, S, V]
    if (data.length !== S * V) {
      throw new TinyLlamaError('E_SHAPE', `logits have ${data.length} values, expected ${S} x ${V}`);
    }
    return allLogits ? data : data.subarray((S - 1) * V, S * V);
  }
}
