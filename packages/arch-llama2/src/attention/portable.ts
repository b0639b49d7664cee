import { attr, type AttentionCommon, type AttentionLayerBuilder, type AttentionStrategy, type GraphOps } from '@tinyllama/core';
import { emitRopeGather, emitRotary } from '../rope.js';

/** Most negative float32: masked scores stay finite so fully padded rows never produce NaN. */
const MASK_VALUE = -3.4028234663852886e38;

/**
 * Causal + padding mask as an additive bias `[B, 1, 1, S, T]` (0 where allowed, float32 min elsewhere).
 * Query i sits at absolute index `T - S + i` of the T cached/new tokens; it may read key j when
 * `j <= T - S + i` and `attention_mask[b, j] == 1`.
 */
function emitMaskBias(g: GraphOps, attentionMask: string, positionIds: string): string {
  const T = g.op('Squeeze', [g.op('Shape', [attentionMask], { start: attr.int(1), end: attr.int(2) }), g.int64([0])]); // scalar
  const S = g.op('Squeeze', [g.op('Shape', [positionIds], { start: attr.int(1), end: attr.int(2) }), g.int64([0])]); // scalar
  const one = g.int64([1], true);
  const keyIdx = g.op('Range', [g.int64([0], true), T, one]); // [T]
  const queryIdx = g.op('Range', [g.op('Sub', [T, S]), T, one]); // [S]
  const causal = g.op('LessOrEqual', [
    g.op('Unsqueeze', [keyIdx, g.int64([0])]), // [1, T]
    g.op('Unsqueeze', [queryIdx, g.int64([1])]), // [S, 1]
  ]); // [S, T] bool
  const notPad = g.op('Unsqueeze', [g.op('Cast', [attentionMask], { to: attr.int(9) }), g.int64([1])]); // [B, 1, T] bool
  const allowed = g.op('And', [causal, notPad]); // [B, S, T]
  const bias = g.op('Where', [allowed, g.float32([0], true), g.float32([MASK_VALUE], true)]); // [B, S, T]
  return g.op('Unsqueeze', [bias, g.int64([1, 2])]); // [B, 1, 1, S, T]
}

/**
 * Attention with standard ONNX ops only (runs on every backend): RoPE by gathering the cos/sin cache
 * at `position_ids` and `rotate_half`; the KV cache is `Concat(past, new)` on the sequence axis and
 * keeps Hkv un-repeated heads. Grouped heads are not repeated either: Q is viewed as
 * `[B, Hkv, groups, S, D]` and K/V as `[B, Hkv, 1, T, D]`, so MatMul broadcasts over the groups.
 * Masking follows Hugging Face: causal by cache index, plus padding from `attention_mask`.
 */
export const portableAttention: AttentionStrategy = {
  name: 'portable',
  description: 'standard ONNX ops: RoPE via Gather + rotate_half, Concat KV cache, grouped MatMul, Softmax',
  requiredDomains: [],
  begin(g: GraphOps, c: AttentionCommon): AttentionLayerBuilder {
    const { numHeads: H, numKvHeads: Hkv, headDim: D } = c;
    const groups = H / Hkv;
    const half = D / 2;
    const rope = emitRopeGather(g, c.cosCache, c.sinCache, c.positionIds); // [B, S, D/2]
    const cosQ = g.op('Unsqueeze', [rope.cos, g.int64([1, 2])]); // [B, 1, 1, S, D/2]
    const sinQ = g.op('Unsqueeze', [rope.sin, g.int64([1, 2])]); // [B, 1, 1, S, D/2]
    const cosK = g.op('Unsqueeze', [rope.cos, g.int64([1])]); // [B, 1, S, D/2]
    const sinK = g.op('Unsqueeze', [rope.sin, g.int64([1])]); // [B, 1, S, D/2]
    const bias = emitMaskBias(g, c.attentionMask, c.positionIds); // [B, 1, 1, S, T]
    const scale = g.float32([c.scale], true);
    const qShape = g.int64([0, 0, Hkv, groups, D]);
    const kvShape = g.int64([0, 0, Hkv, D]);
    const outShape = g.int64([0, 0, H * D]);

    return (a) => {
      const q = g.op('Transpose', [g.op('Reshape', [a.query, qShape])], { perm: attr.ints([0, 2, 3, 1, 4]) }); // [B, Hkv, G, S, D]
      const qRot = emitRotary(g, q, cosQ, sinQ, half); // [B, Hkv, G, S, D]
      const k = g.op('Transpose', [g.op('Reshape', [a.key, kvShape])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, Hkv, S, D]
      const kRot = emitRotary(g, k, cosK, sinK, half); // [B, Hkv, S, D]
      const v = g.op('Transpose', [g.op('Reshape', [a.value, kvShape])], { perm: attr.ints([0, 2, 1, 3]) }); // [B, Hkv, S, D]

      g.node('Concat', [a.pastKey, kRot], { outputs: [a.presentKey], attrs: { axis: attr.int(2) } }); // [B, Hkv, T, D]
      g.node('Concat', [a.pastValue, v], { outputs: [a.presentValue], attrs: { axis: attr.int(2) } }); // [B, Hkv, T, D]

      const kT = g.op('Unsqueeze', [g.op('Transpose', [a.presentKey], { perm: attr.ints([0, 1, 3, 2]) }), g.int64([2])]); // [B, Hkv, 1, D, T]
      const scores = g.op('Mul', [g.op('MatMul', [qRot, kT]), scale]); // [B, Hkv, G, S, T]
      const probs = g.op('Softmax', [g.op('Add', [scores, bias])], { axis: attr.int(-1) }); // [B, Hkv, G, S, T]
      const vB = g.op('Unsqueeze', [a.presentValue, g.int64([2])]); // [B, Hkv, 1, T, D]
      const ctx = g.op('MatMul', [probs, vB]); // [B, Hkv, G, S, D]
      const ctxT = g.op('Transpose', [ctx], { perm: attr.ints([0, 3, 1, 2, 4]) }); // [B, S, Hkv, G, D]
      return g.op('Reshape', [ctxT, outShape]); // [B, S, H*D]
    };
  },
};
