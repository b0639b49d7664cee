/**
 * A minimal protobuf wire-format reader: the inverse of {@link ProtoWriter}, just what ONNX decoding
 * needs. It walks a Uint8Array in place: length-delimited fields come back as `subarray` views (no
 * copies) and embedded messages as child readers over the same buffer, so byte offsets in error
 * messages are absolute. Malformed or truncated input throws `TinyLlamaError('E_CORRUPT')` naming the
 * message path and field number.
 */
import { TinyLlamaError } from '@tinyllama/core';

/** Protobuf wire types. */
export const WIRE = {
  varint: 0,
  fixed64: 1,
  lengthDelimited: 2,
  startGroup: 3,
  endGroup: 4,
  fixed32: 5,
} as const;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'invalid(6)', 'invalid(7)'];

/** Groups nested deeper than this are rejected (guards the recursive skip against hostile input). */
const MAX_GROUP_DEPTH = 64;

const textDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads the fields of one protobuf message in `bytes[start, end)`.
 *
 * Usage: `while (r.next()) switch (r.field) { case 1: x = r.uint(); break; default: r.skip(); }`.
 * Every value accessor reads the field announced by the last {@link next} and checks its wire type.
 */
export class ProtoReader {
  /** The whole underlying buffer (shared with parent and child readers). */
  readonly buf: Uint8Array;
  readonly #parent: ProtoReader | undefined;
  readonly #name: string;
  readonly #index: number;
  readonly #end: number;
  #pos: number;
  #view: DataView | undefined;
  /** Field number of the current field (valid after {@link next} returned true). */
  field = 0;
  /** Wire type of the current field. */
  wire = 0;

  /**
   * Reads `bytes[start, end)`; `context` names the message in error messages (e.g. `ModelProto`).
   * `parent` and `index` are used by {@link message} for child readers.
   */
  constructor(bytes: Uint8Array, context = 'message', start = 0, end = bytes.byteLength, parent?: ProtoReader, index = -1) {
    if (!(start >= 0 && start <= end && end <= bytes.byteLength)) {
      throw new RangeError(`ProtoReader: range [${start}, ${end}) outside a ${bytes.byteLength}-byte buffer`);
    }
    this.buf = bytes;
    this.#name = context;
    this.#parent = parent;
    this.#index = index;
    this.#pos = start;
    this.#end = end;
  }

  /** Message path used in error messages, e.g. `ModelProto.graph.node[3]` (built on demand). */
  get context(): string {
    const own = this.#index >= 0 ? `${this.#name}[${this.#index}]` : this.#name;
    return this.#parent === undefined ? own : `${this.#parent.context}.${own}`;
  }

  /** Current read position (index into {@link buf}). */
  get pos(): number {
    return this.#pos;
  }

  /** End of this message (exclusive index into {@link buf}). */
  get end(): number {
    return this.#end;
  }

