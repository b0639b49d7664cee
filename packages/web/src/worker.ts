/**
 * The inference worker: fetches (or reads from the cache) a built model directory or a chunked
 * bundle (when the URL has a `model_manifest.json`), opens it with onnxruntime-web (wasm; SIMD, and
 * threads when the page is cross-origin isolated), and streams generated tokens back to the page.
 * One model and one generation at a time.
 * @packageDocumentation
 */
import { gqaAttention, normalizeLlamaConfig } from '@tinyllama/arch-llama2';
import { createOrtWebBackend } from '@tinyllama/backend-ort/web';
import { createWasmKernelsBackend } from '@tinyllama/backend-wasm';
import { autoKvCacheMode, DecoderRunner, EmbeddingLookupSession, GenerationProfiler, TextGenerator, hasRowOutputs, isTinyLlamaError, type Backend, type BundleManifest } from '@tinyllama/core';
import { sentencePieceLoader } from '@tinyllama/tokenizer-sentencepiece';
import { fetchBundleManifest, type ByteStaging } from './bundle-files.js';
import { openWebBundle } from './bundle-open.js';
import { EXTERNAL_DATA_FILE, fetchModelFiles } from './model-files.js';
import type { GenerateRequest, LoadRequest, PageMessage, ReadyEvent, WorkerMessage } from './protocol.js';
import { YieldingRunner } from './yielding-runner.js';

/** The parts of the dedicated worker scope this file uses (the DOM lib has no worker types). */
interface WorkerScope {
  postMessage(message: WorkerMessage): void;
  onmessage: ((event: MessageEvent<PageMessage>) => void) | null;
}

const scope = self as unknown as WorkerScope;

interface Loaded {
  /** Releases the model's sessions. */
  release(): Promise<void>;
  readonly runner: YieldingRunner;
  readonly generator: TextGenerator;
}

/** One worker's model and running generation. */
/** The wasm kernels' variant (`relaxed` or `simd`) when `backend` is ours, else undefined. */
function kernelsVariant(backend: Backend): string | undefined {
  return (backend as Backend & { kernels?: () => { variant: string } | undefined }).kernels?.()?.variant;
}

class InferenceWorker {
  #loaded?: Loaded;
  #loading?: Promise<void>;
  #abort?: AbortController;
  #staging?: ByteStaging;
  /** Bytes of the kernels' linear memory, when the backend is our wasm kernels. */
  #modelMemory?: () => number;
  /** With `LoadRequest.profile`: every kernels session adds its operator timings here. */
  #profile?: Map<string, number>;

  constructor(private readonly post: (m: WorkerMessage) => void) {}

  /** Dispatches one page message; failures are posted as `error` events. */
  handle(m: PageMessage): void {
    if (m.type === 'stop') {
      this.#abort?.abort();
    } else if (m.type === 'load') {
      this.#abort?.abort();
      this.#loading = this.#load(m).catch((e) => this.#fail(e));
    } else if (m.type === 'generate') {
      this.#generate(m).catch((e) => this.#fail(e));
    }
  }

