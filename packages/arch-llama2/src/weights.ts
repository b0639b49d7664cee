import {
  TinyLlamaError,
  shapeToString,
  type DType,
  type LazyTensor,
  type WeightSource,
} from '@tinyllama/core';
import type { LlamaConfig } from './config.js';

/** Stored dtypes accepted for Llama weights (upcast to float32 at write time). */
const FLOAT_DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16'];

/**
 * A checkpoint tensor the graph uses: its full key and shape, read lazily as float32 in the stored
 * (Hugging Face) layout. Plain data, so emitters (fp32, quantized, per-layer chunks) can share it.
 */
export interface WeightRef {
  /** Full checkpoint key, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  readonly key: string;
  /** Stored shape; linear weights are `[out, in]`. */
  readonly shape: readonly number[];
  /** Reads the tensor and decodes it to float32 (called at write time). */
  read(): Promise<Float32Array>;
}

/** The weights of one decoder layer. */
export interface LlamaLayerWeights {
  readonly inputNorm: WeightRef;
  readonly qProj: WeightRef;
  readonly kProj: WeightRef;
  readonly vProj: WeightRef;
  readonly oProj: WeightRef;
  readonly postAttentionNorm: WeightRef;
  readonly gateProj: WeightRef;
  readonly upProj: WeightRef;
  readonly downProj: WeightRef;
}

/** Every weight of a Llama model, validated. */
export interface LlamaWeights {
  /** `[V, E]`. */
  readonly embedTokens: WeightRef;
  readonly layers: readonly LlamaLayerWeights[];
  /** `[E]`. */
  readonly norm: WeightRef;
  /** `[V, E]`; the embedding itself when tied. */
  readonly lmHead: WeightRef;
}

interface Expected {
  readonly scope: WeightSource;
  readonly name: string;
  readonly shape: readonly number[];
}

function fullKey(scope: WeightSource, name: string): string {
  return scope.prefix ? `${scope.prefix}.${name}` : name;
}

/** The tensors a config needs, with their scoped sources and shapes (Hugging Face key names). */
function expectedTensors(weights: WeightSource, c: LlamaConfig) {
  const E = c.hiddenSize;
  const F = c.intermediateSize;
  const qOut = c.numAttentionHeads * c.headDim;
  const kvOut = c.numKeyValueHeads * c.headDim;
  const model = weights.scope('model');
  const t = (scope: WeightSource, name: string, shape: readonly number[]): Expected => ({ scope, name, shape });
  const embed = t(model, 'embed_tokens.weight', [c.vocabSize, E]);
  const layers = Array.from({ length: c.numLayers }, (_, i) => {
    const l = model.scope(`layers.${i}`);
    const attn = l.scope('self_attn');
    const mlp = l.scope('mlp');
    return {
      inputNorm: t(l, 'input_layernorm.weight', [E]),
      qProj: t(attn, 'q_proj.weight', [qOut, E]),
      kProj: t(attn, 'k_proj.weight', [kvOut, E]),
      vProj: t(attn, 'v_proj.weight', [kvOut, E]),
      oProj: t(attn, 'o_proj.weight', [E, qOut]),
      postAttentionNorm: t(l, 'post_attention_layernorm.weight', [E]),
      gateProj: t(mlp, 'gate_proj.weight', [F, E]),
      upProj: t(mlp, 'up_proj.weight', [F, E]),
      downProj: t(mlp, 'down_proj.weight', [E, F]),
    } satisfies Record<keyof LlamaLayerWeights, Expected>;
  });
  const norm = t(model, 'norm.weight', [E]);
  const lmHead = c.tieWordEmbeddings ? embed : t(weights, 'lm_head.weight', [c.vocabSize, E]);
  return { embed, layers, norm, lmHead };
}

function listProblems(kind: string, items: string[]): string {
  const shown = items.slice(0, 6).join('; ');
  return items.length > 6 ? `${kind}: ${shown}; and ${items.length - 6} more` : `${kind}: ${shown}`;
}

/**
 * Checks, from metadata only, that the checkpoint holds every tensor the config needs with the right
 * shape and a floating dtype. Extra tensors (e.g. `rotary_emb.inv_freq`, or `lm_head.weight` when tied)
 * are ignored. Throws `E_NOT_FOUND` listing missing keys, else `E_SHAPE` / `E_DTYPE` naming each tensor.
 */
