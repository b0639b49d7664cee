/**
 * A minimal protocol-buffers wire-format reader: just enough to walk a message field by field
 * (varints, 32/64-bit fixed values, length-delimited fields, and skipping anything unknown).
 */

/** Wire types of the protobuf encoding. */
export const WireType = {
  Varint: 0,
  Fixed64: 1,
  LengthDelimited: 2,
  StartGroup: 3,
  EndGroup: 4,
  Fixed32: 5,
} as const;

/** Thrown by {@link ProtoReader} on malformed input; callers wrap it in a `TinyLlamaError`. */
export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

/** One field header: its number and wire type. */
export interface ProtoTag {
  readonly field: number;
  readonly wireType: number;
}

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

/**
 * Reads fields from one message (a byte range). Nested messages are read with a new reader over
 * {@link ProtoReader.bytes}'s result.
 */
export class ProtoReader {
  readonly #buf: Uint8Array;
  readonly #view: DataView;
  #pos: number;
  readonly #end: number;

  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.#buf = buf;
    this.#view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
    this.#pos = start;
    this.#end = end;
  }

  /** Current byte offset (relative to the start of the underlying array). */
  get pos(): number {
    return this.#pos;
  }

  /** True while fields remain. */
  get more(): boolean {
    return this.#pos < this.#end;
  }

  /** The next field header. */
  tag(): ProtoTag {
    const key = this.uint32();
    const field = key >>> 3;
    if (field === 0) throw new ProtoError(`invalid field number 0 at byte ${this.#pos}`);
    return { field, wireType: key & 7 };
  }

  /** A varint truncated to its low 32 bits, unsigned (uint32, enum, field keys). */
  uint32(): number {
    return this.int32() >>> 0;
  }

  /** A varint truncated to its low 32 bits, signed (int32: negatives are 10-byte varints). */
  int32(): number {
    let low = 0;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#end) throw new ProtoError(`truncated varint at byte ${this.#pos}`);
      const b = this.#buf[this.#pos++];
      // Bits above 32 are dropped: 7 bits per byte, the 5th byte contributes its low 4 bits.
      if (i < 5) low |= (b & 0x7f) << (7 * i);
      if ((b & 0x80) === 0) return low | 0;
    }
    throw new ProtoError(`varint longer than 10 bytes at byte ${this.#pos}`);
  }

  /** A varint as a boolean. */
  bool(): boolean {
    return this.int32() !== 0;
  }

  /** A little-endian IEEE float (wire type Fixed32). */
  float(): number {
    this.#need(4);
    const v = this.#view.getFloat32(this.#pos, true);
    this.#pos += 4;
    return v;
  }

  /** The payload of a length-delimited field, as a view (no copy). */
  bytes(): Uint8Array {
    const len = this.uint32();
    this.#need(len);
    const out = this.#buf.subarray(this.#pos, this.#pos + len);
    this.#pos += len;
    return out;
  }

  /** A length-delimited field as UTF-8 text (a leading U+FEFF is kept; invalid bytes become U+FFFD). */
  string(): string {
    return utf8.decode(this.bytes());
  }

  /** A reader over an embedded message. */
  message(): ProtoReader {
    const b = this.bytes();
    return new ProtoReader(b);
  }

  /** Skips the value of a field with this wire type (groups included). */
  skip(wireType: number, field = 0): void {
    switch (wireType) {
      case WireType.Varint:
        this.int32();
        return;
      case WireType.Fixed64:
        this.#need(8);
        this.#pos += 8;
        return;
      case WireType.LengthDelimited:
        this.bytes();
        return;
      case WireType.Fixed32:
        this.#need(4);
        this.#pos += 4;
        return;
      case WireType.StartGroup:
        for (;;) {
          if (!this.more) throw new ProtoError(`unterminated group (field ${field})`);
          const t = this.tag();
          if (t.wireType === WireType.EndGroup) {
            if (t.field !== field) throw new ProtoError(`mismatched end of group ${t.field} (expected ${field})`);
            return;
          }
          this.skip(t.wireType, t.field);
        }
      default:
        throw new ProtoError(`invalid wire type ${wireType} at byte ${this.#pos}`);
    }
  }

  /** Throws unless the field has the expected wire type. */
  expect(tag: ProtoTag, wireType: number, what: string): void {
    if (tag.wireType !== wireType) {
      throw new ProtoError(`${what} (field ${tag.field}) has wire type ${tag.wireType}, expected ${wireType}`);
    }
  }

  #need(n: number): void {
    if (this.#pos + n > this.#end) {
      throw new ProtoError(`truncated field at byte ${this.#pos}: needs ${n} bytes, ${this.#end - this.#pos} left`);
    }
  }
}
