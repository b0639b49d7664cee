import { createHash } from 'node:crypto';
import { mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { DecoderConfig } from '../architecture.js';
import { modelFacts, type Backend, type InferenceSession } from '../backend.js';
import { autoKvCacheMode, DecoderRunner, hasRowOutputs, type KvCacheMode } from '../decoder.js';
import { TinyLlamaError } from '../errors.js';
import { IO } from '../io-names.js';
import { TextGenerator } from '../generate.js';
import type { Runtime } from '../runtime.js';
import type { Tokenizer } from '../tokenizer.js';
import type { ProgressCallback } from '../weights.js';

/** Version of the graph builders' output; part of the cache key. */
export const GRAPH_CACHE_VERSION = 1;

/** Options of {@link loadModel}. */
export interface LoadModelOptions {
  /** Backend names to try in order (default: registry priority). */
  readonly backend?: string | readonly string[];
  /** Attention strategy name (default: the best one the backend supports). */
  readonly attention?: string;
  /** Intra-op threads (default: backend's). */
  readonly threads?: number;
  /** Where built ONNX graphs are cached (default `$TINYLLAMA_CACHE` or `~/.cache/tinyllama`). */
  readonly cacheDir?: string;
  /** Rebuild the graph even when a cached one exists. */
  readonly rebuild?: boolean;
  readonly onProgress?: ProgressCallback;
  /**
   * KV cache mode (default `auto`: `shared` for backends that keep tensors in their own memory, such as
   * wasm-kernels, else `rows` when the graph returns the step's rows, else `concat`; `shared` needs
   * GroupQueryAttention and a backend with in-place outputs, `rows` a GroupQueryAttention graph of
   * version 6 or later).
   */
  readonly kvCache?: 'auto' | KvCacheMode;
  /** Longest step of the runner, in tokens (default `DEFAULT_PREFILL_CHUNK`; 0: a prompt runs at once). */
  readonly prefillChunk?: number;
}

/** Build information written beside a prebuilt `model.onnx` (`tinyllama build`). */
export const BUILD_INFO_FILE = 'tinyllama-build.json';

/** A model ready to generate. */
export interface LoadedModel {
  readonly dir: string;
  readonly config: DecoderConfig;
  readonly rawConfig: Readonly<Record<string, unknown>>;
  readonly tokenizer: Tokenizer;
  readonly backend: Backend;
  /** Attention strategy the graph was built with ('' when unknown). */
  readonly attention: string;
  /** KV cache mode of the runner. */
  readonly kvCache: KvCacheMode;
  /** The ONNX file the session runs. */
  readonly modelPath: string;
  readonly session: InferenceSession;
  readonly generator: TextGenerator;
  /** Milliseconds spent in each loading phase. */
  readonly timings: { readonly totalMs: number; readonly buildMs: number; readonly sessionMs: number; readonly cached: boolean };
  release(): Promise<void>;
}

/** Reads and parses `config.json` of a model directory. */
export async function readConfigJson(dir: string): Promise<Record<string, unknown>> {
  const file = join(dir, 'config.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new TinyLlamaError('E_NOT_FOUND', `no config.json in model directory '${dir}'`, { cause: e });
  }
  try {
    const raw: unknown = JSON.parse(text);
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error('not a JSON object');
    return raw as Record<string, unknown>;
  } catch (e) {
    throw new TinyLlamaError('E_CONFIG', `'${file}' is not a valid JSON object: ${(e as Error).message}`, { cause: e });
  }
}

/** Lists a model directory, with a clear error when it is missing or not a directory. */
export async function listModelDir(dir: string): Promise<string[]> {
  try {
    const s = await stat(dir);
    if (!s.isDirectory()) throw new TinyLlamaError('E_ARGUMENT', `'${dir}' is not a directory`);
    return (await readdir(dir)).sort();
  } catch (e) {
    if (e instanceof TinyLlamaError) throw e;
    throw new TinyLlamaError('E_NOT_FOUND', `model directory '${dir}' does not exist`, { cause: e });
  }
}

/** Default directory of built-graph caches. */
export function defaultCacheDir(): string {
  return process.env.TINYLLAMA_CACHE ?? join(homedir(), '.cache', 'tinyllama');
}

/** The fields of `tinyllama-build.json` read before a backend is picked. */
interface BuildInfoFacts {
  readonly attention?: unknown;
  readonly weights?: { readonly dtype?: unknown; readonly symmetric?: unknown };
}

/** True when `p` exists (file or directory). */
export async function pathExists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}

/**
 * Loads a model directory: a raw Hugging Face checkpoint (config.json + weights + tokenizer.model, the
 * graph is built once and cached) or a prebuilt directory that already holds `model.onnx`.
 */
