/**
 * The GGUF v3 container (ggml's model file): constants, metadata values and their little-endian
 * encoding. Layout: magic `GGUF`, version u32, tensor count u64, metadata count u64, the metadata
 * key/values, the tensor infos (name, n_dims u32, dims u64[] innermost first, ggml type u32, data
 * offset u64), padding to the alignment, then the tensor data, each tensor aligned.
 */
import { TinyLlamaError } from '@tinyllama/core';

/** File magic, the bytes `GGUF`. */
export const GGUF_MAGIC = 0x46554747;
/** The version this package writes. */
export const GGUF_VERSION = 3;
/** Default data alignment in bytes (`general.alignment` when absent). */
export const GGUF_DEFAULT_ALIGNMENT = 32;

/** Metadata value types (`gguf_type`). */
export const GgufValueType = {
  UINT8: 0,
  INT8: 1,
  UINT16: 2,
  INT16: 3,
  UINT32: 4,
  INT32: 5,
  FLOAT32: 6,
  BOOL: 7,
  STRING: 8,
  ARRAY: 9,
  UINT64: 10,
  INT64: 11,
  FLOAT64: 12,
} as const;
/** One of {@link GgufValueType}. */
export type GgufValueType = (typeof GgufValueType)[keyof typeof GgufValueType];

/** The tensor types this package writes (`ggml_type` values). */
export const GgmlType = { F32: 0, F16: 1, Q4_0: 2, Q8_0: 8 } as const;
/** One of {@link GgmlType}. */
export type GgmlType = (typeof GgmlType)[keyof typeof GgmlType];

/** Elements per block and bytes per block of each {@link GgmlType}. */
export const GGML_TYPE_LAYOUT: Readonly<Record<GgmlType, { readonly blockSize: number; readonly blockBytes: number; readonly name: string }>> = {
  [GgmlType.F32]: { blockSize: 1, blockBytes: 4, name: 'F32' },
  [GgmlType.F16]: { blockSize: 1, blockBytes: 2, name: 'F16' },
  // d: f16, qs: 16 bytes of nibbles
  [GgmlType.Q4_0]: { blockSize: 32, blockBytes: 18, name: 'Q4_0' },
  // d: f16, qs: 32 int8
  [GgmlType.Q8_0]: { blockSize: 32, blockBytes: 34, name: 'Q8_0' },
};

/** `general.file_type` values (`llama_ftype`) for the export types. */
export const LlamaFileType = { ALL_F32: 0, MOSTLY_F16: 1, MOSTLY_Q4_0: 2, MOSTLY_Q8_0: 7 } as const;
/** One of {@link LlamaFileType}. */
export type LlamaFileType = (typeof LlamaFileType)[keyof typeof LlamaFileType];

/** A scalar metadata value. */
export type GgufScalar =
  | { readonly type: typeof GgufValueType.UINT8 | typeof GgufValueType.INT8 | typeof GgufValueType.UINT16 | typeof GgufValueType.INT16; readonly value: number }
  | { readonly type: typeof GgufValueType.UINT32 | typeof GgufValueType.INT32 | typeof GgufValueType.FLOAT32 | typeof GgufValueType.FLOAT64; readonly value: number }
  | { readonly type: typeof GgufValueType.UINT64 | typeof GgufValueType.INT64; readonly value: bigint }
  | { readonly type: typeof GgufValueType.BOOL; readonly value: boolean }
  | { readonly type: typeof GgufValueType.STRING; readonly value: string };

/** An array metadata value (elements of one scalar type). */
export interface GgufArray {
  readonly type: typeof GgufValueType.ARRAY;
  readonly itemType: Exclude<GgufValueType, typeof GgufValueType.ARRAY>;
  readonly values: readonly (number | bigint | boolean | string)[];
}

/** A metadata value. */
export type GgufValue = GgufScalar | GgufArray;

/** Ordered metadata: key → value. */
export type GgufMetadata = ReadonlyArray<readonly [key: string, value: GgufValue]>;

/** Constructors for metadata values. */
export const gguf = {
  u32: (value: number): GgufValue => ({ type: GgufValueType.UINT32, value }),
  i32: (value: number): GgufValue => ({ type: GgufValueType.INT32, value }),
  f32: (value: number): GgufValue => ({ type: GgufValueType.FLOAT32, value }),
  bool: (value: boolean): GgufValue => ({ type: GgufValueType.BOOL, value }),
  str: (value: string): GgufValue => ({ type: GgufValueType.STRING, value }),
  strArray: (values: readonly string[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.STRING, values }),
  f32Array: (values: readonly number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.FLOAT32, values }),
  i32Array: (values: readonly number[]): GgufValue => ({ type: GgufValueType.ARRAY, itemType: GgufValueType.INT32, values }),
} as const;

/** What the header says about one tensor. */
export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: `dims[0]` is the innermost (contiguous) dimension, i.e. a Hugging Face `[out, in]` is `[in, out]`. */
  readonly dims: readonly number[];
  readonly type: GgmlType;
}

