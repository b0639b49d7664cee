/**
 * The Llama-2 decoder as an ONNX graph (candle style: one file, one function per block).
 *
 * Shapes: B batch, S new tokens, P past tokens, T = P + S, E hidden, F intermediate, H query heads,
 * Hkv key/value heads, D head dim, V vocab. Compute is float32; weights are upcast from f16/bf16 and
 * linear weights transposed to `[in, out]` lazily, while the model is written.
 */
import {
  IO,
  TinyLlamaError,
  attr,
  type ArchitecturePlugin,
  type AttentionLayerBuilder,
  type AttentionStrategy,
  type BuildBundleOptions,
  type BuildModelOptions,
  type GraphOps,
  type ProgressCallback,
  type WeightFormat,
  type WeightSource,
} from '@tinyllama/core';
import { GraphBuilder, type OnnxModel } from '@tinyllama/onnx';
import { matchesLlamaConfig, normalizeLlamaConfig, type LlamaConfig } from './config.js';
import { weightEmitters, weightFormatDomains } from './weight-formats.js';
import { ropeCaches } from './rope.js';
import { buildLlamaBundle } from './bundle.js';
import { embedLookupOf } from './embed-lookup.js';
import {
  lazyFloat32,
  lazyTransposedFloat32,
  llamaWeights,
  validateLlamaWeights,
  type LlamaLayerWeights,
  type LlamaWeights,
  type WeightRef,
} from './weights.js';

/**
 * Version of the emitted graph; bump it whenever the graph for the same config and weights changes,
 * so cached models (keyed on it) are rebuilt.
 */
export const LLAMA2_GRAPH_VERSION = 6;

/** Symbolic dimension names of the graph inputs/outputs. */
export const DIMS = {
  batch: 'batch_size',
  sequence: 'sequence_length',
  past: 'past_sequence_length',
  total: 'total_sequence_length',
} as const;

/** Emits `y = x @ W^T` for a Hugging Face linear weight `W [out, in]`; returns `[..., out]`. */
export type LinearEmitter = (g: GraphOps, x: string, weight: WeightRef, name: string) => string;

/** Emits RMSNorm of `x` `[..., E]` with weight `[E]`; returns `[..., E]`. */
export type RmsNormEmitter = (g: GraphOps, x: string, weight: WeightRef, eps: number, name: string) => string;

/** float32 linear: `MatMul(x, W^T)` with `W^T` `[in, out]` (initializer `<key>.T`, transposed at write time). */
export const emitLinearMatMulFloat32: LinearEmitter = (g, x, weight, name) => {
  const wT = g.initializer(`${weight.key}.T`, lazyTransposedFloat32(weight)); // [in, out]
  return g.node('MatMul', [x, wT], { name })[0]; // [..., out]
};

/**
 * `y = x @ W^T` as `Gemm(transB=1)` on the weight in its stored `[out, in]` layout, with `x` flattened to
 * 2-D and reshaped back. On onnxruntime's CPU provider this streams each weight row contiguously and
 * measured 2.4x the bandwidth of `MatMul` with `[in, out]` weights for one token (19.6 vs 8.1 GB/s,
 * 2048x5632 float32, 2 threads).
 */
export function emitGemmTransB(g: GraphOps, x: string, w: string, outFeatures: number, name: string): string {
  const lead = g.op('Shape', [x], { end: attr.int(-1) }); // [rank-1] = e.g. [B, S]
  const in2d = g.op('Flatten', [x], { axis: attr.int(-1) }); // [B*S, in]
  const y2d = g.node('Gemm', [in2d, w], { name, attrs: { transB: attr.int(1) } })[0]; // [B*S, out]
  const shape = g.op('Concat', [lead, g.int64([outFeatures])], { axis: attr.int(0) }); // [rank]
  return g.op('Reshape', [y2d, shape]); // [..., out]
}

/** float32 linear (the default): {@link emitGemmTransB} on `W [out, in]` (initializer `<key>`). */
export const emitLinearFloat32: LinearEmitter = (g, x, weight, name) => {
  const w = g.initializer(weight.key, lazyFloat32(weight)); // [out, in]
  return emitGemmTransB(g, x, w, weight.shape[0], name); // [..., out]
};

/**
 * RMSNorm with standard ops, in the pattern onnxruntime fuses into SimplifiedLayerNormalization:
 * `w * (x / sqrt(mean(x^2) + eps))` (Hugging Face: `w * (x * rsqrt(mean(x^2) + eps))`).
 */
