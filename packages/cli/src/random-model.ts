import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Rng, TinyLlamaError, f32ToF16, type DType, type ProgressCallback } from '@tinyllama/core';
import { writeSafetensors } from '@tinyllama/loader-pytorch';
import { writeSyntheticTokenizerModel } from './synthetic-tokenizer.js';

/** Shape of a random Llama checkpoint. */
export interface RandomLlamaShape {
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly vocabSize: number;
  readonly maxPositions: number;
  readonly tied: boolean;
}

/** Presets: `tiny` (tests), `demo` (the README's main job), `tinyllama-1.1b` (TinyLlama_v1.1's exact shape). */
export const RANDOM_PRESETS: Readonly<Record<string, RandomLlamaShape>> = {
  tiny: { hiddenSize: 64, intermediateSize: 172, numLayers: 2, numHeads: 4, numKvHeads: 2, vocabSize: 384, maxPositions: 256, tied: true },
  demo: { hiddenSize: 256, intermediateSize: 688, numLayers: 4, numHeads: 8, numKvHeads: 4, vocabSize: 2048, maxPositions: 2048, tied: false },
  'tinyllama-1.1b': {
    hiddenSize: 2048,
    intermediateSize: 5632,
    numLayers: 22,
    numHeads: 32,
    numKvHeads: 4,
    vocabSize: 32000,
    maxPositions: 2048,
    tied: false,
  },
};

/** Options of {@link writeRandomCheckpoint}. */
export interface RandomCheckpointOptions {
  readonly outDir: string;
  readonly shape: RandomLlamaShape;
  /** Stored dtype (default float32). */
  readonly dtype?: Extract<DType, 'float32' | 'float16' | 'bfloat16'>;
  readonly seed?: number;
  /** Bytes of a `tokenizer.model` to use; default: a synthetic one of the preset's vocabulary size. */
  readonly tokenizer?: Uint8Array;
  readonly onProgress?: ProgressCallback;
}

/** The Hugging Face `config.json` of a random Llama checkpoint. */
export function randomLlamaConfig(s: RandomLlamaShape, dtype: string): Record<string, unknown> {
  return {
    _comment: 'RANDOM WEIGHTS written by `tinyllama random`: for tests and benchmarks only; the output is gibberish.',
    architectures: ['LlamaForCausalLM'],
    model_type: 'llama',
    hidden_size: s.hiddenSize,
    intermediate_size: s.intermediateSize,
    num_hidden_layers: s.numLayers,
    num_attention_heads: s.numHeads,
    num_key_value_heads: s.numKvHeads,
    vocab_size: s.vocabSize,
    max_position_embeddings: s.maxPositions,
    rms_norm_eps: 1e-5,
    rope_theta: 10000,
    rope_scaling: null,
    hidden_act: 'silu',
    tie_word_embeddings: s.tied,
    bos_token_id: 1,
    eos_token_id: 2,
    torch_dtype: dtype,
  };
}

/** Tensor names and shapes of a Llama checkpoint with this shape (Hugging Face key names). */
export function llamaTensorShapes(s: RandomLlamaShape): { name: string; shape: number[]; norm: boolean }[] {
  const E = s.hiddenSize;
  const D = E / s.numHeads;
  const kv = s.numKvHeads * D;
  const out: { name: string; shape: number[]; norm: boolean }[] = [{ name: 'model.embed_tokens.weight', shape: [s.vocabSize, E], norm: false }];
  for (let i = 0; i < s.numLayers; i++) {
    const p = `model.layers.${i}`;
    out.push(
      { name: `${p}.input_layernorm.weight`, shape: [E], norm: true },
      { name: `${p}.self_attn.q_proj.weight`, shape: [E, E], norm: false },
      { name: `${p}.self_attn.k_proj.weight`, shape: [kv, E], norm: false },
      { name: `${p}.self_attn.v_proj.weight`, shape: [kv, E], norm: false },
      { name: `${p}.self_attn.o_proj.weight`, shape: [E, E], norm: false },
      { name: `${p}.post_attention_layernorm.weight`, shape: [E], norm: true },
      { name: `${p}.mlp.gate_proj.weight`, shape: [s.intermediateSize, E], norm: false },
      { name: `${p}.mlp.up_proj.weight`, shape: [s.intermediateSize, E], norm: false },
      { name: `${p}.mlp.down_proj.weight`, shape: [E, s.intermediateSize], norm: false },
    );
  }
  out.push({ name: 'model.norm.weight', shape: [E], norm: true });
  if (!s.tied) out.push({ name: 'lm_head.weight', shape: [s.vocabSize, E], norm: false });
  return out;
}

/** Deterministic random values: weights uniform with std 0.02·sqrt(2048/E)-ish scale; norms near 1. */
function randomBytes(rng: Rng, n: number, norm: boolean, fanIn: number, dtype: string): Uint8Array {
  const half = norm ? 0.1 : Math.sqrt(3) / Math.sqrt(fanIn); // uniform(-a, a): std a/sqrt(3) = 1/sqrt(fanIn)
  const center = norm ? 1 : 0;
  if (dtype === 'float32') {
    const f = new Float32Array(n);
    for (let i = 0; i < n; i++) f[i] = center + (2 * rng.next() - 1) * half;
    return new Uint8Array(f.buffer);
  }
  const u = new Uint16Array(n);
  const f = new Float32Array(1);
  const bits = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    const v = center + (2 * rng.next() - 1) * half;
    if (dtype === 'float16') u[i] = f32ToF16(v);
    else {
      f[0] = v;
      u[i] = (bits[0] + 0x7fff + ((bits[0] >>> 16) & 1)) >>> 16; // round to nearest even
    }
  }
  return new Uint8Array(u.buffer);
}

/**
 * Writes a Llama checkpoint with random weights in the Hugging Face layout (config.json,
 * model.safetensors, tokenizer.model), atomically (temp dir then rename). Deterministic for a seed.
 */
export async function writeRandomCheckpoint(o: RandomCheckpointOptions): Promise<void> {
  const s = o.shape;
  if (s.hiddenSize % s.numHeads !== 0 || s.numHeads % s.numKvHeads !== 0) {
    throw new TinyLlamaError('E_CONFIG', 'random checkpoint: hidden size must divide by heads and heads by KV heads');
  }
  const dtype = o.dtype ?? 'float32';
  const seed = o.seed ?? 0;
  const tmp = `${o.outDir}.partial-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    const tensors = llamaTensorShapes(s);
    await writeFile(join(tmp, 'config.json'), `${JSON.stringify(randomLlamaConfig(s, dtype), null, 2)}\n`);
    await writeFile(join(tmp, 'tokenizer.model'), o.tokenizer ?? writeSyntheticTokenizerModel(s.vocabSize));
    await writeFile(
      join(tmp, 'README.txt'),
      'This checkpoint has RANDOM weights (written by `tinyllama random`). It exists for tests and benchmarks:\n' +
        'its text is gibberish. For real output download TinyLlama/TinyLlama_v1.1 from Hugging Face.\n',
    );
    await writeSafetensors(
      join(tmp, 'model.safetensors'),
      tensors.map((t, i) => ({
        name: t.name,
        dtype,
        shape: t.shape,
        // Each tensor has its own seed so values do not depend on the write order.
        read: async () => randomBytes(new Rng(seed * 1000003 + i), t.shape.reduce((a, b) => a * b, 1), t.norm, t.shape[t.shape.length - 1], dtype),
      })),
      { metadata: { format: 'pt', note: 'random weights' }, onProgress: o.onProgress },
    );
    await rm(o.outDir, { recursive: true, force: true });
    await rename(tmp, o.outDir);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}
