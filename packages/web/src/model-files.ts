/**
 * Downloads a built model directory over HTTP with progress, keeping the files in the Cache API so a
 * reload reads them locally. Cache entries are versioned by the directory's `tinyllama-build.json`
 * (or `config.json`) text, which is always fetched fresh: a rebuilt model at the same URL is
 * downloaded again.
 * @packageDocumentation
 */
import { TinyLlamaError, concatBytes } from '@tinyllama/core';
import { clearOpfsFiles } from './opfs-file.js';
import { StallError, STALL_MS, untilStalled } from './stall.js';

export { StallError, STALL_MS, untilStalled };

/** The files a built model directory must have. */
export const REQUIRED_FILES = ['config.json', 'tokenizer.model', 'model.onnx'] as const;
/** Optional: the external weights of `model.onnx`. */
export const EXTERNAL_DATA_FILE = 'model.onnx.data';
/** Written by `tinyllama build`; its text versions the cache. */
export const BUILD_INFO_FILE = 'tinyllama-build.json';
/** Cache API storage name. */
export const CACHE_NAME = 'tinyllama-models-v1';

/** Progress of one file. */
export interface FileProgress {
  readonly file: string;
  readonly loaded: number;
  /** 0 when unknown. */
  readonly total: number;
  /** True when the file came from the Cache API instead of the network. */
  readonly fromCache: boolean;
}

/**
 * Where large files can be written instead of fresh JS buffers: the wasm-kernels backend stages them
 * straight in its memory (`WasmKernels.stage`), so a 45 MB layer chunk is not also held by the JS heap
 * until the next garbage collection. The bundle loader then hands each staged file to the session
 * (`ExternalDataFile.transfer`), which keeps the weights where they landed and frees the file itself.
 */
export interface ByteStaging {
  /** A writable view of `size` bytes. */
  alloc(size: number): Uint8Array;
  /** SHA-256 (hex) of a view from `alloc` (SubtleCrypto does not read shared memory). */
  sha256(view: Uint8Array): string;
  /** Frees a view from `alloc`. */
  release(view: Uint8Array): void;
}

/** Options of {@link fetchModelFiles}. */
export interface FetchModelOptions {
  /** Use the Cache API when the context has it (default true). */
  readonly useCache?: boolean;
  readonly onProgress?: (p: FileProgress) => void;
  readonly signal?: AbortSignal;
  /**
   * Milliseconds a read from the Cache API may bring no data before it is abandoned (a bundle reader
   * then retries once; downloads get three times as long). Default {@link STALL_MS}.
   */
  readonly stallMs?: number;
}

/** The bytes of a model directory's files by name, and which came from the cache. */
export interface ModelFiles {
  readonly files: ReadonlyMap<string, Uint8Array>;
  readonly cachedFiles: readonly string[];
  /** Files that could not be stored in the cache, with the reason (e.g. quota); they download again next time. */
  readonly cacheFailures: readonly string[];
  /** The graph's attention strategy from `tinyllama-build.json` (e.g. `gqa`), when the directory has one. */
  readonly attention?: string;
}

/**
 * Fetches `config.json`, `tokenizer.model`, `model.onnx` and (when present) `model.onnx.data` from
 * `baseUrl` (absolute, ending in `/`).
 * @throws `E_NOT_FOUND` for a missing required file, `E_IO` for other HTTP or network failures.
 */
export async function fetchModelFiles(baseUrl: string, options: FetchModelOptions = {}): Promise<ModelFiles> {
  const cache = options.useCache === false ? undefined : await openCache();
  const { version, attention } = await cacheVersion(baseUrl, options.signal);
  const files = new Map<string, Uint8Array>();
  const cachedFiles: string[] = [];
  const cacheFailures: string[] = [];
  for (const name of [...REQUIRED_FILES, EXTERNAL_DATA_FILE]) {
    const url = new URL(name, baseUrl).href;
    const key = `${url}?tinyllama-version=${version}`;
    const hit = cache ? await cache.match(key) : undefined;
    if (hit) {
      const bytes = new Uint8Array(await hit.arrayBuffer());
      options.onProgress?.({ file: name, loaded: bytes.length, total: bytes.length, fromCache: true });
      files.set(name, bytes);
      cachedFiles.push(name);
      continue;
    }
    const bytes = await download(url, name, name === EXTERNAL_DATA_FILE, options);
    if (!bytes) continue; // optional file absent
    files.set(name, bytes);
    const failure = cache ? await store(cache, url, key, bytes) : undefined;
    if (failure) cacheFailures.push(`${name}: ${failure}`);
  }
  return { files, cachedFiles, cacheFailures, attention };
}

