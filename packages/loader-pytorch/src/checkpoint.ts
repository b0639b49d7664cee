import { TableWeightSource, TinyLlamaError, type Checkpoint, type TensorInfo, type TensorTable } from '@tinyllama/core';
import type { RandomAccessFile } from './file.js';

/** One tensor of an opened checkpoint file: its metadata and a reader for its raw bytes. */
export interface LazyTensor {
  readonly info: TensorInfo;
  /** Reads the tensor's raw little-endian row-major bytes into a fresh buffer. */
  read(): Promise<Uint8Array>;
}

/** The tensors of one opened file, and the file handle they read from. */
export interface OpenedFile {
  readonly file: RandomAccessFile;
  /** Tensors in file order. */
  readonly tensors: ReadonlyMap<string, LazyTensor>;
}

function tableOf(tensors: ReadonlyMap<string, LazyTensor>): TensorTable {
  const infos = new Map<string, TensorInfo>();
  for (const [name, t] of tensors) infos.set(name, t.info);
  return {
    infos,
    read(name: string): Promise<Uint8Array> {
      const t = tensors.get(name);
      if (!t) return Promise.reject(new TinyLlamaError('E_NOT_FOUND', `tensor '${name}' is not in the checkpoint`));
      return t.read();
    },
  };
}

/**
 * A {@link Checkpoint} over lazily-read tensors of one or more open files. Shape/dtype checks and
 * scoping come from core's {@link TableWeightSource}, so every format reports mismatches the same way.
 */
export class FileCheckpoint extends TableWeightSource implements Checkpoint {
  readonly #handles: readonly RandomAccessFile[];

  constructor(
    tensors: ReadonlyMap<string, LazyTensor>,
    /** Human-readable format, e.g. `safetensors (2 shards)`. */
    readonly format: string,
    handles: readonly RandomAccessFile[],
  ) {
    super(tableOf(tensors));
    this.#handles = handles;
  }

  /** Paths of the files the tensors come from. */
  get files(): readonly string[] {
    return this.#handles.map((h) => h.path);
  }

  /** Closes every file handle; later reads fail with `E_IO`. */
  async close(): Promise<void> {
    await Promise.all(this.#handles.map((h) => h.close()));
  }
}

/** Closes handles after a failed open, keeping the original error. */
export async function closeQuietly(handles: readonly RandomAccessFile[]): Promise<void> {
  await Promise.all(handles.map((h) => h.close().catch(() => undefined)));
}
