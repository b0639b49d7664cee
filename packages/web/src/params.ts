/**
 * The demo's query parameters: `?model=URL&prompt=TEXT|prompt-ids=1,2,3&max-tokens=N&temperature=T
 * &top-k=K&top-p=P&seed=S&ignore-eos=1&threads=N&backend=wasm-kernels|ort&ep=wasm&cache=0&measure-memory=0
 * &max-resident-chunks=N&profile=1`.
 * @packageDocumentation
 */
import type { DemoBackend, GenerationSettings } from './protocol.js';

/** Parsed query parameters of the demo page. */
export interface DemoParams {
  /** Model directory URL as given (default `./model/`), always ending in `/`. */
  readonly model: string;
  /** Text prompt (empty when none was given). */
  readonly prompt: string;
  /** Token-id prompt, when given (takes precedence over `prompt`). */
  readonly promptIds?: readonly number[];
  /** True when the query asked for a generation (a `prompt` or `prompt-ids`): run it once loaded. */
  readonly autorun: boolean;
  readonly settings: GenerationSettings;
  /** Requested wasm threads (undefined = choose from the hardware). */
  readonly threads?: number;
  /** Engine: our wasm kernels (default) or onnxruntime-web (`backend=ort`). */
  readonly backend: DemoBackend;
  /** onnxruntime-web execution providers (default `['wasm']`). */
  readonly executionProviders: readonly string[];
  /**
   * Whole-page memory readings with `performance.measureUserAgentSpecificMemory()` after loading and
   * generating (default true; `measure-memory=0` turns them off: a pending reading slowed a following
   * generation in Chromium from 12.5 to 8-10 tok/s on TinyLlama-1.1B, so benchmarks turn it off).
   */
  readonly measureMemory: boolean;
  /** Use the Cache API (default true; `cache=0` turns it off). */
  readonly useCache: boolean;
  /**
   * Bundles: read embedding rows from the cached file as tokens need them (default true;
   * `embedding-on-demand=0` loads the table into memory instead).
   */
  readonly embeddingOnDemand: boolean;
  /** Bundles: stream layer chunks, at most this many loaded at once (undefined: all resident). */
  readonly maxResidentChunks?: number;
  /** Time every operator of our kernels' graphs and report it with the generation (`profile=1`; default off). */
  readonly profile: boolean;
}

/** Default model directory, relative to the page. */
export const DEFAULT_MODEL_URL = './model/';

/** Parses the page's query string; malformed numbers throw an `Error` naming the parameter. */
export function parseDemoParams(search: string): DemoParams {
  const q = new URLSearchParams(search);
  let model = q.get('model') || DEFAULT_MODEL_URL;
  if (!model.endsWith('/')) model += '/';
  const idsText = q.get('prompt-ids');
  const promptIds = idsText === null || idsText.trim() === '' ? undefined : parseIds(idsText);
  const prompt = q.get('prompt') ?? '';
  const seedText = q.get('seed');
  const threadsText = q.get('threads');
  const chunksText = q.get('max-resident-chunks');
  return {
    model,
    prompt,
    promptIds,
    autorun: promptIds !== undefined || prompt !== '',
    settings: {
      maxNewTokens: num(q, 'max-tokens', 64, { integer: true, min: 0 }),
      temperature: num(q, 'temperature', 0.8, { min: 0 }),
      topK: num(q, 'top-k', 40, { integer: true, min: 0 }),
      topP: num(q, 'top-p', 0.95, { min: Number.MIN_VALUE, max: 1 }),
      seed: seedText === null ? undefined : num(q, 'seed', 0, { integer: true, min: 0 }),
      ignoreEos: flag(q, 'ignore-eos', false),
    },
    threads: threadsText === null ? undefined : num(q, 'threads', 1, { integer: true, min: 1 }),
    backend: parseBackend(q.get('backend')),
    executionProviders: (q.get('ep') || 'wasm').split(',').map((s) => s.trim()).filter(Boolean),
    useCache: flag(q, 'cache', true),
    embeddingOnDemand: flag(q, 'embedding-on-demand', true),
    measureMemory: flag(q, 'measure-memory', true),
    profile: flag(q, 'profile', false),
    maxResidentChunks: chunksText === null || chunksText.trim() === '' ? undefined : num(q, 'max-resident-chunks', 1, { integer: true, min: 1 }),
  };
}

/**
 * Threads to use: 1 without cross-origin isolation, else the request, else min(4, cores) for our wasm
 * kernels (they split each matmul across all threads) or min(4, cores/2) for onnxruntime-web.
 */
export function chooseThreads(requested: number | undefined, crossOriginIsolated: boolean, hardwareConcurrency: number, backend: DemoBackend = 'ort'): number {
  if (!crossOriginIsolated) return 1;
  if (requested !== undefined) return requested;
  const cores = hardwareConcurrency || 1;
  return Math.max(1, Math.min(4, backend === 'ort' ? Math.ceil(cores / 2) : cores));
}

function parseBackend(text: string | null): DemoBackend {
  if (text === null || text === '' || text === 'wasm-kernels') return 'wasm-kernels';
  if (text === 'ort') return 'ort';
  throw new Error(`backend: '${text}' is not a backend (give wasm-kernels or ort)`);
}

function parseIds(text: string): number[] {
  return text.split(',').map((s) => {
    const n = Number(s.trim());
    if (s.trim() === '' || !Number.isInteger(n) || n < 0) throw new Error(`prompt-ids: '${s}' is not a token id (give e.g. 1,5,6)`);
    return n;
  });
}

function num(q: URLSearchParams, name: string, def: number, o: { integer?: boolean; min?: number; max?: number }): number {
  const text = q.get(name);
  if (text === null || text.trim() === '') return def;
  const n = Number(text);
  const ok = Number.isFinite(n) && (!o.integer || Number.isInteger(n)) && (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max);
  if (!ok) throw new Error(`${name}: '${text}' is not ${o.integer ? 'an integer' : 'a number'} in range`);
  return n;
}

function flag(q: URLSearchParams, name: string, def: boolean): boolean {
  const text = q.get(name);
  if (text === null) return def;
  return !['0', 'false', 'no', 'off'].includes(text.trim().toLowerCase());
}
