import { inflateRawSync } from 'node:zlib';
import { TinyLlamaError } from '@tinyllama/core';
import { ByteReader, type RandomAccessFile } from './file.js';

/** One entry of a zip central directory. */
export interface ZipEntry {
  /** Entry name (UTF-8), e.g. `archive/data/0`. */
  readonly name: string;
  /** 0 = stored, 8 = deflated. */
  readonly method: number;
  readonly flags: number;
  readonly compressedSize: number;
  readonly uncompressedSize: number;
  /** Offset of the entry's local file header. */
  readonly localHeaderOffset: number;
}

const SIG_EOCD = 0x06054b50;
const SIG_ZIP64_LOCATOR = 0x07064b50;
const SIG_ZIP64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50;
const SIG_LOCAL = 0x04034b50;
const EOCD_SIZE = 22;
const MAX_COMMENT = 0xffff;
/** Upper bound on the central directory we are willing to read (≈ 2M entries). */
const MAX_CENTRAL_DIRECTORY = 256 * 1024 * 1024;
const utf8 = new TextDecoder('utf-8');

function corrupt(file: RandomAccessFile, msg: string): TinyLlamaError {
  return new TinyLlamaError('E_CORRUPT', `zip archive '${file.path}' is corrupt or truncated: ${msg}`);
}

/** Where the central directory is, from the (ZIP64) end-of-central-directory records. */
interface DirectoryLocation {
  readonly offset: number;
  readonly size: number;
  readonly count: number;
}

