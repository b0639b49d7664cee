/**
 * Opens a chunked bundle in the browser: verified bytes from {@link bundleFileReader}, sessions
 * created from bytes (external data passed to onnxruntime-web), and core's platform-neutral
 * `ChunkedRunner` (every chunk resident by default; `maxResidentChunks` streams them).
 * @packageDocumentation
 */
import { embedLookupOf, gqaAttention, normalizeLlamaConfig } from '@tinyllama/arch-llama2';
import {
  autoKvCacheMode,
  ChunkedRunner,
  EmbeddingLookupSession,
  TinyLlamaError,
  type Backend,
  type BundleGraph,
  type BundleManifest,
  type DecoderConfig,
  type InferenceSession,
  type Tokenizer,
} from '@tinyllama/core';
import { sentencePieceLoader } from '@tinyllama/tokenizer-sentencepiece';
import { bundleFileReader, type BundleFileReader, type ByteStaging } from './bundle-files.js';
import type { FileProgress } from './model-files.js';

/** Options of {@link openWebBundle}. */
export interface OpenWebBundleOptions {
  /** Use the Cache API (default true). */
  readonly useCache?: boolean;
  /** Streaming: at most this many chunk sessions loaded at once (default: all resident). */
  readonly maxResidentChunks?: number;
  readonly onProgress?: (p: FileProgress) => void;
  /** Write external data files here instead of JS buffers (the wasm-kernels backend's memory). */
  readonly staging?: ByteStaging;
  /**
   * Read the embedding table's rows from the cached file as tokens need them instead of loading the
   * table (default true; needs the Cache API, else the embed graph is loaded as usual). TinyLlama
   * int4: ~35 MB less memory, one row read per token.
   */
  readonly embeddingOnDemand?: boolean;
}

/** An opened bundle. */
export interface WebBundle {
  readonly config: DecoderConfig;
  readonly tokenizer: Tokenizer;
  readonly runner: ChunkedRunner;
  /** The verified file reader (which files came from the cache, which could not be cached). */
  readonly files: BundleFileReader;
}

/**
 * Opens the bundle at `baseUrl` (absolute, ending in `/`) described by `manifest` on `backend` (an
 * initialised onnxruntime-web backend). Every file of a graph is verified before its session is
 * created; a mismatch is `E_CORRUPT` naming the file ("checksum failed").
 */
export async function openWebBundle(baseUrl: string, manifest: BundleManifest, backend: Backend, options: OpenWebBundleOptions = {}): Promise<WebBundle> {
  const files = await bundleFileReader(baseUrl, manifest, { useCache: options.useCache, onProgress: options.onProgress });
  const configFile = manifest.files.find((f) => f.role === 'config' && f.path === 'config.json');
  if (!configFile) throw new TinyLlamaError('E_CONFIG', `bundle manifest of '${baseUrl}' lists no config.json`);
  const raw = JSON.parse(new TextDecoder().decode(await files.read(configFile.path))) as Record<string, unknown>;
  const config = normalizeLlamaConfig(raw);
  const tokenizer = await sentencePieceLoader.loadFromBytes(await files.read(manifest.tokenizer.file));

  /** Reads and verifies every file of a graph, then creates its session from the bytes. */
  const openGraph = async (g: BundleGraph): Promise<InferenceSession> => {
    const staging = options.staging;
    const model = await files.read(g.files[0]!);
    const data: Uint8Array[] = [];
    let handedOver = false;
    try {
      // external data: staged in the backend's memory when it offers that, else JS buffers
      for (const f of g.files.slice(1)) data.push(staging ? await files.readStaged(f, staging) : await files.read(f));
      // staged files pass to the session, which keeps its weights where they are and frees the files
      // with itself (or when it cannot be created)
      handedOver = true;
      return await backend.createSession(
        { kind: 'bytes', bytes: model, externalData: g.files.slice(1).map((path, i) => ({ path, data: data[i]!, transfer: staging !== undefined })) },
        { spinWait: false },
      );
    } finally {
      if (staging && !handedOver) for (const d of data) staging.release(d);
    }
  };
  /** The embed graph as reads of its cached table file, when its shape allows and the cache works. */
  const openEmbedLookup = async (g: BundleGraph): Promise<InferenceSession | undefined> => {
    const lookup = embedLookupOf(await files.read(g.files[0]!));
    if (!lookup) return undefined;
    const dir = g.path.includes('/') ? g.path.slice(0, g.path.lastIndexOf('/') + 1) : '';
    const path = dir + lookup.file;
    if (!g.files.includes(path)) return undefined;
    const reader = await files.rangeReader(path);
    if (!reader) return undefined;
    try {
      return new EmbeddingLookupSession(lookup.layout, reader, path, lookup.dequantize);
    } catch (e) {
      await reader.close();
      throw e;
    }
  };
  const embedGraph = manifest.graphs.embed;
  const openAny = async (g: BundleGraph): Promise<InferenceSession> =>
    (g === embedGraph && options.embeddingOnDemand !== false ? await openEmbedLookup(g) : undefined) ?? (await openGraph(g));
  // GroupQueryAttention chunks on a backend with its own tensor memory (our kernels): the KV cache lives
  // there, written in place by each chunk and read by attention without copies
  const runner = await ChunkedRunner.fromManifest(manifest, openAny, config, {
    maxResidentChunks: options.maxResidentChunks,
    kvCache: autoKvCacheMode(manifest.attention === gqaAttention.name && gqaAttention.sharedKvCache === true, backend),
    allocator: backend.tensorAllocator,
  });
  return { config, tokenizer, runner, files };
}
