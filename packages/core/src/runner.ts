import type { DecoderShape } from './decoder.js';

/**
 * What {@link TextGenerator} and the evaluation helpers need from a decoder: a KV-cached `forward`
 * over batch 1. Implemented by `DecoderRunner` (one session) and `ChunkedRunner` (a bundle's chunk
 * sessions).
 */
export interface Runner {
  readonly shape: DecoderShape;
  /** Tokens currently in the cache. */
  readonly length: number;
  /** Empties the cache. */
  reset(): void;
  /**
   * Runs `ids` after the cached tokens. Returns logits [S, V] when `allLogits`, else the last
   * position's logits [V]. A runner may reuse the returned array for its next `forward` (so a decode
   * step allocates nothing): copy it to keep it longer.
   */
  forward(ids: readonly number[], allLogits?: boolean): Promise<Float32Array>;
}
