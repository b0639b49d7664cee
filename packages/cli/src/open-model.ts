import type { Backend, DecoderConfig, TextGenerator, Tokenizer } from '@tinyllama/core';
import { isBundle, loadBundle, loadModel, type LoadBundleOptions, type LoadModelOptions } from '@tinyllama/core/node';
import { TinyLlamaError } from '@tinyllama/core';
import type { Runtime } from '@tinyllama/core';
import { intFlag } from './args.js';

/** What `generate` and `bench` need of a loaded model directory, checkpoint or bundle. */
export interface OpenedModel {
  readonly config: DecoderConfig;
  readonly tokenizer: Tokenizer;
  readonly backend: Backend;
  readonly attention: string;
  readonly kvCache: string;
  readonly generator: TextGenerator;
  /** Bundle facts (absent for a single-graph model). */
  readonly bundle?: { readonly mode: 'resident' | 'streaming'; readonly chunks: number; readonly stats: Readonly<Record<string, number>> };
  release(): Promise<void>;
}

/** Streaming flags shared by `generate` and `bench`. */
export const STREAMING_OPTIONS = {
  'max-resident-chunks': { type: 'string' },
  'memory-limit': { type: 'string' },
} as const;

/** Parses `--max-resident-chunks N` and `--memory-limit MB`. */
export function streamingFlags(v: { 'max-resident-chunks'?: string; 'memory-limit'?: string }): Pick<LoadBundleOptions, 'maxResidentChunks' | 'memoryLimitMB'> {
  return {
    maxResidentChunks: v['max-resident-chunks'] === undefined ? undefined : intFlag('max-resident-chunks', v['max-resident-chunks'], 0, 1),
    memoryLimitMB: v['memory-limit'] === undefined ? undefined : intFlag('memory-limit', v['memory-limit'], 0, 1),
  };
}

/**
 * Opens a bundle (a directory with `model_manifest.json`, or an HTTP(S) base URL) with
 * {@link loadBundle}, anything else with {@link loadModel}.
 */
export async function openModel(rt: Runtime, source: string, options: LoadModelOptions & LoadBundleOptions): Promise<OpenedModel> {
  if (await isBundle(source)) {
    const b = await loadBundle(rt, source, options);
    return {
      ...b,
      bundle: {
        mode: b.runner.mode,
        chunks: b.manifest.streaming.total_chunks,
        get stats() {
          return { ...b.runner.stats };
        },
      },
    };
  }
  if (options.maxResidentChunks !== undefined || options.memoryLimitMB !== undefined) {
    throw new TinyLlamaError('E_ARGUMENT', `--max-resident-chunks and --memory-limit need a chunked bundle ('${source}' has no model_manifest.json; build one with --layers-per-chunk)`);
  }
  return loadModel(rt, source, options);
}
