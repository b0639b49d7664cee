/**
 * `@tinyllama/loader-pytorch`: safe, streaming checkpoint loaders for Hugging Face safetensors and
 * PyTorch zip (`torch.save` ≥ 1.6) checkpoints, single-file or sharded, plus a streaming safetensors
 * writer and an atomic `.bin` → safetensors converter. Headers/indices are read up front; tensor bytes
 * are read lazily with positioned reads, so multi-GB checkpoints are never held in memory. Pickles are
 * read by an allow-listed unpickler that never executes anything.
 * @packageDocumentation
 */
export {
  openCheckpoint,
  safetensorsLoader,
  pytorchLoader,
  builtinLoaders,
  SAFETENSORS_FILE,
  SAFETENSORS_INDEX,
  PYTORCH_FILE,
  PYTORCH_INDEX,
} from './loaders.js';
export { checkpointLoadersPlugin } from './plugin.js';
export { FileCheckpoint, type LazyTensor, type OpenedFile } from './checkpoint.js';
export { openSafetensorsFile } from './safetensors-file.js';
export { openPytorchFile } from './pytorch-file.js';
export { readShardIndex, type ShardIndex } from './shards.js';
export {
  readSafetensorsHeader,
  SAFETENSORS_DTYPES,
  DTYPE_TO_SAFETENSORS,
  type SafetensorsEntry,
  type SafetensorsHeader,
} from './safetensors-format.js';
export {
  writeSafetensors,
  type SafetensorsInput,
  type SafetensorsSource,
  type SafetensorsTensorSpec,
  type WriteSafetensorsOptions,
  type WriteSafetensorsResult,
} from './safetensors-writer.js';
export {
  convertToSafetensors,
  planShards,
  shardFileName,
  findPartialConversions,
  NON_WEIGHT_FILES,
  DEFAULT_MAX_SHARD_BYTES,
  type ConvertOptions,
  type ConvertResult,
} from './convert.js';
export { unpickle, PyDict, PyGlobal, PySet, describePyValue, type UnpickleOptions } from './pickle.js';
export { unpickleTorch, stateDictTensors, TorchStorage, TorchTensor, type TorchPickle } from './torch-pickle.js';
export { readZipDirectory, type ZipEntry } from './zip.js';
export { RandomAccessFile } from './file.js';