/**
 * Deletes every cached model file (all URLs and versions), in the Cache API and in the origin private
 * file system. Resolves false when there is no Cache API.
 */
export async function clearModelCache(): Promise<boolean> {
  await clearOpfsFiles();
  if (typeof caches === 'undefined') return false;
  return caches.delete(CACHE_NAME);
}

/** The demo's Cache API storage, or undefined when the context has none (not a secure context, storage disabled). */
export async function openCache(): Promise<Cache | undefined> {
  if (typeof caches === 'undefined') return undefined; // not a secure context
  try {
    return await caches.open(CACHE_NAME);
  } catch {
    return undefined; // e.g. storage disabled
  }
}

/**
 * A short hash of the build info (or config) text, which changes whenever the model is rebuilt, and the
 * build info's attention strategy.
 */
async function cacheVersion(baseUrl: string, signal: AbortSignal | undefined): Promise<{ version: string; attention?: string }> {
  const info = await fetchText(new URL(BUILD_INFO_FILE, baseUrl).href, signal);
  if (info !== undefined) {
    let attention: string | undefined;
    try {
      const a = (JSON.parse(info) as { attention?: unknown }).attention;
      if (typeof a === 'string') attention = a;
    } catch {
      // not JSON: only the version matters
    }
    return { version: fnv1a(info), attention };
  }
  const configUrl = new URL('config.json', baseUrl).href;
  const config = await fetchText(configUrl, signal);
  if (config === undefined) {
    throw new TinyLlamaError('E_NOT_FOUND', `'${configUrl}' was not found: is '${baseUrl}' a built model directory?`);
  }
  return { version: fnv1a(config) };
}

/** The text of `url` bypassing the HTTP cache, or undefined on an HTTP error status. */
async function fetchText(url: string, signal: AbortSignal | undefined): Promise<string | undefined> {
  try {
    const res = await fetch(url, { cache: 'no-store', signal });
    return res.ok ? await res.text() : undefined;
  } catch (e) {
    throw new TinyLlamaError('E_IO', `cannot fetch '${url}': ${(e as Error).message}`, { cause: e });
  }
}

/**
 * Downloads `url` with progress reported under `name`; undefined when `optional` and the server
 * answered 404.
 * @throws `E_NOT_FOUND` / `E_IO` naming the URL.
 */
export async function download(
  url: string,
  name: string,
  optional: boolean,
  options: FetchModelOptions,
  /** Where to write a body of known length (default: a fresh buffer), e.g. a view into wasm memory. */
  into?: (length: number) => Uint8Array,
): Promise<Uint8Array | undefined> {
  let res: Response;
  try {
    res = await fetch(url, { signal: options.signal });
  } catch (e) {
    throw new TinyLlamaError('E_IO', `cannot fetch '${url}': ${(e as Error).message}`, { cause: e });
  }
  if (res.status === 404 && optional) return undefined;
  if (!res.ok) {
    throw new TinyLlamaError(res.status === 404 ? 'E_NOT_FOUND' : 'E_IO', `'${url}' answered HTTP ${res.status}`);
  }
  const total = Number(res.headers.get('content-length') ?? 0) || 0;
  const report = (loaded: number): void => options.onProgress?.({ file: name, loaded, total, fromCache: false });
  report(0);
  if (!res.body) {
    const bytes = new Uint8Array(await res.arrayBuffer());
    report(bytes.length);
    return bytes;
  }
  // With a known length, write into one buffer (no second copy of a large weights file).
  let buffer = total > 0 ? (into ? into(total) : new Uint8Array(total)) : undefined;
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  let lastReport = 0;
  try {
    await forEachChunk(res.body, (value) => {
      if (buffer && loaded + value.length <= buffer.length) {
        buffer.set(value, loaded);
      } else {
        if (buffer) chunks.push(buffer.subarray(0, loaded)); // longer than announced: fall back to chunks
        buffer = undefined;
        chunks.push(value.slice()); // the chunk's buffer is reused by the next read
      }
      loaded += value.length;
      if (loaded - lastReport >= 1 << 20) {
        report(loaded);
        lastReport = loaded;
      }
    }, `download of '${url}'`, true, 3 * (options.stallMs ?? STALL_MS)); // a slow network may pause longer than storage
  } catch (e) {
    throw new TinyLlamaError('E_IO', `download of '${url}' failed after ${loaded} bytes: ${(e as Error).message}`, { cause: e });
  }
  report(loaded);
  return buffer ? buffer.subarray(0, loaded) : concatBytes(chunks, loaded);
}

