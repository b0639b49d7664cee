/**
 * Which encoder a tokenizer gets, and that the wasm library is imported only when needed. The
 * library module is wrapped by a mock that counts its imports; the tests of this file run in order.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { isTinyLlamaError } from '@tinyllama/core';
import { SentencePieceTokenizer, sentencePieceLoader, type EncoderChoice } from '../src/index.js';
import { FIXTURES, HAVE_LLAMA2, HAVE_TINY, LLAMA2_MODEL, TINY_MODEL, readFixture, syntheticModel } from './helpers.js';

const imports = vi.hoisted(() => ({ count: 0 }));
vi.mock('@sctg/sentencepiece-js', async (importOriginal) => {
  imports.count++;
  return importOriginal();
});

interface SmallGolden {
  readonly strings: string[];
  readonly models: Record<string, { ids: number[][] }>;
}

describe('encoder choice', () => {
  it('BPE models without a charsmap get the TypeScript encoder, and the wasm module is never imported', async () => {
    const models = [syntheticModel(), syntheticModel({ removeExtraWhitespaces: true, addDummyPrefix: false })];
    if (HAVE_LLAMA2) models.push(readFileSync(LLAMA2_MODEL));
    if (HAVE_TINY) models.push(readFileSync(TINY_MODEL));
    models.push(readFileSync(path.join(FIXTURES, 'bpe-options.model')));
    for (const bytes of models) {
      const tok = (await sentencePieceLoader.loadFromBytes(bytes)) as SentencePieceTokenizer;
      expect(tok.encoderKind).toBe('bpe');
      tok.encode('Hello world, 😀');
    }
    if (HAVE_LLAMA2) {
      const tok = await SentencePieceTokenizer.fromBytes(readFileSync(LLAMA2_MODEL));
      expect(tok.encode('Hello world', { addBos: true })).toEqual([1, 15043, 3186]);
    }
    expect(imports.count).toBe(0);
  });

  it.each(['unigram.model', 'bpe-charsmap.model'])('%s falls back to the wasm library, with the C++ ids', async (name) => {
    const golden = readFixture<SmallGolden>('small-models-golden.json');
    const tok = await SentencePieceTokenizer.fromBytes(readFileSync(path.join(FIXTURES, name)), { source: name });
    expect(tok.encoderKind).toBe('wasm');
    expect(imports.count).toBe(1); // one import, cached afterwards
    const expected = golden.models[name].ids;
    const bad = golden.strings.filter((s, i) => JSON.stringify(tok.encode(s)) !== JSON.stringify(expected[i]));
    expect(bad.slice(0, 5)).toEqual([]);
  });

  it("encoder: 'wasm' forces the library; an unknown choice is E_ARGUMENT", async () => {
    const tok = await SentencePieceTokenizer.fromBytes(syntheticModel(), { encoder: 'wasm' });
    expect(tok.encoderKind).toBe('wasm');
    const ts = await SentencePieceTokenizer.fromBytes(syntheticModel(), { encoder: 'auto' });
    for (const s of ['abc ab a b', ' a  b ', '中é😀x', 'x\uD800']) expect(tok.encode(s)).toEqual(ts.encode(s));
    let err: unknown;
    try {
      await SentencePieceTokenizer.fromBytes(syntheticModel(), { encoder: 'ts' as EncoderChoice });
    } catch (e) {
      err = e;
    }
    expect(isTinyLlamaError(err, 'E_ARGUMENT')).toBe(true);
  });
});
