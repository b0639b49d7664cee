import { readFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { BpeEncoder } from '../src/bpe-encoder.js';
import { IdentityNormalizer } from '../src/identity-normalizer.js';
import { MergeQueue } from '../src/merge-queue.js';
import { PieceType, parseSentencePieceModel, SentencePieceTokenizer, type SentencePieceModel } from '../src/index.js';
import { PrefixMatcher } from '../src/prefix-matcher.js';
import type { WasmEncoder } from '../src/wasm-processor.js';
import {
  FIXTURES,
  HAVE_LLAMA2,
  LLAMA2_MODEL,
  randomBpeModel,
  randomBpeText,
  readFixture,
  rng,
  skipNote,
  syntheticModel,
  wasmLibrary,
  type RandomBpeOptions,
} from './helpers.js';

function bpe(model: SentencePieceModel | Uint8Array): BpeEncoder {
  const r = BpeEncoder.tryCreate(model instanceof Uint8Array ? parseSentencePieceModel(model) : model);
  if (!('encoder' in r)) throw new Error(`not supported: ${r.reason}`);
  return r.encoder;
}

function reasonFor(model: SentencePieceModel): string | undefined {
  const r = BpeEncoder.tryCreate(model);
  return 'reason' in r ? r.reason : undefined;
}

/** Texts on which `ours` and the library differ (at most `max`). */
function differences(ours: BpeEncoder, lib: WasmEncoder, texts: Iterable<string>, max = 5): unknown[] {
  const bad: unknown[] = [];
  for (const text of texts) {
    const a = ours.encode(text);
    const b = lib.encode(text);
    if (JSON.stringify(a) !== JSON.stringify(b)) bad.push({ text, ours: a, library: b });
    if (bad.length >= max) break;
  }
  return bad;
}

describe('MergeQueue', () => {
  it('pops by score (highest first), then by left (smallest first)', () => {
    const next = rng(1);
    const q = new MergeQueue();
    const entries: [number, number][] = [];
    for (let i = 0; i < 2000; i++) {
      const e: [number, number] = [-Math.floor(next() * 30), Math.floor(next() * 5000)];
      entries.push(e);
      q.push(e[0], e[1], e[1] + 1, 2);
    }
    entries.sort((a, b) => b[0] - a[0] || a[1] - b[1]);
    const out: [number, number][] = [];
    const scoreOf = new Map(entries.map(([s, l]) => [l, s]));
    while (q.pop()) out.push([scoreOf.get(q.left)!, q.left]);
    expect(q.length).toBe(0);
    expect(out.map(([, l]) => l)).toEqual(entries.map(([, l]) => l));
  });
});

describe('IdentityNormalizer', () => {
  const spec = (o: Partial<SentencePieceModel['normalizerSpec']>) => ({
    ...parseSentencePieceModel(syntheticModel()).normalizerSpec,
    ...o,
  });

  it('adds the dummy prefix and escapes spaces (Llama settings)', () => {
    const n = new IdentityNormalizer(spec({ addDummyPrefix: true, removeExtraWhitespaces: false }), false);
    expect(n.normalize('')).toBe('');
    expect(n.normalize(' ')).toBe('▁▁');
    expect(n.normalize('a  b\t ')).toBe('▁a▁▁b\t▁');
  });

  it('removes extra whitespace (leading, trailing, runs), never other spaces', () => {
    const n = new IdentityNormalizer(spec({ removeExtraWhitespaces: true }), false);
    expect(n.normalize('   ')).toBe('');
    expect(n.normalize('  a   b  ')).toBe('▁a▁b');
    expect(n.normalize('a\u3000 \tb')).toBe('▁a\u3000▁\tb');
    expect(n.normalize('a ▁')).toBe('▁a'); // trailing ▁ (escaped space or not) is removed
  });

  it('handles suffix whitespace, no escaping, no dummy prefix', () => {
    expect(new IdentityNormalizer(spec({ removeExtraWhitespaces: true }), true).normalize(' a  b ')).toBe('a▁b▁');
    expect(new IdentityNormalizer(spec({ escapeWhitespaces: false, removeExtraWhitespaces: true }), false).normalize(' a  b ')).toBe(' a b');
    expect(new IdentityNormalizer(spec({ addDummyPrefix: false }), false).normalize('a b')).toBe('a▁b');
  });

  it('reads user-defined pieces as units when removing whitespace', () => {
    const matcher = new PrefixMatcher(['x  y', ' z']);
    const n = new IdentityNormalizer(spec({ removeExtraWhitespaces: true }), false, matcher);
    expect(n.normalize('a x  y  b')).toBe('▁a▁x▁▁y▁b'); // spaces inside a unit are kept
    expect(n.normalize('a  z')).toBe('▁a▁z'); // leading spaces of a unit after a space are dropped
  });
});

describe('PrefixMatcher', () => {
  it('finds the longest key at a position and counts nested keys', () => {
    const m = new PrefixMatcher(['foobar', 'f', 'foo', 'foo', '😀']);
    expect(m.match('xfoobarz', 1)).toBe(6);
    expect(m.match('xfoobaz', 1)).toBe(3);
    expect(m.match('fx', 0)).toBe(1);
    expect(m.match('x😀', 1)).toBe(2);
    expect(m.match('x', 0)).toBe(0);
    expect(m.maxNestedKeys).toBe(3);
  });
});

describe('BpeEncoder.tryCreate: models it refuses (the wasm library encodes them)', () => {
  const base = () => parseSentencePieceModel(syntheticModel());
  const withPieces = (pieces: SentencePieceModel['pieces']): SentencePieceModel => ({ ...base(), pieces });

  it('accepts the synthetic BPE model', () => {
    expect(reasonFor(base())).toBeUndefined();
  });

  it('refuses other model types, charsmaps and self-test data', () => {
    const m = base();
    expect(reasonFor({ ...m, trainerSpec: { ...m.trainerSpec, modelType: 1 } })).toMatch(/UNIGRAM/);
    expect(reasonFor({ ...m, normalizerSpec: { ...m.normalizerSpec, precompiledCharsmap: Uint8Array.of(1) } })).toMatch(/charsmap/);
    expect(reasonFor({ ...m, selfTestSamples: [{ input: 'a', expected: '▁a' }] })).toMatch(/self_test_data/);
  });

  it('refuses what the C++ loader rejects and the corner cases it does not model', () => {
    const pieces = base().pieces;
    const normal = (piece: string, type: PieceType = PieceType.Normal) => ({ piece, score: 0, type });
    expect(reasonFor(withPieces(pieces.slice(1)))).toMatch(/0 unknown pieces/);
    expect(reasonFor(withPieces([...pieces, normal('<unk2>', PieceType.Unknown)]))).toMatch(/2 unknown pieces/);
    expect(reasonFor(withPieces([...pieces, normal('ab')]))).toMatch(/defined twice/);
    expect(reasonFor(withPieces([...pieces, normal('')]))).toMatch(/empty/);
    expect(reasonFor(withPieces(pieces.filter((p) => p.piece !== '<0x41>')))).toMatch(/byte pieces/);
    expect(reasonFor(withPieces([...pieces, normal('<0x4g>', PieceType.Byte)]))).toMatch(/byte piece/);
    expect(reasonFor(withPieces([...pieces, normal('<s>')]))).toMatch(/reserved and a normal/);
    expect(reasonFor(withPieces([...pieces, normal('§', PieceType.Control)]))).toMatch(/single character/);
    expect(reasonFor(withPieces([...pieces, { ...normal('a\uFFFD'), invalidUtf8: true }]))).toMatch(/UTF-8/);
    expect(reasonFor(withPieces([...pieces, { ...normal('zz'), score: NaN }]))).toMatch(/NaN/);
    expect(reasonFor(withPieces([...pieces, normal('u\0', PieceType.UserDefined)]))).toMatch(/U\+0000/);
  });
});

const CONFIGS: [string, RandomBpeOptions][] = [
  ['Llama settings', { seed: 1 }],
  ['remove_extra_whitespaces, user-defined pieces', { seed: 2, removeExtraWhitespaces: true, userDefined: ['ab', 'abc', '▁a', 'c c', ' b', 'x'] }],
  ['no byte fallback (unknown runs), unused pieces', { seed: 3, byteFallback: false, unusedShare: 0.3 }],
  ['no escaping, whitespace as suffix, extra whitespace removed', { seed: 4, escapeWhitespaces: false, treatWhitespaceAsSuffix: true, removeExtraWhitespaces: true }],
  ['no dummy prefix, user-defined and unused pieces', { seed: 5, addDummyPrefix: false, userDefined: ['😀😀', 'é'], unusedShare: 0.5 }],
  ['suffix whitespace with dummy, no extra whitespace removal', { seed: 6, treatWhitespaceAsSuffix: true, unusedShare: 0.2, byteFallback: false }],
];

describe.each(CONFIGS)('BpeEncoder vs the C++ library (wasm) on a random BPE model: %s', (_name, options) => {
  it('identical ids on 1,500 random strings', async () => {
    const bytes = randomBpeModel(options);
    const tok = await SentencePieceTokenizer.fromBytes(bytes);
    expect(tok.encoderKind).toBe('bpe');
    const lib = await wasmLibrary(bytes);
    const next = rng(options.seed * 7919);
    const texts = Array.from({ length: 1500 }, () => randomBpeText(next, options.userDefined));
    expect(differences(bpe(bytes), lib, texts)).toEqual([]);
    // The tokenizer uses this encoder.
    expect(texts.slice(0, 50).map((t) => tok.encode(t))).toEqual(texts.slice(0, 50).map((t) => lib.encode(t)));
  });
});

describe('a C++-trained BPE model with user-defined, control and unused pieces, no byte fallback', () => {
  it('matches the C++ golden ids (remove_extra_whitespaces, unknown characters)', async () => {
    const golden = readFixture<{ strings: string[]; models: Record<string, { ids: number[][] }> }>('small-models-golden.json');
    const bytes = readFileSync(path.join(FIXTURES, 'bpe-options.model'));
    const tok = await SentencePieceTokenizer.fromBytes(bytes);
    expect(tok.encoderKind).toBe('bpe');
    const model = tok.model;
    expect(model.pieces.filter((p) => p.type === PieceType.Unused).length).toBeGreaterThan(0);
    expect(model.pieces.filter((p) => p.type === PieceType.UserDefined).length).toBeGreaterThan(0);
    expect(model.trainerSpec.byteFallback).toBe(false);
    const expected = golden.models['bpe-options.model'].ids;
    const bad = golden.strings.filter((s, i) => JSON.stringify(tok.encode(s)) !== JSON.stringify(expected[i]));
    expect(bad.slice(0, 5)).toEqual([]);
    // Runs of unknown characters give one <unk>.
    expect(expected.some((ids) => ids.some((id, i) => id === tok.unkId && ids[i + 1] !== tok.unkId))).toBe(true);
  });
});

describe.skipIf(!HAVE_LLAMA2)(`Llama-2: TypeScript vs wasm encoder${skipNote(HAVE_LLAMA2, LLAMA2_MODEL)}`, () => {
  let ours: BpeEncoder;
  let lib: WasmEncoder;
  beforeAll(async () => {
    const bytes = readFileSync(LLAMA2_MODEL);
    ours = bpe(bytes);
    lib = await wasmLibrary(bytes);
  });

  it('identical ids on the 2,000 fuzz strings', () => {
    const fuzz = readFixture<{ strings: [string, number[]][] }>('llama2-fuzz.json');
    expect(fuzz.strings.length).toBe(2000);
    expect(differences(ours, lib, fuzz.strings.map(([text]) => text))).toEqual([]);
  });

  it('identical ids on 500 longer strings mixing corpus text, repeated characters and spaces', () => {
    const corpus = readFixture<{ cases: { text: string }[] }>('llama2-golden.json').cases.map((c) => c.text);
    const next = rng(17);
    const pieces = [' ', '  ', '\n', 'aaaa', '----', '....', '▁', '😀', '\u200D', '\uD800', 'ab'.repeat(5)];
    const texts = Array.from({ length: 500 }, () => {
      let s = '';
      for (let k = Math.floor(next() * 8); k >= 0; k--) {
        const c = corpus[Math.floor(next() * corpus.length)];
        s += next() < 0.5 ? c.slice(0, 1 + Math.floor(next() * 60)) : pieces[Math.floor(next() * pieces.length)].repeat(1 + Math.floor(next() * 6));
      }
      return s;
    });
    expect(differences(ours, lib, texts)).toEqual([]);
  });
});