export const emitRmsNormDecomposed: RmsNormEmitter = (g, x, weight, eps, name) => {
  const w = g.initializer(weight.key, lazyFloat32(weight)); // [E]
  const sq = g.op('Pow', [x, g.float32([2], true)]); // [..., E]
  const mean = g.op('ReduceMean', [sq], { axes: attr.ints([-1]), keepdims: attr.int(1) }); // [..., 1]
  const rms = g.op('Sqrt', [g.op('Add', [mean, g.float32([eps], true)])]); // [..., 1]
  const normed = g.op('Div', [x, rms]); // [..., E]
  return g.node('Mul', [normed, w], { name })[0]; // [..., E]
};

/**
 * RMSNorm as onnxruntime's `SimplifiedLayerNormalization`. onnxruntime registers it in the default
 * domain (not `com.microsoft`); it is not a standard ONNX op (the ONNX checker rejects it), hence only
 * behind {@link LlamaBuildOptions.rmsNorm}.
 */
export const emitRmsNormFused: RmsNormEmitter = (g, x, weight, eps, name) => {
  const w = g.initializer(weight.key, lazyFloat32(weight)); // [E]
  return g.node('SimplifiedLayerNormalization', [x, w], {
    name,
    attrs: { axis: attr.int(-1), epsilon: attr.float(eps), stash_type: attr.int(1) },
  })[0]; // [..., E]
};

/** Arguments of {@link emitDecoderLayer}: plain values, so a per-layer-chunk builder can reuse it. */
export interface DecoderLayerArgs {
  readonly layer: number;
  /** float32 `[B, S, E]`. */
  readonly hidden: string;
  readonly weights: LlamaLayerWeights;
  readonly config: LlamaConfig;
  readonly attention: AttentionLayerBuilder;
  readonly linear: LinearEmitter;
  readonly rmsNorm: RmsNormEmitter;
  /** float32 `[B, Hkv, P, D]` values (graph inputs) and the names of the `[B, Hkv, T, D]` outputs. */
  readonly pastKey: string;
  readonly pastValue: string;
  readonly presentKey: string;
  readonly presentValue: string;
  /** Project Q, K and V with one packed linear (the attention must accept packed QKV). */
  readonly packQkv?: boolean;
}

/** Q, K and V weights stacked along the output rows: `[H*D + 2*Hkv*D, E]` (read lazily). */
export function packedQkvWeight(w: LlamaLayerWeights, key: string): WeightRef {
  const parts = [w.qProj, w.kProj, w.vProj];
  const rows = parts.reduce((s, p) => s + p.shape[0], 0);
  const cols = w.qProj.shape[1];
  return {
    key,
    shape: [rows, cols],
    read: async () => {
      const out = new Float32Array(rows * cols); // [H*D + 2*Hkv*D, E]
      let offset = 0;
      for (const p of parts) {
        const data = await p.read();
        out.set(data, offset);
        offset += data.length;
      }
      return out;
    },
  };
}

/** SwiGLU MLP: `down(silu(gate(x)) * up(x))`; returns `[B, S, E]`. */
export function emitMlp(g: GraphOps, x: string, w: LlamaLayerWeights, linear: LinearEmitter, prefix: string): string {
  const gate = linear(g, x, w.gateProj, `${prefix}.gate_proj`); // [B, S, F]
  const up = linear(g, x, w.upProj, `${prefix}.up_proj`); // [B, S, F]
  const silu = g.op('Mul', [gate, g.op('Sigmoid', [gate])]); // [B, S, F]
  return linear(g, g.op('Mul', [silu, up]), w.downProj, `${prefix}.down_proj`); // [B, S, E]
}

