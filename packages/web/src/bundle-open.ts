/**
 * Opens a chunked bundle in the browser: verified bytes from {@link bundleFileReader}, sessions
 * created from bytes (external data passed to onnxruntime-web), and core's platform-neutral
 * `ChunkedRunner` (every chunk resident by default; `maxResidentChunks` streams them).
 * @packageDocumentation
 */
import { normalizeLlamaConfig } from '@tinyllama/arch-llama2';
import {
  ChunkedRunner,
  TinyLlamaError,
  type Backend,
  type BundleGraph,
  type BundleManifest,
  type ChunkSessionProvider,
  type DecoderConfig,
  type InferenceSession,
  type Tokenizer,
} from '@tinyllama/core';
import { sentencePieceLoader } from '@tinyllama/tokenizer-sentencepiece';
import { bundleFileReader, type BundleFileReader } from './bundle-files.js';
import type { FileProgress } from './model-files.js';

/** Options of {@link openWebBundle}. */
export interface OpenWebBundleOptions {
  /** Use the Cache API (default true). */
  readonly useCache?: boolean;
  /** Streaming: at most this many chunk sessions loaded at once (default: all resident). */
  readonly maxResidentChunks?: number;
  readonly onProgress?: (p: FileProgress) => void;
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
    const bytes: Uint8Array[] = [];
    for (const f of g.files) bytes.push(await files.read(f));
    return backend.createSession(
      { kind: 'bytes', bytes: bytes[0], externalData: g.files.slice(1).map((path, i) => ({ path, data: bytes[i + 1] })) },
      { spinWait: false },
    );
  };
  const { chunks } = manifest.graphs;
  const provider: ChunkSessionProvider = {
    numChunks: chunks.length,
    layers: (i) => chunks[i].layers,
    bytes: (i) => chunks[i].bytes,
    open: (i) => openGraph(chunks[i]),
  };
  const embed = await openGraph(manifest.graphs.embed);
  let head: InferenceSession | undefined;
  try {
    head = await openGraph(manifest.graphs.head);
    const runner = await ChunkedRunner.create(embed, head, provider, config, {
      maxResidentChunks: options.maxResidentChunks,
      fixedBytes: manifest.graphs.embed.bytes + manifest.graphs.head.bytes,
      preloadChunks: manifest.streaming.preload_chunks,
    });
    return { config, tokenizer, runner, files };
  } catch (e) {
    await embed.release();
    await head?.release();
    throw e;
  }
}
