import type { Runner } from './runner.js';
import { TinyLlamaError } from './errors.js';
import { argmax } from './sampling.js';

/** Teacher-forced statistics of a model on a token sequence. */
export interface TeacherForcedStats {
  /** Number of predicted tokens (`ids.length - 1`). */
  readonly tokens: number;
  /** Mean negative log-likelihood of each next token (nats). */
  readonly meanNll: number;
  /** exp(meanNll). */
  readonly perplexity: number;
  /** The argmax prediction at each position `[tokens]` (for top-1 agreement between models). */
  readonly top1: number[];
}

/**
 * Runs `ids` through the model in one pass (teacher forcing) and scores every next token:
 * position t predicts ids[t + 1].
 */
export async function teacherForced(runner: Runner, ids: readonly number[]): Promise<TeacherForcedStats> {
  if (ids.length < 2) throw new TinyLlamaError('E_ARGUMENT', 'teacher forcing needs at least 2 tokens');
  runner.reset();
  const V = runner.shape.vocabSize;
  const logits = await runner.forward(ids, true); // [S, V]
  let nll = 0;
  const top1: number[] = [];
  for (let t = 0; t < ids.length - 1; t++) {
    const row = logits.subarray(t * V, (t + 1) * V); // [V]
    let max = -Infinity;
    for (let i = 0; i < V; i++) if (row[i] > max) max = row[i];
    let sum = 0;
    for (let i = 0; i < V; i++) sum += Math.exp(row[i] - max);
    nll += -(row[ids[t + 1]] - max - Math.log(sum)); // -log softmax(row)[next]
    top1.push(argmax(row));
  }
  runner.reset();
  const tokens = ids.length - 1;
  return { tokens, meanNll: nll / tokens, perplexity: Math.exp(nll / tokens), top1 };
}

/** Fraction of positions where two top-1 prediction lists agree. */
export function top1Agreement(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length || a.length === 0) throw new TinyLlamaError('E_ARGUMENT', 'top-1 lists must have the same non-zero length');
  let same = 0;
  for (let i = 0; i < a.length; i++) if (a[i] === b[i]) same++;
  return same / a.length;
}

/**
 * `steps` greedy (argmax) ids after `prompt`, through the runner's KV cache: the prompt in one
 * forward pass, then one token per step. Never stops at EOS; for comparing backends and references.
 */
export async function greedyIds(runner: Runner, prompt: readonly number[], steps: number): Promise<number[]> {
  let logits = await runner.forward(prompt);
  const ids: number[] = [];
  for (let i = 0; i < steps; i++) {
    const next = argmax(logits);
    ids.push(next);
    if (i + 1 < steps) logits = await runner.forward([next]);
  }
  return ids;
}
