import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { SentencePieceTokenizer, sentencePieceLoader } from '../src/index.js';
import { HAVE_TINY, REPO_ROOT, SHARED, TINY_MODEL, rng, skipNote } from './helpers.js';

function stream(tok: SentencePieceTokenizer, ids: readonly number[]): string {
  const d = tok.createDecoder();
  return ids.map((id) => d.push(id)).join('') + d.flush();
}

/** Random ids; the incremental decoder must equal decode, and decode the wasm library's decode. */
function checkRandomIds(tok: SentencePieceTokenizer, seed: number): unknown[] {
  const next = rng(seed);
  const bad: unknown[] = [];
  for (let i = 0; i < 500; i++) {
    const ids = Array.from({ length: 1 + Math.floor(next() * 20) }, () => Math.floor(next() * tok.vocabSize));
    const whole = tok.decode(ids);
    let lib = tok.decodeWithLibrary(ids);
    if (whole.startsWith('\uFEFF') && !lib.startsWith('\uFEFF')) lib = '\uFEFF' + lib;
    if (stream(tok, ids) !== whole || lib !== whole) bad.push(ids);
  }
  return bad;
}

const TINY_GOLDEN = path.join(REPO_ROOT, 'fixtures/tiny/tokenizer-golden.json');

describe.skipIf(!HAVE_TINY)(`tiny 384-piece tokenizer${skipNote(HAVE_TINY, TINY_MODEL)}`, () => {
  it('loads from fixtures/tiny and matches its C++ golden cases', async () => {
    const tok = (await sentencePieceLoader.loadFromDir(path.dirname(TINY_MODEL))) as SentencePieceTokenizer;
    expect([tok.vocabSize, tok.bosId, tok.eosId, tok.unkId, tok.padId]).toEqual([384, 1, 2, 0, -1]);
    expect(tok.model.trainerSpec.byteFallback).toBe(true);
    expect(checkRandomIds(tok, 5)).toEqual([]);
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
    expect(checkRandomIds(tok, 9)).toEqual([]);
    const ids = tok.encode('Once upon a time 😀');
    expect(stream(tok, ids)).toBe(tok.decode(ids));
  });
});
