import { describe, expect, it } from 'vitest';
import { Utf8RunDecoder, decodeUtf8Like, toWellFormed } from '../src/utf8.js';
import { rng } from './helpers.js';

/**
 * Oracle: a literal transcription of the C++ library's byte-run decoding (`DecodeUTF8` +
 * `IsValidDecodeUTF8` in util.cc/util.h, used by `ProcessBytePieces`).
 */
function cppDecodeBytes(b: readonly number[]): string {
  const trail = (x: number) => x >= 0x80 && x < 0xc0;
  const validCp = (c: number) => c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);
  let out = '';
  let i = 0;
  while (i < b.length) {
    const len = b.length - i;
    const [b0, b1, b2, b3] = [b[i], b[i + 1], b[i + 2], b[i + 3]];
    let cp = 0xfffd;
    let mblen = 1;
    if (b0 < 0x80) {
      cp = b0;
    } else if (len >= 2 && (b0 & 0xe0) === 0xc0) {
      const c = ((b0 & 0x1f) << 6) | (b1 & 0x3f);
      if (trail(b1) && c >= 0x80 && validCp(c)) [cp, mblen] = [c, 2];
    } else if (len >= 3 && (b0 & 0xf0) === 0xe0) {
      const c = ((b0 & 0x0f) << 12) | ((b1 & 0x3f) << 6) | (b2 & 0x3f);
      if (trail(b1) && trail(b2) && c >= 0x800 && validCp(c)) [cp, mblen] = [c, 3];
    } else if (len >= 4 && (b0 & 0xf8) === 0xf0) {
      const c = ((b0 & 0x07) << 18) | ((b1 & 0x3f) << 12) | ((b2 & 0x3f) << 6) | (b3 & 0x3f);
      if (trail(b1) && trail(b2) && trail(b3) && c >= 0x10000 && validCp(c)) [cp, mblen] = [c, 4];
    }
    out += String.fromCodePoint(cp); // invalid: cp is U+FFFD, one byte consumed
    i += mblen;
  }
  return out;
}

/** Random byte strings biased towards (possibly broken) UTF-8. */
function randomBytes(next: () => number): number[] {
  const out: number[] = [];
  const n = Math.floor(next() * 12);
  const enc = new TextEncoder();
  for (let k = 0; k < n; k++) {
    const r = next();
    if (r < 0.4) {
      const cp = Math.floor(next() * 0x110000);
      const bytes = [...enc.encode(String.fromCodePoint(cp >= 0xd800 && cp <= 0xdfff ? 0x41 : cp))];
      out.push(...(next() < 0.3 ? bytes.slice(0, 1 + Math.floor(next() * bytes.length)) : bytes));
    } else if (r < 0.6) {
      out.push(0x80 + Math.floor(next() * 0x40)); // trail byte
    } else if (r < 0.8) {
      out.push([0xc0, 0xc1, 0xe0, 0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xf7, 0xf8, 0xff][Math.floor(next() * 11)]);
    } else {
      out.push(Math.floor(next() * 256));
    }
  }
  return out;
}

describe('Utf8RunDecoder (C++ byte-run rules)', () => {
  it('matches the C++ transcription on 20,000 random byte strings, fed one byte at a time', () => {
    const next = rng(7);
    const failures: string[] = [];
    for (let i = 0; i < 20000; i++) {
      const bytes = randomBytes(next);
      const expected = cppDecodeBytes(bytes);
      const d = new Utf8RunDecoder();
      let got = '';
      for (const b of bytes) got += d.push(b);
      got += d.finish();
      if (got !== expected || decodeUtf8Like(bytes) !== expected) failures.push(bytes.map((b) => b.toString(16)).join(' '));
    }
    expect(failures).toEqual([]);
  });

  it('equals TextDecoder on valid UTF-8', () => {
    const s = 'a\u00e9\u4e2d\u{1F600}\uFEFF\uFFFD\u{10FFFF}\0';
    expect(decodeUtf8Like(new TextEncoder().encode(s))).toBe(s);
  });

  it('emits nothing until a multi-byte sequence completes', () => {
    const d = new Utf8RunDecoder();
    expect([0xf0, 0x9f, 0x98].map((b) => d.push(b))).toEqual(['', '', '']);
    expect(d.pending).toBe(true);
    expect(d.push(0x80)).toBe('\u{1F600}');
    expect(d.pending).toBe(false);
  });

  it('replaces each byte of an invalid or truncated sequence (not the maximal subpart)', () => {
    expect(decodeUtf8Like([0xe2, 0x82])).toBe('\uFFFD\uFFFD');
    expect(decodeUtf8Like([0xf0, 0x9f, 0x98, 0x41])).toBe('\uFFFD\uFFFD\uFFFDA');
    expect(decodeUtf8Like([0xed, 0xa0, 0x80])).toBe('\uFFFD\uFFFD\uFFFD'); // surrogate
    expect(decodeUtf8Like([0xc0, 0xaf])).toBe('\uFFFD\uFFFD'); // overlong
    expect(decodeUtf8Like([0xf4, 0x90, 0x80, 0x80])).toBe('\uFFFD'.repeat(4)); // > U+10FFFF
  });

  it('emits U+FFFD as soon as a sequence can no longer become valid', () => {
    const d = new Utf8RunDecoder();
    expect(d.push(0xe2)).toBe('');
    expect(d.push(0x41)).toBe('\uFFFDA');
    expect(d.push(0xed)).toBe('');
    expect(d.push(0xa0)).toBe('\uFFFD\uFFFD'); // ED A0.. is a surrogate whatever follows
    expect(d.push(0xf0)).toBe('');
    expect(d.push(0x8f)).toBe('\uFFFD\uFFFD'); // F0 8F.. is overlong
    expect(d.push(0xc1)).toBe('\uFFFD'); // C1 is always overlong
    expect(d.finish()).toBe('');
  });
});

describe('toWellFormed', () => {
  it('replaces lone surrogates only', () => {
    expect(toWellFormed('a\uD800b\uDC00c\uD83D\uDE00\uDBFF')).toBe('a\uFFFDb\uFFFDc\u{1F600}\uFFFD');
    expect(toWellFormed('plain')).toBe('plain');
  });

  it('has a fallback for engines without String.prototype.toWellFormed', () => {
    const proto = String.prototype as { toWellFormed?: unknown };
    const native = proto.toWellFormed;
    proto.toWellFormed = undefined;
    try {
      expect(toWellFormed('a\uD800b\uDC00c\uD83D\uDE00\uDBFF')).toBe('a\uFFFDb\uFFFDc\u{1F600}\uFFFD');
      expect(toWellFormed('\uDC00\uD800')).toBe('\uFFFD\uFFFD');
    } finally {
      proto.toWellFormed = native;
    }
  });
});