async function locateDirectory(file: RandomAccessFile): Promise<DirectoryLocation> {
  if (file.size < EOCD_SIZE) throw corrupt(file, `only ${file.size} bytes`);
  const tailLen = Math.min(file.size, EOCD_SIZE + MAX_COMMENT);
  const tailStart = file.size - tailLen;
  const tail = new ByteReader(await file.read(tailStart, tailLen, 'zip end record'), `zip archive '${file.path}'`);
  let eocd = -1;
  for (let i = tailLen - EOCD_SIZE; i >= 0; i--) {
    if (tail.view.getUint32(i, true) === SIG_EOCD && i + EOCD_SIZE + tail.u16(i + 20) <= tailLen) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw corrupt(file, 'no end-of-central-directory record');
  const disk = tail.u16(eocd + 4);
  const cdDisk = tail.u16(eocd + 6);
  let count = tail.u16(eocd + 10);
  let size = tail.u32(eocd + 12);
  let offset = tail.u32(eocd + 16);
  const needs64 = count === 0xffff || size === 0xffffffff || offset === 0xffffffff;
  const locatorAt = eocd - 20;
  const hasLocator = locatorAt >= 0 && tail.view.getUint32(locatorAt, true) === SIG_ZIP64_LOCATOR;
  if (needs64 || hasLocator) {
    if (!hasLocator) throw corrupt(file, 'ZIP64 end-of-central-directory locator missing');
    const z64At = tail.u64(locatorAt + 8, 'ZIP64 end record offset');
    if (tail.u32(locatorAt + 16) > 1) throw new TinyLlamaError('E_UNSUPPORTED', `zip archive '${file.path}' spans several disks`);
    const z64 = new ByteReader(await file.read(z64At, 56, 'ZIP64 end record'), `zip archive '${file.path}'`);
    if (z64.u32(0) !== SIG_ZIP64_EOCD) throw corrupt(file, 'bad ZIP64 end-of-central-directory signature');
    if (z64.u32(16) !== 0 || z64.u32(20) !== 0) throw new TinyLlamaError('E_UNSUPPORTED', `zip archive '${file.path}' spans several disks`);
    count = z64.u64(32, 'entry count');
    size = z64.u64(40, 'central directory size');
    offset = z64.u64(48, 'central directory offset');
  } else if (disk !== 0 || cdDisk !== 0) {
    throw new TinyLlamaError('E_UNSUPPORTED', `zip archive '${file.path}' spans several disks`);
  }
  if (size > MAX_CENTRAL_DIRECTORY) throw new TinyLlamaError('E_UNSUPPORTED', `zip archive '${file.path}': central directory of ${size} bytes is too large`);
  if (offset + size > file.size) throw corrupt(file, `central directory [${offset}, ${offset + size}) lies outside the file (${file.size} bytes)`);
  if (count * 46 > size) throw corrupt(file, `${count} entries cannot fit in a ${size}-byte central directory`);
  return { offset, size, count };
}

/** Reads the ZIP64 extended-information extra field (id 0x0001) for the saturated 32-bit fields. */
function applyZip64Extra(
  r: ByteReader,
  extraStart: number,
  extraLen: number,
  e: { compressedSize: number; uncompressedSize: number; localHeaderOffset: number },
  name: string,
): void {
  let p = extraStart;
  const end = extraStart + extraLen;
  while (p + 4 <= end) {
    const id = r.u16(p);
    const len = r.u16(p + 2);
    if (p + 4 + len > end) break;
    if (id === 0x0001) {
      let q = p + 4;
      const take = (what: string): number => {
        if (q + 8 > p + 4 + len) throw new TinyLlamaError('E_CORRUPT', `${r.source}: ZIP64 extra field of '${name}' lacks the ${what}`);
        const v = r.u64(q, `${what} of '${name}'`);
        q += 8;
        return v;
      };
      if (e.uncompressedSize === 0xffffffff) e.uncompressedSize = take('uncompressed size');
      if (e.compressedSize === 0xffffffff) e.compressedSize = take('compressed size');
      if (e.localHeaderOffset === 0xffffffff) e.localHeaderOffset = take('local header offset');
      return;
    }
    p += 4 + len;
  }
  if (e.uncompressedSize === 0xffffffff || e.compressedSize === 0xffffffff || e.localHeaderOffset === 0xffffffff) {
    throw new TinyLlamaError('E_CORRUPT', `${r.source}: entry '${name}' needs a ZIP64 extra field but has none`);
  }
}

/**
 * Reads the central directory of a zip archive (ZIP64 aware). Only the directory is read, never entry
 * data. Structural damage or truncation is `E_CORRUPT` naming the file.
 */
export async function readZipDirectory(file: RandomAccessFile): Promise<ZipEntry[]> {
  const loc = await locateDirectory(file);
  const r = new ByteReader(await file.read(loc.offset, loc.size, 'zip central directory'), `zip archive '${file.path}'`);
  const entries: ZipEntry[] = [];
  let p = 0;
  for (let i = 0; i < loc.count; i++) {
    if (r.u32(p) !== SIG_CENTRAL) throw corrupt(file, `bad central directory signature for entry ${i}`);
    const flags = r.u16(p + 8);
    const method = r.u16(p + 10);
    const nameLen = r.u16(p + 28);
    const extraLen = r.u16(p + 30);
    const commentLen = r.u16(p + 32);
    r.need(p + 46, nameLen + extraLen + commentLen, `central directory entry ${i}`);
    const name = utf8.decode(r.bytes.subarray(p + 46, p + 46 + nameLen));
    const e = { compressedSize: r.u32(p + 20), uncompressedSize: r.u32(p + 24), localHeaderOffset: r.u32(p + 42) };
    applyZip64Extra(r, p + 46 + nameLen, extraLen, e, name);
    entries.push({ name, method, flags, ...e });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/**
 * Absolute offset of an entry's data (after its local header, whose own name/extra lengths may differ
 * from the central directory's). Checks that the data lies inside the file.
 */
export async function zipEntryDataOffset(file: RandomAccessFile, e: ZipEntry): Promise<number> {
  const h = new ByteReader(await file.read(e.localHeaderOffset, 30, `local header of '${e.name}'`), `zip archive '${file.path}'`);
  if (h.u32(0) !== SIG_LOCAL) throw corrupt(file, `bad local header signature for '${e.name}'`);
  const start = e.localHeaderOffset + 30 + h.u16(26) + h.u16(28);
  if (start + e.compressedSize > file.size) {
    throw corrupt(file, `data of '${e.name}' [${start}, ${start + e.compressedSize}) runs past the end of the file (${file.size} bytes)`);
  }
  return start;
}

/** Rejects encrypted entries and unknown compression methods with `E_UNSUPPORTED`. */
export function checkEntrySupported(file: RandomAccessFile, e: ZipEntry): void {
  if (e.flags & 1) throw new TinyLlamaError('E_UNSUPPORTED', `zip archive '${file.path}': entry '${e.name}' is encrypted`);
  if (e.method !== 0 && e.method !== 8) {
    throw new TinyLlamaError('E_UNSUPPORTED', `zip archive '${file.path}': entry '${e.name}' uses compression method ${e.method} (only stored and deflated are supported)`);
  }
  if (e.method === 0 && e.compressedSize !== e.uncompressedSize) {
    throw corrupt(file, `stored entry '${e.name}' has compressed size ${e.compressedSize} != uncompressed size ${e.uncompressedSize}`);
  }
}

/**
 * Reads `length` bytes at `offset` of an entry's uncompressed content. Stored entries are one positioned
 * read; deflated entries are inflated whole (bounded by the declared size) and sliced.
 */
export async function readZipEntryRange(
  file: RandomAccessFile,
  e: ZipEntry,
  dataOffset: number,
  offset: number,
  length: number,
): Promise<Uint8Array> {
  if (offset < 0 || length < 0 || offset + length > e.uncompressedSize) {
    throw corrupt(file, `range [${offset}, ${offset + length}) lies outside entry '${e.name}' (${e.uncompressedSize} bytes)`);
  }
  if (e.method === 0) return file.read(dataOffset + offset, length, `'${e.name}'`);
  const packed = await file.read(dataOffset, e.compressedSize, `'${e.name}'`);
  let out: Uint8Array;
  try {
    out = inflateRawSync(packed, { maxOutputLength: Math.max(1, e.uncompressedSize) });
  } catch (err) {
    throw new TinyLlamaError('E_CORRUPT', `zip archive '${file.path}': cannot inflate '${e.name}'`, { cause: err });
  }
  if (out.byteLength !== e.uncompressedSize) {
    throw corrupt(file, `'${e.name}' inflated to ${out.byteLength} bytes, expected ${e.uncompressedSize}`);
  }
  const res = new Uint8Array(length); // a fresh, unshared buffer (zlib output may sit in Node's pool)
  res.set(out.subarray(offset, offset + length));
  return res;
}
