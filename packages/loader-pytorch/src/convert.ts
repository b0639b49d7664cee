import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, rename, rm, rmdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  MODEL_SIDE_FILES,
  DTYPE_BYTES,
  TinyLlamaError,
  type DType,
  type ProgressCallback,
  type TensorInfo,
  type WeightSource,
} from '@tinyllama/core';
import { fsError } from './file.js';
import { SAFETENSORS_FILE, SAFETENSORS_INDEX, builtinLoaders, listModelDir, openCheckpoint } from './loaders.js';
import { writeSafetensors } from './safetensors-writer.js';

/** Non-weight files copied next to the converted weights when present. */
export const NON_WEIGHT_FILES: readonly string[] = MODEL_SIDE_FILES;

/** Default shard size limit: 2 GB (2·10⁹ bytes, as Hugging Face counts `"2GB"`). */
export const DEFAULT_MAX_SHARD_BYTES = 2_000_000_000;

const ALL_DTYPES = Object.keys(DTYPE_BYTES) as DType[];
const SHARD_RE = /^model-\d{5}-of-\d{5}\.safetensors$/;

/** Options of {@link convertToSafetensors}. */
export interface ConvertOptions {
  /** Model directory with any supported checkpoint (and config/tokenizer files). */
  readonly inDir: string;
  /** Destination directory; created atomically. */
  readonly outDir: string;
  /** Largest shard (tensor data bytes); a single larger tensor gets a shard of its own. Default 2 GB. */
  readonly maxShardBytes?: number;
  /** Progress in bytes of tensor data (phase `convert`, item = current tensor name). */
  readonly onProgress?: ProgressCallback;
  /** Allow replacing an existing checkpoint / files in `outDir` (default false). */
  readonly overwrite?: boolean;
  /** Aborts between tensors with `E_ABORTED`. */
  readonly signal?: AbortSignal;
  /**
   * Weights to convert instead of opening `inDir` (the caller keeps ownership). Non-weight files are
   * still copied from `inDir`.
   */
  readonly weights?: WeightSource;
}

/** What {@link convertToSafetensors} wrote. */
export interface ConvertResult {
  readonly outDir: string;
  /** Output file names (weights, index, copied files). */
  readonly files: readonly string[];
  readonly tensors: number;
  /** Sum of tensor data bytes. */
  readonly bytes: number;
  readonly shards: number;
}

/** Groups tensors (in order) into shards of at most `max` data bytes. */
export function planShards(infos: readonly TensorInfo[], max: number): TensorInfo[][] {
  const shards: TensorInfo[][] = [];
  let cur: TensorInfo[] = [];
  let size = 0;
  for (const t of infos) {
    if (cur.length > 0 && size + t.byteLength > max) {
      shards.push(cur);
      cur = [];
      size = 0;
    }
    cur.push(t);
    size += t.byteLength;
  }
  if (cur.length > 0 || shards.length === 0) shards.push(cur);
  return shards;
}

/** Hugging Face shard file name, e.g. `model-00001-of-00002.safetensors`. */
export function shardFileName(i: number, n: number): string {
  return `model-${String(i + 1).padStart(5, '0')}-of-${String(n).padStart(5, '0')}.safetensors`;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(
    () => true,
    (e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? false : Promise.reject(fsError(e, p, 'stat'))),
  );
}

async function fsyncPath(p: string): Promise<void> {
  // Directories cannot be opened for fsync on every platform; durability there is best effort.
  const fh = await open(p, 'r').catch(() => undefined);
  if (!fh) return;
  await fh.sync().catch(() => undefined);
  await fh.close();
}

