import { DTYPE_BYTES, TableWeightSource, TinyLlamaError, numel, type DType, type TensorInfo } from '@tinyllama/core';
import type { LlamaConfig } from '../src/index.js';

/** Hugging Face tensor names and shapes of a Llama checkpoint, written out independently of the plugin. */
export function hfTensorShapes(c: LlamaConfig): Map<string, number[]> {
  const E = c.hiddenSize;
  const m = new Map<string, number[]>();
  m.set('model.embed_tokens.weight', [c.vocabSize, E]);
  for (let i = 0; i < c.numLayers; i++) {
    const p = `model.layers.${i}`;
    m.set(`${p}.input_layernorm.weight`, [E]);
    m.set(`${p}.self_attn.q_proj.weight`, [c.numAttentionHeads * c.headDim, E]);
    m.set(`${p}.self_attn.k_proj.weight`, [c.numKeyValueHeads * c.headDim, E]);
    m.set(`${p}.self_attn.v_proj.weight`, [c.numKeyValueHeads * c.headDim, E]);
    m.set(`${p}.self_attn.o_proj.weight`, [E, c.numAttentionHeads * c.headDim]);
    m.set(`${p}.self_attn.rotary_emb.inv_freq`, [c.headDim / 2]);
    m.set(`${p}.post_attention_layernorm.weight`, [E]);
    m.set(`${p}.mlp.gate_proj.weight`, [c.intermediateSize, E]);
    m.set(`${p}.mlp.up_proj.weight`, [c.intermediateSize, E]);
    m.set(`${p}.mlp.down_proj.weight`, [E, c.intermediateSize]);
  }
  m.set('model.norm.weight', [E]);
  if (!c.tieWordEmbeddings) m.set('lm_head.weight', [c.vocabSize, E]);
  return m;
}

/** A synthetic checkpoint: metadata for `shapes`, and (when `readable`) deterministic pseudo-random data. */
export function syntheticSource(
  shapes: ReadonlyMap<string, readonly number[]>,
  options: { dtype?: DType; readable?: boolean; dtypes?: Record<string, DType> } = {},
): { source: TableWeightSource; reads: string[] } {
  const infos = new Map<string, TensorInfo>();
  for (const [name, shape] of shapes) {
    const dtype = options.dtypes?.[name] ?? options.dtype ?? 'float32';
    infos.set(name, { name, dtype, shape, byteLength: numel(shape) * DTYPE_BYTES[dtype] });
  }
  const reads: string[] = [];
  const source = new TableWeightSource({
    infos,
    async read(name) {
      reads.push(name);
      if (!options.readable) throw new TinyLlamaError('E_IO', `synthetic tensor '${name}' has no data`);
      const info = infos.get(name) as TensorInfo;
      const n = numel(info.shape);
      const f = new Float32Array(n);
      let s = hash(name);
      const norm = name.endsWith('norm.weight');
      for (let i = 0; i < n; i++) {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        const r = s / 2 ** 32 - 0.5; // [-0.5, 0.5)
        f[i] = norm ? 1 + 0.2 * r : 0.2 * r;
      }
      if (info.dtype === 'float32') return new Uint8Array(f.buffer);
      if (info.dtype === 'bfloat16') {
        const u = new Uint32Array(f.buffer);
        return new Uint8Array(Uint16Array.from(u, (v) => v >>> 16).buffer);
      }
      throw new TinyLlamaError('E_DTYPE', `synthetic source cannot produce ${info.dtype}`);
    },
  });
  return { source, reads };
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
