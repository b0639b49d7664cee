import { DTYPE_BYTES, TinyLlamaError, shapeToString, type TensorInfo } from '@tinyllama/core';
import { closeQuietly, type LazyTensor, type OpenedFile } from './checkpoint.js';
import { RandomAccessFile } from './file.js';
import { gatherStrided, isContiguous, maxRelativeIndex } from './strided.js';
import { stateDictTensors, unpickleTorch, type TorchStorage, type TorchTensor } from './torch-pickle.js';
import { checkEntrySupported, readZipDirectory, readZipEntryRange, zipEntryDataOffset, type ZipEntry } from './zip.js';

/** Largest `data.pkl` accepted (TinyLlama's is ~30 KB). */
const MAX_PICKLE_BYTES = 256 * 1024 * 1024;
/**
 * Largest tensor materialised from a view bigger than its storage (a broadcast/expand, stride 0). Without a
 * bound, a few-byte file could declare a view that allocates gigabytes on read.
 */
const MAX_BROADCAST_BYTES = 64 * 1024 * 1024;

const LEGACY_MESSAGE =
  'is a legacy (pre-1.6, non-zip) PyTorch checkpoint, which is not supported; re-save it with torch >= 1.6 ' +
  '(`torch.save(torch.load(path), path)`) or convert it to safetensors with Python';

/** A storage record located in the archive. */
interface StorageRecord {
  readonly entry: ZipEntry;
  readonly dataOffset: number;
}

async function sniff(f: RandomAccessFile): Promise<void> {
  if (f.size === 0) throw new TinyLlamaError('E_CORRUPT', `'${f.path}' is empty (truncated?)`);
  const head = await f.read(0, Math.min(f.size, 512), 'file signature');
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return;
  const isTar = head.length >= 262 && new TextDecoder().decode(head.subarray(257, 262)) === 'ustar';
  if ((head.length >= 2 && head[0] === 0x80 && head[1] <= 5) || isTar) {
    throw new TinyLlamaError('E_UNSUPPORTED', `'${f.path}' ${LEGACY_MESSAGE}`);
  }
  throw new TinyLlamaError('E_CORRUPT', `'${f.path}' is not a PyTorch zip checkpoint (no zip signature)`);
}

/** The record prefix (e.g. `pytorch_model/` or `archive/`) from the `data.pkl` entry. */
function findPickle(f: RandomAccessFile, entries: readonly ZipEntry[]): { pkl: ZipEntry; prefix: string } {
  for (const e of entries) {
    const slash = e.name.indexOf('/');
    const rest = slash < 0 ? e.name : e.name.slice(slash + 1);
    if (rest === 'data.pkl') return { pkl: e, prefix: slash < 0 ? '' : e.name.slice(0, slash + 1) };
  }
  throw new TinyLlamaError('E_CORRUPT', `'${f.path}' is a zip archive without a data.pkl record (not written by torch.save?)`);
}

async function checkByteOrder(f: RandomAccessFile, entry: ZipEntry | undefined): Promise<void> {
  if (!entry) return; // torch < 2.0 writes no byteorder record and is always little-endian
  checkEntrySupported(f, entry);
  if (entry.uncompressedSize > 16) throw new TinyLlamaError('E_CORRUPT', `'${f.path}': byteorder record is ${entry.uncompressedSize} bytes`);
  const raw = await readZipEntryRange(f, entry, await zipEntryDataOffset(f, entry), 0, entry.uncompressedSize);
  const order = new TextDecoder().decode(raw).trim();
  if (order === 'little') return;
  if (order === 'big') throw new TinyLlamaError('E_UNSUPPORTED', `'${f.path}' stores big-endian tensors (byteorder = big), which are not supported`);
  throw new TinyLlamaError('E_CORRUPT', `'${f.path}': unknown byteorder '${order}'`);
}

