import { copyFile, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import type { BuiltModel, WeightFormat } from '../architecture.js';
import { BUNDLE_FORMAT, BUNDLE_MANIFEST_FILE, type BundleChunk, type BundleFile, type BundleFileRole, type BundleGraph, type BundleManifest } from '../bundle.js';
import { TinyLlamaError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { ProgressCallback } from '../weights.js';
import { BUILD_COPIED_FILES } from './build-dir.js';
import { sha256File } from './bundle-store.js';
import { BUILD_INFO_FILE, listModelDir, pathExists, readConfigJson } from './model-dir.js';

/** Default layers per chunk of `tinyllama build --layers-per-chunk`. */
export const DEFAULT_LAYERS_PER_CHUNK = 2;

/** Options of {@link buildBundleDir}. */
export interface BuildBundleDirOptions {
  /** Decoder layers per chunk graph (default {@link DEFAULT_LAYERS_PER_CHUNK}). */
  readonly layersPerChunk?: number;
  /** Attention strategy name (default: the highest-priority one registered, `gqa` first). */
  readonly attention?: string;
  readonly weights?: WeightFormat;
  /** Chunks a streaming runtime should load before the first token (default 1). */
  readonly preloadChunks?: number;
  /** Bundle name (default: the checkpoint directory's name). */
  readonly name?: string;
  /** Replace an existing output directory. */
  readonly overwrite?: boolean;
  readonly onProgress?: ProgressCallback;
}

/** What {@link buildBundleDir} wrote. */
export interface BuildBundleDirResult {
  readonly outDir: string;
  readonly manifest: BundleManifest;
  readonly bundleBytes: number;
  readonly ms: number;
}

const MB = 1024 * 1024;
const mb = (bytes: number) => Math.round((bytes / MB) * 100) / 100;

/**
 * Builds a checkpoint directory into a chunked bundle: `embed.onnx`, `chunk_NN.onnx` per group of
 * layers and `head.onnx` (each with its own `.data` external weights), config, tokenizer,
 * `tinyllama-build.json` and `model_manifest.json` (every file's size and sha256; see docs/bundles.md).
 * Atomic like {@link buildModelDir}: written to a temporary sibling directory and renamed into place.
 */
export async function buildBundleDir(rt: Runtime, inDir: string, outDir: string, options: BuildBundleDirOptions = {}): Promise<BuildBundleDirResult> {
  const t0 = performance.now();
  const layersPerChunk = options.layersPerChunk ?? DEFAULT_LAYERS_PER_CHUNK;
  if (!Number.isInteger(layersPerChunk) || layersPerChunk < 1) throw new TinyLlamaError('E_ARGUMENT', `build: layers per chunk must be a positive integer, got ${layersPerChunk}`);
  if (resolve(inDir) === resolve(outDir)) throw new TinyLlamaError('E_ARGUMENT', 'build: --out must differ from --model');
  if ((await pathExists(outDir)) && !options.overwrite) {
    throw new TinyLlamaError('E_ARGUMENT', `build: output directory '${outDir}' already exists (pass overwrite to replace it)`);
  }
  const files = await listModelDir(inDir);
  if (!files.includes('tokenizer.model')) throw new TinyLlamaError('E_NOT_FOUND', `build: a bundle needs tokenizer.model in '${inDir}'`);
  const raw = await readConfigJson(inDir);
  const arch = rt.findArchitecture(raw);
  if (!arch.buildBundle) throw new TinyLlamaError('E_UNSUPPORTED', `architecture '${arch.name}' cannot be built as a chunked bundle`);
  const config = arch.normalizeConfig(raw);
  const attention = options.attention ? rt.attention.get(options.attention) : rt.attention.list()[0]?.item;
  if (!attention) throw new TinyLlamaError('E_UNSUPPORTED', 'no attention strategy is registered');
  const checkpoint = await rt.findLoader(files).open(inDir);
  const tmp = join(dirname(resolve(outDir)), `.${basename(outDir)}.partial-${process.pid}-${Date.now()}`);
  try {
    arch.validateWeights(checkpoint, config);
    const built = await arch.buildBundle(checkpoint, config, { attention, weights: options.weights, layersPerChunk, onProgress: options.onProgress });
    await mkdir(tmp, { recursive: true });
    const roles = new Map<string, BundleFileRole>();
    const writeGraph = async (model: BuiltModel, fileName: string, role: BundleFileRole): Promise<BundleGraph> => {
      await model.writeTo(tmp, { fileName, onProgress: options.onProgress });
      const graphFiles = [fileName];
      roles.set(fileName, role);
      if (await pathExists(join(tmp, `${fileName}.data`))) {
        graphFiles.push(`${fileName}.data`);
        roles.set(`${fileName}.data`, 'weights');
      }
      let bytes = 0;
      for (const f of graphFiles) bytes += (await stat(join(tmp, f))).size;
      return { path: fileName, files: graphFiles, bytes };
    };
    const embed = await writeGraph(built.embed, 'embed.onnx', 'embed');
    const width = Math.max(2, String(built.chunks.length - 1).length);
    const chunks: BundleChunk[] = [];
    for (const [index, c] of built.chunks.entries()) {
      const g = await writeGraph(c.model, `chunk_${String(index).padStart(width, '0')}.onnx`, 'chunk');
      chunks.push({ ...g, index, layers: [...c.layers] });
    }
    const head = await writeGraph(built.head, 'head.onnx', 'head');
    for (const f of BUILD_COPIED_FILES) {
      if (!files.includes(f)) continue;
      await copyFile(join(inDir, f), join(tmp, f));
      roles.set(f, f === 'tokenizer.model' ? 'tokenizer' : f === 'config.json' ? 'config' : 'metadata');
    }
    const weights = options.weights ?? { dtype: 'float32' as const };
    const info = {
      architecture: arch.name,
      graphVersion: arch.graphVersion ?? 0,
      attention: attention.name,
      weights,
      parameterCount: built.parameterCount,
      layersPerChunk,
      source: { dir: resolve(inDir), format: checkpoint.format },
      builtAt: new Date().toISOString(),
    };
    await writeFile(join(tmp, BUILD_INFO_FILE), `${JSON.stringify(info, null, 2)}\n`);
    roles.set(BUILD_INFO_FILE, 'metadata');

    const entries: BundleFile[] = [];
    const names = [...roles.keys()];
    for (const [k, path] of names.entries()) {
      const full = join(tmp, path);
      entries.push({ path, size: (await stat(full)).size, sha256: await sha256File(full), role: roles.get(path) as BundleFileRole });
      options.onProgress?.({ phase: 'checksum', done: k + 1, total: names.length, unit: 'items', item: path });
    }
    const bundleBytes = entries.reduce((s, f) => s + f.size, 0);
    const largestChunk = Math.max(...chunks.map((c) => c.bytes));
    const quantized = weights.dtype === 'int4' || weights.dtype === 'int8';
    const manifest: BundleManifest = {
      format: BUNDLE_FORMAT,
      name: options.name ?? basename(resolve(inDir)),
      version: '1.0.0',
      architecture: arch.name,
      parameters: built.parameterCount,
      quantization: quantized
        ? { dtype: weights.dtype, block_size: weights.blockSize ?? 32, accuracy_level: weights.accuracyLevel ?? 4, symmetric: weights.symmetric ?? true }
        : { dtype: weights.dtype },
      bundle_size_mb: mb(bundleBytes),
      tokenizer: { type: 'sentencepiece', file: 'tokenizer.model' },
      streaming: {
        enabled: chunks.length > 1,
        total_chunks: chunks.length,
        chunk_size_mb: mb(largestChunk),
        layers_per_chunk: layersPerChunk,
        preload_chunks: Math.min(chunks.length, options.preloadChunks ?? 1),
      },
      performance: {
        resident_weights_mb: mb(embed.bytes + head.bytes + chunks.reduce((s, c) => s + c.bytes, 0)),
        min_streaming_weights_mb: mb(embed.bytes + head.bytes + largestChunk),
      },
      features: ['kv-cache', 'layer-streaming', 'sha256', `attention-${attention.name}`, ...(quantized ? [`${weights.dtype}-block-quantized`] : [])],
      attention: attention.name,
      graphs: { embed, head, chunks },
      files: entries,
    };
    // The manifest is written last: a directory without it is not a bundle.
    await writeFile(join(tmp, BUNDLE_MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    if (options.overwrite) await rm(outDir, { recursive: true, force: true });
    await rename(tmp, outDir);
    return { outDir, manifest, bundleBytes, ms: performance.now() - t0 };
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  } finally {
    await checkpoint.close();
  }
}
