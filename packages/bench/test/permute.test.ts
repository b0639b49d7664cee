import { describe, expect, it } from 'vitest';
import { permuteRotaryRows } from '../src/gguf.js';

/** The inverse permutation, written directly: old row `j * half + i` is new row `2i + j`. */
function unpermute(w: Float32Array, nHeads: number, cols: number): Float32Array {
  const headDim = w.length / cols / nHeads;
  const half = headDim / 2;
  const out = new Float32Array(w.length);
  for (let h = 0; h < nHeads; h++) {
    for (let r = 0; r < headDim; r++) {
      const i = r % half;
      const j = Math.floor(r / half);
      for (let c = 0; c < cols; c++) out[(h * headDim + r) * cols + c] = w[(h * headDim + 2 * i + j) * cols + c];
    }
  }
  return out;
}

function random(n: number, seed: number): Float32Array {
  let s = seed;
  return Float32Array.from({ length: n }, () => {
    s = (s * 16807) % 2147483647;
    return s / 2147483647 - 0.5;
  });
}

describe('q/k rotary row permutation', () => {
  it('interleaves the two halves of each head', () => {
    // 2 heads of 4 rows, 1 column: rows [0 1 2 3 | 4 5 6 7] → [0 2 1 3 | 4 6 5 7]
    const w = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(Array.from(permuteRotaryRows(w, 2, 1))).toEqual([0, 2, 1, 3, 4, 6, 5, 7]);
  });

  it('is inverted by the direct inverse', () => {
    for (const [heads, headDim, cols] of [[4, 16, 8], [2, 8, 5], [32, 64, 3]] as const) {
      const w = random(heads * headDim * cols, heads + headDim);
      expect(unpermute(permuteRotaryRows(w, heads, cols), heads, cols)).toEqual(w);
      expect(permuteRotaryRows(unpermute(w, heads, cols), heads, cols)).toEqual(w);
    }
  });

  it("turns Hugging Face's rotate_half RoPE into ggml's adjacent-pair RoPE", () => {
    const heads = 3;
    const headDim = 8;
    const cols = 6;
    const half = headDim / 2;
    const w = random(heads * headDim * cols, 11);
    const x = random(cols, 5);
    const wp = permuteRotaryRows(w, heads, cols);
    const matvec = (m: Float32Array): number[] =>
      Array.from({ length: heads * headDim }, (_, r) => x.reduce((acc, xv, c) => acc + m[r * cols + c] * xv, 0));
    const q = matvec(w);
    const qp = matvec(wp);
    const pos = 7;
    for (let h = 0; h < heads; h++) {
      const b = h * headDim;
      for (let i = 0; i < half; i++) {
        const theta = pos * 10000 ** ((-2 * i) / headDim);
        const [c, s] = [Math.cos(theta), Math.sin(theta)];
        // Hugging Face: element i pairs with i + half
        const hf0 = q[b + i] * c - q[b + i + half] * s;
        const hf1 = q[b + i + half] * c + q[b + i] * s;
        // ggml LLAMA_ROPE_TYPE_NORM: element 2i pairs with 2i + 1
        const gg0 = qp[b + 2 * i] * c - qp[b + 2 * i + 1] * s;
        const gg1 = qp[b + 2 * i] * s + qp[b + 2 * i + 1] * c;
        expect(gg0).toBeCloseTo(hf0, 12);
        expect(gg1).toBeCloseTo(hf1, 12);
      }
    }
  });

  it('rejects an odd head size', () => {
    expect(() => permuteRotaryRows(new Float32Array(6), 2, 1)).toThrow(/even head size/);
  });
});
