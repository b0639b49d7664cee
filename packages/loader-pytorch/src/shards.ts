import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { TinyLlamaError } from '@tinyllama/core';
import { FileCheckpoint, closeQuietly, type LazyTensor, type OpenedFile } from './checkpoint.js';
import { fsError, type RandomAccessFile } from './file.js';

/** A Hugging Face sharded-checkpoint index (`*.index.json`). */
export interface ShardIndex {
  /** Tensor name → shard file name (relative to the index's directory). */
  readonly weightMap: ReadonlyMap<string, string>;
  /** Shard file names, sorted. */
  readonly shards: readonly string[];
}

/**
 * Reads a Hugging Face index file: `{ "metadata": {...}, "weight_map": { tensor: shardFile } }`.
 * Shard names must be plain file names (no directories, no `..`), else `E_CORRUPT`.
 */
export async function readShardIndex(indexPath: string): Promise<ShardIndex> {
  let text: string;
  try {
    text = await readFile(indexPath, 'utf8');
  } catch (e) {
    throw fsError(e, indexPath, 'read shard index');
  }
  const corrupt = (msg: string, cause?: unknown): TinyLlamaError =>
    new TinyLlamaError('E_CORRUPT', `shard index '${indexPath}' is invalid: ${msg}`, { cause });
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw corrupt('not valid JSON', e);
  }
  const wm = (json as { weight_map?: unknown } | null)?.weight_map;
  if (typeof wm !== 'object' || wm === null || Array.isArray(wm)) throw corrupt('missing "weight_map" object');
  const weightMap = new Map<string, string>();
  for (const [name, file] of Object.entries(wm)) {
    if (typeof file !== 'string' || file === '' || file !== path.basename(file) || file === '.' || file === '..' || file.includes('\\')) {
      throw corrupt(`tensor '${name}' maps to ${JSON.stringify(file)}, which is not a plain file name`);
    }
    weightMap.set(name, file);
  }
  if (weightMap.size === 0) throw corrupt('"weight_map" is empty');
  return { weightMap, shards: [...new Set(weightMap.values())].sort() };
}

/**
 * Opens every shard named by `indexPath` with `openFile` and merges their tensors into one checkpoint.
 * Tensors come in shard order, then file order. A shard file that does not exist is `E_NOT_FOUND` naming
 * it; a tensor the index assigns to a shard that lacks it is `E_NOT_FOUND` naming both.
 */
export async function openShardedCheckpoint(
  indexPath: string,
  openFile: (file: string) => Promise<OpenedFile>,
  formatName: string,
): Promise<FileCheckpoint> {
  const index = await readShardIndex(indexPath);
  const dir = path.dirname(indexPath);
  const opened: OpenedFile[] = [];
  try {
    for (const shard of index.shards) opened.push(await openFile(path.join(dir, shard)));
    const byShard = new Map(index.shards.map((s, i) => [s, opened[i]] as const));
    for (const [name, shard] of index.weightMap) {
      if (!byShard.get(shard)?.tensors.has(name)) {
        throw new TinyLlamaError(
          'E_NOT_FOUND',
          `tensor '${name}' is listed in '${indexPath}' under shard '${shard}', but '${path.join(dir, shard)}' does not contain it`,
        );
      }
    }
    const tensors = new Map<string, LazyTensor>();
    for (let i = 0; i < opened.length; i++) {
      for (const [name, t] of opened[i].tensors) {
        const owner = index.weightMap.get(name);
        // The index is authoritative for tensors it names; unlisted extras are kept (first shard wins).
        if (owner === undefined ? !tensors.has(name) : owner === index.shards[i]) tensors.set(name, t);
      }
    }
    return new FileCheckpoint(tensors, `${formatName} (${opened.length} shard${opened.length === 1 ? '' : 's'})`, handles(opened));
  } catch (e) {
    await closeQuietly(handles(opened));
    throw e;
  }
}

/** Opens one checkpoint file as a checkpoint. */
export async function openSingleCheckpoint(
  file: string,
  openFile: (file: string) => Promise<OpenedFile>,
  formatName: string,
): Promise<FileCheckpoint> {
  const o = await openFile(file);
  return new FileCheckpoint(o.tensors, formatName, [o.file]);
}

function handles(opened: readonly OpenedFile[]): RandomAccessFile[] {
  return opened.map((o) => o.file);
}
