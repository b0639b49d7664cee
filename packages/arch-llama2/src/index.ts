/**
 * `@tinyllama/arch-llama2`: the Llama-2 architecture plugin (TinyLlama-1.1B and friends): config
 * normalisation, checkpoint validation, the ONNX decoder graph and two attention strategies.
 * @packageDocumentation
 */
export { normalizeLlamaConfig, matchesLlamaConfig, type LlamaConfig } from './config.js';
export { TINYLLAMA_1_1B, checkTinyLlamaPreset, assertTinyLlamaPreset, type PresetMismatch } from './preset.js';
export { validateLlamaWeights as validateWeights, llamaWeights, type WeightRef, type LlamaWeights, type LlamaLayerWeights } from './weights.js';
export { ropeCaches, type RopeCaches } from './rope.js';
export {
  buildLlamaModel,
  llama2Architecture,
  emitDecoderLayer,
  emitMlp,
  emitLmHead,
  emitLinearFloat32,
  emitLinearMatMulFloat32,
  emitGemmTransB,
  emitRmsNormDecomposed,
  emitRmsNormFused,
  DIMS,
  LLAMA2_GRAPH_VERSION,
  type LlamaBuildOptions,
  type DecoderLayerArgs,
  type LinearEmitter,
  type RmsNormEmitter,
} from './llama.js';
export { buildLlamaBundle, llamaParameterCount, type LlamaBundleOptions } from './bundle.js';
export { embedLookupOf, type EmbedLookup } from './embed-lookup.js';
export { gqaAttention, gqaFusedRotarySupported } from './attention/gqa.js';
export { portableAttention } from './attention/portable.js';
export { llama2Plugin } from './plugin.js';
