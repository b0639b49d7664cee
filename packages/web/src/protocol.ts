/**
 * Messages between the demo page and its inference worker. Everything is structured-clone friendly
 * (plain objects, arrays, numbers and strings).
 * @packageDocumentation
 */
import type { GenerationProfile } from '@tinyllama/core';
import type { FileProgress } from './model-files.js';

/** Sampling and length settings of one generation request. */
export interface GenerationSettings {
  /** New tokens to generate. */
  readonly maxNewTokens: number;
  /** 0 = greedy. */
  readonly temperature: number;
  /** Keep the K most likely tokens (0 = off). */
  readonly topK: number;
  /** Nucleus sampling mass (1 = off). */
  readonly topP: number;
  /** Sampler seed (undefined = random). */
  readonly seed?: number;
  /** Keep generating past EOS. */
  readonly ignoreEos: boolean;
}

/** Page → worker: download (or read from the cache) and open a model directory. */
export interface LoadRequest {
  readonly type: 'load';
  /** Absolute URL of the model directory, ending in `/`. */
  readonly modelUrl: string;
  /** Absolute URL of the directory serving onnxruntime-web's `.mjs`/`.wasm` files, ending in `/`. */
  readonly ortUrl: string;
  /** wasm threads (1 when the page is not cross-origin isolated). */
  readonly numThreads: number;
  /**
   * `wasm-kernels`: the framework's own WebAssembly kernels (`@tinyllama/backend-wasm`, default);
   * `ort`: onnxruntime-web with {@link executionProviders}.
   */
  readonly backend: DemoBackend;
  /** onnxruntime-web execution providers, in order (e.g. `['wasm']`). */
  readonly executionProviders: readonly string[];
  /** Use the Cache API (false: always download). */
  readonly useCache: boolean;
  /** Bundles: read embedding rows from the cached file on demand (default true). */
  readonly embeddingOnDemand?: boolean;
  /**
   * Bundles only: at most this many layer-chunk sessions loaded at once (streaming); undefined keeps
   * every chunk resident.
   */
  readonly maxResidentChunks?: number;
  /**
   * Time every operator of our wasm kernels' graphs (default false): the `done` event then carries
   * {@link DoneEvent.profile}. Ignored on onnxruntime-web.
   */
  readonly profile?: boolean;
}

/** The demo's engines: our WebAssembly kernels or onnxruntime-web. */
export type DemoBackend = 'wasm-kernels' | 'ort';

/** Page → worker: generate from a text prompt or from token ids. */
export interface GenerateRequest {
  readonly type: 'generate';
  readonly prompt: string | readonly number[];
  readonly settings: GenerationSettings;
}

/** Page → worker: abort the running generation (it ends with finishReason `aborted`). */
export interface StopRequest {
  readonly type: 'stop';
}

/** Any page → worker message. */
export type PageMessage = LoadRequest | GenerateRequest | StopRequest;

/** Worker → page: bytes of one model file so far (total 0 when the server sent no length). */
export interface ProgressEvent extends FileProgress {
  readonly type: 'progress';
}

/** Worker → page: the model is open. */
export interface ReadyEvent {
  readonly type: 'ready';
  /** Files that were read from the cache (not downloaded). */
  readonly cachedFiles: readonly string[];
  /** Files that could not be cached, with the reason (e.g. the storage quota). */
  readonly cacheFailures: readonly string[];
  /**
   * Bytes of the wasm kernels' linear memory: the model's weights, KV cache and scratch (what the model
   * holds; undefined on onnxruntime-web, which does not say).
   */
  readonly modelMemoryBytes?: number;
  /** Files whose read from the cache stalled and was retried (bundles). */
  readonly stalledReads?: readonly string[];
  /** Bytes of all model files. */
  readonly modelBytes: number;
  readonly numThreads: number;
  readonly backend: DemoBackend;
  readonly executionProviders: readonly string[];
  readonly loadMs: number;
  readonly vocabSize: number;
  readonly contextLength: number;
  /** How the KV cache crosses the sessions (`shared`, `rows` or `concat`, see core's `KvCacheMode`). */
  readonly kvCache: string;
  /** Our wasm kernels' build in use: `relaxed` (relaxed-SIMD dot products) or `simd` (SIMD128 only); absent on onnxruntime-web. */
  readonly kernels?: string;
  /** Set when the model is a chunked bundle: its chunk count and runner mode. */
  /**
   * Bundles: chunk count, resident or streaming, and where embedding rows are read from on demand
   * (`opfs`: the origin private file system; `cache`: the Cache API's Blob) or `loaded` (the embed graph).
   */
  readonly bundle?: { readonly chunks: number; readonly mode: 'resident' | 'streaming'; readonly embedding: string };
}

/** Worker → page: one streamed token. */
export interface TokenEvent {
  readonly type: 'token';
  readonly id: number;
  readonly text: string;
}

/** Worker → page: a generation ended. */
export interface DoneEvent {
  readonly type: 'done';
  readonly promptIds: readonly number[];
  readonly ids: readonly number[];
  readonly text: string;
  readonly finishReason: string;
  readonly ttftMs: number;
  readonly decodeTokensPerSecond: number;
  /** See {@link ReadyEvent.modelMemoryBytes} (after the generation: with its KV cache). */
  readonly modelMemoryBytes?: number;
  /** With {@link LoadRequest.profile}: milliseconds per operator type, split at the first token. */
  readonly profile?: GenerationProfile;
}


/** Worker → page: loading or generation failed. */
export interface ErrorEvent {
  readonly type: 'error';
  /** `TinyLlamaError` code when there is one. */
  readonly code?: string;
  readonly message: string;
}

/** Any worker → page message. */
export type WorkerMessage = ProgressEvent | ReadyEvent | TokenEvent | DoneEvent | ErrorEvent;
