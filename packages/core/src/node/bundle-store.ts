import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { BUNDLE_MANIFEST_FILE, type BundleFile } from '../bundle.js';
import { TinyLlamaError } from '../errors.js';
import type { ProgressCallback } from '../weights.js';

/** Lower-case hex SHA-256 of a file, streamed. */
export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** True when `source` is an `http:` or `https:` URL. */
export function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

function checksumError(file: string, detail: string): TinyLlamaError {
  return new TinyLlamaError('E_CORRUPT', `bundle file '${file}': checksum failed (${detail})`);
}

/**
 * Where a bundle's files come from; every file is checked against its manifest entry (size and
 * sha256) before a local path to it is handed out.
 */
export interface BundleStore {
  /** The directory or base URL, for messages. */
  readonly location: string;
  /** The manifest's text. */
  readManifest(): Promise<string>;
  /** A local path to a verified copy of `file` (E_CORRUPT when size or checksum differ). */
  localPath(file: BundleFile): Promise<string>;
  /** The local directory holding verified files (for loaders that read a directory). */
  readonly localDir: string;
}

/**
 * Verification of local files: the first use hashes the whole file; later uses re-check size and
 * mtime and hash again whenever either changed.
 */
class Verifier {
  readonly #verified = new Map<string, { size: number; mtimeMs: number }>();

  async check(path: string, file: BundleFile): Promise<void> {
    let s;
    try {
      s = await stat(path);
    } catch (e) {
      throw new TinyLlamaError('E_NOT_FOUND', `bundle file '${file.path}' is missing (${path})`, { cause: e });
    }
    if (s.size !== file.size) {
      this.#verified.delete(path);
      throw checksumError(file.path, `${s.size} bytes, the manifest says ${file.size}: truncated or replaced`);
    }
    const seen = this.#verified.get(path);
    if (seen && seen.size === s.size && seen.mtimeMs === s.mtimeMs) return;
    const got = await sha256File(path);
    if (got !== file.sha256) throw checksumError(file.path, `sha256 ${got}, the manifest says ${file.sha256}`);
    this.#verified.set(path, { size: s.size, mtimeMs: s.mtimeMs });
  }
}

/** A bundle in a local directory. */
export function directoryBundleStore(dir: string): BundleStore {
  const verifier = new Verifier();
  return {
    location: dir,
    localDir: dir,
    async readManifest() {
      try {
        return await readFile(join(dir, BUNDLE_MANIFEST_FILE), 'utf8');
      } catch (e) {
        throw new TinyLlamaError('E_NOT_FOUND', `no ${BUNDLE_MANIFEST_FILE} in '${dir}'`, { cause: e });
      }
    },
    async localPath(file) {
      const p = join(dir, file.path);
      await verifier.check(p, file);
      return p;
    },
  };
}

/** Options of {@link httpBundleStore}. */
export interface HttpBundleStoreOptions {
  /** Local directory the files are downloaded to (verified, then renamed into place). */
  readonly cacheDir: string;
  readonly onProgress?: ProgressCallback;
  /** `fetch` implementation (default the global one). */
  readonly fetch?: typeof fetch;
}

/**
 * A bundle served over HTTP(S) under `baseUrl`: each file is downloaded on first use with progress,
 * hashed while streaming, written to `cacheDir` under a temporary name and renamed into place only when
 * size and sha256 match (onnxruntime-node reads external weights from files, so files are cached on
 * disk). Files already in the cache are verified like a directory's.
 */
export function httpBundleStore(baseUrl: string, options: HttpBundleStoreOptions): BundleStore {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  const doFetch = options.fetch ?? fetch;
  const dir = resolve(options.cacheDir);
  const verifier = new Verifier();
  const pending = new Map<string, Promise<string>>();

  async function get(url: string): Promise<Response> {
    let res: Response;
    try {
      res = await doFetch(url);
    } catch (e) {
      throw new TinyLlamaError('E_IO', `could not fetch '${url}': ${(e as Error).message}`, { cause: e });
    }
    if (!res.ok) throw new TinyLlamaError(res.status === 404 ? 'E_NOT_FOUND' : 'E_IO', `fetching '${url}' failed: HTTP ${res.status}`);
    return res;
  }

  async function download(file: BundleFile, target: string): Promise<void> {
    const url = new URL(file.path, base).href;
    const res = await get(url);
    const tmp = `${target}.part-${process.pid}-${Date.now()}`;
    const h = createHash('sha256');
    let done = 0;
    const fh = await open(tmp, 'w');
    try {
      if (!res.body) throw new TinyLlamaError('E_IO', `'${url}' returned no body`);
      const reader = res.body.getReader();
      for (;;) {
        const { done: end, value: chunk } = await reader.read();
        if (end) break;
        h.update(chunk);
        await fh.write(chunk);
        done += chunk.byteLength;
        options.onProgress?.({ phase: 'download', done, total: file.size, unit: 'bytes', item: file.path });
      }
      await fh.close();
      if (done !== file.size) throw checksumError(file.path, `downloaded ${done} bytes, the manifest says ${file.size}: truncated`);
      const got = h.digest('hex');
      if (got !== file.sha256) throw checksumError(file.path, `sha256 ${got}, the manifest says ${file.sha256}`);
      await rename(tmp, target);
    } catch (e) {
      await fh.close().catch(() => undefined);
      await rm(tmp, { force: true });
      throw e;
    }
  }

  return {
    location: base,
    localDir: dir,
    async readManifest() {
      return (await get(new URL(BUNDLE_MANIFEST_FILE, base).href)).text();
    },
    async localPath(file) {
      const target = join(dir, file.path);
      let p = pending.get(file.path);
      if (!p) {
        p = (async () => {
          await mkdir(dir, { recursive: true });
          try {
            await verifier.check(target, file);
            return target;
          } catch (e) {
            if (!(e instanceof TinyLlamaError)) throw e;
            await rm(target, { force: true }); // missing or stale: fetch it again
          }
          await download(file, target);
          await verifier.check(target, file);
          return target;
        })();
        pending.set(file.path, p);
        p.catch(() => pending.delete(file.path));
      }
      await p;
      await verifier.check(target, file); // cheap once hashed; catches later changes
      return target;
    },
  };
}