/**
 * Stores a file under its versioned key (`url` + `?` + version) and drops older versions of the same
 * URL (keys starting with `url?`). Returns why it could not be stored (the model still runs; it is
 * only downloaded again next time).
 */
export async function store(cache: Cache, url: string, key: string, bytes: Uint8Array): Promise<string | undefined> {
  try {
    for (const old of await cache.keys()) {
      if (old.url.startsWith(`${url}?`) && old.url !== key) await cache.delete(old);
    }
    // Responses cannot be built on shared memory (files staged in wasm memory): copy 4 MB at a time into a Blob
    const body =
      typeof SharedArrayBuffer !== 'undefined' && bytes.buffer instanceof SharedArrayBuffer
        ? new Blob(Array.from({ length: Math.ceil(bytes.length / (4 << 20)) }, (_, i) => bytes.slice(i * (4 << 20), (i + 1) * (4 << 20)) as Uint8Array<ArrayBuffer>))
        : (bytes as Uint8Array<ArrayBuffer>);
    await cache.put(key, new Response(body, { headers: { 'content-type': 'application/octet-stream', 'content-length': String(bytes.length) } }));
  } catch (e) {
    return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  }
  return undefined;
}

/** FNV-1a 32-bit hash as 8 hex digits. */
function fnv1a(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/**
 * Streams a body into `view` (exactly its length); returns the filled view. `byob: false` reads with
 * the default reader; `onBytes` hears the bytes written so far every 4 MB.
 * @throws `E_CORRUPT` naming `what` (e.g. `bundle file 'x'`) on another length, {@link StallError}
 * when the stream stalls.
 */
export async function streamInto(
  body: ReadableStream<Uint8Array>,
  view: Uint8Array,
  what: string,
  options: { readonly byob?: boolean; readonly onBytes?: (loaded: number) => void; readonly stallMs?: number } = {},
): Promise<Uint8Array> {
  let at = 0;
  let reported = 0;
  await forEachChunk(
    body,
    (value) => {
      if (at + value.length > view.length) throw new TinyLlamaError('E_CORRUPT', `${what}: checksum failed (longer than the expected ${view.length} bytes)`);
      view.set(value, at);
      at += value.length;
      if (options.onBytes && at - reported >= PROGRESS_STEP) options.onBytes((reported = at));
    },
    what,
    options.byob,
    options.stallMs,
  );
  if (at !== view.length) throw new TinyLlamaError('E_CORRUPT', `${what}: checksum failed (size ${at} bytes, expected ${view.length})`);
  return view;
}

/**
 * Calls `fn` with each chunk of `body`, in order. A byte stream (fetch and Cache API bodies) is read
 * with a BYOB reader into one reused 1 MB buffer, so a 45 MB file leaves no per-chunk garbage behind
 * (the default reader hands out a fresh buffer per chunk, ~100 MB of JS garbage over a bundle's load);
 * `fn` must copy what it keeps before returning. A read that brings nothing for `stallMs` cancels the
 * stream and throws a {@link StallError}.
 */
async function forEachChunk(body: ReadableStream<Uint8Array>, fn: (chunk: Uint8Array) => void, what: string, useByob = true, stallMs = STALL_MS): Promise<void> {
  let byob: ReadableStreamBYOBReader | undefined;
  try {
    byob = useByob ? body.getReader({ mode: 'byob' }) : undefined;
  } catch {
    byob = undefined; // not a byte stream
  }
  if (byob) {
    const reader = byob;
    let buf = new ArrayBuffer(1 << 20);
    for (;;) {
      const { done, value } = await untilStalled(reader.read(new Uint8Array(buf)), what, () => void reader.cancel().catch(() => undefined), stallMs);
      if (value && value.length > 0) fn(value);
      if (done || !value) break;
      buf = value.buffer as ArrayBuffer; // the buffer comes back (transferred) with the chunk
    }
    return;
  }
  const reader = body.getReader();
  for (;;) {
    const { done, value } = await untilStalled(reader.read(), what, () => void reader.cancel().catch(() => undefined), stallMs);
    if (done) break;
    fn(value);
  }
}

/** Bytes between two progress reports of a file streamed from the cache. */
const PROGRESS_STEP = 4 << 20;

