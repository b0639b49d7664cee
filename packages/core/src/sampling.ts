import { TinyLlamaError } from './errors.js';

/**
 * A small, fast, seedable PRNG (xoshiro128**, seeded through splitmix32) so a seed reproduces a
 * sampled generation exactly on every platform.
 */
export class Rng {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;

  constructor(seed: number) {
    let x = seed >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.#s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (this.#s1 << 9) >>> 0;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= t;
    this.#s3 = rotl(this.#s3, 11);
    this.#s0 >>>= 0;
    this.#s1 >>>= 0;
    this.#s2 >>>= 0;
    return result;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  next(): number {
    return this.nextU32() / 4294967296;
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Decoding settings. `temperature` 0 means greedy (argmax). */
export interface SamplingOptions {
  /** 0 = greedy. Default 0. */
  readonly temperature?: number;
  /** Keep the k most likely tokens (0 = off). */
  readonly topK?: number;
  /** Nucleus sampling: keep the smallest set whose probability mass reaches p (1 = off). */
  readonly topP?: number;
}

/** Checks sampling options, throwing `E_ARGUMENT` naming the bad option. */
export function validateSampling(o: SamplingOptions): void {
  const t = o.temperature ?? 0;
  if (!Number.isFinite(t) || t < 0) throw new TinyLlamaError('E_ARGUMENT', `temperature must be >= 0, got ${t}`);
  const k = o.topK ?? 0;
  if (!Number.isInteger(k) || k < 0) throw new TinyLlamaError('E_ARGUMENT', `topK must be an integer >= 0, got ${k}`);
  const p = o.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new TinyLlamaError('E_ARGUMENT', `topP must be in (0, 1], got ${p}`);
}

/** Index of the largest value (lowest index on ties). NaN logits are treated as -Infinity. */
export function argmax(logits: ArrayLike<number>): number {
  let best = 0;
  let bestV = -Infinity;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i];
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  return best;
}

/**
 * Picks the next token from one position's logits [V]: greedy when temperature is 0, otherwise
 * temperature → top-k → softmax → top-p → a draw from `rng`.
 */
export function sampleToken(logits: ArrayLike<number>, options: SamplingOptions, rng: Rng): number {
  const temperature = options.temperature ?? 0;
  if (temperature === 0) return argmax(logits);
  const n = logits.length;
  const topK = options.topK && options.topK > 0 ? Math.min(options.topK, n) : n;
  const topP = options.topP ?? 1;

  // Candidate ids sorted by logit, descending (ties by id), cut to top-k.
  let ids: number[];
  if (topK < n) {
    ids = topKIndices(logits, topK);
  } else {
    ids = Array.from({ length: n }, (_, i) => i);
    ids.sort((a, b) => logits[b] - logits[a] || a - b);
  }
  // Softmax over the candidates at the given temperature.
  const maxL = logits[ids[0]];
  const probs = new Float64Array(ids.length);
  let sum = 0;
  for (let i = 0; i < ids.length; i++) {
    const p = Math.exp((logits[ids[i]] - maxL) / temperature);
    probs[i] = p;
    sum += p;
  }
  // Nucleus cut: smallest prefix whose mass reaches topP.
  let keep = ids.length;
  if (topP < 1) {
    let acc = 0;
    for (let i = 0; i < ids.length; i++) {
      acc += probs[i] / sum;
      if (acc >= topP) {
        keep = i + 1;
        break;
      }
    }
  }
  let mass = 0;
  for (let i = 0; i < keep; i++) mass += probs[i];
  let r = rng.next() * mass;
  for (let i = 0; i < keep; i++) {
    r -= probs[i];
    if (r < 0) return ids[i];
  }
  return ids[keep - 1];
}

/** The k indices with the largest values, sorted descending (ties: lower index first). */
function topKIndices(values: ArrayLike<number>, k: number): number[] {
  // Keep a small sorted buffer; O(n k) worst case but k is small in practice.
  const ids: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (ids.length === k && !(v > values[ids[k - 1]])) continue;
    let j = ids.length === k ? k - 1 : ids.length;
    while (j > 0 && values[ids[j - 1]] < v) {
      if (j < k) ids[j] = ids[j - 1];
      j--;
    }
    if (j < k) ids[j] = i;
  }
  return ids;
}