/** One decoder layer (pre-norm attention and MLP with residuals); returns the new hidden `[B, S, E]`. */
export function emitDecoderLayer(g: GraphOps, a: DecoderLayerArgs): string {
  const p = `layers.${a.layer}`;
  const eps = a.config.rmsNormEps;
  const x = a.rmsNorm(g, a.hidden, a.weights.inputNorm, eps, `${p}.input_layernorm`); // [B, S, E]
  let qkv: { query: string; key: string; value: string; packedQkv: boolean };
  if (a.packQkv) {
    const key = a.weights.qProj.key.replace(/q_proj\.weight$/, 'qkv_proj.weight');
    const packed = a.linear(g, x, packedQkvWeight(a.weights, key), `${p}.attn.qkv_proj`); // [B, S, (H+2Hkv)*D]
    qkv = { query: packed, key: '', value: '', packedQkv: true };
  } else {
    const q = a.linear(g, x, a.weights.qProj, `${p}.attn.q_proj`); // [B, S, H*D]
    const k = a.linear(g, x, a.weights.kProj, `${p}.attn.k_proj`); // [B, S, Hkv*D]
    const v = a.linear(g, x, a.weights.vProj, `${p}.attn.v_proj`); // [B, S, Hkv*D]
    qkv = { query: q, key: k, value: v, packedQkv: false };
  }
  const attn = a.attention({
    layer: a.layer,
    ...qkv,
    pastKey: a.pastKey,
    pastValue: a.pastValue,
    presentKey: a.presentKey,
    presentValue: a.presentValue,
  }); // [B, S, H*D]
  const o = a.linear(g, attn, a.weights.oProj, `${p}.attn.o_proj`); // [B, S, E]
  const h = g.op('Add', [a.hidden, o]); // [B, S, E]
  const x2 = a.rmsNorm(g, h, a.weights.postAttentionNorm, eps, `${p}.post_attention_layernorm`); // [B, S, E]
  return g.op('Add', [h, emitMlp(g, x2, a.weights, a.linear, `${p}.mlp`)]); // [B, S, E]
}

/** Options of {@link buildLlamaModel}. */
export interface LlamaBuildOptions extends BuildModelOptions {
  /**
   * RMSNorm emission: `decomposed` standard ops, or `fused` onnxruntime `SimplifiedLayerNormalization`.
   * Default: `fused` when the graph already needs onnxruntime contrib ops (GQA, quantised weights).
   */
  readonly rmsNorm?: 'decomposed' | 'fused';
  /** Linear emission (default {@link emitLinearFloat32}); e.g. a MatMulNBits emitter for int4. */
  readonly linear?: LinearEmitter;
  /** Pack Q/K/V into one linear when the attention strategy accepts it (default true). */
  readonly packQkv?: boolean;
}

/** Operator domains a graph needs for this attention and weight format. */
export function graphDomains(attention: AttentionStrategy, weights: WeightFormat | undefined): string[] {
  return [...new Set([...attention.requiredDomains, ...weightFormatDomains(weights)])];
}

/**
 * The RMSNorm emitter: `options.rmsNorm`, else onnxruntime's fused op when the graph already needs
 * onnxruntime contrib ops (measured +3% decode, -13% first-token time on TinyLlama-1.1B int4), else
 * standard ops.
 */
export function chooseRmsNorm(attention: AttentionStrategy, options: Pick<LlamaBuildOptions, 'rmsNorm' | 'weights'>): RmsNormEmitter {
  const ortOnly = graphDomains(attention, options.weights).length > 0;
  return (options.rmsNorm ?? (ortOnly ? 'fused' : 'decomposed')) === 'fused' ? emitRmsNormFused : emitRmsNormDecomposed;
}

/** Arguments of {@link emitLayerStack}: plain values shared by the single graph and bundle chunks. */
export interface LayerStackArgs {
  readonly config: LlamaConfig;
  readonly weights: LlamaWeights;
  /** Global indices of the layers to emit, in order. */
  readonly layers: readonly number[];
  /** float32 `[B, S, E]` input of the first layer. */
  readonly hidden: string;
  /** Graph inputs `attention_mask` int64 `[B, T]` and `position_ids` int64 `[B, S]`. */
  readonly attentionMask: string;
  readonly positionIds: string;
  readonly attention: AttentionStrategy;
  readonly linear: LinearEmitter;
  readonly rmsNorm: RmsNormEmitter;
  /** Pack Q/K/V when the attention accepts it (default true). */
  readonly packQkv?: boolean;
  /**
   * Also output each layer's new rows `present_rows.{i}.key|value` `[B, Hkv, S, D]` (rows T-S .. T-1 of
   * `present`), for the `rows` KV cache (default false; only meaningful with an attention that reads
   * the valid length from the mask, as GroupQueryAttention does).
   */
  readonly rowOutputs?: boolean;
  readonly onLayer?: (layer: number) => void;
}

