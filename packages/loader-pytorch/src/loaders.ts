import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { TinyLlamaError, type Checkpoint, type CheckpointLoader } from '@tinyllama/core';
import { fsError } from './file.js';
import { openPytorchFile } from './pytorch-file.js';
import { openSafetensorsFile } from './safetensors-file.js';
import { openShardedCheckpoint, openSingleCheckpoint } from './shards.js';

/** Single-file safetensors checkpoint name. */
export const SAFETENSORS_FILE = 'model.safetensors';
/** Sharded safetensors index name. */
export const SAFETENSORS_INDEX = 'model.safetensors.index.json';
/** Single-file PyTorch checkpoint name. */
export const PYTORCH_FILE = 'pytorch_model.bin';
/** Sharded PyTorch index name. */
export const PYTORCH_INDEX = 'pytorch_model.bin.index.json';

/** Lists a model directory; `E_NOT_FOUND` when it does not exist. */
export async function listModelDir(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch (e) {
    throw fsError(e, dir, 'list model directory');
  }
}

/**
 * Loader for Hugging Face safetensors checkpoints: `model.safetensors`, or the shards listed by
 * `model.safetensors.index.json` (the single file wins when both exist). Format: `safetensors` or
 * `safetensors (N shards)`.
 */
export const safetensorsLoader: CheckpointLoader = {
  name: 'safetensors',
  detect: (fileNames) => fileNames.includes(SAFETENSORS_FILE) || fileNames.includes(SAFETENSORS_INDEX),
  async open(dir: string): Promise<Checkpoint> {
    const names = await listModelDir(dir);
    if (!names.includes(SAFETENSORS_FILE) && names.includes(SAFETENSORS_INDEX)) {
      return openShardedCheckpoint(path.join(dir, SAFETENSORS_INDEX), openSafetensorsFile, 'safetensors');
    }
    return openSingleCheckpoint(path.join(dir, SAFETENSORS_FILE), openSafetensorsFile, 'safetensors');
  },
};

/**
 * Loader for PyTorch zip checkpoints (`torch.save` ≥ 1.6): `pytorch_model.bin`, or the shards listed by
 * `pytorch_model.bin.index.json`. Pickles are read by a safe, allow-listed unpickler. Format:
 * `pytorch-zip` or `pytorch-zip (N shards)`.
 */
export const pytorchLoader: CheckpointLoader = {
  name: 'pytorch',
  detect: (fileNames) => fileNames.includes(PYTORCH_FILE) || fileNames.includes(PYTORCH_INDEX),
  async open(dir: string): Promise<Checkpoint> {
    const names = await listModelDir(dir);
    if (!names.includes(PYTORCH_FILE) && names.includes(PYTORCH_INDEX)) {
      return openShardedCheckpoint(path.join(dir, PYTORCH_INDEX), openPytorchFile, 'pytorch-zip');
    }
    return openSingleCheckpoint(path.join(dir, PYTORCH_FILE), openPytorchFile, 'pytorch-zip');
  },
};

/** The built-in loaders in order of preference (safetensors first). */
export const builtinLoaders: readonly CheckpointLoader[] = [safetensorsLoader, pytorchLoader];

/**
 * Opens the checkpoint in `dir` with the first loader whose `detect` accepts its files (safetensors
 * before PyTorch). `E_NOT_FOUND` when the directory holds no known checkpoint.
 */
export async function openCheckpoint(dir: string, loaders: readonly CheckpointLoader[] = builtinLoaders): Promise<Checkpoint> {
  const names = await listModelDir(dir);
  const loader = loaders.find((l) => l.detect(names));
  if (!loader) {
    throw new TinyLlamaError(
      'E_NOT_FOUND',
      `no checkpoint in '${dir}': expected ${SAFETENSORS_FILE}, ${SAFETENSORS_INDEX}, ${PYTORCH_FILE} or ${PYTORCH_INDEX}`,
    );
  }
  return loader.open(dir);
}
