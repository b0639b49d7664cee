import { DTYPE_BYTES, TinyLlamaError, numel, type DType } from '@tinyllama/core';
import type { RandomAccessFile } from './file.js';

/** safetensors dtype name → framework dtype, for every dtype this package reads and writes. */
export const SAFETENSORS_DTYPES: Readonly<Record<string, DType>> = {
  F32: 'float32',
  F16: 'float16',
  BF16: 'bfloat16',
  F64: 'float64',
  I64: 'int64',
  I32: 'int32',
  I16: 'int16',
  I8: 'int8',
  U8: 'uint8',
  BOOL: 'bool',
};

/** Framework dtype → safetensors dtype name. */
export const DTYPE_TO_SAFETENSORS: Readonly<Record<DType, string>> = {
  float32: 'F32',
  float16: 'F16',
  bfloat16: 'BF16',
  float64: 'F64',
  int64: 'I64',
  int32: 'I32',
  int16: 'I16',
  int8: 'I8',
  uint8: 'U8',
  bool: 'BOOL',
};

/** Valid safetensors dtypes this package does not support (reported as `E_DTYPE`, not `E_CORRUPT`). */
const KNOWN_UNSUPPORTED = new Set(['U16', 'U32', 'U64', 'F8_E4M3', 'F8_E5M2', 'F8_E8M0', 'F6_E2M3', 'F6_E3M2', 'F4', 'C64']);

/** Largest header accepted (the reference implementation's limit). */
export const MAX_SAFETENSORS_HEADER = 100_000_000;

/** One tensor of a safetensors file with its absolute byte range in the file. */
export interface SafetensorsEntry {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: readonly number[];
  /** Absolute file offset of the first byte. */
  readonly start: number;
  readonly byteLength: number;
}

/** A parsed, validated safetensors header. */
export interface SafetensorsHeader {
  /** Tensors in file (data offset) order. */
  readonly entries: readonly SafetensorsEntry[];
  /** `__metadata__` (string → string), empty when absent. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Absolute offset of the data section (8 + header length). */
  readonly dataStart: number;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * Reads and validates the header of a safetensors file: 8-byte little-endian length, UTF-8 JSON object,
 * known dtypes, non-negative integer shapes, `data_offsets` inside the data section with
 * `end - begin = numel * itemsize`, and no two tensors overlapping. Any violation or truncation is
 * `E_CORRUPT` naming the file (an unsupported but valid dtype is `E_DTYPE`).
 */
export async function readSafetensorsHeader(file: RandomAccessFile): Promise<SafetensorsHeader> {
  const where = `safetensors file '${file.path}'`;
  const corrupt = (msg: string, cause?: unknown): TinyLlamaError =>
    new TinyLlamaError('E_CORRUPT', `${where} is corrupt: ${msg}`, { cause });
  if (file.size < 8) throw corrupt(`only ${file.size} bytes, too short for the 8-byte header length`);
  const lenBytes = await file.read(0, 8, 'header length');
  const headerLen = new DataView(lenBytes.buffer).getBigUint64(0, true);
  if (headerLen < 2n || headerLen > BigInt(MAX_SAFETENSORS_HEADER)) throw corrupt(`implausible header length ${headerLen}`);
  const n = Number(headerLen);
  if (8 + n > file.size) throw corrupt(`header of ${n} bytes runs past the end of the file (${file.size} bytes; truncated?)`);
  const raw = await file.read(8, n, 'header');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(raw));
  } catch (e) {
    throw corrupt('header is not valid UTF-8 JSON', e);
  }
  if (!isRecord(json)) throw corrupt('header is not a JSON object');

  const dataStart = 8 + n;
  const dataSize = file.size - dataStart;
  let metadata: Record<string, string> = {};
  const entries: SafetensorsEntry[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(value) || !Object.values(value).every((v) => typeof v === 'string')) {
        throw corrupt('__metadata__ must map strings to strings');
      }
      metadata = { ...(value as Record<string, string>) };
      continue;
    }
    if (!isRecord(value)) throw corrupt(`entry '${name}' is not an object`);
    const { dtype: st, shape, data_offsets: offsets } = value;
    if (typeof st !== 'string') throw corrupt(`tensor '${name}' has no dtype`);
    const dtype = SAFETENSORS_DTYPES[st];
    if (!dtype) {
      if (KNOWN_UNSUPPORTED.has(st)) throw new TinyLlamaError('E_DTYPE', `${where}: tensor '${name}' has unsupported dtype ${st}`);
      throw corrupt(`tensor '${name}' has unknown dtype '${st}'`);
    }
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw corrupt(`tensor '${name}' has an invalid shape ${JSON.stringify(shape)}`);
    }
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((o) => Number.isSafeInteger(o) && o >= 0)) {
      throw corrupt(`tensor '${name}' has invalid data_offsets ${JSON.stringify(offsets)}`);
    }
    const [begin, end] = offsets as [number, number];
    if (begin > end) throw corrupt(`tensor '${name}' has data_offsets [${begin}, ${end}] with begin > end`);
    if (end > dataSize) {
      throw corrupt(`tensor '${name}' data [${begin}, ${end}) runs past the end of the data section (${dataSize} bytes; truncated?)`);
    }
    const expected = numel(shape as number[]) * DTYPE_BYTES[dtype];
    if (end - begin !== expected) {
      throw corrupt(`tensor '${name}' (${st}, shape [${shape.join(', ')}]) spans ${end - begin} bytes, expected ${expected}`);
    }
    entries.push({ name, dtype, shape: shape as number[], start: dataStart + begin, byteLength: expected });
  }
  const byStart = entries.filter((e) => e.byteLength > 0).sort((a, b) => a.start - b.start);
  for (let i = 1; i < byStart.length; i++) {
    const prev = byStart[i - 1];
    if (byStart[i].start < prev.start + prev.byteLength) {
      throw corrupt(`tensors '${prev.name}' and '${byStart[i].name}' overlap`);
    }
  }
  // File order (JSON objects do not keep integer-like keys in document order); the sort is stable.
  entries.sort((a, b) => a.start - b.start);
  return { entries, metadata, dataStart };
}