/**
 * Emits the RoPE caches, the attention setup and the decoder layers `layers`, declaring each layer's
 * `past_key_values.{i}.*` inputs and `present.{i}.*` outputs (and `present_rows.{i}.*` with
 * `rowOutputs`); returns the last hidden state `[B, S, E]`.
 */
export function emitLayerStack(g: GraphBuilder, a: LayerStackArgs): string {
  const { config } = a;
  const { numAttentionHeads: H, numKeyValueHeads: Hkv, headDim: D } = config;
  const { batch: B, past: P, total: T } = DIMS;
  const rope = ropeCaches(D, config.maxPositionEmbeddings, config.ropeTheta);
  const cacheDims = [rope.maxPositions, rope.halfDim];
  const cosCache = g.initializer('rope.cos_cache', { dtype: 'float32', dims: cacheDims, data: rope.cos }, { parameter: false }); // [maxPos, D/2]
  const sinCache = g.initializer('rope.sin_cache', { dtype: 'float32', dims: cacheDims, data: rope.sin }, { parameter: false }); // [maxPos, D/2]
  const common = { numHeads: H, numKvHeads: Hkv, headDim: D, attentionMask: a.attentionMask, positionIds: a.positionIds, cosCache, sinCache, scale: 1 / Math.sqrt(D) };
  const packQkv = (a.packQkv ?? true) && (a.attention.supportsPackedQkv?.(common) ?? false);
  const attend = a.attention.begin(g, common);
  let rowsOf: ((present: string, name: string) => void) | undefined;
  if (a.rowOutputs) {
    const S = DIMS.sequence;
    const seq = g.op('Shape', [a.hidden], { start: attr.int(1), end: attr.int(2) }); // [1] = S
    const total = g.op('Shape', [a.attentionMask], { start: attr.int(1), end: attr.int(2) }); // [1] = T
    const first = g.op('Sub', [total, seq]); // [1] = P
    const axis = g.int64([2]);
    rowsOf = (present, name) => {
      g.node('Slice', [present, first, total, axis], { outputs: [name] }); // [B, Hkv, S, D]: rows P .. T-1
      g.output(name, 'float32', [B, Hkv, S, D]);
    };
  }
  let hidden = a.hidden;
  for (const i of a.layers) {
    const pastKey = g.input(IO.pastKey(i), 'float32', [B, Hkv, P, D]);
    const pastValue = g.input(IO.pastValue(i), 'float32', [B, Hkv, P, D]);
    const presentKey = g.output(IO.presentKey(i), 'float32', [B, Hkv, T, D]);
    const presentValue = g.output(IO.presentValue(i), 'float32', [B, Hkv, T, D]);
    hidden = emitDecoderLayer(g, {
      layer: i,
      hidden,
      weights: a.weights.layers[i],
      config,
      attention: attend,
      linear: a.linear,
      rmsNorm: a.rmsNorm,
      pastKey,
      pastValue,
      presentKey,
      presentValue,
      packQkv,
    }); // [B, S, E]
    rowsOf?.(presentKey, IO.presentKeyRows(i));
    rowsOf?.(presentValue, IO.presentValueRows(i));
    a.onLayer?.(i);
  }
  return hidden;
}

/**
 * Builds the Llama-2 decoder graph with the IO names of core's `IO` and the given attention strategy.
 * Validates the checkpoint first (metadata only); weights are read when the model is written.
 */