  #fail(e: unknown): void {
    this.post({ type: 'error', code: isTinyLlamaError(e) ? e.code : undefined, message: e instanceof Error ? e.message : String(e) });
  }

  async #load(req: LoadRequest): Promise<void> {
    const t0 = performance.now();
    if (this.#loaded) {
      const old = this.#loaded;
      this.#loaded = undefined;
      old.runner.close();
      await old.release();
    }
    this.#profile = req.profile ? new Map() : undefined; // onnxruntime-web times nothing: no profile
    const kernelsBackend = req.backend === 'ort' ? undefined : createWasmKernelsBackend({ threads: req.numThreads, profile: this.#profile });
    const backend = kernelsBackend ?? createOrtWebBackend({ numThreads: req.numThreads, wasmPaths: req.ortUrl, executionProviders: req.executionProviders });
    await backend.init();
    const kernels = kernelsBackend?.kernels();
    this.#modelMemory = kernels ? () => kernels.mem.capacityBytes : undefined;
    // our kernels take files written straight into their memory (no whole-file JS copies)
    this.#staging = kernels
      ? { alloc: (n) => kernels.stage(n), sha256: (v) => kernels.sha256Hex(v), release: (v) => kernels.releaseStaging(v) }
      : undefined;
    const manifest = await fetchBundleManifest(req.modelUrl);
    const ready = manifest ? await this.#loadBundle(req, manifest, backend) : await this.#loadDirectory(req, backend);
    this.post({ ...ready, loadMs: performance.now() - t0, modelMemoryBytes: this.#modelMemory?.() });
  }

  async #loadBundle(req: LoadRequest, manifest: BundleManifest, backend: Backend): Promise<Omit<ReadyEvent, 'loadMs'>> {
    const b = await openWebBundle(req.modelUrl, manifest, backend, {
      useCache: req.useCache,
      embeddingOnDemand: req.embeddingOnDemand,
      maxResidentChunks: req.maxResidentChunks,
      onProgress: (p) => this.post({ type: 'progress', ...p }),
      staging: this.#staging,
    });
    const runner = new YieldingRunner(b.runner);
    this.#loaded = { release: () => b.runner.release(), runner, generator: new TextGenerator(runner, b.tokenizer, b.config.eosTokenIds) };
    return {
      type: 'ready',
      cachedFiles: b.files.cachedFiles,
      cacheFailures: b.files.cacheFailures,
      stalledReads: b.files.stalledReads,
      modelBytes: manifest.files.reduce((n, f) => n + f.size, 0),
      numThreads: req.numThreads,
      backend: req.backend,
      executionProviders: req.executionProviders,
      vocabSize: b.config.vocabSize,
      contextLength: b.config.maxPositionEmbeddings,
      kvCache: b.runner.kvCache,
      kernels: kernelsVariant(backend),
      bundle: { chunks: manifest.graphs.chunks.length, mode: b.runner.mode, embedding: b.runner.embed instanceof EmbeddingLookupSession ? (b.runner.embed.source ?? 'on-demand') : 'loaded' },
    };
  }

  async #loadDirectory(req: LoadRequest, backend: Backend): Promise<Omit<ReadyEvent, 'loadMs'>> {
    const { files, cachedFiles, cacheFailures, attention } = await fetchModelFiles(req.modelUrl, {
      useCache: req.useCache,
      onProgress: (p) => this.post({ type: 'progress', ...p }),
    });
    const config = normalizeLlamaConfig(JSON.parse(new TextDecoder().decode(files.get('config.json'))) as Record<string, unknown>);
    const tokenizer = await sentencePieceLoader.loadFromBytes(files.get('tokenizer.model')!);
    const data = files.get(EXTERNAL_DATA_FILE);
    // not staged: weights are copied out of the file's buffer into their final place, so staging one
    // 560 MB file in wasm memory would leave both touched (bundles stage one ~45 MB chunk at a time)
    const session = await backend.createSession({
      kind: 'bytes',
      bytes: files.get('model.onnx')!,
      externalData: data ? [{ path: EXTERNAL_DATA_FILE, data }] : [],
    });
    // GroupQueryAttention graphs on a backend with its own tensor memory (our kernels): the KV cache lives
    // there and attention reads it in place (no per-step cache copies, no JS garbage); on onnxruntime-web,
    // graphs with present_rows (version 6+) take back only each step's new rows
    const gqa = attention === gqaAttention.name;
    const decoder = new DecoderRunner(session, config, {
      kvCache: autoKvCacheMode(gqa && session.supportsInPlaceOutputs, backend, gqa && hasRowOutputs(session, config.numLayers)),
      allocator: backend.tensorAllocator,
    });
    const runner = new YieldingRunner(decoder);
    this.#loaded = {
      release: async () => {
        decoder.release();
        await session.release();
      },
      runner,
      generator: new TextGenerator(runner, tokenizer, config.eosTokenIds),
    };
    let modelBytes = 0;
    for (const b of files.values()) modelBytes += b.length;
    return {
      type: 'ready',
      cachedFiles,
      cacheFailures,
      modelBytes,
      numThreads: req.numThreads,
      backend: req.backend,
      executionProviders: req.executionProviders,
      vocabSize: config.vocabSize,
      contextLength: config.maxPositionEmbeddings,
      kvCache: decoder.kvCache,
      kernels: kernelsVariant(backend),
    };
  }

  async #generate(req: GenerateRequest): Promise<void> {
    await this.#loading;
    const loaded = this.#loaded;
    if (!loaded) throw new Error('no model is loaded');
    this.#abort?.abort();
    const abort = new AbortController();
    this.#abort = abort;
    const s = req.settings;
    const profiler = this.#profile && new GenerationProfiler(this.#profile);
    profiler?.start();
    const stream = loaded.generator.stream(req.prompt, {
      maxNewTokens: s.maxNewTokens,
      temperature: s.temperature,
      topK: s.topK,
      topP: s.topP,
      seed: s.seed,
      ignoreEos: s.ignoreEos,
      signal: abort.signal,
      onToken: profiler && (() => profiler.token()),
    });
    for await (const t of stream) this.post({ type: 'token', id: t.id, text: t.text });
    const r = await stream.result;
    this.post({
      type: 'done',
      promptIds: r.promptIds,
      ids: r.ids,
      text: r.text,
      finishReason: r.finishReason,
      ttftMs: r.timings.ttftMs,
      decodeTokensPerSecond: r.timings.decodeTokensPerSecond,
      modelMemoryBytes: this.#modelMemory?.(),
      profile: profiler?.result(r.ids.length),
    });
  }
}

const worker = new InferenceWorker((m) => scope.postMessage(m));
scope.onmessage = (event) => worker.handle(event.data);