function indexJson(weightMap: ReadonlyMap<string, string>, totalSize: number): string {
  const entries = [...weightMap].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = entries.map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`);
  return `{\n  "metadata": {\n    "total_size": ${totalSize}\n  },\n  "weight_map": {\n${lines.join(',\n')}\n  }\n}\n`;
}

/** Refuses to clobber an existing checkpoint or files unless `overwrite`. */
async function checkOutDir(outDir: string, outputs: readonly string[] | undefined, overwrite: boolean): Promise<string[] | undefined> {
  if (!(await exists(outDir))) return undefined;
  if (!(await stat(outDir)).isDirectory()) throw new TinyLlamaError('E_ARGUMENT', `output '${outDir}' exists and is not a directory`);
  const names = await listModelDir(outDir);
  if (overwrite) return names;
  const loader = builtinLoaders.find((l) => l.detect(names));
  if (loader) {
    throw new TinyLlamaError('E_ARGUMENT', `output directory '${outDir}' already contains a ${loader.name} checkpoint; pass overwrite to replace it`);
  }
  const clash = outputs?.filter((n) => names.includes(n)) ?? [];
  if (clash.length > 0) {
    throw new TinyLlamaError('E_ARGUMENT', `output directory '${outDir}' already has ${clash.join(', ')}; pass overwrite to replace`);
  }
  return names;
}

/**
 * Moves the finished files from `tmp` into `outDir`. A fresh `outDir` is one directory rename. An
 * existing one gets old safetensors weights removed (with `overwrite`), then the non-weight files, the
 * shards, and last the file that makes the checkpoint loadable (`model.safetensors` or the index), so
 * the checkpoint appears atomically.
 */
async function place(tmp: string, outDir: string, files: readonly string[], existing: readonly string[] | undefined): Promise<void> {
  if (existing === undefined) {
    await rename(tmp, outDir);
  } else {
    const stale = existing.filter((n) => n === SAFETENSORS_INDEX || n === SAFETENSORS_FILE || SHARD_RE.test(n));
    stale.sort((a, b) => (a === SAFETENSORS_INDEX ? -1 : b === SAFETENSORS_INDEX ? 1 : 0)); // unlink the index first
    for (const n of stale) await rm(path.join(outDir, n), { force: true });
    const last = (n: string): number => (n === SAFETENSORS_INDEX || n === SAFETENSORS_FILE ? 2 : SHARD_RE.test(n) ? 1 : 0);
    for (const n of [...files].sort((a, b) => last(a) - last(b))) await rename(path.join(tmp, n), path.join(outDir, n));
    await rmdir(tmp);
  }
  await fsyncPath(outDir);
  await fsyncPath(path.dirname(outDir));
}

/**
 * Converts any supported checkpoint in `inDir` to Hugging Face safetensors in `outDir`, tensor by tensor
 * (lossless: every tensor, dtype and byte is kept). Writes `model.safetensors`, or
 * `model-0000k-of-0000n.safetensors` shards plus `model.safetensors.index.json` when the data exceeds
 * `maxShardBytes`, and copies the config/tokenizer files. Atomic: everything is written and fsynced in
 * `<outDir>.partial-<random>` and then renamed into place; on any failure the temporary directory is
 * removed and `outDir` is left untouched. `E_ARGUMENT` when `outDir` already holds a checkpoint and
 * `overwrite` is not set.
 */
export async function convertToSafetensors(options: ConvertOptions): Promise<ConvertResult> {
  const max = options.maxShardBytes ?? DEFAULT_MAX_SHARD_BYTES;
  if (!Number.isSafeInteger(max) || max <= 0) throw new TinyLlamaError('E_ARGUMENT', `maxShardBytes must be a positive integer, got ${max}`);
  const outDir = path.resolve(options.outDir);
  const overwrite = options.overwrite ?? false;
  await checkOutDir(outDir, undefined, overwrite);

  const owned = options.weights ? undefined : await openCheckpoint(options.inDir);
  const weights: WeightSource = options.weights ?? owned!;
  let tmp: string | undefined;
  try {
    const infos = weights.names().map((n) => weights.info(n));
    const shards = planShards(infos, max);
    const inNames = await listModelDir(options.inDir);
    const copies = NON_WEIGHT_FILES.filter((n) => inNames.includes(n));
    const weightFiles = shards.length === 1 ? [SAFETENSORS_FILE] : shards.map((_, i) => shardFileName(i, shards.length));
    const files = [...weightFiles, ...(shards.length > 1 ? [SAFETENSORS_INDEX] : []), ...copies];
    await checkOutDir(outDir, files, overwrite);

    await mkdir(path.dirname(outDir), { recursive: true });
    tmp = `${outDir}.partial-${randomBytes(6).toString('hex')}`;
    await mkdir(tmp);
    const total = infos.reduce((a, t) => a + t.byteLength, 0);
    let before = 0;
    const weightMap = new Map<string, string>();
    for (let i = 0; i < shards.length; i++) {
      const file = weightFiles[i];
      const base = before;
      await writeSafetensors(
        path.join(tmp, file),
        { tensors: shards[i], read: async (name) => (await weights.get(name, { dtypes: ALL_DTYPES })).bytes },
        {
          metadata: { format: 'pt' },
          signal: options.signal,
          onProgress: (p) => options.onProgress?.({ phase: 'convert', done: base + p.done, total, unit: 'bytes', item: p.item }),
        },
      );
      for (const t of shards[i]) weightMap.set(t.name, file);
      before += shards[i].reduce((a, t) => a + t.byteLength, 0);
    }
    if (shards.length > 1) await writeFile(path.join(tmp, SAFETENSORS_INDEX), indexJson(weightMap, total), { flush: true });
    for (const n of copies) {
      await copyFile(path.join(options.inDir, n), path.join(tmp, n));
      await fsyncPath(path.join(tmp, n));
    }
    await fsyncPath(tmp);
    if (options.signal?.aborted) throw new TinyLlamaError('E_ABORTED', 'conversion was aborted', { cause: options.signal.reason });
    const existing = await checkOutDir(outDir, files, overwrite);
    await place(tmp, outDir, files, existing);
    tmp = undefined;
    return { outDir, files, tensors: infos.length, bytes: total, shards: shards.length };
  } catch (e) {
    throw e instanceof TinyLlamaError ? e : fsError(e, outDir, 'convert into');
  } finally {
    if (tmp !== undefined) await rm(tmp, { recursive: true, force: true }).catch(() => undefined);
    await owned?.close();
  }
}

/** Lists leftover `<outDir>.partial-*` directories of interrupted conversions (for cleanup tools). */
export async function findPartialConversions(outDir: string): Promise<string[]> {
  const abs = path.resolve(outDir);
  const names = await readdir(path.dirname(abs)).catch(() => [] as string[]);
  const prefix = `${path.basename(abs)}.partial-`;
  return names.filter((n) => n.startsWith(prefix)).map((n) => path.join(path.dirname(abs), n));
}
