/**
 * Streaming GGUF writer: the header goes first (offsets are computed from the tensor infos), then each
 * tensor's data is produced and written one at a time, so multi-GB models never sit in memory.
 */
import { open, rename, rm } from 'node:fs/promises';
import { TinyLlamaError, type ProgressCallback } from '@tinyllama/core';
import {
  GGML_TYPE_LAYOUT,
  GGUF_DEFAULT_ALIGNMENT,
  alignUp,
  encodeGgufHeader,
  gguf,
  ggmlTensorBytes,
  type GgufMetadata,
  type GgufTensorInfo,
} from './gguf-format.js';

/** A tensor to write: its header info and a producer of its encoded bytes (called once, in order). */
export interface GgufTensorSource extends GgufTensorInfo {
  /** Encoded data in `type`; must be exactly {@link ggmlTensorBytes} long. */
  load(): Promise<Uint8Array>;
}

/** Options of {@link writeGguf}. */
export interface WriteGgufOptions {
  /** Data alignment (default 32; other values add `general.alignment` to the metadata). */
  readonly alignment?: number;
  readonly onProgress?: ProgressCallback;
}

/** What {@link writeGguf} wrote. */
export interface WriteGgufResult {
  readonly file: string;
  readonly bytes: number;
  readonly headerBytes: number;
}

/**
 * Writes a GGUF v3 file atomically (to `<file>.partial`, renamed at the end; removed on failure).
 * @throws `E_SHAPE` when a tensor's produced bytes do not match its info, `E_IO` on filesystem errors.
 */
export async function writeGguf(
  file: string,
  metadata: GgufMetadata,
  tensors: readonly GgufTensorSource[],
  options: WriteGgufOptions = {},
): Promise<WriteGgufResult> {
  const alignment = options.alignment ?? GGUF_DEFAULT_ALIGNMENT;
  const meta: GgufMetadata =
    alignment === GGUF_DEFAULT_ALIGNMENT ? metadata : [...metadata, ['general.alignment', gguf.u32(alignment)]];
  const header = encodeGgufHeader(meta, tensors, alignment);
  const total = header.bytes.length + header.dataBytes;
  const partial = `${file}.partial`;
  let fh;
  try {
    fh = await open(partial, 'w');
  } catch (e) {
    throw new TinyLlamaError('E_IO', `cannot create '${partial}'`, { cause: e });
  }
  let written = 0;
  try {
    await writeAll(fh, header.bytes, partial);
    written += header.bytes.length;
    const zeros = new Uint8Array(alignment);
    for (let i = 0; i < tensors.length; i++) {
      const t = tensors[i];
      options.onProgress?.({ phase: 'gguf', done: written, total, unit: 'bytes', item: t.name });
      const bytes = await t.load();
      const expected = ggmlTensorBytes(t);
      if (bytes.length !== expected) {
        throw new TinyLlamaError(
          'E_SHAPE',
          `tensor '${t.name}': produced ${bytes.length} bytes of ${GGML_TYPE_LAYOUT[t.type].name}, expected ${expected} for dims [${t.dims.join(', ')}]`,
        );
      }
      await writeAll(fh, bytes, partial);
      const pad = alignUp(header.offsets[i] + bytes.length, alignment) - (header.offsets[i] + bytes.length);
      if (pad > 0) await writeAll(fh, zeros.subarray(0, pad), partial);
      written += bytes.length + pad;
    }
    options.onProgress?.({ phase: 'gguf', done: written, total, unit: 'bytes' });
    await fh.close();
    fh = undefined;
    await rename(partial, file);
  } catch (e) {
    await fh?.close().catch(() => undefined);
    await rm(partial, { force: true }).catch(() => undefined);
    if (e instanceof TinyLlamaError) throw e;
    throw new TinyLlamaError('E_IO', `cannot write GGUF file '${file}'`, { cause: e });
  }
  return { file, bytes: written, headerBytes: header.bytes.length };
}

async function writeAll(fh: import('node:fs/promises').FileHandle, bytes: Uint8Array, file: string): Promise<void> {
  let off = 0;
  while (off < bytes.length) {
    const { bytesWritten } = await fh.write(bytes, off, bytes.length - off).catch((e: unknown) => {
      throw new TinyLlamaError('E_IO', `write to '${file}' failed`, { cause: e });
    });
    off += bytesWritten;
  }
}
