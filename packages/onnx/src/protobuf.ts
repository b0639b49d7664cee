/**
 * A minimal protobuf wire-format writer: just what ONNX serialization needs (varints, 32-bit floats,
 * length-delimited bytes/strings/sub-messages). Large byte fields are kept as separate chunks (no copy),
 * so a message can reference big tensor payloads and be streamed out chunk by chunk.
 */

import { concatBytes } from '@tinyllama/core';

const enum WireType {
  Varint = 0,
  Fixed64 = 1,
  LengthDelimited = 2,
  Fixed32 = 5,
}

/** Byte fields at least this large are referenced as their own chunk instead of being copied. */
const CHUNK_REFERENCE_THRESHOLD = 4096;

const textEncoder = new TextEncoder();

/** Serialized message bytes as an ordered list of chunks (concatenate them to get the message). */
export interface ProtoChunks {
  readonly chunks: readonly Uint8Array[];
  readonly byteLength: number;
}

/** Appends protobuf fields to a growing, chunked buffer. */
export class ProtoWriter implements ProtoChunks {
  readonly #chunks: Uint8Array[] = [];
  #buf = new Uint8Array(256);
  #pos = 0;
  #flushed = 0;

  /** Total bytes written so far. */
  get byteLength(): number {
    return this.#flushed + this.#pos;
  }

  /** The message as chunks; the writer must not be used afterwards. */
  get chunks(): readonly Uint8Array[] {
    this.#flush();
    return this.#chunks;
  }

  /** The message as one contiguous buffer. */
  toBytes(): Uint8Array {
    return concatBytes(this.chunks, this.byteLength);
  }

  /** An unsigned varint field (`uint64`, `int32`/`int64` non-negative, enums, bools). */
  varint(field: number, value: number | bigint | boolean): this {
    this.#tag(field, WireType.Varint);
    this.#varint(typeof value === 'boolean' ? (value ? 1 : 0) : value);
    return this;
  }

  /** A signed `int64`/`int32` field (negative values take ten bytes, two's complement). */
  int64(field: number, value: number | bigint): this {
    this.#tag(field, WireType.Varint);
    this.#varint(value);
    return this;
  }

  /** A `float` field (fixed 32-bit little-endian). */
  float(field: number, value: number): this {
    this.#tag(field, WireType.Fixed32);
    this.#ensure(4);
    new DataView(this.#buf.buffer, this.#buf.byteOffset).setFloat32(this.#pos, value, true);
    this.#pos += 4;
    return this;
  }

  /** A `double` field (fixed 64-bit little-endian). */
  double(field: number, value: number): this {
    this.#tag(field, WireType.Fixed64);
    this.#ensure(8);
    new DataView(this.#buf.buffer, this.#buf.byteOffset).setFloat64(this.#pos, value, true);
    this.#pos += 8;
    return this;
  }

  /** A UTF-8 `string` field. */
  string(field: number, value: string): this {
    return this.bytes(field, textEncoder.encode(value));
  }

  /** A `bytes` field. Large payloads are referenced, not copied: do not mutate them afterwards. */
  bytes(field: number, data: Uint8Array): this {
    this.#tag(field, WireType.LengthDelimited);
    this.#varint(data.byteLength);
    this.#raw(data);
    return this;
  }

  /** An embedded message field. */
  message(field: number, message: ProtoChunks): this {
    this.#tag(field, WireType.LengthDelimited);
    this.#varint(message.byteLength);
    for (const c of message.chunks) this.#raw(c);
    return this;
  }

  #tag(field: number, wire: WireType): void {
    this.#varint(field * 8 + wire);
  }

  #varint(value: number | bigint): void {
    this.#ensure(10);
    if (typeof value === 'number' && value >= 0 && value <= Number.MAX_SAFE_INTEGER && Number.isInteger(value)) {
      let v = value;
      while (v >= 0x80) {
        this.#buf[this.#pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
      this.#buf[this.#pos++] = v;
      return;
    }
    if (typeof value === 'number' && !Number.isInteger(value)) {
      throw new RangeError(`protobuf varint: ${value} is not an integer`);
    }
    let v = BigInt.asUintN(64, BigInt(value));
    while (v >= 0x80n) {
      this.#buf[this.#pos++] = Number(v & 0x7fn) | 0x80;
      v >>= 7n;
    }
    this.#buf[this.#pos++] = Number(v);
  }

  #raw(data: Uint8Array): void {
    if (data.byteLength >= CHUNK_REFERENCE_THRESHOLD) {
      this.#flush();
      this.#chunks.push(data);
      this.#flushed += data.byteLength;
      return;
    }
    this.#ensure(data.byteLength);
    this.#buf.set(data, this.#pos);
    this.#pos += data.byteLength;
  }

  #ensure(n: number): void {
    if (this.#pos + n <= this.#buf.byteLength) return;
    const next = new Uint8Array(Math.max(this.#buf.byteLength * 2, this.#pos + n));
    next.set(this.#buf.subarray(0, this.#pos));
    this.#buf = next;
  }

  #flush(): void {
    if (this.#pos === 0) return;
    this.#chunks.push(this.#buf.subarray(0, this.#pos));
    this.#flushed += this.#pos;
    this.#buf = new Uint8Array(256);
    this.#pos = 0;
  }
}