  /** Reads the next field tag. Returns false at the end of the message. */
  next(): boolean {
    const p = this.#pos;
    if (p >= this.#end) return false;
    let tag: number | bigint = this.buf[p];
    if (tag < 0x80) this.#pos = p + 1; // one-byte tags (fields 1..15) are the common case
    else tag = this.#varint(-1);
    if (typeof tag !== 'number' || tag > 0xffffffff) throw this.error(`field tag ${tag} out of range`);
    const field = Math.floor(tag / 8);
    const wire = tag % 8;
    if (field === 0) throw this.error('field number 0 is invalid');
    if (wire > 5) throw this.error(`field ${field}: invalid wire type ${wire}`);
    this.field = field;
    this.wire = wire;
    return true;
  }

  /** An unsigned varint that must fit in a JS number (lengths, enums, `uint32`, non-negative ints). */
  uint(): number {
    this.#expect(WIRE.varint);
    return this.#uint();
  }

  /** An unsigned 64-bit varint: a number when it is a safe integer, else a bigint. */
  uint64(): number | bigint {
    this.#expect(WIRE.varint);
    return this.#varint(this.field);
  }

  /** A signed `int64`/`int32` varint (two's complement): a number when safe, else a bigint. */
  int64(): number | bigint {
    this.#expect(WIRE.varint);
    return this.#int64();
  }

  /** A signed `int64`/`int32` varint that must be a safe integer (dims, attribute ints). */
  int64Number(): number {
    this.#expect(WIRE.varint);
    const v = this.#int64();
    if (typeof v !== 'number') throw this.error(`field ${this.field}: int64 value ${v} is not a safe JS integer`);
    return v;
  }

  /** A `bool` varint. */
  bool(): boolean {
    return this.uint64() !== 0;
  }

  /** A `float` (fixed32). */
  float(): number {
    this.#expect(WIRE.fixed32);
    return this.#fixed32Float();
  }

  /** A `fixed32` unsigned integer. */
  fixed32(): number {
    this.#expect(WIRE.fixed32);
    const p = this.#take(4);
    return this.#dataView().getUint32(p, true);
  }

  /** A `double` (fixed64). */
  double(): number {
    this.#expect(WIRE.fixed64);
    return this.#fixed64Double();
  }

  /** A `fixed64` unsigned integer: a number when safe, else a bigint. */
  fixed64(): number | bigint {
    this.#expect(WIRE.fixed64);
    const p = this.#take(8);
    const v = this.#dataView().getBigUint64(p, true);
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  /** A `bytes` field as a view into the buffer (not a copy). */
  bytes(): Uint8Array {
    const start = this.#lengthDelimited();
    return this.buf.subarray(start, this.#pos);
  }

  /** A UTF-8 `string` field (invalid UTF-8 is an error). */
  string(): string {
    const start = this.#lengthDelimited();
    const end = this.#pos;
    const b = this.buf;
    if (end - start <= 48) {
      // Short ASCII strings (names, op types) dominate ONNX graphs: skip the subarray + TextDecoder calls.
      let s = '';
      let i = start;
      for (; i < end; i++) {
        const c = b[i];
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    try {
      return textDecoder.decode(b.subarray(start, end));
    } catch (e) {
      throw this.error(`field ${this.field}: invalid UTF-8 string`, e);
    }
  }

  /**
   * An embedded message as a child reader over the same buffer; `name` (and `index`, for repeated
   * fields) extend the error context, e.g. `message('node', 3)` -> `...graph.node[3]`.
   */
  message(name: string, index = -1): ProtoReader {
    const start = this.#lengthDelimited();
    return new ProtoReader(this.buf, name, start, this.#pos, this, index);
  }

  /**
   * Appends the values of a repeated scalar field to `out`, accepting both encodings: packed (one
   * length-delimited run) and unpacked (one value per tag, of wire type `elementWire`). `read` reads one
   * value with this reader's accessors (e.g. `() => r.float()`); it checks the wire type as usual.
   */
  repeated<T>(out: T[], elementWire: number, read: () => T): void {
    if (elementWire === WIRE.lengthDelimited) throw new RangeError('ProtoReader.repeated: only scalar fields can be packed');
    if (this.wire !== WIRE.lengthDelimited) {
      out.push(read());
      return;
    }
    const start = this.#lengthDelimited();
    const end = this.#pos;
    const saved = this.#pos;
    const savedWire = this.wire;
    this.#pos = start;
    this.wire = elementWire;
    try {
      // Packed values are read with this reader's accessors, bounded by the run's end.
      while (this.#pos < end) {
        out.push(read());
        if (this.#pos > end) throw this.error(`field ${this.field}: packed value runs past the end of its run`);
      }
    } finally {
      this.wire = savedWire;
    }
    this.#pos = saved;
  }

  /** Skips the current field, whatever its wire type (groups included). */
  skip(): void {
    this.#skip(this.field, this.wire, 0);
  }

  /** A `TinyLlamaError('E_CORRUPT')` naming this message and the current position. */
  error(message: string, cause?: unknown): TinyLlamaError {
    return new TinyLlamaError('E_CORRUPT', `ONNX protobuf: ${this.context}: ${message} (at byte ${this.#pos})`, cause === undefined ? undefined : { cause });
  }

  #skip(field: number, wire: number, depth: number): void {
    switch (wire) {
      case WIRE.varint:
        this.#varint(field);
        return;
      case WIRE.fixed64:
        this.#take(8);
        return;
      case WIRE.lengthDelimited:
        this.#lengthDelimited();
        return;
      case WIRE.fixed32:
        this.#take(4);
        return;
      case WIRE.startGroup: {
        if (depth >= MAX_GROUP_DEPTH) throw this.error(`field ${field}: groups nested too deeply`);
        for (;;) {
          if (this.#pos >= this.#end) throw this.error(`field ${field}: truncated group (no end-group tag)`);
          const tag = this.#uint();
          const f = Math.floor(tag / 8);
          const w = tag % 8;
          if (w === WIRE.endGroup) {
            if (f !== field) throw this.error(`field ${field}: group closed by end-group tag of field ${f}`);
            return;
          }
          if (f === 0 || w > 5) throw this.error(`field ${field}: invalid tag ${tag} inside group`);
          this.#skip(f, w, depth + 1);
        }
      }
      default:
        throw this.error(`field ${field}: unexpected ${WIRE_NAMES[wire]} tag`);
    }
  }

  #expect(wire: number): void {
    if (this.wire !== wire) {
      throw this.error(`field ${this.field}: wire type ${WIRE_NAMES[this.wire]}, expected ${WIRE_NAMES[wire]}`);
    }
  }

  #take(n: number): number {
    const p = this.#pos;
    if (p + n > this.#end) throw this.error(`field ${this.field}: truncated (${n} bytes needed, ${this.#end - p} left)`);
    this.#pos = p + n;
    return p;
  }

  /** Reads a length prefix and moves past the payload; returns the payload start (its end is `#pos`). */
  #lengthDelimited(): number {
    this.#expect(WIRE.lengthDelimited);
    const len = this.#uint();
    const start = this.#pos;
    if (len > this.#end - start) {
      throw this.error(`field ${this.field}: length ${len} runs past the end of the message (${this.#end - start} bytes left)`);
    }
    this.#pos = start + len;
    return start;
  }

  #uint(): number {
    const p = this.#pos;
    if (p < this.#end && this.buf[p] < 0x80) {
      this.#pos = p + 1;
      return this.buf[p];
    }
    const v = this.#varint(this.field);
    if (typeof v !== 'number') throw this.error(`field ${this.field}: varint ${v} is too large`);
    return v;
  }

  #int64(): number | bigint {
    const v = this.#varint(this.field);
    if (typeof v === 'number') return v;
    const s = BigInt.asIntN(64, v);
    return s >= BigInt(Number.MIN_SAFE_INTEGER) && s <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(s) : s;
  }

  /** Unsigned 64-bit varint: number when <= MAX_SAFE_INTEGER, else bigint. `field` -1 = a tag. */
  #varint(field: number): number | bigint {
    const b = this.buf;
    const end = this.#end;
    const start = this.#pos;
    let p = start;
    let value = 0;
    let mult = 1;
    for (let i = 0; i < 10; i++) {
      if (p >= end) {
        this.#pos = start;
        throw this.error(`${field < 0 ? 'tag' : `field ${field}`}: truncated varint`);
      }
      const byte = b[p++];
      // Exact while the value stays below 2^53; larger values are redone with bigints.
      value += (byte & 0x7f) * mult;
      if (byte < 0x80) {
        if (i === 9 && byte > 1) {
          this.#pos = start;
          throw this.error(`${field < 0 ? 'tag' : `field ${field}`}: varint overflows 64 bits`);
        }
        this.#pos = p;
        if (value <= Number.MAX_SAFE_INTEGER) return value;
        let big = 0n;
        for (let q = p - 1; q >= start; q--) big = (big << 7n) | BigInt(b[q] & 0x7f);
        return big;
      }
      mult *= 128;
    }
    this.#pos = start;
    throw this.error(`${field < 0 ? 'tag' : `field ${field}`}: varint longer than 10 bytes`);
  }

  #dataView(): DataView {
    // One DataView per buffer, shared down the reader tree.
    if (this.#view === undefined) {
      this.#view = this.#parent !== undefined ? this.#parent.#dataView() : new DataView(this.buf.buffer, this.buf.byteOffset, this.buf.byteLength);
    }
    return this.#view;
  }

  #fixed32Float(): number {
    const p = this.#take(4);
    return this.#dataView().getFloat32(p, true);
  }

  #fixed64Double(): number {
    const p = this.#take(8);
    return this.#dataView().getFloat64(p, true);
  }
}
