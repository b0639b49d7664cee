/**
 * The Llama-2 decoder as a chunked bundle: an embed graph, one self-contained graph per group of
 * layers (each with its own RoPE caches and attention setup) and a head graph, built from the same
 * emitters as {@link buildLlamaModel}, so a bundle computes what the single graph computes.
 */
import { BUNDLE_IO, IO, TinyLlamaError, type BuildBundleOptions, type BuiltBundle, type WeightSource } from '@tinyllama/core';
import { GraphBuilder, type OnnxModel } from '@tinyllama/onnx';
import type { LlamaConfig } from './config.js';
import { DIMS, chooseRmsNorm, emitLayerStack, emitLmHead, graphDomains, type LlamaBuildOptions } from './llama.js';
import { weightEmitters } from './weight-formats.js';
import { llamaWeights } from './weights.js';

/** Options of {@link buildLlamaBundle}. */
export type LlamaBundleOptions = BuildBundleOptions & Pick<LlamaBuildOptions, 'rmsNorm' | 'packQkv'>;

/** Parameters of a Llama model from its config (tied embedding counted once). */
export function llamaParameterCount(c: LlamaConfig): number {
  const { hiddenSize: E, numAttentionHeads: H, numKeyValueHeads: Hkv, headDim: D, intermediateSize: F, vocabSize: V } = c;
  const perLayer = E * H * D + 2 * E * Hkv * D + H * D * E + 3 * E * F + 2 * E;
  return V * E * (c.tieWordEmbeddings ? 1 : 2) + E + c.numLayers * perLayer;
}

/**
 * Builds the bundle graphs: `embed` (`input_ids` → `hidden_states`), `chunks` of `layersPerChunk`
 * layers (`hidden_states`, mask, positions, past → `hidden_states_out`, present) and `head`
 * (`hidden_states` → final norm → `logits`). Weights are read lazily at write time.
 */
export async function buildLlamaBundle(weights: WeightSource, config: LlamaConfig, options: LlamaBundleOptions): Promise<BuiltBundle> {
  const L = options.layersPerChunk;
  if (!Number.isInteger(L) || L < 1) throw new TinyLlamaError('E_ARGUMENT', `layersPerChunk must be a positive integer, got ${L}`);
  const w = llamaWeights(weights, config);
  const { attention } = options;
  const formats = weightEmitters(options.weights);
  const linear = formats.linear;
  const domains = graphDomains(attention, options.weights);
  const rmsNorm = chooseRmsNorm(attention, options);
  const { hiddenSize: E, vocabSize: V } = config;
  const { batch: B, sequence: S, total: T } = DIMS;
  const metadata = (part: string) => ({
    'tinyllama.architecture': 'llama2',
    'tinyllama.bundle_part': part,
    'tinyllama.attention': attention.name,
    'tinyllama.weights': JSON.stringify(options.weights ?? { dtype: 'float32' }),
  });
  const newGraph = (name: string) => {
    const g = new GraphBuilder({ name });
    for (const d of domains) g.useOpset(d, 1);
    return g;
  };

  // Embed: input_ids [B, S] → hidden_states [B, S, E].
  const ge = newGraph('llama2-embed');
  const hidden0 = formats.embedding(ge, ge.input(IO.inputIds, 'int64', [B, S]), w.embedTokens); // [B, S, E]
  ge.node('Identity', [hidden0], { outputs: [BUNDLE_IO.hidden] });
  ge.output(BUNDLE_IO.hidden, 'float32', [B, S, E]);
  const embed = ge.build({ docString: 'Llama-2 bundle: token embedding', metadata: metadata('embed') });

  // Head: hidden_states [B, S, E] → logits [B, S, V]. A tied float32 head gets its own copy of the
  // embedding (same Gemm(transB) math as the shared initializer of the single graph).
  const gh = newGraph('llama2-head');
  const normed = rmsNorm(gh, gh.input(BUNDLE_IO.hidden, 'float32', [B, S, E]), w.norm, config.rmsNormEps, 'norm'); // [B, S, E]
  const headWeight = config.tieWordEmbeddings ? { ...w.lmHead, key: 'lm_head.weight' } : w.lmHead;
  emitLmHead(gh, normed, { weight: headWeight, linear: formats.lmHead }, IO.logits); // [B, S, V]
  gh.output(IO.logits, 'float32', [B, S, V]);
  const head = gh.build({ docString: 'Llama-2 bundle: final norm and LM head', metadata: metadata('head') });

  const chunks: { layers: number[]; model: OnnxModel }[] = [];
  for (let first = 0; first < config.numLayers; first += L) {
    const layers = Array.from({ length: Math.min(L, config.numLayers - first) }, (_, k) => first + k);
    const g = newGraph(`llama2-layers-${layers[0]}-${layers[layers.length - 1]}`);
    const hidden = emitLayerStack(g, {
      config,
      weights: w,
      layers,
      hidden: g.input(BUNDLE_IO.hidden, 'float32', [B, S, E]), // [B, S, E]
      attentionMask: g.input(IO.attentionMask, 'int64', [B, T]),
      positionIds: g.input(IO.positionIds, 'int64', [B, S]),
      attention,
      linear,
      rmsNorm,
      packQkv: options.packQkv,
    }); // [B, S, E]
    g.node('Identity', [hidden], { outputs: [BUNDLE_IO.hiddenOut] });
    g.output(BUNDLE_IO.hiddenOut, 'float32', [B, S, E]);
    chunks.push({ layers, model: g.build({ docString: `Llama-2 bundle: layers ${layers.join(', ')}`, metadata: metadata(`layers ${layers.join(',')}`) }) });
    options.onProgress?.({ phase: 'build-graph', done: layers[layers.length - 1] + 1, total: config.numLayers, unit: 'items', item: `chunk ${chunks.length - 1}` });
  }
  return { parameterCount: llamaParameterCount(config), embed, head, chunks };
}
