import { createHash } from 'node:crypto';
import { open, readFile, stat } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { DecoderConfig } from '../architecture.js';
import { modelFacts, type Backend, type InferenceSession } from '../backend.js';
import { BUNDLE_MANIFEST_FILE, parseBundleManifest, type BundleGraph, type BundleManifest } from '../bundle.js';
import { ChunkedRunner } from '../chunked-runner.js';
import { autoKvCacheMode, type KvCacheMode } from '../decoder.js';
import { EmbeddingLookupSession, type ByteRangeReader } from '../embedding-lookup.js';
import { TinyLlamaError } from '../errors.js';
import { TextGenerator } from '../generate.js';
import type { Runtime } from '../runtime.js';
import type { Tokenizer } from '../tokenizer.js';
import type { ProgressCallback } from '../weights.js';
import { directoryBundleStore, httpBundleStore, isUrl, type BundleStore } from './bundle-store.js';
import { defaultCacheDir } from './model-dir.js';

/** Options of {@link loadBundle}. */
export interface LoadBundleOptions {
  /** Backend names to try in order (default: registry priority). */
  readonly backend?: string | readonly string[];
  /** Intra-op threads (default: backend's). */
  readonly threads?: number;
  /** Streaming: at most this many chunk sessions loaded at once (default: all, i.e. resident). */
  readonly maxResidentChunks?: number;
  /** Streaming: budget in MB for loaded weights (head + loaded chunks, and the embed graph unless read on demand; from file sizes). */
  readonly memoryLimitMB?: number;
  /** Create the next chunk's session while the current one runs (default true when two chunks fit). */
  readonly prefetch?: boolean;
  /** Where files of an HTTP bundle are downloaded (default `<cache>/bundles/<hash of URL + manifest>`). */
  readonly cacheDir?: string;
  readonly onProgress?: ProgressCallback;
  /** `fetch` for HTTP bundles (default the global one). */
  readonly fetch?: typeof fetch;
  /**
   * KV cache mode (see `KvCacheMode`). `auto` (default): `shared` when the backend keeps tensors in its
   * own memory (`tensorAllocator`, e.g. wasm-kernels) and the bundle's attention supports it, else
   * `concat`.
   */
  readonly kvCache?: 'auto' | KvCacheMode;
  /**
   * Read the embedding table's rows from its (verified) file as tokens need them instead of loading
   * the embed graph, when the architecture can locate the table (`embedLookup`). Default true.
   */
  readonly embeddingOnDemand?: boolean;
  /** Longest step of the runner, in tokens (default `DEFAULT_PREFILL_CHUNK`; 0: a prompt runs at once). */
  readonly prefillChunk?: number;
}

