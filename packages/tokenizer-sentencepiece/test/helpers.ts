/** Shared test helpers: fixture paths, a seeded PRNG, and a tiny protobuf writer for synthetic models. */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

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
