import { describe, expect, it } from 'vitest';
import { isTinyLlamaError } from '@tinyllama/core';
import { SentencePieceTokenizer } from '../src/index.js';
import { libraryDecode, rng, syntheticModel, wasmLibrary, type SyntheticOptions } from './helpers.js';

/** Pushes ids one at a time; returns every push's output and the flush. */
function stream(tok: SentencePieceTokenizer, ids: readonly number[]): { parts: string[]; text: string } {
  const d = tok.createDecoder();
  const parts = ids.map((id) => d.push(id));
  parts.push(d.flush());
  return { parts, text: parts.join('') };
}

/** Random id sequences heavy on byte pieces (valid and broken UTF-8), control tokens and `▁` pieces. */
function randomIds(tok: SentencePieceTokenizer, next: () => number, maxLen = 30): number[] {
  const byteId = (b: number) => tok.pieceToId(`<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`)!;
  const enc = new TextEncoder();
  const ids: number[] = [];
  const n = 1 + Math.floor(next() * maxLen);
  for (let k = 0; k < n; k++) {
    const r = next();
    if (r < 0.3) {
      const cp = Math.floor(next() * 0x110000);
      const bytes = [...enc.encode(String.fromCodePoint(cp >= 0xd800 && cp <= 0xdfff ? 0xfeff : cp))];
      ids.push(...(next() < 0.3 ? bytes.slice(0, 1 + Math.floor(next() * bytes.length)) : bytes).map(byteId));
    } else if (r < 0.4) {
      ids.push(byteId(Math.floor(next() * 256)));
    } else if (r < 0.5) {
      ids.push([tok.unkId, tok.bosId, tok.eosId][Math.floor(next() * 3)]);
    } else if (r < 0.6) {
      ids.push(tok.pieceToId('▁')!);
    } else {
      ids.push(Math.floor(next() * tok.vocabSize));
    }
  }
  return ids;
}

const VARIANTS: [string, SyntheticOptions][] = [
  ['add_dummy_prefix', {}],
  ['remove_extra_whitespaces', { removeExtraWhitespaces: true }],
  ['no dummy prefix', { addDummyPrefix: false }],
  ['custom unk_surface', { unkSurface: '<?>', removeExtraWhitespaces: true, addDummyPrefix: false }],
];

describe.each(VARIANTS)('decoding a synthetic model (%s)', (_name, options) => {
  it('decode, the incremental decoder and the C++ library (wasm) agree on 3,000 random id sequences', async () => {
    const tok = await SentencePieceTokenizer.fromBytes(syntheticModel(options));
    const lib = await wasmLibrary(syntheticModel(options));
    const next = rng(11);
    const failures: unknown[] = [];
    for (let i = 0; i < 3000; i++) {
      const ids = randomIds(tok, next);
      const whole = tok.decode(ids);
      const { text } = stream(tok, ids);
      const libText = libraryDecode(lib, ids, whole);
      if (whole !== libText || text !== whole) failures.push({ ids, whole, text, libText });
    }
    expect(failures.slice(0, 5)).toEqual([]);
  });

  it('round-trips encode/decode like the library', async () => {
    const tok = await SentencePieceTokenizer.fromBytes(syntheticModel(options));
    const lib = await wasmLibrary(syntheticModel(options));
    for (const s of ['abc ab a b', ' a  b ', '中é😀x', '\uFEFFab', '', ' ', '▁a']) {
      const ids = tok.encode(s);
      expect(ids).toEqual(lib.encode(s));
      expect(tok.decode(ids)).toBe(libraryDecode(lib, ids, tok.decode(ids)));
      expect(stream(tok, ids).text).toBe(tok.decode(ids));
    }
  });
});

describe('incremental decoder details', () => {
  it('emits a character split over byte pieces only when it completes', async () => {
    const tok = await SentencePieceTokenizer.fromBytes(syntheticModel());
    const ids = tok.encode('a😀b');
    const pieces = ids.map((id) => tok.idToPiece(id));
    expect(pieces).toEqual(['▁a', '<0xF0>', '<0x9F>', '<0x98>', '<0x80>', 'b']);
    expect(stream(tok, ids).parts).toEqual(['a', '', '', '', '😀', 'b', '']);
  });

  it('ends a byte run at any non-byte piece (control tokens too) and at flush', async () => {
    const tok = await SentencePieceTokenizer.fromBytes(syntheticModel());
    const lib = await wasmLibrary(syntheticModel());
    const b = (x: number) => tok.pieceToId(`<0x${x.toString(16).toUpperCase()}>`)!;
    const ids = [b(0xe2), b(0x82), tok.eosId, b(0xac), b(0xe2), b(0x82)];
    expect(tok.decode(ids)).toBe('\uFFFD'.repeat(5));
    expect(stream(tok, ids).parts).toEqual(['', '', '\uFFFD\uFFFD', '\uFFFD', '', '', '\uFFFD\uFFFD']);
    expect(tok.decode(ids)).toBe(lib.decodeWithLibrary(ids));
  });

  it('removes only the dummy-prefix space of the first piece; control tokens produce nothing', async () => {
    const tok = await SentencePieceTokenizer.fromBytes(syntheticModel());
    const lib = await wasmLibrary(syntheticModel());
    const [sp, a, spA, spSp] = ['▁', 'a', '▁a', '▁▁'].map((p) => tok.pieceToId(p)!);
    const cases: [number[], string][] = [
      [[spA, spA], 'a a'],
      [[tok.bosId, spA, tok.eosId], 'a'],
      [[sp, spA], ' a'],
      [[spSp, a], ' a'],
      [[a, spA], 'a a'],
      [[tok.unkId, spA], ' \u2047  a'],
      [[tok.pieceToId('<0x41>')!, spA], 'A a'],
    ];
    for (const [ids, expected] of cases) {
      expect(tok.decode(ids)).toBe(expected);
      expect(stream(tok, ids).text).toBe(expected);
      expect(lib.decodeWithLibrary(ids)).toBe(expected);
    }
  });

  it('continues after flush and rejects bad ids with E_ARGUMENT', async () => {
    const tok = await SentencePieceTokenizer.fromBytes(syntheticModel());
    const d = tok.createDecoder();
    expect(d.push(tok.pieceToId('▁a')!)).toBe('a');
    expect(d.flush()).toBe('');
    expect(d.push(tok.pieceToId('▁b')!)).toBe(' b');
    for (const bad of [-1, tok.vocabSize, 1.5, NaN]) {
      let err: unknown;
      try {
        d.push(bad);
      } catch (e) {
        err = e;
      }
      expect(isTinyLlamaError(err, 'E_ARGUMENT')).toBe(true);
    }
  });
});