/** A {@link ByteRangeReader} over a local file (positioned reads on one open handle). */
export async function fileRangeReader(path: string): Promise<ByteRangeReader> {
  const handle = await open(path, 'r');
  let closed = false;
  const { size } = await handle.stat();
  return {
    size,
    kind: 'file',
    async read(offset, length) {
      if (closed) throw new TinyLlamaError('E_IO', `'${path}': read after close`);
      const out = new Uint8Array(length);
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(out, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done === length ? out : out.subarray(0, done);
    },
    async close() {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
}

/** A bundle ready to generate (the fields of `LoadedModel` that do not assume one session). */
export interface LoadedBundle {
  /** The directory or base URL. */
  readonly dir: string;
  readonly manifest: BundleManifest;
  readonly config: DecoderConfig;
  readonly rawConfig: Readonly<Record<string, unknown>>;
  readonly tokenizer: Tokenizer;
  readonly backend: Backend;
  readonly attention: string;
  /** How the KV cache crosses the chunk sessions. */
  readonly kvCache: KvCacheMode;
  readonly runner: ChunkedRunner;
  readonly generator: TextGenerator;
  /** Milliseconds spent in each loading phase. */
  readonly timings: { readonly totalMs: number; readonly sessionMs: number };
  release(): Promise<void>;
}

/** True when `source` is an HTTP(S) URL or a directory holding `model_manifest.json`. */
export async function isBundle(source: string): Promise<boolean> {
  if (isUrl(source)) return true;
  try {
    return (await stat(join(source, BUNDLE_MANIFEST_FILE))).isFile();
  } catch {
    return false;
  }
}

/**
 * Loads a chunked bundle from a directory or an HTTP(S) base URL. Every file is checked against the
 * manifest (size, sha256) before use; a mismatch is `E_CORRUPT` naming the file. Without limits every
 * chunk session is resident; `maxResidentChunks` / `memoryLimitMB` switch to streaming (see
 * {@link ChunkedRunner}).
 */
export async function loadBundle(rt: Runtime, source: string, options: LoadBundleOptions = {}): Promise<LoadedBundle> {
  const t0 = performance.now();
  let store: BundleStore;
  let manifestText: string;
  if (isUrl(source)) {
    const probe = httpBundleStore(source, { cacheDir: '.', fetch: options.fetch });
    manifestText = await probe.readManifest();
    const key = createHash('sha256').update(`${probe.location}\n${manifestText}`).digest('hex').slice(0, 16);
    store = httpBundleStore(source, { cacheDir: options.cacheDir ?? join(defaultCacheDir(), 'bundles', key), onProgress: options.onProgress, fetch: options.fetch });
  } else {
    store = directoryBundleStore(source);
    manifestText = await store.readManifest();
  }
  const manifest = parseBundleManifest(manifestText, `${store.location}${isUrl(source) ? '' : '/'}${BUNDLE_MANIFEST_FILE}`);
  const byPath = new Map(manifest.files.map((f) => [f.path, f]));
  const local = async (path: string): Promise<string> => {
    const f = byPath.get(path);
    if (!f) throw new TinyLlamaError('E_CONFIG', `bundle manifest of '${store.location}' does not list '${path}'`);
    return store.localPath(f);
  };
  for (const f of manifest.files) if (f.role === 'config' || f.role === 'tokenizer' || f.role === 'metadata') await store.localPath(f);

  const rawConfig = JSON.parse(await readFile(await local('config.json'), 'utf8')) as Record<string, unknown>;
  const arch = rt.findArchitecture(rawConfig);
  const config = arch.normalizeConfig(rawConfig);
  const smallFiles = manifest.files.filter((f) => f.role !== 'weights' && !f.path.endsWith('.onnx')).map((f) => f.path);
  const tokenizer = await rt.findTokenizerLoader(smallFiles).loadFromDir(store.localDir);
  const hints = options.backend === undefined ? [] : typeof options.backend === 'string' ? [options.backend] : options.backend;
  const backend = await rt.backends.resolve(hints, modelFacts(manifest.quantization));

  /** Verifies every file of a graph, then creates its session (nothing is loaded on a mismatch). */
  const openGraph = async (g: BundleGraph): Promise<InferenceSession> => {
    let modelPath = '';
    for (const f of g.files) {
      const p = await local(f);
      if (f === g.path) modelPath = p;
    }
    // Sessions run one after another: threads spinning after one session's run would slow the next.
    return backend.createSession({ kind: 'path', path: modelPath }, { threads: options.threads, spinWait: false });
  };
  /** The embed graph as reads of its table file (see {@link EmbeddingLookupSession}), when the architecture can say where it is. */
  const openEmbedLookup = async (g: BundleGraph): Promise<InferenceSession | undefined> => {
    const lookup = arch.embedLookup?.(await readFile(await local(g.path)));
    if (!lookup) return undefined;
    const path = posix.join(posix.dirname(g.path), lookup.file);
    if (!g.files.includes(path)) return undefined;
    for (const f of g.files) await local(f);
    const reader = await fileRangeReader(await local(path));
    try {
      return new EmbeddingLookupSession(lookup.layout, reader, path, lookup.dequantize);
    } catch (e) {
      await reader.close();
      throw e;
    }
  };
  const openAny = async (g: BundleGraph): Promise<InferenceSession> =>
    (g === manifest.graphs.embed && options.embeddingOnDemand !== false ? await openEmbedLookup(g) : undefined) ?? (await openGraph(g));
  const want = options.kvCache ?? 'auto';
  const sharedOk = rt.attention.has(manifest.attention) && rt.attention.get(manifest.attention).sharedKvCache === true;
  if (want === 'shared' && !sharedOk) {
    throw new TinyLlamaError('E_UNSUPPORTED', `the shared KV cache needs an attention strategy that supports it (e.g. 'gqa'; this bundle: '${manifest.attention}')`);
  }
  const kvCache: KvCacheMode = want === 'auto' ? autoKvCacheMode(sharedOk, backend) : want;
  const tSession = performance.now();
  const runner = await ChunkedRunner.fromManifest(manifest, openAny, config, {
    maxResidentChunks: options.maxResidentChunks,
    memoryLimitMB: options.memoryLimitMB,
    prefetch: options.prefetch,
    kvCache,
    allocator: backend.tensorAllocator,
    prefillChunk: options.prefillChunk,
  });
  const sessionMs = performance.now() - tSession;
  const generator = new TextGenerator(runner, tokenizer, config.eosTokenIds);
  return {
    dir: source,
    manifest,
    config,
    rawConfig,
    tokenizer,
    backend,
    attention: manifest.attention,
    kvCache,
    runner,
    generator,
    timings: { totalMs: performance.now() - t0, sessionMs },
    release: () => runner.release(),
  };
}
