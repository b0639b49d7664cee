/**
 * Shared test helpers: fixture paths, a seeded PRNG, the wasm library for comparisons, and a tiny
 * protobuf writer for synthetic models.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { WasmEncoder } from '../src/wasm-processor.js';

/** Repository root (/work/main). */
export const REPO_ROOT = fileURLToPath(new URL('../../..', import.meta.url));
/** Shared read-only fixtures (outside the repository). */
export const SHARED = path.resolve(REPO_ROOT, '../shared/fixtures');
export const LLAMA2_MODEL = path.join(SHARED, 'llama2-tokenizer.model');
export const HAVE_LLAMA2 = existsSync(LLAMA2_MODEL);
export const TINY_MODEL = path.join(REPO_ROOT, 'fixtures/tiny/tokenizer.model');
export const HAVE_TINY = existsSync(TINY_MODEL);
export const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

/** Suffix for a test-suite name: empty when the fixture exists, else why the suite is skipped. */
export function skipNote(exists: boolean, file: string): string {
  return exists ? '' : ` [SKIPPED: ${file} not found]`;
}

/** Reads a committed JSON fixture. */
export function readFixture<T>(name: string): T {
  return JSON.parse(readFileSync(path.join(FIXTURES, name), 'utf8')) as T;
}

/**
 * The C++ library (wasm) loaded with a model, to compare with. Imported on demand, so that test files
 * that do not call this never load the wasm module.
 */
export async function wasmLibrary(bytes: Uint8Array): Promise<WasmEncoder> {
  const { WasmEncoder } = await import('../src/wasm-processor.js');
  return WasmEncoder.load(bytes, 'test.model');
}

/** The library's decode, corrected for its one quirk (it drops a leading U+FEFF that `ours` has). */
export function libraryDecode(lib: WasmEncoder, ids: readonly number[], ours: string): string {
  const text = lib.decodeWithLibrary(ids);
  return ours.startsWith('\uFEFF') && !text.startsWith('\uFEFF') ? '\uFEFF' + text : text;
}

/** mulberry32: a small deterministic PRNG returning floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A minimal protobuf writer (for building synthetic `.model` files in tests). */
export class ProtoWriter {
  readonly #out: number[] = [];

  varint(field: number, value: number | bigint): this {
    this.#tag(field, 0);
    this.#rawVarint(BigInt.asUintN(64, BigInt(value)));
    return this;
  }
  float(field: number, value: number): this {
    this.#tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, value, true);
    this.#out.push(...b);
    return this;
  }
  bytes(field: number, value: Uint8Array): this {
    this.#tag(field, 2);
    this.#rawVarint(BigInt(value.length));
    this.#out.push(...value);
    return this;
  }
  string(field: number, value: string): this {
    return this.bytes(field, new TextEncoder().encode(value));
  }
  message(field: number, m: ProtoWriter): this {
    return this.bytes(field, m.finish());
  }
  /** Raw bytes appended as they are (e.g. to inject unknown wire types). */
  raw(...bytes: number[]): this {
    this.#out.push(...bytes);
    return this;
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#out);
  }
  #tag(field: number, wire: number): void {
    this.#rawVarint(BigInt((field << 3) | wire));
  }
  #rawVarint(v: bigint): void {
    do {
      let b = Number(v & 0x7fn);
      v >>= 7n;
      if (v > 0n) b |= 0x80;
      this.#out.push(b);
    } while (v > 0n);
  }
}

/** Options of {@link syntheticModel}. */
export interface SyntheticOptions {
  readonly removeExtraWhitespaces?: boolean;
  readonly addDummyPrefix?: boolean;
  readonly unkSurface?: string;
  /** Extra normal pieces (after the built-in ones). */
  readonly pieces?: readonly string[];
  readonly withPad?: boolean;
}

/**
 * A small BPE model: `<unk>` `<s>` `</s>` [`<pad>`], 256 byte pieces, then text pieces
 * (`▁`, letters, merges). Unknown fields are sprinkled in to exercise skipping.
 */
