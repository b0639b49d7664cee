import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { WeightFormat } from '../architecture.js';
import { TinyLlamaError } from '../errors.js';
import { MODEL_SIDE_FILES } from '../io-names.js';
import type { Runtime } from '../runtime.js';
import type { ProgressCallback } from '../weights.js';
import { BUILD_INFO_FILE, listModelDir, pathExists, readConfigJson } from './model-dir.js';

/** Files copied from the checkpoint directory into a built model directory when present. */
export const BUILD_COPIED_FILES: readonly string[] = MODEL_SIDE_FILES;

/** Options of {@link buildModelDir}. */
export interface BuildModelDirOptions {
  /** Attention strategy name (default: the best the backend family supports, `gqa` first). */
  readonly attention?: string;
  readonly weights?: WeightFormat;
  /** Replace an existing output directory. */
  readonly overwrite?: boolean;
  readonly onProgress?: ProgressCallback;
}

/** What {@link buildModelDir} wrote. */
export interface BuildModelDirResult {
  readonly outDir: string;
  readonly modelBytes: number;
  readonly parameterCount: number;
  readonly attention: string;
  readonly ms: number;
}

/**
 * Builds a checkpoint directory into a model directory (`model.onnx` + `model.onnx.data`, config,
 * tokenizer and `tinyllama-build.json`) that `loadModel` accepts like a checkpoint. Weights are
 * streamed (and quantised) one tensor at a time. Atomic: the output is written to a temporary sibling
 * directory and renamed into place, so an interrupted build never leaves a directory that loads.
 */
export async function buildModelDir(rt: Runtime, inDir: string, outDir: string, options: BuildModelDirOptions = {}): Promise<BuildModelDirResult> {
  const t0 = performance.now();
  if (resolve(inDir) === resolve(outDir)) throw new TinyLlamaError('E_ARGUMENT', 'build: --out must differ from --model');
  if ((await pathExists(outDir)) && !options.overwrite) {
    throw new TinyLlamaError('E_ARGUMENT', `build: output directory '${outDir}' already exists (pass overwrite to replace it)`);
  }
  const files = await listModelDir(inDir);
  const raw = await readConfigJson(inDir);
  const arch = rt.findArchitecture(raw);
  const config = arch.normalizeConfig(raw);
  const checkpoint = await rt.findLoader(files).open(inDir);
  const attention = options.attention ? rt.attention.get(options.attention) : rt.attention.list()[0]?.item;
  if (!attention) throw new TinyLlamaError('E_UNSUPPORTED', 'no attention strategy is registered');
  const tmp = join(dirname(resolve(outDir)), `.${basename(outDir)}.partial-${process.pid}-${Date.now()}`);
  try {
    arch.validateWeights(checkpoint, config);
    const built = await arch.buildModel(checkpoint, config, { attention, weights: options.weights, onProgress: options.onProgress });
    await mkdir(tmp, { recursive: true });
    const modelPath = await built.writeTo(tmp, { fileName: 'model.onnx', onProgress: options.onProgress });
    for (const f of BUILD_COPIED_FILES) if (files.includes(f)) await copyFile(join(inDir, f), join(tmp, f));
    const modelBytes = (await stat(modelPath)).size + ((await pathExists(`${modelPath}.data`)) ? (await stat(`${modelPath}.data`)).size : 0);
    const info = {
      architecture: arch.name,
      graphVersion: arch.graphVersion ?? 0,
      attention: attention.name,
      weights: options.weights ?? { dtype: 'float32' },
      parameterCount: built.parameterCount,
      modelBytes,
      source: { dir: resolve(inDir), format: checkpoint.format },
      builtAt: new Date().toISOString(),
    };
    await writeFile(join(tmp, BUILD_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    if (options.overwrite) await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
    return { outDir, modelBytes, parameterCount: built.parameterCount, attention: attention.name, ms: performance.now() - t0 };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    await checkpoint.close();
  }
}
