import type { DType, HostTensor } from './tensor.js';

/**
 * The graph-building contract that architectures and attention strategies program against.
 * `@tinyllama/onnx` implements it; builders never see protobuf.
 *
 * Dimension convention in shape comments: B batch, S new tokens, P past tokens, T = P + S,
 * H query heads, Hkv key/value heads, D head dim, E hidden size, F intermediate size, V vocab.
 */

/** A typed ONNX attribute value. */
export type AttrValue =
  | { readonly type: 'int'; readonly value: number }
  | { readonly type: 'float'; readonly value: number }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'ints'; readonly value: readonly number[] }
  | { readonly type: 'floats'; readonly value: readonly number[] }
  | { readonly type: 'tensor'; readonly value: HostTensor };

/** Attribute constructors: `attr.int(1)`, `attr.float(1e-5)`, ... */
export const attr = {
  int: (value: number): AttrValue => ({ type: 'int', value }),
  float: (value: number): AttrValue => ({ type: 'float', value }),
  string: (value: string): AttrValue => ({ type: 'string', value }),
  ints: (value: readonly number[]): AttrValue => ({ type: 'ints', value }),
  floats: (value: readonly number[]): AttrValue => ({ type: 'floats', value }),
  tensor: (value: HostTensor): AttrValue => ({ type: 'tensor', value }),
};

/** A weight whose bytes are produced only when the model is serialized (streamed to external data). */
export interface LazyTensor {
  readonly dtype: DType;
  readonly dims: readonly number[];
  /** Produces the little-endian bytes (called once, at write time). */
  load(): Promise<Uint8Array>;
}

/** Options of {@link GraphOps.node}. */
export interface NodeOptions {
  /** Number of outputs (auto-named) or explicit output names. Default 1. */
  readonly outputs?: number | readonly string[];
  readonly attrs?: Readonly<Record<string, AttrValue>>;
  /** Operator domain ('' = ai.onnx, 'com.microsoft' = ORT contrib). */
  readonly domain?: string;
  /** Node name (auto when absent). */
  readonly name?: string;
}

/** Graph construction primitives. */
export interface GraphOps {
  /** Adds a node and returns its output value names. Use '' for an omitted optional input. */
  node(opType: string, inputs: readonly string[], options?: NodeOptions): string[];
  /** Adds a one-output node and returns the output name. */
  op(opType: string, inputs: readonly string[], attrs?: Readonly<Record<string, AttrValue>>, domain?: string): string;
  /** Adds an initializer with a fixed name (weights). Returns the name. */
  initializer(name: string, tensor: HostTensor | LazyTensor): string;
  /** Adds a small constant initializer with a generated name. */
  constant(tensor: HostTensor): string;
  /** int64 constant of the given values (a 1-D tensor, or a scalar when `scalar` is true). */
  int64(values: readonly number[], scalar?: boolean): string;
  /** float32 constant (1-D, or scalar). */
  float32(values: readonly number[], scalar?: boolean): string;
  /** Declares use of an operator set (the default domain at the builder's opset is always imported). */
  useOpset(domain: string, version: number): void;
  /** A fresh unique value name with the given hint. */
  fresh(hint: string): string;
}

/** Values every attention layer of a decoder graph may use, computed once per graph. */
export interface AttentionCommon {
  readonly numHeads: number;
  readonly numKvHeads: number;
  readonly headDim: number;
  /** `attention_mask` graph input, int64 [B, T]. */
  readonly attentionMask: string;
  /** `position_ids` graph input, int64 [B, S]. */
  readonly positionIds: string;
  /** RoPE cos cache, float32 [maxPositions, D/2] (Hugging Face `rotate_half` layout). */
  readonly cosCache: string;
  /** RoPE sin cache, float32 [maxPositions, D/2]. */
  readonly sinCache: string;
  /** Softmax scale, normally 1/sqrt(D). */
  readonly scale: number;
}

/** Per-layer attention inputs. */
export interface AttentionLayerArgs {
  readonly layer: number;
  /**
   * When true, `query` holds Q, K and V packed along the last axis, float32 [B, S, (H + 2*Hkv)*D]
   * (before rotary), and `key`/`value` are ''. Only passed to strategies whose `supportsPackedQkv`
   * returns true.
   */
  readonly packedQkv?: boolean;
  /** float32 [B, S, H*D], before rotary embedding. */
  readonly query: string;
  /** float32 [B, S, Hkv*D], before rotary embedding. */
  readonly key: string;
  /** float32 [B, S, Hkv*D]. */
  readonly value: string;
  /** Graph input, float32 [B, Hkv, P, D] (un-repeated KV heads). */
  readonly pastKey: string;
  readonly pastValue: string;
  /** Graph output names to produce, float32 [B, Hkv, T, D]. */
  readonly presentKey: string;
  readonly presentValue: string;
}

/** Emits one layer's attention; returns the output value, float32 [B, S, H*D] (before o_proj). */
export type AttentionLayerBuilder = (args: AttentionLayerArgs) => string;

/**
 * How attention (with RoPE and the KV cache) is expressed in the graph. Registered by name;
 * all strategies must give the same logits.
 */
export interface AttentionStrategy {
  readonly name: string;
  readonly description: string;
  /** Operator domains the emitted nodes need beyond the default one (e.g. `com.microsoft`). */
  readonly requiredDomains: readonly string[];
  /**
   * True when the emitted attention takes the valid length from `attention_mask` and writes only the new
   * rows of a `past` buffer bound in place as `present` (a max-length KV buffer, `KvCacheMode` `shared`).
   */
  readonly sharedKvCache?: boolean;
  /** True when the per-layer emitter accepts packed QKV ({@link AttentionLayerArgs.packedQkv}). */
  supportsPackedQkv?(common: AttentionCommon): boolean;
  /** Called once per graph: computes shared values, returns the per-layer emitter. */
  begin(g: GraphOps, common: AttentionCommon): AttentionLayerBuilder;
}
