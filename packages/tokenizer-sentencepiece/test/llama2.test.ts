import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { isTinyLlamaError } from '@tinyllama/core';
import { SentencePieceTokenizer, sentencePieceLoader } from '../src/index.js';
import type { WasmEncoder } from '../src/wasm-processor.js';
import { HAVE_LLAMA2, LLAMA2_MODEL, libraryDecode, readFixture, rng, skipNote, wasmLibrary } from './helpers.js';

interface Meta {
  readonly model_md5: string;
  readonly vocab_size: number;
  readonly bos_id: number;
  readonly eos_id: number;
  readonly unk_id: number;
  readonly pad_id: number;
}
interface Golden extends Meta {
  readonly cases: { text: string; ids: number[]; decoded: string }[];
}
interface Fuzz extends Meta {
  /** [text, ids] or [text, ids, decoded] when decode(ids) differs from text. */
  readonly strings: ([string, number[]] | [string, number[], string])[];
  /** [ids, decoded] */
  readonly id_sequences: [number[], string][];
}

function stream(tok: SentencePieceTokenizer, ids: readonly number[]): string {
  const d = tok.createDecoder();
  let out = '';
  for (const id of ids) out += d.push(id);
  return out + d.flush();
}

describe.skipIf(!HAVE_LLAMA2)(`Llama-2 tokenizer vs the C++ library${skipNote(HAVE_LLAMA2, LLAMA2_MODEL)}`, () => {
  let tok: SentencePieceTokenizer;
  let lib: WasmEncoder;
  const golden = readFixture<Golden>('llama2-golden.json');
  const fuzz = readFixture<Fuzz>('llama2-fuzz.json');

  beforeAll(async () => {
    tok = (await sentencePieceLoader.loadFromBytes(readFileSync(LLAMA2_MODEL))) as SentencePieceTokenizer;
    lib = await wasmLibrary(readFileSync(LLAMA2_MODEL));
  });

  it('reads vocab size and special ids from the model file (32000, BOS 1, EOS 2, UNK 0, no pad)', () => {
    expect([tok.vocabSize, tok.bosId, tok.eosId, tok.unkId, tok.padId]).toEqual([32000, 1, 2, 0, -1]);
    expect([golden.vocab_size, golden.bos_id, golden.eos_id, golden.unk_id, golden.pad_id]).toEqual([32000, 1, 2, 0, -1]);
    expect(tok.model.trainerSpec.byteFallback).toBe(true);
    expect(tok.model.normalizerSpec).toMatchObject({ name: 'identity', addDummyPrefix: true, removeExtraWhitespaces: false });
  });

  it('maps known ids to pieces', () => {
    expect(tok.idToPiece(0)).toBe('<unk>');
    expect(tok.idToPiece(1)).toBe('<s>');
    expect(tok.idToPiece(2)).toBe('</s>');
    expect(tok.idToPiece(3)).toBe('<0x00>');
    expect(tok.idToPiece(13)).toBe('<0x0A>');
    expect(tok.idToPiece(258)).toBe('<0xFF>');
    expect(tok.idToPiece(29871)).toBe('▁');
    expect(tok.idToPiece(15043)).toBe('▁Hello');
    expect(tok.pieceToId('▁Hello')).toBe(15043);
    expect(isTinyLlamaError((() => { try { tok.idToPiece(32000); } catch (e) { return e; } })(), 'E_ARGUMENT')).toBe(true);
  });

  it(`corpus: ids identical to the C++ library on all strings (>= 300)`, () => {
    expect(golden.cases.length).toBeGreaterThanOrEqual(300);
    const mismatches = golden.cases.filter((c) => JSON.stringify(tok.encode(c.text)) !== JSON.stringify(c.ids));
    expect(mismatches.map((c) => c.text).slice(0, 5)).toEqual([]);
  });

  it('corpus: decode(ids) and the incremental decoder equal the C++ decode on all strings', () => {
    const bad = golden.cases.filter((c) => tok.decode(c.ids) !== c.decoded || stream(tok, c.ids) !== c.decoded);
    expect(bad.map((c) => c.text).slice(0, 5)).toEqual([]);
    // With BOS/EOS around: control tokens produce nothing.
    const bad2 = golden.cases.filter((c) => stream(tok, [1, ...c.ids, 2]) !== c.decoded);
    expect(bad2.map((c) => c.text).slice(0, 5)).toEqual([]);
  });

  it('fuzz: 2000 random strings give identical ids, decode and incremental decode', () => {
    expect(fuzz.strings.length).toBe(2000);
    const bad = fuzz.strings.filter(([text, ids, decoded = text]) => {
      return JSON.stringify(tok.encode(text)) !== JSON.stringify(ids) || tok.decode(ids) !== decoded || stream(tok, ids) !== decoded;
    });
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('random id sequences (byte pieces, controls, ▁): decode and incremental decode equal the C++ decode', () => {
    expect(fuzz.id_sequences.length).toBeGreaterThanOrEqual(500);
    const bad = fuzz.id_sequences.filter(([ids, decoded]) => tok.decode(ids) !== decoded || stream(tok, ids) !== decoded);
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('random ids: the incremental decoder equals decode and the wasm library decode', () => {
    const next = rng(3);
    const bad: number[][] = [];
    for (let i = 0; i < 2000; i++) {
      const ids = Array.from({ length: 1 + Math.floor(next() * 24) }, () =>
        next() < 0.4 ? 3 + Math.floor(next() * 256) : next() < 0.1 ? Math.floor(next() * 3) : Math.floor(next() * 32000),
      );
      const whole = tok.decode(ids);
      if (stream(tok, ids) !== whole || libraryDecode(lib, ids, whole) !== whole) bad.push(ids);
    }
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it('a leading U+FEFF survives decoding (unlike the library decode of long strings)', () => {
    const text = '\uFEFFabcdefghijklmnopqrstuvwxyz';
    const ids = tok.encode(text);
    expect(tok.decode(ids)).toBe(text);
    expect(stream(tok, ids)).toBe(text);
  });

  it('lone surrogates encode like U+FFFD', () => {
    expect(tok.encode('a\uD800b')).toEqual(tok.encode('a\uFFFDb'));
    expect(tok.encode('\uDE00 x \uD83D')).toEqual(tok.encode('\uFFFD x \uFFFD'));
  });

  it('encodes a 2 KB string in a few ms', () => {
    const text = golden.cases.map((c) => c.text).join(' ').slice(0, 2048);
    for (let i = 0; i < 20; i++) tok.encode(text); // warm up
    const t0 = performance.now();
    for (let i = 0; i < 20; i++) tok.encode(text);
    const ms = (performance.now() - t0) / 20;
    expect(ms).toBeLessThan(25); // generous bound for slow CI machines; typically ~1-2 ms
  });
});
