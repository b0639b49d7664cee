import type { DType } from './tensor.js';

/** What a checkpoint says about one tensor, without reading its data. */
export interface TensorInfo {
  /** Full tensor name in the checkpoint, e.g. `model.layers.0.self_attn.q_proj.weight`. */
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Size of the stored data in bytes. */
  readonly byteLength: number;
}

/** A tensor read from a checkpoint: raw little-endian bytes in the stored dtype. */
export interface WeightTensor extends TensorInfo {
  /** Raw data (little-endian, row-major) in `dtype`. Owned by the caller. */
  readonly bytes: Uint8Array;
}

/** Expectations checked by {@link WeightSource.get}. */
export interface WeightExpect {
  /** Exact shape the tensor must have. */
  readonly shape?: readonly number[];
  /** Allowed stored dtypes (default: any floating dtype). */
  readonly dtypes?: readonly DType[];
}

/**
 * A shape-checked, lazily-read view of named tensors (candle's `VarBuilder`).
 * Loaders implement it; architectures own the key names and call `scope()` to walk the hierarchy.
 */
export interface WeightSource {
  /** Prefix of this view ('' at the root). */
  readonly prefix: string;
  /** Names (relative to this view's prefix) of every tensor in this view. */
  names(): string[];
  /** True when `name` (relative) exists. */
  has(name: string): boolean;
  /** Metadata of `name` (relative); throws `E_NOT_FOUND` naming the full key when absent. */
  info(name: string): TensorInfo;
  /**
   * Reads one tensor. Throws `E_NOT_FOUND` when absent and `E_SHAPE` / `E_DTYPE` when it does not match
   * `expect`, naming the full key and both shapes.
   */
  get(name: string, expect?: WeightExpect): Promise<WeightTensor>;
  /** Like `get` but decoded to float32 (from float32/float16/bfloat16). */
  getFloat32(name: string, expect?: WeightExpect): Promise<{ info: TensorInfo; data: Float32Array }>;
  /** A view whose names are relative to `prefix` (joined with '.'). */
  scope(prefix: string): WeightSource;
}

/** An opened checkpoint: a root {@link WeightSource} that owns file handles. */
export interface Checkpoint extends WeightSource {
  /** Human-readable format, e.g. `safetensors`, `pytorch-zip`, `safetensors (3 shards)`. */
  readonly format: string;
  /** Files the tensors come from. */
  readonly files: readonly string[];
  /** Releases file handles. */
  close(): Promise<void>;
}

/** Progress report for long operations (bytes or items). */
export interface Progress {
  readonly phase: string;
  readonly done: number;
  readonly total: number;
  readonly unit: 'bytes' | 'tensors' | 'items';
  /** Current item, e.g. a tensor or file name. */
  readonly item?: string;
}

/** Callback receiving {@link Progress}. */
export type ProgressCallback = (p: Progress) => void;

/**
 * A checkpoint format reader registered in the loader registry.
 * `detect` looks only at file names in the model directory; `open` reads lazily.
 */
export interface CheckpointLoader {
  readonly name: string;
  /** True when this loader can read the checkpoint in a directory with these file names. */
  detect(fileNames: readonly string[]): boolean;
  /** Opens the checkpoint in `dir` without reading tensor data. */
  open(dir: string): Promise<Checkpoint>;
}
