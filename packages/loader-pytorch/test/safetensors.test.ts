import { mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPE_BYTES, type DType } from '@tinyllama/core';
import { RandomAccessFile, openCheckpoint, readSafetensorsHeader, safetensorsLoader, pytorchLoader } from '../src/index.js';
import { FIXTURES, cleanup, copyFixture, expectError, golden, hex, tempDir, type Golden } from './helpers.js';

const ALL = Object.keys(DTYPE_BYTES) as DType[];
let want: Record<string, Golden>;
let tmp: string;
beforeAll(async () => {
  want = await golden();
  tmp = await tempDir();
});
afterAll(async () => {
  await cleanup(tmp);
});

/** Writes a safetensors file from a raw header object and a data section. */
async function craft(name: string, header: unknown, data: Uint8Array = new Uint8Array(0)): Promise<string> {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  const p = path.join(tmp, name);
  await writeFile(p, Buffer.concat([len, json, data]));
  return p;
}

async function modelDir(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const [as, from] of Object.entries(files)) await copyFixture(from, dir, as);
  return dir;
}

describe('safetensors checkpoints', () => {
  it('reads every tensor exactly, in header order, with metadata', async () => {
    const dir = await modelDir('single', { 'model.safetensors': 'tensors.safetensors' });
    const ckpt = await openCheckpoint(dir);
    try {
      expect(ckpt.format).toBe('safetensors');
      expect(ckpt.names()).toEqual(Object.keys(want));
      for (const [name, g] of Object.entries(want)) {
        const t = await ckpt.get(name, { dtypes: ALL });
        expect({ dtype: t.dtype, shape: t.shape, hex: hex(t.bytes) }).toEqual({ dtype: g.dtype, shape: g.shape, hex: g.hex });
      }
      await expectError(ckpt.get('tied.embed', { shape: [5, 5] }), 'E_SHAPE', 'tied.embed', '[5, 4]', '[5, 5]');
      await expectError(ckpt.get('model.nope'), 'E_NOT_FOUND', 'model.nope');
    } finally {
      await ckpt.close();
    }
    const f = await RandomAccessFile.open(path.join(FIXTURES, 'tensors.safetensors'));
    expect((await readSafetensorsHeader(f)).metadata).toEqual({ format: 'pt', source: 'gen.py' });
    await f.close();
  });

  it('opens sharded checkpoints through the index', async () => {
    const ckpt = await safetensorsLoader.open(path.join(FIXTURES, 'sharded-st'));
    try {
      expect(ckpt.format).toBe('safetensors (2 shards)');
      expect(ckpt.names()).toEqual(['f32', 'f16', 'bf16', 'view.base', 'view.offset', 'i64', 'tied.embed', 'tied.row', 'scalar']);
      for (const name of ckpt.names()) expect(hex((await ckpt.get(name, { dtypes: ALL })).bytes)).toBe(want[name].hex);
    } finally {
      await ckpt.close();
    }
  });

  it('E_NOT_FOUND for a missing shard file and a tensor missing from its shard', async () => {
    const dir = await modelDir('st-missing', {
      'model-00001-of-00002.safetensors': 'sharded-st/model-00001-of-00002.safetensors',
      'model.safetensors.index.json': 'sharded-st/model.safetensors.index.json',
    });
    await expectError(safetensorsLoader.open(dir), 'E_NOT_FOUND', 'model-00002-of-00002.safetensors');
    await copyFixture('sharded-st/model-00002-of-00002.safetensors', dir, 'model-00002-of-00002.safetensors');
    const index = JSON.parse(await readFile(path.join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    index.weight_map['lm_head.weight'] = 'model-00002-of-00002.safetensors';
    await writeFile(path.join(dir, 'model.safetensors.index.json'), JSON.stringify(index));
    await expectError(safetensorsLoader.open(dir), 'E_NOT_FOUND', "'lm_head.weight'", 'model-00002-of-00002.safetensors');
  });

  it('openCheckpoint prefers safetensors, falls back to PyTorch, and reports empty dirs', async () => {
    const both = await modelDir('both', { 'model.safetensors': 'tensors.safetensors', 'pytorch_model.bin': 'tensors.bin' });
    const a = await openCheckpoint(both);
    expect(a.format).toBe('safetensors');
    await a.close();
    const bin = await modelDir('bin-only', { 'pytorch_model.bin': 'tensors.bin' });
    const b = await openCheckpoint(bin);
    expect(b.format).toBe('pytorch-zip');
    expect(b.files).toEqual([path.join(bin, 'pytorch_model.bin')]);
    await b.close();
    expect(safetensorsLoader.detect(['config.json', 'model.safetensors.index.json'])).toBe(true);
    expect(pytorchLoader.detect(['config.json', 'model.safetensors'])).toBe(false);
    await expectError(openCheckpoint(await modelDir('empty', {})), 'E_NOT_FOUND', 'no checkpoint');
    await expectError(openCheckpoint(path.join(tmp, 'does-not-exist')), 'E_NOT_FOUND', 'does-not-exist');
    await expectError(safetensorsLoader.open(bin), 'E_NOT_FOUND', 'model.safetensors');
  });
});

describe('safetensors validation', () => {
  it('truncation anywhere is E_CORRUPT naming the file', async () => {
    const full = await readFile(path.join(FIXTURES, 'tensors.safetensors'));
    const size = full.length;
    const headerLen = Number(full.readBigUInt64LE(0));
    for (const cut of [0, 5, 8, 9, 100, 8 + headerLen, 8 + headerLen + 10, size - 1]) {
      const dir = await modelDir(`cut-${cut}`, {});
      await copyFixture('tensors.safetensors', dir, 'model.safetensors');
      await truncate(path.join(dir, 'model.safetensors'), cut);
      await expectError(openCheckpoint(dir), 'E_CORRUPT', path.join(dir, 'model.safetensors'));
    }
  });

  const f32 = (shape: number[], begin: number, end: number): unknown => ({ dtype: 'F32', shape, data_offsets: [begin, end] });
  const cases: [string, unknown, number, string][] = [
    ['a non-object header', [1, 2], 0, 'not a JSON object'],
    ['an unknown dtype', { w: { dtype: 'F33', shape: [1], data_offsets: [0, 4] } }, 4, "unknown dtype 'F33'"],
    ['a missing dtype', { w: { shape: [1], data_offsets: [0, 4] } }, 4, 'no dtype'],
    ['a fractional shape', { w: f32([1.5], 0, 4) }, 4, 'invalid shape'],
    ['a negative dimension', { w: f32([-1], 0, 4) }, 4, 'invalid shape'],
    ['offsets not matching the size', { w: f32([2], 0, 4) }, 8, 'expected 8'],
    ['begin > end', { w: f32([0], 4, 0) }, 8, 'begin > end'],
    ['data past the end', { w: f32([4], 0, 16) }, 8, 'runs past the end'],
    ['overlapping tensors', { a: f32([2], 0, 8), b: f32([2], 4, 12) }, 12, "'a' and 'b' overlap"],
    ['non-string metadata', { __metadata__: { n: 1 }, w: f32([1], 0, 4) }, 4, '__metadata__'],
    ['bad data_offsets', { w: { dtype: 'F32', shape: [1], data_offsets: [0] } }, 4, 'data_offsets'],
  ];
  for (const [what, header, dataLen, msg] of cases) {
    it(`rejects ${what}`, async () => {
      const name = `bad-${what.replace(/\W+/g, '-')}.safetensors`;
      const p = await craft(name, header, new Uint8Array(dataLen));
      const f = await RandomAccessFile.open(p);
      try {
        await expectError(readSafetensorsHeader(f), 'E_CORRUPT', name, msg);
      } finally {
        await f.close();
      }
    });
  }

  it('rejects an absurd header length and invalid JSON', async () => {
    const p = path.join(tmp, 'huge-len.safetensors');
    const b = Buffer.alloc(16);
    b.writeBigUInt64LE(1n << 60n);
    await writeFile(p, b);
    let f = await RandomAccessFile.open(p);
    await expectError(readSafetensorsHeader(f), 'E_CORRUPT', 'huge-len.safetensors', 'header length');
    await f.close();
    const q = path.join(tmp, 'bad-json.safetensors');
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(5n);
    await writeFile(q, Buffer.concat([len, Buffer.from('{"a":')]));
    f = await RandomAccessFile.open(q);
    await expectError(readSafetensorsHeader(f), 'E_CORRUPT', 'bad-json.safetensors', 'JSON');
    await f.close();
  });

  it('reports valid but unsupported dtypes as E_DTYPE', async () => {
    const p = await craft('f8.safetensors', { w: { dtype: 'F8_E4M3', shape: [2], data_offsets: [0, 2] } }, new Uint8Array(2));
    const f = await RandomAccessFile.open(p);
    await expectError(readSafetensorsHeader(f), 'E_DTYPE', 'F8_E4M3', "'w'");
    await f.close();
  });

  it('accepts zero-size tensors anywhere', async () => {
    const p = await craft('zero.safetensors', { a: f32([0, 3], 0, 0), b: f32([1], 0, 4), c: f32([0], 4, 4) }, new Uint8Array(4));
    const f = await RandomAccessFile.open(p);
    expect((await readSafetensorsHeader(f)).entries.map((e) => e.byteLength)).toEqual([0, 4, 0]);
    await f.close();
  });
});
