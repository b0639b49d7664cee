import { describe, expect, it } from 'vitest';
import { isTinyLlamaError } from '@tinyllama/core';
import { ProtoReader, ProtoError } from '../src/protobuf.js';
import { parseSentencePieceModel, PieceType, ModelType } from '../src/index.js';
import { ProtoWriter, syntheticModel } from './helpers.js';

describe('ProtoReader', () => {
  it('reads varints, including 10-byte negative int32 and 5-byte uint32', () => {
    const bytes = new ProtoWriter().varint(1, 150).varint(2, -1).varint(3, 0xffffffff).varint(4, -2147483648).varint(5, 1n << 40n).finish();
    const r = new ProtoReader(bytes);
    const seen: [number, number][] = [];
    while (r.more) {
      const t = r.tag();
      seen.push([t.field, t.field === 3 ? r.uint32() : r.int32()]);
    }
    expect(seen).toEqual([
      [1, 150],
      [2, -1],
      [3, 0xffffffff],
      [4, -2147483648],
      [5, 0], // low 32 bits of 2^40
    ]);
  });

  it('reads floats, strings (keeping a leading U+FEFF) and nested messages', () => {
    const inner = new ProtoWriter().string(1, '\uFEFFhé▁');
    const r = new ProtoReader(new ProtoWriter().float(2, -3.5).message(7, inner).finish());
    expect(r.tag()).toEqual({ field: 2, wireType: 5 });
    expect(r.float()).toBe(-3.5);
    expect(r.tag()).toEqual({ field: 7, wireType: 2 });
    const m = r.message();
    m.tag();
    expect(m.string()).toBe('\uFEFFhé▁');
    expect(r.more).toBe(false);
  });

  it('skips every wire type, groups included', () => {
    const bytes = new ProtoWriter()
      .varint(1, -5)
      .raw(0x11, 1, 2, 3, 4, 5, 6, 7, 8) // field 2 fixed64
      .string(3, 'skip me')
      .raw(0x23, 0x08, 0x01, 0x24) // field 4 start group { field 1 varint 1 } end group
      .raw(0x2d, 1, 2, 3, 4) // field 5 fixed32
      .varint(6, 42)
      .finish();
    const r = new ProtoReader(bytes);
    let found = -1;
    while (r.more) {
      const t = r.tag();
      if (t.field === 6) found = r.int32();
      else r.skip(t.wireType, t.field);
    }
    expect(found).toBe(42);
  });

  it('rejects truncated input and invalid wire types', () => {
    const trunc = new ProtoWriter().string(1, 'hello').finish().subarray(0, 4);
    const r1 = new ProtoReader(trunc);
    r1.tag();
    expect(() => r1.bytes()).toThrow(ProtoError);
    expect(() => new ProtoReader(Uint8Array.of(0x80)).tag()).toThrow(/truncated varint/);
    const r2 = new ProtoReader(Uint8Array.of(0x0e));
    const t = r2.tag();
    expect(() => r2.skip(t.wireType)).toThrow(/invalid wire type 6/);
    expect(() => new ProtoReader(Uint8Array.of(0x00)).tag()).toThrow(/field number 0/);
  });
});

describe('parseSentencePieceModel', () => {
  it('parses pieces, trainer and normalizer specs, skipping unknown fields', () => {
    const m = parseSentencePieceModel(syntheticModel({ unkSurface: '<?>', removeExtraWhitespaces: true }));
    expect(m.pieces.length).toBe(3 + 256 + 13);
    expect(m.pieces[0]).toEqual({ piece: '<unk>', score: 0, type: PieceType.Unknown });
    expect(m.pieces[1].type).toBe(PieceType.Control);
    expect(m.pieces[3]).toEqual({ piece: '<0x00>', score: 0, type: PieceType.Byte });
    expect(m.pieces[3 + 256]).toEqual({ piece: '▁', score: -0, type: PieceType.Normal });
    expect(m.trainerSpec).toMatchObject({
      modelType: ModelType.Bpe,
      vocabSize: 272,
      byteFallback: true,
      unkId: 0,
      bosId: 1,
      eosId: 2,
      padId: -1,
      unkSurface: '<?>',
    });
    expect(m.normalizerSpec).toMatchObject({ name: 'identity', addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true });
    expect(m.denormalizerSpec).toBeUndefined();
  });

  it('applies proto defaults to absent fields', () => {
    const bytes = new ProtoWriter().message(1, new ProtoWriter().string(1, 'x')).finish();
    const m = parseSentencePieceModel(bytes);
    expect(m.pieces).toEqual([{ piece: 'x', score: 0, type: PieceType.Normal }]);
    expect(m.trainerSpec).toMatchObject({ modelType: ModelType.Unigram, vocabSize: 8000, unkId: 0, bosId: 1, eosId: 2, padId: -1, unkSurface: ' \u2047 ' });
    expect(m.normalizerSpec).toMatchObject({ addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true });
  });

  it('flags pieces whose bytes are not valid UTF-8 (a real U+FFFD is valid)', () => {
    const piece = (bytes: number[]) => new ProtoWriter().bytes(1, Uint8Array.from(bytes)).varint(3, 1);
    const bytes = new ProtoWriter()
      .message(1, piece([0x61, 0xff]))
      .message(1, piece([0x61, 0xef, 0xbf, 0xbd]))
      .message(1, piece([0xed, 0xa0, 0x80])) // an encoded surrogate
      .finish();
    const m = parseSentencePieceModel(bytes);
    expect(m.pieces.map((p) => [p.piece, p.invalidUtf8])).toEqual([
      ['a\uFFFD', true],
      ['a\uFFFD', undefined],
      ['\uFFFD\uFFFD\uFFFD', true],
    ]);
  });

  it('reads self_test_data samples when present', () => {
    const sample = (input: string, expected: string) => new ProtoWriter().string(1, input).string(2, expected).varint(9, 1);
    const selfTest = new ProtoWriter().message(1, sample('ab', '▁ab')).message(1, sample('a b', '▁a ▁b'));
    const m = parseSentencePieceModel(new Uint8Array([...syntheticModel(), ...new ProtoWriter().message(4, selfTest).finish()]));
    expect(m.selfTestSamples).toEqual([
      { input: 'ab', expected: '▁ab' },
      { input: 'a b', expected: '▁a ▁b' },
    ]);
    expect(parseSentencePieceModel(syntheticModel()).selfTestSamples).toBeUndefined();
  });

  it('raises E_TOKENIZER naming the file for corrupt bytes', () => {
    const cases = [
      new TextEncoder().encode('this is not a protobuf at all'),
      syntheticModel().subarray(0, 1000),
      new Uint8Array(0),
      new ProtoWriter().varint(1, 3).finish(), // pieces with the wrong wire type
      new ProtoWriter().message(1, new ProtoWriter().string(1, 'x').varint(3, 9)).finish(), // unknown piece type
    ];
    for (const bytes of cases) {
      let err: unknown;
      try {
        parseSentencePieceModel(bytes, 'bad.model');
      } catch (e) {
        err = e;
      }
      expect(isTinyLlamaError(err, 'E_TOKENIZER'), String(err)).toBe(true);
      expect((err as Error).message).toContain("'bad.model'");
      expect((err as Error).cause).toBeInstanceOf(ProtoError);
    }
  });
});