/** Bytes of a tensor's data; throws `E_SHAPE` when the row length is not a whole number of blocks. */
export function ggmlTensorBytes(t: GgufTensorInfo): number {
  const layout = GGML_TYPE_LAYOUT[t.type];
  if (!layout) throw new TinyLlamaError('E_DTYPE', `tensor '${t.name}': unsupported ggml type ${t.type}`);
  const row = t.dims[0] ?? 1;
  if (row % layout.blockSize !== 0) {
    throw new TinyLlamaError('E_SHAPE', `tensor '${t.name}': row length ${row} is not a multiple of the ${layout.name} block size ${layout.blockSize}`);
  }
  let n = 1;
  for (const d of t.dims) n *= d;
  return (n / layout.blockSize) * layout.blockBytes;
}

/** Rounds `n` up to a multiple of `alignment`. */
export function alignUp(n: number, alignment: number): number {
  return Math.ceil(n / alignment) * alignment;
}

const utf8 = new TextEncoder();

/** A growable little-endian byte buffer. */
class ByteSink {
  private buf = new Uint8Array(1 << 16);
  private dv = new DataView(this.buf.buffer);
  length = 0;

  private reserve(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
    this.dv = new DataView(next.buffer);
  }
  u8(v: number): void { this.reserve(1); this.dv.setUint8(this.length, v); this.length += 1; }
  i8(v: number): void { this.reserve(1); this.dv.setInt8(this.length, v); this.length += 1; }
  u16(v: number): void { this.reserve(2); this.dv.setUint16(this.length, v, true); this.length += 2; }
  i16(v: number): void { this.reserve(2); this.dv.setInt16(this.length, v, true); this.length += 2; }
  u32(v: number): void { this.reserve(4); this.dv.setUint32(this.length, v, true); this.length += 4; }
  i32(v: number): void { this.reserve(4); this.dv.setInt32(this.length, v, true); this.length += 4; }
  f32(v: number): void { this.reserve(4); this.dv.setFloat32(this.length, v, true); this.length += 4; }
  f64(v: number): void { this.reserve(8); this.dv.setFloat64(this.length, v, true); this.length += 8; }
  u64(v: bigint | number): void { this.reserve(8); this.dv.setBigUint64(this.length, BigInt(v), true); this.length += 8; }
  i64(v: bigint): void { this.reserve(8); this.dv.setBigInt64(this.length, v, true); this.length += 8; }
  str(s: string): void {
    const b = utf8.encode(s);
    this.u64(b.length);
    this.reserve(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
  }
  pad(alignment: number): void {
    const n = alignUp(this.length, alignment) - this.length;
    this.reserve(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
  }
  bytes(): Uint8Array { return this.buf.slice(0, this.length); }
}

function writeScalar(out: ByteSink, type: GgufValueType, v: number | bigint | boolean | string, key: string): void {
  const bad = (): TinyLlamaError => new TinyLlamaError('E_ARGUMENT', `GGUF metadata '${key}': value ${String(v)} does not fit type ${type}`);
  switch (type) {
    case GgufValueType.STRING: if (typeof v !== 'string') throw bad(); out.str(v); return;
    case GgufValueType.BOOL: if (typeof v !== 'boolean') throw bad(); out.i8(v ? 1 : 0); return;
    case GgufValueType.UINT64: case GgufValueType.INT64:
      if (typeof v !== 'bigint') throw bad();
      if (type === GgufValueType.UINT64) out.u64(v); else out.i64(v);
      return;
    default: break;
  }
  if (typeof v !== 'number') throw bad();
  switch (type) {
    case GgufValueType.UINT8: out.u8(v); return;
    case GgufValueType.INT8: out.i8(v); return;
    case GgufValueType.UINT16: out.u16(v); return;
    case GgufValueType.INT16: out.i16(v); return;
    case GgufValueType.UINT32: out.u32(v); return;
    case GgufValueType.INT32: out.i32(v); return;
    case GgufValueType.FLOAT32: out.f32(v); return;
    case GgufValueType.FLOAT64: out.f64(v); return;
    default: throw bad();
  }
}

/**
 * Encodes everything before the tensor data: header, metadata, tensor infos (with offsets computed
 * from {@link ggmlTensorBytes}, each aligned) and the padding up to the data section.
 * Returns the bytes and each tensor's offset relative to the data section.
 */
export function encodeGgufHeader(
  metadata: GgufMetadata,
  tensors: readonly GgufTensorInfo[],
  alignment = GGUF_DEFAULT_ALIGNMENT,
): { bytes: Uint8Array; offsets: number[]; dataBytes: number } {
  const out = new ByteSink();
  out.u32(GGUF_MAGIC);
  out.u32(GGUF_VERSION);
  out.u64(tensors.length);
  out.u64(metadata.length);
  for (const [key, value] of metadata) {
    out.str(key);
    out.u32(value.type);
    if (value.type === GgufValueType.ARRAY) {
      out.u32(value.itemType);
      out.u64(value.values.length);
      for (const v of value.values) writeScalar(out, value.itemType, v, key);
    } else {
      writeScalar(out, value.type, value.value, key);
    }
  }
  const offsets: number[] = [];
  let offset = 0;
  for (const t of tensors) {
    out.str(t.name);
    out.u32(t.dims.length);
    for (const d of t.dims) out.u64(d);
    out.u32(t.type);
    out.u64(offset);
    offsets.push(offset);
    offset = alignUp(offset + ggmlTensorBytes(t), alignment);
  }
  out.pad(alignment);
  return { bytes: out.bytes(), offsets, dataBytes: offset };
}