export async function loadModel(rt: Runtime, dir: string, options: LoadModelOptions = {}): Promise<LoadedModel> {
  const t0 = performance.now();
  const files = await listModelDir(dir);
  const rawConfig = await readConfigJson(dir);
  const arch = rt.findArchitecture(rawConfig);
  const config = arch.normalizeConfig(rawConfig);
  const tokenizer = await rt.findTokenizerLoader(files).loadFromDir(dir);
  const hints = options.backend === undefined ? [] : typeof options.backend === 'string' ? [options.backend] : options.backend;
  const prebuilt = files.includes('model.onnx');
  const info = prebuilt && files.includes(BUILD_INFO_FILE) ? (JSON.parse(await readFile(join(dir, BUILD_INFO_FILE), 'utf8')) as BuildInfoFacts) : undefined;
  // a raw checkpoint's graph is built here with float32 weights
  const backend = await rt.backends.resolve(hints, prebuilt ? modelFacts(info?.weights) : { weightDtype: 'f32' });

  let modelPath: string;
  let attention = '';
  let cached = false;
  const tBuild = performance.now();
  if (prebuilt) {
    modelPath = join(dir, 'model.onnx');
    cached = true;
    if (typeof info?.attention === 'string') attention = info.attention;
  } else {
    const loader = rt.findLoader(files);
    const checkpoint = await loader.open(dir);
    try {
      arch.validateWeights(checkpoint, config);
      const strategy = rt.pickAttention(backend, options.attention);
      attention = strategy.name;
      const key = await cacheKey(dir, checkpoint.files, rawConfig, `${arch.name}@${arch.graphVersion ?? 0}/${strategy.name}`);
      const target = join(options.cacheDir ?? defaultCacheDir(), key);
      modelPath = join(target, 'model.onnx');
      if (!options.rebuild && (await pathExists(join(target, 'COMPLETE')))) {
        cached = true;
        rt.logger.debug('using cached graph', { modelPath });
      } else {
        rt.logger.info('building ONNX graph', { dir, attention: strategy.name, target });
        const built = await arch.buildModel(checkpoint, config, { attention: strategy, onProgress: options.onProgress });
        const tmp = `${target}.partial-${process.pid}-${Date.now()}`;
        await mkdir(tmp, { recursive: true });
        try {
          await built.writeTo(tmp, { fileName: 'model.onnx', onProgress: options.onProgress });
          await writeFile(join(tmp, 'COMPLETE'), JSON.stringify({ dir, attention: strategy.name, version: GRAPH_CACHE_VERSION }));
          await rm(target, { recursive: true, force: true });
          await rename(tmp, target);
        } catch (e) {
          await rm(tmp, { recursive: true, force: true });
          throw e;
        }
      }
    } finally {
      await checkpoint.close();
    }
  }
  const buildMs = performance.now() - tBuild;
  const tSession = performance.now();
  const session = await backend.createSession({ kind: 'path', path: modelPath }, { threads: options.threads });
  const sessionMs = performance.now() - tSession;
  const want = options.kvCache ?? 'auto';
  const sharedOk = attention !== '' && rt.attention.has(attention) && rt.attention.get(attention).sharedKvCache === true;
  const rowsOk = sharedOk && hasRowOutputs(session, config.numLayers);
  if ((want === 'shared' && !(sharedOk && session.supportsInPlaceOutputs)) || (want === 'rows' && !rowsOk)) {
    await session.release();
    const needs = want === 'shared' ? 'a backend with in-place outputs' : `a graph with ${IO.presentKeyRows(0)} outputs (graph version 6 or later: rebuild the model)`;
    throw new TinyLlamaError(
      'E_UNSUPPORTED',
      `the ${want} KV cache needs an attention strategy that supports it (e.g. 'gqa'; this graph: '${attention || 'unknown'}') and ${needs} (backend '${backend.name}')`,
    );
  }
  const kvCache: KvCacheMode = want === 'auto' ? autoKvCacheMode(sharedOk && session.supportsInPlaceOutputs, backend, rowsOk) : want;
  const runner = new DecoderRunner(session, config, { kvCache, allocator: backend.tensorAllocator, prefillChunk: options.prefillChunk });
  const generator = new TextGenerator(runner, tokenizer, config.eosTokenIds);
  return {
    dir,
    config,
    rawConfig,
    tokenizer,
    backend,
    attention,
    kvCache,
    modelPath,
    session,
    generator,
    timings: { totalMs: performance.now() - t0, buildMs, sessionMs, cached },
    release: async () => {
      runner.release();
      await session.release();
    },
  };
}

/** Cache key: graph version, builder, config, and each weight file's name, size and mtime. */
async function cacheKey(dir: string, weightFiles: readonly string[], raw: unknown, builder: string): Promise<string> {
  const h = createHash('sha256');
  h.update(JSON.stringify({ v: GRAPH_CACHE_VERSION, builder, raw }));
  for (const f of weightFiles) {
    const p = f.startsWith('/') ? f : join(dir, f);
    const s = await stat(p);
    h.update(`${p}|${s.size}|${s.mtimeMs}\n`);
  }
  return h.digest('hex').slice(0, 24);
}