export function syntheticModel(o: SyntheticOptions = {}): Uint8Array {
  const m = new ProtoWriter();
  const add = (piece: string, type: number, score = 0) =>
    m.message(1, new ProtoWriter().string(1, piece).float(2, score).varint(3, type));
  add('<unk>', 2);
  add('<s>', 3);
  add('</s>', 3);
  if (o.withPad) add('<pad>', 3);
  for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 6);
  const text = ['▁', 'a', 'b', 'c', 'é', '中', '▁a', '▁b', 'ab', '▁ab', '▁▁', 'abc', '▁abc', ...(o.pieces ?? [])];
  text.forEach((p, i) => add(p, 1, -i));
  const trainer = new ProtoWriter()
    .varint(3, 2) // model_type BPE
    .varint(4, 3 + (o.withPad ? 1 : 0) + 256 + text.length)
    .varint(35, 1) // byte_fallback
    .varint(43, o.withPad ? 3 : -1) // pad_id (negative: a 10-byte varint)
    .string(999, 'an unknown field')
    .float(998, 1.5);
  if (o.withPad) trainer.string(48, '<pad>');
  if (o.unkSurface !== undefined) trainer.string(44, o.unkSurface);
  m.message(2, trainer);
  m.message(
    3,
    new ProtoWriter()
      .string(1, 'identity')
      .varint(3, o.addDummyPrefix === false ? 0 : 1)
      .varint(4, o.removeExtraWhitespaces ? 1 : 0)
      .varint(5, 1),
  );
  m.raw(0xa9, 0x06, 1, 2, 3, 4, 5, 6, 7, 8); // field 101, fixed64: unknown, skipped
  return m.finish();
}

/** Options of {@link randomBpeModel}. */
export interface RandomBpeOptions {
  readonly seed: number;
  readonly byteFallback?: boolean;
  readonly addDummyPrefix?: boolean;
  readonly removeExtraWhitespaces?: boolean;
  readonly escapeWhitespaces?: boolean;
  readonly treatWhitespaceAsSuffix?: boolean;
  /** User-defined pieces (matched whole, never merged). */
  readonly userDefined?: readonly string[];
  /** Share of the multi-character pieces typed UNUSED (0 by default). */
  readonly unusedShare?: number;
}

/** Characters of {@link randomBpeModel}'s pieces; `d` is a piece only inside longer pieces. */
export const BPE_ALPHABET = ['a', 'b', 'c', 'd', '▁', 'é', '中', '😀'];

/**
 * A random BPE model over {@link BPE_ALPHABET}: `<unk>` `<s>` `</s>`, byte pieces (with byte fallback),
 * user-defined pieces, the single characters but `d`, and 150 random 2-5 character pieces with integer
 * scores in [-20, 0] (many ties), some typed UNUSED. Identity normalizer (no charsmap).
 */
export function randomBpeModel(o: RandomBpeOptions): Uint8Array {
  const next = rng(o.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  const m = new ProtoWriter();
  let count = 0;
  const add = (piece: string, type: number, score = 0) => {
    m.message(1, new ProtoWriter().string(1, piece).float(2, score).varint(3, type));
    count++;
  };
  add('<unk>', 2);
  add('<s>', 3);
  add('</s>', 3);
  const byteFallback = o.byteFallback ?? true;
  if (byteFallback) for (let b = 0; b < 256; b++) add(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, 6);
  const seen = new Set<string>(o.userDefined ?? []);
  for (const u of o.userDefined ?? []) add(u, 4);
  for (const c of BPE_ALPHABET) {
    if (c === 'd' || seen.has(c)) continue;
    seen.add(c);
    add(c, 1, -Math.floor(next() * 21));
  }
  for (let made = 0; made < 150; ) {
    const len = 2 + Math.floor(next() * 4);
    const piece = Array.from({ length: len }, () => pick(BPE_ALPHABET)).join('');
    if (seen.has(piece)) continue;
    seen.add(piece);
    add(piece, next() < (o.unusedShare ?? 0) ? 5 : 1, -Math.floor(next() * 21));
    made++;
  }
  m.message(
    2,
    new ProtoWriter()
      .varint(3, 2) // BPE
      .varint(4, count)
      .varint(24, o.treatWhitespaceAsSuffix ? 1 : 0)
      .varint(35, byteFallback ? 1 : 0),
  );
  m.message(
    3,
    new ProtoWriter()
      .string(1, 'identity')
      .varint(3, o.addDummyPrefix === false ? 0 : 1)
      .varint(4, o.removeExtraWhitespaces ? 1 : 0)
      .varint(5, o.escapeWhitespaces === false ? 0 : 1),
  );
  return m.finish();
}

/**
 * Random text for {@link randomBpeModel}: its alphabet, spaces (runs too), characters that are no
 * piece, and the given user-defined pieces.
 */
export function randomBpeText(next: () => number, userDefined: readonly string[] = []): string {
  const extra = [' ', ' ', ' ', '  ', 'x', 'd', '\t', '\uFFFD', ...userDefined];
  const n = Math.floor(next() * 40);
  let s = '';
  for (let i = 0; i < n; i++) {
    const pool = next() < 0.7 ? BPE_ALPHABET : extra;
    s += pool[Math.floor(next() * pool.length)];
  }
  return s;
}
