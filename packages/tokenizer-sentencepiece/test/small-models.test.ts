import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SentencePieceTokenizer, sentencePieceLoader } from '../src/index.js';
import type { WasmEncoder } from '../src/wasm-processor.js';
import { HAVE_TINY, REPO_ROOT, SHARED, TINY_MODEL, libraryDecode, rng, skipNote, wasmLibrary } from './helpers.js';

function stream(tok: SentencePieceTokenizer, ids: readonly number[]): string {
  const d = tok.createDecoder();
  return ids.map((id) => d.push(id)).join('') + d.flush();
}

/** Random ids; the incremental decoder must equal decode, and decode the wasm library's decode. */
function checkRandomIds(tok: SentencePieceTokenizer, lib: WasmEncoder, seed: number): unknown[] {
  const next = rng(seed);
  const bad: unknown[] = [];
  for (let i = 0; i < 500; i++) {
    const ids = Array.from({ length: 1 + Math.floor(next() * 20) }, () => Math.floor(next() * tok.vocabSize));
    const whole = tok.decode(ids);
    if (stream(tok, ids) !== whole || libraryDecode(lib, ids, whole) !== whole) bad.push(ids);
  }
  return bad;
}

const TINY_GOLDEN = path.join(REPO_ROOT, 'fixtures/tiny/tokenizer-golden.json');

describe.skipIf(!HAVE_TINY)(`tiny 384-piece tokenizer${skipNote(HAVE_TINY, TINY_MODEL)}`, () => {
  it('loads from fixtures/tiny and matches its C++ golden cases', async () => {
    const tok = (await sentencePieceLoader.loadFromDir(path.dirname(TINY_MODEL))) as SentencePieceTokenizer;
    expect([tok.vocabSize, tok.bosId, tok.eosId, tok.unkId, tok.padId]).toEqual([384, 1, 2, 0, -1]);
    expect(tok.model.trainerSpec.byteFallback).toBe(true);
    expect(tok.encoderKind).toBe('bpe');
    expect(checkRandomIds(tok, await wasmLibrary(readFileSync(TINY_MODEL)), 5)).toEqual([]);
    if (!existsSync(TINY_GOLDEN)) return;
    const golden = JSON.parse(readFileSync(TINY_GOLDEN, 'utf8')) as { cases: { text: string; ids: number[]; decoded: string }[] };
    expect(golden.cases.length).toBeGreaterThan(0);
    for (const c of golden.cases) {
      expect(tok.encode(c.text), JSON.stringify(c.text)).toEqual(c.ids);
      expect(tok.decode(c.ids)).toBe(c.decoded);
      expect(stream(tok, c.ids)).toBe(c.decoded);
    }
  });
});

const STORIES = path.join(SHARED, 'stories260k-hf/tokenizer.model');

describe.skipIf(!existsSync(STORIES))(`stories260K 512-piece tokenizer${skipNote(existsSync(STORIES), STORIES)}`, () => {
  it('loads, reads its special ids, and decodes like the library', async () => {
    const tok = (await sentencePieceLoader.loadFromDir(path.dirname(STORIES))) as SentencePieceTokenizer;
    expect([tok.vocabSize, tok.bosId, tok.eosId, tok.unkId]).toEqual([512, 1, 2, 0]);
    expect(tok.idToPiece(3)).toBe('<0x00>');
    expect(tok.encoderKind).toBe('bpe');
    const lib = await wasmLibrary(readFileSync(STORIES));
    expect(checkRandomIds(tok, lib, 9)).toEqual([]);
    const ids = tok.encode('Once upon a time 😀');
    expect(ids).toEqual(lib.encode('Once upon a time 😀'));
    expect(stream(tok, ids)).toBe(tok.decode(ids));
  });
});
