import type { EmbeddingTableLayout, RowDequantizer } from './embedding-lookup.js';
import type { AttentionStrategy } from './graph.js';
import type { ProgressCallback, WeightSource } from './weights.js';

/**
 * A decoder-only model configuration normalised once from the raw `config.json`
 * (candle style: defaults filled, derived values computed, validated).
 */
export interface DecoderConfig {
  /** Architecture plugin name, e.g. `llama2`. */
  readonly architecture: string;
  readonly hiddenSize: number;
  readonly intermediateSize: number;
  readonly numLayers: number;
  readonly numAttentionHeads: number;
  /** Defaults to `numAttentionHeads` (MHA) when the config omits it. */
  readonly numKeyValueHeads: number;
  /** numAttentionHeads / numKeyValueHeads. */
  readonly kvGroups: number;
  readonly headDim: number;
  readonly vocabSize: number;
  /** Context limit in tokens (`max_position_embeddings`). */
  readonly maxPositionEmbeddings: number;
  readonly rmsNormEps: number;
  readonly ropeTheta: number;
  readonly tieWordEmbeddings: boolean;
  readonly bosTokenId: number;
  /** One or more EOS ids from the config. */
  readonly eosTokenIds: readonly number[];
}

/** A built model ready to be written for a backend. */
export interface BuiltModel {
  /** Number of parameters in the graph's weights. */
  readonly parameterCount: number;
  /**
   * Writes the model into `dir` (model file plus external data when the weights are large, streamed
   * tensor by tensor) and returns the path of the model file.
   */
  writeTo(dir: string, options?: { fileName?: string; onProgress?: ProgressCallback }): Promise<string>;
  /** Serializes to a single buffer (small models only; throws when over 2 GB). */
  toBytes(): Promise<Uint8Array>;
}

/** How weights are stored in a built graph. */
export interface WeightFormat {
  /**
   * `float32` (default), `float16` (stored half, computed in float32), `int8` or `int4` (block-wise
   * quantised linear layers, embedding and lm_head).
   */
  readonly dtype: 'float32' | 'float16' | 'int8' | 'int4';
  /** Quantisation block size along the input dimension (default 32). */
  readonly blockSize?: number;
  /** onnxruntime MatMulNBits `accuracy_level` (0 = float activations, 4 = int8 activations). */
  readonly accuracyLevel?: number;
  /** Symmetric quantisation without zero points (default true). */
  readonly symmetric?: boolean;
  /**
   * Search each block's scale for the least squared error (symmetric only; default false: round to
   * nearest from the largest magnitude, the codes onnxruntime's own quantiser writes).
   */
  readonly scaleSearch?: boolean;
  /** Storage of the token embedding (default: `dtype`). */
  readonly embeddingDtype?: WeightFormat['dtype'];
  /** Storage of the LM head (default: `dtype`). */
  readonly lmHeadDtype?: WeightFormat['dtype'];
}

/** Options of {@link ArchitecturePlugin.buildModel}. */
export interface BuildModelOptions {
  readonly attention: AttentionStrategy;
  /** Weight storage (default float32). */
  readonly weights?: WeightFormat;
  readonly onProgress?: ProgressCallback;
}

/**
 * An architecture plugin: recognises a raw config, normalises it, and builds the ONNX decoder graph
 * from a {@link WeightSource}. Checkpoint key names live here, not in loaders.
 */
export interface ArchitecturePlugin<C extends DecoderConfig = DecoderConfig> {
  readonly name: string;
  /** Version of the emitted graph; part of the built-graph cache key (bump it when the graph changes). */
  readonly graphVersion?: number;
  /** True when this plugin handles the raw `config.json` object. */
  matches(raw: Readonly<Record<string, unknown>>): boolean;
  /** Normalises and validates; throws `E_CONFIG` naming the field. */
  normalizeConfig(raw: Readonly<Record<string, unknown>>): C;
  /** Checks that the checkpoint has every tensor with the right shape, before any data is read. */
  validateWeights(weights: WeightSource, config: C): void;
  /** Builds the decoder graph (IO names in {@link IO}); weights are read lazily at write time. */
  buildModel(weights: WeightSource, config: C, options: BuildModelOptions): Promise<BuiltModel>;
  /**
   * Builds the decoder as a chunked bundle (embed graph, one graph per group of layers, head graph;
   * IO names in `BUNDLE_IO`). Optional: architectures without it cannot be built as bundles.
   */
  buildBundle?(weights: WeightSource, config: C, options: BuildBundleOptions): Promise<BuiltBundle>;
  /**
   * Reads a bundle's embed graph (the bytes of its `.onnx`) as a lookup of one table in an external
   * data file (path relative to the graph) with the format's row dequantizer, so runners can read rows
   * on demand ({@link EmbeddingLookupSession}); undefined when the graph is not such a lookup. Optional.
   */
  embedLookup?(embedOnnx: Uint8Array): { readonly layout: EmbeddingTableLayout; readonly file: string; readonly dequantize?: RowDequantizer } | undefined;
}

/** Options of {@link ArchitecturePlugin.buildBundle}. */
export interface BuildBundleOptions extends BuildModelOptions {
  /** Decoder layers per chunk graph (the last chunk may hold fewer). */
  readonly layersPerChunk: number;
}

/** The graphs of a chunked bundle (see {@link ArchitecturePlugin.buildBundle}). */
export interface BuiltBundle {
  /** Parameters of the model (tied weights counted once). */
  readonly parameterCount: number;
  /** `input_ids` [B, S] → `hidden_states` [B, S, E]. */
  readonly embed: BuiltModel;
  /** `hidden_states` [B, S, E] → final norm → `logits` [B, S, V]. */
  readonly head: BuiltModel;
  /** One self-contained graph per group of consecutive layers (global layer indices). */
  readonly chunks: readonly { readonly layers: readonly number[]; readonly model: BuiltModel }[];
}
