import { TinyLlamaError, attr, type GraphOps } from '@tinyllama/core';

/** RoPE tables, each float32 `[maxPositions, headDim / 2]` (row p holds cos/sin of p * inv_freq). */
export interface RopeCaches {
  readonly cos: Float32Array;
  readonly sin: Float32Array;
  readonly maxPositions: number;
  readonly halfDim: number;
}

/**
 * Computes the Hugging Face default RoPE tables with the same float32 rounding steps as
 * `transformers`: `inv_freq = 1 / theta ** (arange(0, D, 2).float() / D)` in float32, then
 * `freqs = float32(p * inv_freq)`; cos/sin are evaluated in float64 and rounded to float32.
 */
export function ropeCaches(headDim: number, maxPositions: number, theta: number): RopeCaches {
  if (headDim % 2 !== 0) throw new TinyLlamaError('E_CONFIG', `head_dim (${headDim}) must be even for rotary embeddings`);
  const f = Math.fround;
  const halfDim = headDim / 2;
  const invFreq = new Float32Array(halfDim);
  for (let i = 0; i < halfDim; i++) {
    const exponent = f(f(2 * i) / headDim); // float32 arange / D
    invFreq[i] = f(1 / f(Math.pow(theta, exponent))); // float32 pow, then float32 reciprocal
  }
  const cos = new Float32Array(maxPositions * halfDim);
  const sin = new Float32Array(maxPositions * halfDim);
  for (let p = 0; p < maxPositions; p++) {
    for (let i = 0; i < halfDim; i++) {
      const angle = f(p * invFreq[i]); // float32 product, as torch's float32 outer product
      cos[p * halfDim + i] = Math.cos(angle);
      sin[p * halfDim + i] = Math.sin(angle);
    }
  }
  return { cos, sin, maxPositions, halfDim };
}

/**
 * Emits the Hugging Face `rotate_half` rotary embedding of `x` `[..., D]`:
 * `x * cos + rotate_half(x) * sin`, written on the two halves as
 * `[x1 * cos - x2 * sin, x2 * cos + x1 * sin]` (bitwise the same in IEEE arithmetic).
 * `cos`/`sin` must broadcast against `[..., D/2]`.
 */
export function emitRotary(g: GraphOps, x: string, cos: string, sin: string, halfDim: number): string {
  const [x1, x2] = g.node('Split', [x, g.int64([halfDim, halfDim])], { outputs: 2, attrs: { axis: attr.int(-1) } }); // [..., D/2] x2
  const r1 = g.op('Sub', [g.op('Mul', [x1, cos]), g.op('Mul', [x2, sin])]); // [..., D/2]
  const r2 = g.op('Add', [g.op('Mul', [x2, cos]), g.op('Mul', [x1, sin])]); // [..., D/2]
  return g.op('Concat', [r1, r2], { axis: attr.int(-1) }); // [..., D]
}

/** Gathers the cos/sin rows of `positionIds` int64 `[B, S]`: returns two float32 `[B, S, D/2]` values. */
export function emitRopeGather(g: GraphOps, cosCache: string, sinCache: string, positionIds: string): { cos: string; sin: string } {
  return {
    cos: g.op('Gather', [cosCache, positionIds], { axis: attr.int(0) }), // [B, S, D/2]
    sin: g.op('Gather', [sinCache, positionIds], { axis: attr.int(0) }), // [B, S, D/2]
  };
}
