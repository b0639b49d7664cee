/**
 * Reads the files of a chunked bundle (`model_manifest.json`, see docs/bundles.md) over HTTP with
 * progress, verifying each file's size and SHA-256 (SubtleCrypto) against the manifest before it is
 * used or cached. Verified files are kept in the Cache API under a key holding their sha256, so a
 * rebuilt bundle at the same URL downloads only the files that changed.
 * @packageDocumentation
 */
import { BUNDLE_MANIFEST_FILE, TinyLlamaError, parseBundleManifest, type BundleFile, type BundleManifest, type ByteRangeReader } from '@tinyllama/core';
import { download, openCache, store, streamInto, StallError, untilStalled, type ByteStaging, type FetchModelOptions } from './model-files.js';
import { openOpfsFile } from './opfs-file.js';
import { Sha256 } from './sha256.js';

export type { ByteStaging } from './model-files.js';

/**
 * Fetches and parses `baseUrl`'s `model_manifest.json` (bypassing the HTTP cache), or resolves
 * undefined when the server has none (the URL is then a plain built model directory).
 * @throws `E_IO` on network failure, `E_CONFIG` for an invalid manifest.
 */
export async function fetchBundleManifest(baseUrl: string, signal?: AbortSignal): Promise<BundleManifest | undefined> {
  const url = new URL(BUNDLE_MANIFEST_FILE, baseUrl).href;
  let res: Response;
  try {
    res = await fetch(url, { cache: 'no-store', signal });
  } catch (e) {
    throw new TinyLlamaError('E_IO', `cannot fetch '${url}': ${(e as Error).message}`, { cause: e });
  }
  // A dev server's SPA fallback answers a missing file with index.html: not a manifest either.
  if (!res.ok || (res.headers.get('content-type') ?? '').includes('text/html')) return undefined;
  return parseBundleManifest(await res.text(), url);
}

/** Lower-case hex SHA-256 of `bytes` (SubtleCrypto). */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>));
  let hex = '';
  for (const b of digest) hex += b.toString(16).padStart(2, '0');
  return hex;
}

/**
 * Checks `bytes` against a manifest entry: size first, then SHA-256.
 * @throws `E_CORRUPT`: `bundle file 'NAME': checksum failed (...)`.
 */
export async function verifyBundleFile(file: BundleFile, bytes: Uint8Array): Promise<void> {
  if (bytes.length !== file.size) {
    throw new TinyLlamaError('E_CORRUPT', `bundle file '${file.path}': checksum failed (size ${bytes.length} bytes, the manifest says ${file.size})`);
  }
  const actual = await sha256Hex(bytes);
  if (actual !== file.sha256) {
    throw new TinyLlamaError('E_CORRUPT', `bundle file '${file.path}': checksum failed (sha256 ${actual}, the manifest says ${file.sha256})`);
  }
}

/** Verified access to a bundle's files. */
export interface BundleFileReader {
  readonly baseUrl: string;
  readonly manifest: BundleManifest;
  /** Files read from the cache so far (each name once). */
  readonly cachedFiles: readonly string[];
  /** Files that could not be cached, with the reason. */
  readonly cacheFailures: readonly string[];
  /** Files whose read from the cache stalled and was retried (see `StallError`). */
  readonly stalledReads: readonly string[];
  /** Bytes of `path` (cache or network), verified against the manifest. */
  read(path: string): Promise<Uint8Array>;
  /**
   * Like `read`, but the bytes are written into `staging.alloc(size)` (streamed, no whole-file JS
   * copy) and checked with `staging.sha256`; the caller releases the returned view.
   */
  readStaged(path: string, staging: ByteStaging): Promise<Uint8Array>;
  /**
   * Random access to `path` without holding it in memory, where files may be stored (the Cache API is
   * in use): in a worker with OPFS, a copy in the origin private file system (written from the cache
   * or a download, verified by SHA-256 on every open, read through a synchronous access handle);
   * elsewhere the file is brought into the Cache API (downloaded and verified when missing), its cached
   * copy is verified once by streaming it through SHA-256, and reads slice the cached Blob (on disk in
   * browsers). Undefined without the Cache API.
   */
  rangeReader(path: string): Promise<ByteRangeReader | undefined>;
}

