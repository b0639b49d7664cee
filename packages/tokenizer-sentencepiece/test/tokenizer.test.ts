import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isTinyLlamaError, type Tokenizer } from '@tinyllama/core';
import { SentencePieceTokenizer, sentencePieceLoader } from '../src/index.js';
import { ProtoWriter, syntheticModel } from './helpers.js';

async function errorOf(f: () => unknown): Promise<unknown> {
  try {
    await f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe('SentencePieceTokenizer (synthetic model)', () => {
  it('reads vocab size and special ids from the model file', async () => {
    const a = await SentencePieceTokenizer.fromBytes(syntheticModel());
    expect([a.vocabSize, a.bosId, a.eosId, a.unkId, a.padId]).toEqual([272, 1, 2, 0, -1]);
    const b = await SentencePieceTokenizer.fromBytes(syntheticModel({ withPad: true }));
    expect([b.vocabSize, b.bosId, b.eosId, b.unkId, b.padId]).toEqual([273, 1, 2, 0, 3]);
  });

  it('maps ids to pieces and back', async () => {
    const t = await SentencePieceTokenizer.fromBytes(syntheticModel());
    expect(t.idToPiece(0)).toBe('<unk>');
    expect(t.idToPiece(1)).toBe('<s>');
    expect(t.idToPiece(3)).toBe('<0x00>');
    expect(t.idToPiece(258)).toBe('<0xFF>');
    expect(t.idToPiece(259)).toBe('▁');
    expect(t.pieceToId('▁abc')).toBe(271);
    expect(t.pieceToId('nope')).toBeUndefined();
    expect(t.isControl(1)).toBe(true);
    expect(t.isControl(0)).toBe(false);
    for (const bad of [-1, 272, 0.5, Number.NaN]) {
      expect(isTinyLlamaError(await errorOf(() => t.idToPiece(bad)), 'E_ARGUMENT')).toBe(true);
    }
  });

  it('adds BOS/EOS on request', async () => {
    const t = await SentencePieceTokenizer.fromBytes(syntheticModel());
    const ids = t.encode('ab');
    expect(ids).toEqual([t.pieceToId('▁ab')]);
    expect(t.encode('ab', { addBos: true })).toEqual([1, ...ids]);
    expect(t.encode('ab', { addBos: true, addEos: true })).toEqual([1, ...ids, 2]);
    expect(t.encode('', { addBos: true })).toEqual([1]);
    expect(t.encode('')).toEqual([]);
  });

  it('rejects out-of-range ids in decode with E_ARGUMENT (the library would return "")', async () => {
    const t = await SentencePieceTokenizer.fromBytes(syntheticModel());
    for (const bad of [[-1], [272], [259, 100000], [2 ** 31]]) {
      const err = await errorOf(() => t.decode(bad));
      expect(isTinyLlamaError(err, 'E_ARGUMENT')).toBe(true);
      expect((err as Error).message).toMatch(/out of range/);
    }
  });

  it('encodes lone surrogates like U+FFFD', async () => {
    const t = await SentencePieceTokenizer.fromBytes(syntheticModel());
    expect(t.encode('a\uD800b')).toEqual(t.encode('a\uFFFDb'));
    expect(t.encode('\uDC00')).toEqual(t.encode('\uFFFD'));
    expect(t.encode('x\uD83D')).toEqual(t.encode('x\uFFFD'));
    expect(t.decode(t.encode('a\uD800b'))).toBe('a\uFFFDb');
  });

  it('raises E_TOKENIZER for corrupt model files', async () => {
    const noUnk = new ProtoWriter()
      .message(1, new ProtoWriter().string(1, 'a').float(2, 0).varint(3, 1))
      .message(2, new ProtoWriter().varint(3, 2))
      .finish();
    const cases = [new TextEncoder().encode('garbage, not a model'), syntheticModel().subarray(0, 500), new Uint8Array(0), noUnk];
    for (const bytes of cases) {
      const err = await errorOf(() => SentencePieceTokenizer.fromBytes(bytes, { source: 'broken.model' }));
      expect(isTinyLlamaError(err, 'E_TOKENIZER'), String(err)).toBe(true);
      expect((err as Error).message).toContain('broken.model');
    }
    // Valid protobuf, rejected by the C++ loader (its status is checked; it does not throw by itself).
    const err = await errorOf(() => SentencePieceTokenizer.fromBytes(noUnk));
    expect((err as Error).message).toMatch(/unk is not defined/);
  });

  it('raises E_UNSUPPORTED for models with a denormalizer', async () => {
    const bytes = new Uint8Array([...syntheticModel(), ...new ProtoWriter().message(5, new ProtoWriter().bytes(2, Uint8Array.of(1, 2, 3))).finish()]);
    expect(isTinyLlamaError(await errorOf(() => SentencePieceTokenizer.fromBytes(bytes)), 'E_UNSUPPORTED')).toBe(true);
  });

  it('supports several independent tokenizers at once', async () => {
    const [a, b] = await Promise.all([
      SentencePieceTokenizer.fromBytes(syntheticModel()),
      SentencePieceTokenizer.fromBytes(syntheticModel({ withPad: true })),
    ]);
    for (let i = 0; i < 3; i++) {
      expect(a.encode('abc')).toEqual([271]);
      expect(b.encode('abc')).toEqual([272]);
    }
    const da = a.createDecoder();
    const db = a.createDecoder();
    expect(da.push(a.pieceToId('<0xC3>')!)).toBe('');
    expect(db.push(a.pieceToId('▁a')!)).toBe('a');
    expect(da.push(a.pieceToId('<0xA9>')!)).toBe('é');
  });
});

describe('sentencePieceLoader', () => {
  it('detects tokenizer.model among file names', () => {
    expect(sentencePieceLoader.name).toBe('sentencepiece');
    expect(sentencePieceLoader.detect(['config.json', 'tokenizer.model'])).toBe(true);
    expect(sentencePieceLoader.detect(['some/dir/tokenizer.model'])).toBe(true);
    expect(sentencePieceLoader.detect(['config.json', 'tokenizer.json'])).toBe(false);
    expect(sentencePieceLoader.detect(['my-tokenizer.model'])).toBe(false);
  });

  it('loads from a directory and from bytes', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sp-loader-'));
    try {
      const bytes = syntheticModel();
      await writeFile(path.join(dir, 'tokenizer.model'), bytes);
      const fromDir: Tokenizer = await sentencePieceLoader.loadFromDir(dir);
      const fromBytes: Tokenizer = await sentencePieceLoader.loadFromBytes(bytes);
      expect(fromDir.encode('ab ab')).toEqual(fromBytes.encode('ab ab'));
      expect(fromDir.vocabSize).toBe(272);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('raises E_NOT_FOUND when the directory has no tokenizer.model', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'sp-loader-'));
    try {
      const err = await errorOf(() => sentencePieceLoader.loadFromDir(dir));
      expect(isTinyLlamaError(err, 'E_NOT_FOUND')).toBe(true);
      expect((err as Error).message).toContain('tokenizer.model');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
