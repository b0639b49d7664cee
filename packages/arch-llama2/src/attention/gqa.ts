import { attr, TinyLlamaError, type AttentionCommon, type AttentionLayerBuilder, type AttentionStrategy, type GraphOps } from '@tinyllama/core';
import { emitRopeGather, emitRotary } from '../rope.js';

const MS_DOMAIN = 'com.microsoft';

/**
 * True when onnxruntime's GroupQueryAttention can apply rotary itself: its kernels require
 * head_size % 16 == 0 and a cos/sin cache width (D/2) that is a multiple of 8.
 */
export function gqaFusedRotarySupported(headDim: number): boolean {
  return headDim % 16 === 0;
}

/**
 * onnxruntime's fused `com.microsoft.GroupQueryAttention` (contrib op, CPU/CUDA/WebGPU).
 *
 * Inputs per layer: Q `[B, S, H*D]`, K/V `[B, S, Hkv*D]` (before RoPE), past K/V `[B, Hkv, P, D]`
 * (P may be 0 for the prompt), `seqlens_k` int32 `[B]` = sum(attention_mask) - 1 and
 * `total_sequence_length` int32 scalar = T, both computed once in `begin()`. Present K/V come out as
 * `[B, Hkv, T, D]` with un-repeated KV heads.
 *
 * RoPE: with `do_rotary=1, rotary_interleaved=0` (Hugging Face `rotate_half`) and the cos/sin caches,
 * the kernel derives positions from `seqlens_k` (0..S-1 for the first prompt, T-S..T-1 afterwards),
 * not from `position_ids`; this matches `position_ids` for unpadded or right-padded batches, which is
 * the layout GQA assumes. When the head size does not meet the kernel's rotary constraints
 * ({@link gqaFusedRotarySupported}), RoPE is applied in the graph from `position_ids` instead.
 *
 * Kernel constraints (onnxruntime 1.30): head size a multiple of 8; a multi-token step with a
 * non-empty past (chunked prefill) needs batch size 1; padding must be on the right.
 */
export const gqaAttention: AttentionStrategy = {
  name: 'gqa',
  description: 'onnxruntime com.microsoft.GroupQueryAttention (fused RoPE, un-repeated KV cache)',
  requiredDomains: [MS_DOMAIN],
  sharedKvCache: true,
  supportsPackedQkv: (c) => gqaFusedRotarySupported(c.headDim),
  begin(g: GraphOps, c: AttentionCommon): AttentionLayerBuilder {
    g.useOpset(MS_DOMAIN, 1);
    const { numHeads: H, numKvHeads: Hkv, headDim: D } = c;
    const fusedRotary = gqaFusedRotarySupported(D);
    const int32 = attr.int(6);

    const total = g.op('ReduceSum', [c.attentionMask, g.int64([1])], { keepdims: attr.int(0) }); // [B] int64
    const seqlensK = g.op('Cast', [g.op('Sub', [total, g.int64([1], true)])], { to: int32 }); // [B] int32
    const T = g.op('Shape', [c.attentionMask], { start: attr.int(1), end: attr.int(2) }); // [1] int64
    const totalSeqLen = g.op('Cast', [g.op('Squeeze', [T, g.int64([0])])], { to: int32 }); // scalar int32

    let rotate: ((x: string, heads: number) => string) | undefined;
    if (!fusedRotary) {
      const rope = emitRopeGather(g, c.cosCache, c.sinCache, c.positionIds); // [B, S, D/2]
      const cos = g.op('Unsqueeze', [rope.cos, g.int64([2])]); // [B, S, 1, D/2]
      const sin = g.op('Unsqueeze', [rope.sin, g.int64([2])]); // [B, S, 1, D/2]
      rotate = (x, heads) => {
        const x4 = g.op('Reshape', [x, g.int64([0, 0, heads, D])]); // [B, S, heads, D]
        return g.op('Reshape', [emitRotary(g, x4, cos, sin, D / 2), g.int64([0, 0, heads * D])]); // [B, S, heads*D]
      };
    }

    return (a) => {
      if (a.packedQkv && rotate) throw new TinyLlamaError('E_UNSUPPORTED', 'gqa: packed QKV needs the fused rotary path (head size a multiple of 16)');
      const q = rotate ? rotate(a.query, H) : a.query; // [B, S, H*D], or packed [B, S, (H+2Hkv)*D]
      const k = rotate ? rotate(a.key, Hkv) : a.key; // [B, S, Hkv*D]
      const [out] = g.node(
        'GroupQueryAttention',
        [q, k, a.value, a.pastKey, a.pastValue, seqlensK, totalSeqLen, fusedRotary ? c.cosCache : '', fusedRotary ? c.sinCache : ''],
        {
          domain: MS_DOMAIN,
          name: `layers.${a.layer}.attn.gqa`,
          outputs: [g.fresh(`layers.${a.layer}.attn.out`), a.presentKey, a.presentValue],
          attrs: {
            num_heads: attr.int(H),
            kv_num_heads: attr.int(Hkv),
            scale: attr.float(c.scale),
            do_rotary: attr.int(fusedRotary ? 1 : 0),
            rotary_interleaved: attr.int(0),
          },
        },
      );
      // With packed QKV, onnxruntime's shape inference gets the output width wrong: restate it.
      return a.packedQkv ? g.op('Reshape', [out, g.int64([0, 0, H * D])]) : out; // [B, S, H*D]
    };
  },
};
