import { open, type FileHandle } from 'node:fs/promises';
import { TinyLlamaError } from '@tinyllama/core';

/** Largest single `FileHandle.read` request (Node caps one read below 2 GiB). */
const MAX_READ_CHUNK = 1 << 30;

/**
 * Maps a Node filesystem error to a {@link TinyLlamaError} naming `file`: `ENOENT` becomes `E_NOT_FOUND`,
 * anything else `E_IO`. A `TinyLlamaError` passes through unchanged.
 */
export function fsError(e: unknown, file: string, action: string): TinyLlamaError {
  if (e instanceof TinyLlamaError) return e;
  const code = (e as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new TinyLlamaError('E_NOT_FOUND', `${action}: file '${file}' does not exist`, { cause: e });
  const msg = e instanceof Error ? e.message : String(e);
  return new TinyLlamaError('E_IO', `${action} '${file}': ${msg}`, { cause: e });
}

/**
 * A read-only file for positioned reads. The size is taken once at open; every read is bounds-checked
 * against it so truncated files fail with `E_CORRUPT` naming the file instead of returning short data.
 */
export class RandomAccessFile {
  #fh: FileHandle | undefined;

  private constructor(
    /** Path the file was opened with (used in error messages). */
    readonly path: string,
    fh: FileHandle,
    /** Size in bytes at open time. */
    readonly size: number,
  ) {
    this.#fh = fh;
  }

  /** Opens `path` for reading; `E_NOT_FOUND` when it does not exist, `E_IO` on other failures. */
  static async open(path: string): Promise<RandomAccessFile> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw fsError(e, path, 'open');
    }
    try {
      const st = await fh.stat();
      if (!st.isFile()) throw new TinyLlamaError('E_IO', `'${path}' is not a regular file`);
      return new RandomAccessFile(path, fh, st.size);
    } catch (e) {
      await fh.close().catch(() => undefined);
      throw fsError(e, path, 'stat');
    }
  }

  /**
   * Reads exactly `length` bytes at `position` into a fresh buffer (one positioned read unless the OS
   * returns short counts). `what` names the structure being read for error messages.
   */
  async read(position: number, length: number, what: string): Promise<Uint8Array> {
    if (!Number.isSafeInteger(position) || !Number.isSafeInteger(length) || position < 0 || length < 0) {
      throw new TinyLlamaError('E_CORRUPT', `${what}: invalid byte range (${position}, ${length}) in '${this.path}'`);
    }
    if (position + length > this.size) {
      throw new TinyLlamaError(
        'E_CORRUPT',
        `'${this.path}' is truncated or corrupt: ${what} needs bytes ${position}..${position + length} but the file has ${this.size} bytes`,
      );
    }
    const fh = this.#fh;
    if (!fh) throw new TinyLlamaError('E_IO', `cannot read ${what}: '${this.path}' is closed`);
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(out, done, Math.min(length - done, MAX_READ_CHUNK), position + done));
      } catch (e) {
        throw fsError(e, this.path, `read ${what} from`);
      }
      if (n === 0) {
        throw new TinyLlamaError('E_CORRUPT', `'${this.path}' is truncated: ${what} ended after ${done} of ${length} bytes`);
      }
      done += n;
    }
    return out;
  }

  /** Closes the handle (idempotent). */
  async close(): Promise<void> {
    const fh = this.#fh;
    this.#fh = undefined;
    if (fh) await fh.close();
  }
}

/** Little-endian reader over a byte array with bounds checks that raise `E_CORRUPT` naming `source`. */
export class ByteReader {
  /** DataView over `bytes`. */
  readonly view: DataView;

  constructor(
    readonly bytes: Uint8Array,
    /** File (and structure) name used in errors. */
    readonly source: string,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Throws `E_CORRUPT` unless `[offset, offset + length)` lies inside the bytes. */
  need(offset: number, length: number, what: string): void {
    if (offset < 0 || length < 0 || offset + length > this.bytes.byteLength) {
      throw new TinyLlamaError('E_CORRUPT', `${this.source}: ${what} at byte ${offset} runs past the end (${this.bytes.byteLength} bytes)`);
    }
  }

  /** Unsigned 16-bit value at `o`. */
  u16(o: number): number {
    this.need(o, 2, 'u16');
    return this.view.getUint16(o, true);
  }

  /** Unsigned 32-bit value at `o`. */
  u32(o: number): number {
    this.need(o, 4, 'u32');
    return this.view.getUint32(o, true);
  }

  /** Unsigned 64-bit value; `E_CORRUPT` when it exceeds `Number.MAX_SAFE_INTEGER`. */
  u64(o: number, what: string): number {
    this.need(o, 8, what);
    const v = this.view.getBigUint64(o, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new TinyLlamaError('E_CORRUPT', `${this.source}: ${what} ${v} is too large`);
    return Number(v);
  }
}