/** Size and SHA-256 of a stream, read in pieces (nothing kept). */
async function hashStream(body: ReadableStream<Uint8Array>): Promise<{ size: number; sha256: string }> {
  const hash = new Sha256();
  let size = 0;
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    hash.update(value);
    size += value.length;
  }
  return { size, sha256: hash.hex() };
}

/** Creates a {@link BundleFileReader} for a parsed manifest at `baseUrl` (absolute, ending in `/`). */
export async function bundleFileReader(baseUrl: string, manifest: BundleManifest, options: FetchModelOptions = {}): Promise<BundleFileReader> {
  const cache = options.useCache === false ? undefined : await openCache();
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const cachedFiles: string[] = [];
  const cacheFailures: string[] = [];
  const stalledReads: string[] = [];
  const note = (list: string[], item: string): void => {
    if (!list.includes(item)) list.push(item);
  };
  /** A read from the cache, run again once (`retry` true) when it stalls. */
  const retryOnStall = async <T>(path: string, attempt: (retry: boolean) => Promise<T>): Promise<T> => {
    try {
      return await attempt(false);
    } catch (e) {
      if (!(e instanceof StallError)) throw e;
      note(stalledReads, path);
      return await attempt(true);
    }
  };
  const stallMs = options.stallMs;
  /** The cached response for `key` (a lookup that stalls is an error, not a hang). */
  const match = (key: string, path: string): Promise<Response | undefined> => untilStalled(cache!.match(key), `cache lookup of '${path}'`, undefined, stallMs);
  const fileOf = (path: string): BundleFile => {
    const file = byPath.get(path);
    if (!file) throw new TinyLlamaError('E_CONFIG', `bundle manifest of '${baseUrl}' does not list '${path}'`);
    return file;
  };
  const cacheKey = (path: string): { url: string; key: string; file: BundleFile } => {
    const file = fileOf(path);
    const url = new URL(path, baseUrl).href;
    return { url, key: `${url}?tinyllama-sha256=${file.sha256}`, file };
  };
  const reader: BundleFileReader = {
    baseUrl,
    manifest,
    cachedFiles,
    cacheFailures,
    stalledReads,
    async rangeReader(path) {
      const { url, key, file } = cacheKey(path);
      if (!cache) return undefined;
      // OPFS first: synchronous reads in microseconds (a Blob slice is a round trip per read)
      const opfs = await openOpfsFile({
        path,
        size: file.size,
        sha256: file.sha256,
        source: async () => {
          const cached = await match(key, path);
          if (cached?.body) {
            note(cachedFiles, path);
            return cached.body;
          }
          return (await download(url, path, false, options))!;
        },
        stallMs,
      });
      if (opfs) {
        options.onProgress?.({ file: path, loaded: file.size, total: file.size, fromCache: true });
        return opfs;
      }
      let hit = await match(key, path);
      if (!hit) {
        await reader.read(path); // downloads, verifies and stores it (the bytes are dropped)
        hit = await match(key, path);
        if (!hit) return undefined; // could not be cached (quota): the caller loads the file instead
      } else {
        options.onProgress?.({ file: path, loaded: file.size, total: file.size, fromCache: true });
        note(cachedFiles, path);
      }
      // the cached copy is checked once (storage is not trusted); the Blob it yields is immutable
      const blob = await hit.blob();
      const { size, sha256 } = await hashStream(blob.stream());
      if (size !== file.size || sha256 !== file.sha256) {
        await cache.delete(key);
        throw new TinyLlamaError('E_CORRUPT', `bundle file '${path}': checksum failed (cached copy: ${size} bytes, sha256 ${sha256}; the manifest says ${file.size}, ${file.sha256})`);
      }
      let open: Blob | undefined = blob;
      return {
        size,
        kind: 'cache',
        async read(offset, length) {
          if (!open) throw new TinyLlamaError('E_IO', `bundle file '${path}': read after close`);
          return new Uint8Array(await open.slice(offset, offset + length).arrayBuffer());
        },
        async close() {
          open = undefined;
        },
      };
    },
    async readStaged(path, staging) {
      const { url, key, file } = cacheKey(path);
      const hit = cache ? await match(key, path) : undefined;
      let view: Uint8Array | undefined;
      const alloc = (n: number): Uint8Array => (view = staging.alloc(n));
      try {
        let bytes: Uint8Array;
        if (hit?.body) {
          const what = `bundle file '${path}'`;
          const target = alloc(file.size);
          const onBytes = (loaded: number): void => options.onProgress?.({ file: path, loaded, total: file.size, fromCache: true });
          // a retry reads a fresh response with the default reader (the first read uses a BYOB one)
          bytes = await retryOnStall(path, async (retry) => {
            const body = retry ? (await match(key, path))?.body : hit.body;
            if (!body) throw new TinyLlamaError('E_IO', `${what}: no longer in the cache`);
            return streamInto(body, target, what, { byob: !retry, onBytes, stallMs });
          });
          onBytes(bytes.length);
        } else {
          // a content-length other than the manifest's (e.g. a compressed transfer): plain buffer, copied after
          bytes = (await download(url, path, false, options, (n) => (n === file.size ? alloc(n) : new Uint8Array(n))))!;
        }
        const inPlace = view !== undefined && bytes.buffer === view.buffer && bytes.byteOffset === view.byteOffset;
        if (!inPlace || bytes.length !== file.size) {
          // no or a wrong content-length: the body came as JS chunks
          if (bytes.length !== file.size) throw new TinyLlamaError('E_CORRUPT', `bundle file '${path}': checksum failed (size ${bytes.length} bytes, the manifest says ${file.size})`);
          if (view) staging.release(view);
          view = undefined;
          alloc(bytes.length).set(bytes);
        }
        const staged = view!.subarray(0, file.size);
        const actual = staging.sha256(staged);
        if (actual !== file.sha256) throw new TinyLlamaError('E_CORRUPT', `bundle file '${path}': checksum failed (sha256 ${actual}, the manifest says ${file.sha256})`);
        if (hit) note(cachedFiles, path);
        else if (cache) {
          const failure = await store(cache, url, key, staged);
          if (failure) note(cacheFailures, `${path}: ${failure}`);
        }
        return staged;
      } catch (e) {
        if (view) staging.release(view);
        throw e;
      }
    },
    async read(path) {
      const { url, key, file } = cacheKey(path);
      const hit = cache ? await match(key, path) : undefined;
      if (hit) {
        const bytes = await retryOnStall(path, async (retry) => {
          const res = retry ? await match(key, path) : hit;
          if (!res) throw new TinyLlamaError('E_IO', `bundle file '${path}': no longer in the cache`);
          return new Uint8Array(await untilStalled(res.arrayBuffer(), `bundle file '${path}'`, undefined, stallMs));
        });
        options.onProgress?.({ file: path, loaded: bytes.length, total: bytes.length, fromCache: true });
        await verifyBundleFile(file, bytes); // cached bytes are checked again: storage is not trusted
        note(cachedFiles, path);
        return bytes;
      }
      const bytes = (await download(url, path, false, options))!;
      await verifyBundleFile(file, bytes);
      const failure = cache ? await store(cache, url, key, bytes) : undefined;
      if (failure) note(cacheFailures, `${path}: ${failure}`);
      return bytes;
    },
  };
  return reader;
}

