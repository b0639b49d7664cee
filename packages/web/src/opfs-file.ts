/**
 * Verified files in the origin private file system (OPFS) read through synchronous access handles:
 * random reads of a few bytes in microseconds from a worker, where slicing a Cache API Blob costs a
 * round trip to the browser process per read. Used for the embedding table (one row per token).
 * @packageDocumentation
 */
import { TinyLlamaError, type ByteRangeReader } from '@tinyllama/core';
import { Sha256 } from './sha256.js';
import { untilStalled } from './stall.js';

/** The OPFS directory holding the demo's files. */
export const OPFS_DIR = 'tinyllama-files';

/** The parts of `FileSystemSyncAccessHandle` used here (not in every TypeScript DOM lib). */
interface SyncHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

interface SyncFileHandle {
  createSyncAccessHandle(): Promise<SyncHandle>;
}

/** True where OPFS synchronous access handles exist (dedicated workers of current browsers). */
export function opfsAvailable(): boolean {
  const g = globalThis as { FileSystemFileHandle?: { prototype: object }; navigator?: { storage?: { getDirectory?: unknown } } };
  return typeof g.navigator?.storage?.getDirectory === 'function' && g.FileSystemFileHandle !== undefined && 'createSyncAccessHandle' in g.FileSystemFileHandle.prototype;
}

/** What {@link openOpfsFile} stores and checks. */
export interface OpfsFileSpec {
  /** Names the file in errors and in OPFS (with its sha256). */
  readonly path: string;
  readonly size: number;
  readonly sha256: string;
  /** The file's bytes when it is not in OPFS yet (a cached copy or a download). */
  source(): Promise<ReadableStream<Uint8Array> | Uint8Array>;
  /** How long the source may go without data before the copy fails as `E_IO` (default `STALL_MS`). */
  readonly stallMs?: number;
}

const PIECE = 1 << 20;

/** Size and SHA-256 of the handle's content, read 1 MB at a time. */
function hashHandle(h: SyncHandle): { size: number; sha256: string } {
  const size = h.getSize();
  const hash = new Sha256();
  const buf = new Uint8Array(PIECE);
  for (let at = 0; at < size; at += PIECE) {
    const n = h.read(buf, { at });
    if (n <= 0) break;
    hash.update(buf.subarray(0, n));
  }
  return { size, sha256: hash.hex() };
}

/**
 * A {@link ByteRangeReader} over `spec`'s file in OPFS: an existing copy is verified (size, SHA-256)
 * before use, a missing or wrong one is written from `spec.source()` and verified; older copies of
 * the same path are deleted. Undefined when OPFS is unavailable or the file is locked by another page.
 * @throws `E_CORRUPT` when the source's bytes do not match `size` / `sha256`; `E_IO` when the source
 * stalls (no data for `stallMs`).
 */
export async function openOpfsFile(spec: OpfsFileSpec): Promise<ByteRangeReader | undefined> {
  if (!opfsAvailable()) return undefined;
  const prefix = `${encodeURIComponent(spec.path)}.`;
  const name = `${prefix}${spec.sha256}`;
  let handle: SyncHandle;
  let dir: FileSystemDirectoryHandle;
  try {
    dir = await (await navigator.storage.getDirectory()).getDirectoryHandle(OPFS_DIR, { create: true });
    const file = (await dir.getFileHandle(name, { create: true })) as unknown as SyncFileHandle;
    handle = await file.createSyncAccessHandle();
  } catch {
    return undefined; // no OPFS here (private mode, quota) or the file is open in another page
  }
  try {
    const existing = hashHandle(handle);
    if (existing.size !== spec.size || existing.sha256 !== spec.sha256) {
      handle.truncate(0);
      const hash = new Sha256();
      let at = 0;
      const put = (chunk: Uint8Array): void => {
        hash.update(chunk);
        for (let done = 0; done < chunk.length; ) done += handle.write(chunk.subarray(done), { at: at + done });
        at += chunk.length;
      };
      const src = await spec.source();
      if (src instanceof Uint8Array) put(src);
      else {
        const r = src.getReader();
        for (;;) {
          const { done, value } = await untilStalled(r.read(), `OPFS copy of '${spec.path}'`, () => void r.cancel().catch(() => undefined), spec.stallMs);
          if (done) break;
          put(value);
        }
      }
      handle.flush();
      const sha256 = hash.hex();
      if (at !== spec.size || sha256 !== spec.sha256) {
        handle.truncate(0);
        throw new TinyLlamaError('E_CORRUPT', `bundle file '${spec.path}': checksum failed (${at} bytes, sha256 ${sha256}; the manifest says ${spec.size}, ${spec.sha256})`);
      }
      for await (const key of (dir as unknown as { keys(): AsyncIterable<string> }).keys()) {
        if (key.startsWith(prefix) && key !== name) await dir.removeEntry(key).catch(() => undefined);
      }
    }
  } catch (e) {
    handle.close();
    throw e;
  }
  let open = true;
  return {
    size: spec.size,
    kind: 'opfs',
    async read(offset, length) {
      if (!open) throw new TinyLlamaError('E_IO', `bundle file '${spec.path}': read after close`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const n = handle.read(out.subarray(done), { at: offset + done });
        if (n <= 0) break;
        done += n;
      }
      return done === length ? out : out.subarray(0, done);
    },
    async close() {
      if (!open) return;
      open = false;
      handle.close();
    },
  };
}

/** Deletes the demo's OPFS files (with the cache). */
export async function clearOpfsFiles(): Promise<void> {
  if (typeof navigator === 'undefined' || typeof navigator.storage?.getDirectory !== 'function') return;
  try {
    await (await navigator.storage.getDirectory()).removeEntry(OPFS_DIR, { recursive: true });
  } catch {
    // nothing stored, or no OPFS
  }
}