export function validateLlamaWeights(weights: WeightSource, config: LlamaConfig): void {
  const ex = expectedTensors(weights, config);
  const all: Expected[] = [ex.embed, ...ex.layers.flatMap((l) => Object.values(l)), ex.norm];
  if (!config.tieWordEmbeddings) all.push(ex.lmHead);
  const missing: string[] = [];
  const badShape: string[] = [];
  const badDtype: string[] = [];
  for (const e of all) {
    const key = fullKey(e.scope, e.name);
    if (!e.scope.has(e.name)) {
      missing.push(key);
      continue;
    }
    const info = e.scope.info(e.name);
    const ok = info.shape.length === e.shape.length && info.shape.every((d, i) => d === e.shape[i]);
    if (!ok) badShape.push(`'${key}' has shape ${shapeToString(info.shape)}, expected ${shapeToString(e.shape)}`);
    if (!FLOAT_DTYPES.includes(info.dtype)) badDtype.push(`'${key}' has dtype ${info.dtype}, expected one of ${FLOAT_DTYPES.join(', ')}`);
  }
  if (missing.length > 0) {
    const hint = config.tieWordEmbeddings ? '' : ' (tie_word_embeddings is false, so lm_head.weight is required)';
    throw new TinyLlamaError('E_NOT_FOUND', `${listProblems('checkpoint is missing tensors', missing)}${missing.includes('lm_head.weight') ? hint : ''}`);
  }
  if (badShape.length > 0) throw new TinyLlamaError('E_SHAPE', listProblems('checkpoint tensors have wrong shapes', badShape));
  if (badDtype.length > 0) throw new TinyLlamaError('E_DTYPE', listProblems('checkpoint tensors have unsupported dtypes', badDtype));
}

function ref(e: Expected): WeightRef {
  return {
    key: fullKey(e.scope, e.name),
    shape: e.shape,
    read: async () => (await e.scope.getFloat32(e.name, { shape: e.shape, dtypes: FLOAT_DTYPES })).data,
  };
}

/** Validates the checkpoint ({@link validateLlamaWeights}) and returns lazy references to every weight. */
export function llamaWeights(weights: WeightSource, config: LlamaConfig): LlamaWeights {
  validateLlamaWeights(weights, config);
  const ex = expectedTensors(weights, config);
  const embedTokens = ref(ex.embed);
  return {
    embedTokens,
    layers: ex.layers.map((l) => ({
      inputNorm: ref(l.inputNorm),
      qProj: ref(l.qProj),
      kProj: ref(l.kProj),
      vProj: ref(l.vProj),
      oProj: ref(l.oProj),
      postAttentionNorm: ref(l.postAttentionNorm),
      gateProj: ref(l.gateProj),
      upProj: ref(l.upProj),
      downProj: ref(l.downProj),
    })),
    norm: ref(ex.norm),
    lmHead: config.tieWordEmbeddings ? embedTokens : ref(ex.lmHead),
  };
}

function bytesOf(data: Float32Array): Uint8Array {
  return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
}

/** A float32 {@link LazyTensor} of a weight in its stored layout (upcast from f16/bf16 at write time). */
export function lazyFloat32(w: WeightRef): LazyTensor {
  return { dtype: 'float32', dims: w.shape, load: async () => bytesOf(await w.read()) };
}

/** A float32 {@link LazyTensor} of a 2-D weight `[rows, cols]` transposed to `[cols, rows]` at write time. */
export function lazyTransposedFloat32(w: WeightRef): LazyTensor {
  if (w.shape.length !== 2) {
    throw new TinyLlamaError('E_SHAPE', `cannot transpose '${w.key}' of shape ${shapeToString(w.shape)}: not 2-D`);
  }
  const [rows, cols] = w.shape;
  return { dtype: 'float32', dims: [cols, rows], load: async () => bytesOf(transpose(await w.read(), rows, cols)) };
}

/** Transposes a row-major `[rows, cols]` matrix (cache-blocked). */
export function transpose(src: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  const B = 64;
  for (let r0 = 0; r0 < rows; r0 += B) {
    const r1 = Math.min(rows, r0 + B);
    for (let c0 = 0; c0 < cols; c0 += B) {
      const c1 = Math.min(cols, c0 + B);
      for (let r = r0; r < r1; r++) {
        const base = r * cols;
        for (let c = c0; c < c1; c++) out[c * rows + r] = src[base + c];
      }
    }
  }
  return out;
}