/** Validates one tensor view against its storage record and returns its metadata and reader. */
function lazyTensor(f: RandomAccessFile, name: string, t: TorchTensor, rec: StorageRecord): LazyTensor {
  const item = DTYPE_BYTES[t.dtype];
  const count = t.shape.reduce((a, b) => a * b, 1);
  const where = `'${f.path}': tensor '${name}'`;
  if (!Number.isSafeInteger(count * item)) throw new TinyLlamaError('E_CORRUPT', `${where} has an impossible shape ${shapeToString(t.shape)}`);
  const info: TensorInfo = { name, dtype: t.dtype, shape: t.shape, byteLength: count * item };
  const first = t.storageOffset * item;
  const spanBytes = count === 0 ? 0 : (maxRelativeIndex(t.shape, t.stride) + 1) * item;
  const limit = Math.min(t.storage.byteLength, rec.entry.uncompressedSize);
  if (count > 0 && first + spanBytes > limit) {
    throw new TinyLlamaError(
      'E_CORRUPT',
      `${where} (shape ${shapeToString(t.shape)}, offset ${t.storageOffset}) reaches byte ${first + spanBytes} of storage '${t.storage.key}', which has ${limit} bytes`,
    );
  }
  if (info.byteLength > Math.max(t.storage.byteLength, MAX_BROADCAST_BYTES)) {
    throw new TinyLlamaError(
      'E_UNSUPPORTED',
      `${where} is a broadcast view of ${info.byteLength} bytes over a ${t.storage.byteLength}-byte storage; re-save it with .contiguous()`,
    );
  }
  const what = `storage '${t.storage.key}' of tensor '${name}'`;
  if (count === 0) return { info, read: () => Promise.resolve(new Uint8Array(0)) };
  if (isContiguous(t.shape, t.stride)) {
    return { info, read: () => readZipEntryRange(f, rec.entry, rec.dataOffset, first, info.byteLength).catch(rename(what)) };
  }
  // Non-contiguous views (transposes, expands) are made contiguous on read: one read of the span, then a gather.
  return {
    info,
    read: async () => gatherStrided(await readZipEntryRange(f, rec.entry, rec.dataOffset, first, spanBytes).catch(rename(what)), item, t.shape, t.stride),
  };
}

function rename(what: string): (e: unknown) => never {
  return (e) => {
    if (e instanceof TinyLlamaError) throw new TinyLlamaError(e.code, `${e.message} (reading ${what})`, { cause: e });
    throw e;
  };
}

async function locateStorages(
  f: RandomAccessFile,
  entries: readonly ZipEntry[],
  prefix: string,
  storages: ReadonlyMap<string, TorchStorage>,
): Promise<Map<string, StorageRecord>> {
  const byName = new Map(entries.map((e) => [e.name, e] as const));
  const out = new Map<string, StorageRecord>();
  for (const [key, s] of storages) {
    const entry = byName.get(`${prefix}data/${key}`);
    if (!entry) throw new TinyLlamaError('E_CORRUPT', `'${f.path}' lacks record '${prefix}data/${key}' for storage '${key}' (truncated?)`);
    checkEntrySupported(f, entry);
    if (entry.uncompressedSize < s.byteLength) {
      throw new TinyLlamaError('E_CORRUPT', `'${f.path}': record '${entry.name}' has ${entry.uncompressedSize} bytes, storage '${key}' needs ${s.byteLength}`);
    }
    out.set(key, { entry, dataOffset: await zipEntryDataOffset(f, entry) });
  }
  return out;
}

/**
 * Opens one PyTorch zip checkpoint (`torch.save` ≥ 1.6, ZIP64 aware): reads the central directory and
 * `data.pkl` with the safe unpickler, locates every storage record, and validates every tensor view
 * against its storage. Tensor data is read later, lazily: contiguous tensors with one positioned read,
 * non-contiguous ones with one read of their span followed by a gather. Legacy (non-zip) files are
 * `E_UNSUPPORTED`; damage or truncation is `E_CORRUPT` naming the file.
 */
export async function openPytorchFile(file: string): Promise<OpenedFile> {
  const f = await RandomAccessFile.open(file);
  try {
    await sniff(f);
    const entries = await readZipDirectory(f);
    const { pkl, prefix } = findPickle(f, entries);
    await checkByteOrder(f, entries.find((e) => e.name === `${prefix}byteorder`));
    checkEntrySupported(f, pkl);
    if (pkl.uncompressedSize > MAX_PICKLE_BYTES) {
      throw new TinyLlamaError('E_UNSUPPORTED', `'${f.path}': data.pkl of ${pkl.uncompressedSize} bytes is too large`);
    }
    const pickle = await readZipEntryRange(f, pkl, await zipEntryDataOffset(f, pkl), 0, pkl.uncompressedSize);
    const source = `${f.path}:${pkl.name}`;
    const { root, storages } = unpickleTorch(pickle, source);
    const tensors = stateDictTensors(root, source);
    const records = await locateStorages(f, entries, prefix, storages);
    const out = new Map<string, LazyTensor>();
    for (const [name, t] of tensors) out.set(name, lazyTensor(f, name, t, records.get(t.storage.key)!));
    return { file: f, tensors: out };
  } catch (e) {
    await closeQuietly([f]);
    throw e;
  }
}
