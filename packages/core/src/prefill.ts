import { TinyLlamaError } from './errors.js';

/**
 * Default longest step of the runners (tokens): a longer prompt runs in steps of this size, so
 * attention's [H, S, T] scores and the activations stay bounded (TinyLlama-1.1B int4 on
 * onnxruntime-node, a 1536-token prompt: 12.2-12.8 s and 969-983 MB against 14.7 s and 1166 MB in one
 * step; docs/benchmarks.md). In WebAssembly, whose memory never shrinks, it also caps the high-water
 * mark a long prompt leaves behind.
 */
export const DEFAULT_PREFILL_CHUNK = 128;

/** Checks a runner's `prefillChunk` option (a non-negative integer; 0 = no limit). */
export function prefillChunkOption(value: number | undefined): number {
  const chunk = value ?? DEFAULT_PREFILL_CHUNK;
  if (!Number.isInteger(chunk) || chunk < 0) throw new TinyLlamaError('E_ARGUMENT', `prefill chunk must be a non-negative integer, got ${chunk}`);
  return chunk;
}

/**
 * Runs `ids` through `step` in pieces of at most `chunk` tokens (all at once when `chunk` is 0 or
 * larger than `ids`). Returns the last piece's logits, or with `allLogits` every position's [S, V]
 * concatenated. When a piece fails, the function `checkpoint` returned before the first piece restores
 * the cache, then the error propagates.
 */
export async function forwardInChunks(
  ids: readonly number[],
  allLogits: boolean,
  chunk: number,
  vocabSize: number,
  step: (ids: readonly number[], allLogits: boolean) => Promise<Float32Array>,
  checkpoint: () => () => void,
): Promise<Float32Array> {
  if (chunk === 0 || ids.length <= chunk) return step(ids, allLogits);
  const restore = checkpoint();
  const all = allLogits ? new Float32Array(ids.length * vocabSize) : undefined; // [S, V]
  let last: Float32Array | undefined;
  try {
    for (let i = 0; i < ids.length; i += chunk) {
      last = await step(ids.slice(i, i + chunk), allLogits);
      all?.set(last, i * vocabSize);
    }
  } catch (e) {
    restore();
    throw e;
  }
  return all ?? last!;
}
