/**
 * Reads the files of a chunked bundle (`model_manifest.json`, see docs/bundles.md) over HTTP with
 * progress, verifying each file's size and SHA-256 (SubtleCrypto) against the manifest before it is
 * used or cached. Verified files are kept in the Cache API under a key holding their sha256, so a
 * rebuilt bundle at the same URL downloads only the files that changed.
 * @packageDocumentation
 */
import { BUNDLE_MANIFEST_FILE, TinyLlamaError, parseBundleManifest, type BundleFile, type BundleManifest } from '@tinyllama/core';
import { download, openCache, store, streamInto, type ByteStaging, type FetchModelOptions } from './model-files.js';

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
  /** Bytes of `path` (cache or network), verified against the manifest. */
  read(path: string): Promise<Uint8Array>;
  /**
   * Like `read`, but the bytes are written into `staging.alloc(size)` (streamed, no whole-file JS
   * copy) and checked with `staging.sha256`; the caller releases the returned view.
   */
  readStaged(path: string, staging: ByteStaging): Promise<Uint8Array>;
}

/** Creates a {@link BundleFileReader} for a parsed manifest at `baseUrl` (absolute, ending in `/`). */
export async function bundleFileReader(baseUrl: string, manifest: BundleManifest, options: FetchModelOptions = {}): Promise<BundleFileReader> {
  const cache = options.useCache === false ? undefined : await openCache();
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const cachedFiles: string[] = [];
  const cacheFailures: string[] = [];
  const note = (list: string[], item: string): void => {
    if (!list.includes(item)) list.push(item);
  };
  const fileOf = (path: string): BundleFile => {
    const file = byPath.get(path);
    if (!file) throw new TinyLlamaError('E_CONFIG', `bundle manifest of '${baseUrl}' does not list '${path}'`);
    return file;
  };
  return {
    baseUrl,
    manifest,
    cachedFiles,
    cacheFailures,
    async readStaged(path, staging) {
      const file = fileOf(path);
      const url = new URL(path, baseUrl).href;
      const key = `${url}?tinyllama-sha256=${file.sha256}`;
      const hit = cache ? await cache.match(key) : undefined;
      let view: Uint8Array | undefined;
      const alloc = (n: number): Uint8Array => (view = staging.alloc(n));
      try {
        let bytes: Uint8Array;
        if (hit?.body) {
          bytes = await streamInto(hit.body, alloc(file.size), `bundle file '${path}'`);
          options.onProgress?.({ file: path, loaded: bytes.length, total: bytes.length, fromCache: true });
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
      const file = fileOf(path);
      const url = new URL(path, baseUrl).href;
      const key = `${url}?tinyllama-sha256=${file.sha256}`;
      const hit = cache ? await cache.match(key) : undefined;
      if (hit) {
        const bytes = new Uint8Array(await hit.arrayBuffer());
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
}