export async function buildLlamaModel(weights: WeightSource, config: LlamaConfig, options: LlamaBuildOptions): Promise<OnnxModel> {
  const w = llamaWeights(weights, config);
  const { attention } = options;
  const formats = weightEmitters(options.weights);
  const linear = options.linear ?? formats.linear;
  const rmsNorm = chooseRmsNorm(attention, options);
  const { hiddenSize: E, numAttentionHeads: H, numKeyValueHeads: Hkv, vocabSize: V } = config;
  const { batch: B, sequence: S, total: T } = DIMS;

  const g = new GraphBuilder({ name: 'llama2' });
  for (const domain of graphDomains(attention, options.weights)) g.useOpset(domain, 1);
  const inputIds = g.input(IO.inputIds, 'int64', [B, S]);
  const attentionMask = g.input(IO.attentionMask, 'int64', [B, T]);
  const positionIds = g.input(IO.positionIds, 'int64', [B, S]);
  const embedded = formats.embedding(g, inputIds, w.embedTokens); // [B, S, E]
  const layers = Array.from({ length: config.numLayers }, (_, i) => i);
  const hidden = emitLayerStack(g, {
    config,
    weights: w,
    layers,
    hidden: embedded,
    attentionMask,
    positionIds,
    attention,
    linear,
    rmsNorm,
    packQkv: options.packQkv,
    // the `rows` KV cache: only where attention reads the valid length from the mask (a capacity-sized past)
    rowOutputs: attention.sharedKvCache === true,
    onLayer: (i) => options.onProgress?.({ phase: 'build-graph', done: i + 1, total: config.numLayers, unit: 'items', item: `layer ${i}` }),
  }); // [B, S, E]

  // Only the last K positions go through the final norm and the LM head (the largest matmul): K = 1
  // when generating, K = S when every position's logits are wanted (scoring a text).
  // (Positions S-K .. S-1, not -K .. -1: onnxruntime rewrites Gather of a Range into a Slice, which
  // reads a negative range ending at 0 as empty.)
  const keep = g.input(IO.logitsToKeep, 'int64', []); // scalar K
  const seq = g.op('Squeeze', [g.op('Shape', [hidden], { start: attr.int(1), end: attr.int(2) }), g.int64([0])]); // scalar S
  const lastK = g.op('Range', [g.op('Sub', [seq, keep]), seq, g.int64([1], true)]); // [K]: S-K .. S-1
  const kept = g.op('Gather', [hidden, lastK], { axis: attr.int(1) }); // [B, K, E]
  const normed = rmsNorm(g, kept, w.norm, config.rmsNormEps, 'norm'); // [B, K, E]
  const head =
    config.tieWordEmbeddings && formats.tiedHead === 'share-embedding'
      ? { tiedEmbedding: w.embedTokens.key, vocabSize: V } // the float32 embedding initializer itself
      : { weight: config.tieWordEmbeddings ? { ...w.lmHead, key: 'lm_head.weight' } : w.lmHead, linear: options.linear ?? formats.lmHead }; // tied: own copy
  emitLmHead(g, normed, head, IO.logits); // [B, K, V]
  g.output(IO.logits, 'float32', [B, 'logits_to_keep', V]);

  return g.build({
    docString: `Llama-2 decoder (${config.numLayers} layers, hidden ${E}, ${H} heads / ${Hkv} KV heads), attention '${attention.name}'`,
    metadata: {
      'tinyllama.architecture': 'llama2',
      'tinyllama.graph_version': String(LLAMA2_GRAPH_VERSION),
      'tinyllama.attention': attention.name,
      'tinyllama.weights': JSON.stringify(options.weights ?? { dtype: 'float32' }),
      'tinyllama.config': JSON.stringify(config),
    },
  });
}

/**
 * Emits the LM head into the value named `output` `[B, S, V]`: a linear layer, or, when tied, a
 * `Gemm(transB=1)` on the embedding initializer itself (stored once, no transposed copy).
 */
export function emitLmHead(
  g: GraphOps,
  x: string,
  head: { readonly tiedEmbedding: string; readonly vocabSize: number } | { readonly weight: WeightRef; readonly linear: LinearEmitter },
  output: string,
): void {
  if ('tiedEmbedding' in head) {
    const logits = emitGemmTransB(g, x, head.tiedEmbedding, head.vocabSize, 'lm_head'); // [B, S, V], embedding [V, E] shared
    g.node('Identity', [logits], { outputs: [output] });
  } else {
    const logits = head.linear(g, x, head.weight, 'lm_head'); // [B, S, V]
    g.node('Identity', [logits], { outputs: [output] });
  }
}

/** The Llama-2 {@link ArchitecturePlugin} (`llama2`). */
export const llama2Architecture: ArchitecturePlugin<LlamaConfig> = {
  name: 'llama2',
  graphVersion: LLAMA2_GRAPH_VERSION,
  matches: matchesLlamaConfig,
  normalizeConfig: normalizeLlamaConfig,
  validateWeights: validateLlamaWeights,
  buildModel: (weights: WeightSource, config: LlamaConfig, options: BuildModelOptions) => {
    if (config.architecture !== 'llama2') {
      return Promise.reject(new TinyLlamaError('E_CONFIG', `llama2 plugin cannot build architecture '${config.architecture}'`));
    }
    return buildLlamaModel(weights, config, options);
  },
  buildBundle: (weights: WeightSource, config: LlamaConfig, options: BuildBundleOptions) => buildLlamaBundle(weights, config, options),
  embedLookup: embedLookupOf,
};
