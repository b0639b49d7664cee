import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPE_BYTES, TableWeightSource, TinyLlamaError, type DType, type Progress, type WeightSource } from '@tinyllama/core';
import {
  FileCheckpoint,
  convertToSafetensors,
  findPartialConversions,
  openCheckpoint,
  openSafetensorsFile,
  planShards,
  writeSafetensors,
} from '../src/index.js';
import { FIXTURES, cleanup, copyFixture, expectError, hex, tempDir } from './helpers.js';

const ALL = Object.keys(DTYPE_BYTES) as DType[];
let tmp: string;
let binDir: string;
beforeAll(async () => {
  tmp = await tempDir();
  binDir = path.join(tmp, 'bin-model');
  await mkdir(binDir);
  await copyFixture('tensors.bin', binDir, 'pytorch_model.bin');
  await writeFile(path.join(binDir, 'config.json'), '{"model_type":"llama"}\n');
  await writeFile(path.join(binDir, 'tokenizer.model'), 'not really a tokenizer');
  await writeFile(path.join(binDir, 'README.md'), 'not copied');
});
afterAll(async () => {
  await cleanup(tmp);
});

async function readAll(w: WeightSource): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of w.names()) {
    const t = await w.get(n, { dtypes: ALL });
    out.set(n, `${t.dtype} [${t.shape.join(',')}] ${hex(t.bytes)}`);
  }
  return out;
}

describe('writeSafetensors', () => {
  it('writes the same bytes as the independent Python writer', async () => {
    const src = await openCheckpoint(binDir);
    try {
      const p = path.join(tmp, 'same.safetensors');
      const tensors = src.names().map((n) => src.info(n));
      await writeSafetensors(p, { tensors, read: async (n) => (await src.get(n, { dtypes: ALL })).bytes }, {
        metadata: { format: 'pt', source: 'gen.py' },
      });
      expect(await readFile(p)).toEqual(await readFile(path.join(FIXTURES, 'tensors.safetensors')));
    } finally {
      await src.close();
    }
  });

  it('accepts eager and lazy iterables and keeps numeric-looking names in order', async () => {
    const p = path.join(tmp, 'iter.safetensors');
    async function* gen() {
      yield { name: '10', dtype: 'uint8' as const, shape: [2], bytes: new Uint8Array([1, 2]) };
      yield { name: '2', dtype: 'int16' as const, shape: [1], read: async () => new Uint8Array([3, 4]) };
      yield { name: 'z', dtype: 'bool' as const, shape: [0], read: () => new Uint8Array(0) };
    }
    const res = await writeSafetensors(p, gen());
    expect(res).toMatchObject({ tensors: 3, dataBytes: 4 });
    const o = await openSafetensorsFile(p);
    const ck = new FileCheckpoint(o.tensors, 'safetensors', [o.file]);
    expect(ck.names()).toEqual(['10', '2', 'z']);
    expect(Array.from((await ck.get('2', { dtypes: ALL })).bytes)).toEqual([3, 4]);
    await ck.close();
    expect((await readFile(p)).readBigUInt64LE(0) % 8n).toBe(0n);
  });

  it('rejects wrong data sizes (removing the partial file) and duplicate names', async () => {
    const p = path.join(tmp, 'bad.safetensors');
    await expectError(
      writeSafetensors(p, [{ name: 'w', dtype: 'float32', shape: [2], bytes: new Uint8Array(4) }]),
      'E_CORRUPT',
      "'w'",
      'expected 8',
    );
    expect(existsSync(p)).toBe(false);
    const dup = { name: 'w', dtype: 'float32' as const, shape: [1], bytes: new Uint8Array(4) };
    await expectError(writeSafetensors(p, [dup, dup]), 'E_ARGUMENT', "'w'");
  });
});

describe('convertToSafetensors', () => {
  it('converts .bin to a single model.safetensors with identical tensors and copies config files', async () => {
    const outDir = path.join(tmp, 'out-single');
    const progress: Progress[] = [];
    const res = await convertToSafetensors({ inDir: binDir, outDir, onProgress: (p) => progress.push(p) });
    expect(res.shards).toBe(1);
    expect((await readdir(outDir)).sort()).toEqual(['config.json', 'model.safetensors', 'tokenizer.model']);
    const [a, b] = [await openCheckpoint(binDir), await openCheckpoint(outDir)];
    try {
      expect(b.format).toBe('safetensors');
      expect(await readAll(b)).toEqual(await readAll(a));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
    expect(progress.length).toBe(res.tensors);
    expect(progress.at(-1)).toMatchObject({ phase: 'convert', unit: 'bytes', done: res.bytes, total: res.bytes });
    expect(progress.every((p, i) => i === 0 || p.done >= progress[i - 1].done)).toBe(true);
    expect(progress.map((p) => p.item)).toContain('tied.lm_head');
    expect(await findPartialConversions(outDir)).toEqual([]);
  });

  it('shards with a tiny maxShardBytes and writes a Hugging Face index', async () => {
    const outDir = path.join(tmp, 'out-sharded');
    const res = await convertToSafetensors({ inDir: binDir, outDir, maxShardBytes: 64 });
    expect(res.shards).toBeGreaterThan(3);
    const index = JSON.parse(await readFile(path.join(outDir, 'model.safetensors.index.json'), 'utf8')) as {
      metadata: { total_size: number };
      weight_map: Record<string, string>;
    };
    expect(index.metadata.total_size).toBe(res.bytes);
    expect(new Set(Object.values(index.weight_map)).size).toBe(res.shards);
    expect(Object.values(index.weight_map)).toContain(`model-00001-of-${String(res.shards).padStart(5, '0')}.safetensors`);
    const [a, b] = [await openCheckpoint(binDir), await openCheckpoint(outDir)];
    try {
      expect(b.format).toBe(`safetensors (${res.shards} shards)`);
      expect(await readAll(b)).toEqual(await readAll(a));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('converts a sharded .bin checkpoint', async () => {
    const outDir = path.join(tmp, 'out-from-shards');
    await convertToSafetensors({ inDir: path.join(FIXTURES, 'sharded-bin'), outDir });
    const [a, b] = [await openCheckpoint(path.join(FIXTURES, 'sharded-bin')), await openCheckpoint(outDir)];
    try {
      expect(await readAll(b)).toEqual(await readAll(a));
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it('plans shards greedily, giving an oversize tensor its own shard', () => {
    const t = (name: string, byteLength: number) => ({ name, dtype: 'uint8' as const, shape: [byteLength], byteLength });
    expect(planShards([t('a', 4), t('b', 4), t('c', 20), t('d', 1)], 10).map((s) => s.map((x) => x.name))).toEqual([['a', 'b'], ['c'], ['d']]);
    expect(planShards([], 10)).toEqual([[]]);
  });

  it('an interrupted conversion (reader throws mid-way) leaves no outDir and no temp dir', async () => {
    const outDir = path.join(tmp, 'out-interrupted');
    const src = await openCheckpoint(binDir);
    let reads = 0;
    const failing = new TableWeightSource({
      infos: new Map(src.names().map((n) => [n, src.info(n)] as const)),
      async read(name) {
        if (++reads === 5) throw new TinyLlamaError('E_IO', 'disk pulled out');
        return (await src.get(name, { dtypes: ALL })).bytes;
      },
    });
    try {
      await expectError(convertToSafetensors({ inDir: binDir, outDir, weights: failing, maxShardBytes: 100 }), 'E_IO', 'disk pulled out');
    } finally {
      await src.close();
    }
    expect(reads).toBe(5);
    expect(existsSync(outDir)).toBe(false);
    expect(await findPartialConversions(outDir)).toEqual([]);
  });

  it('an aborted conversion leaves no outDir', async () => {
    const outDir = path.join(tmp, 'out-aborted');
    const ac = new AbortController();
    await expectError(convertToSafetensors({ inDir: binDir, outDir, signal: ac.signal, onProgress: () => ac.abort() }), 'E_ABORTED');
    expect(existsSync(outDir)).toBe(false);
    expect(await findPartialConversions(outDir)).toEqual([]);
  });

  it('refuses to overwrite an existing checkpoint unless asked, and then removes stale shards', async () => {
    const outDir = path.join(tmp, 'out-overwrite');
    await convertToSafetensors({ inDir: binDir, outDir, maxShardBytes: 64 });
    await expectError(convertToSafetensors({ inDir: binDir, outDir }), 'E_ARGUMENT', 'already contains', 'overwrite');
    await writeFile(path.join(outDir, 'notes.txt'), 'keep me');
    await convertToSafetensors({ inDir: binDir, outDir, overwrite: true });
    expect((await readdir(outDir)).sort()).toEqual(['config.json', 'model.safetensors', 'notes.txt', 'tokenizer.model']);
    const ck = await openCheckpoint(outDir);
    expect(ck.format).toBe('safetensors');
    await ck.close();
  });

  it('moves files into an existing non-checkpoint directory, refusing clashes', async () => {
    const outDir = path.join(tmp, 'out-existing');
    await mkdir(outDir);
    await writeFile(path.join(outDir, 'other.txt'), 'x');
    await convertToSafetensors({ inDir: binDir, outDir });
    expect((await readdir(outDir)).sort()).toEqual(['config.json', 'model.safetensors', 'other.txt', 'tokenizer.model']);
    const clash = path.join(tmp, 'out-clash');
    await mkdir(clash);
    await writeFile(path.join(clash, 'config.json'), '{}');
    await expectError(convertToSafetensors({ inDir: binDir, outDir: clash }), 'E_ARGUMENT', 'config.json');
  });

  it('in-place conversion next to pytorch_model.bin with overwrite', async () => {
    const dir = path.join(tmp, 'in-place');
    await mkdir(dir);
    await copyFixture('tensors.bin', dir, 'pytorch_model.bin');
    await writeFile(path.join(dir, 'config.json'), '{}');
    await expectError(convertToSafetensors({ inDir: dir, outDir: dir }), 'E_ARGUMENT', 'pytorch checkpoint');
    await convertToSafetensors({ inDir: dir, outDir: dir, overwrite: true });
    expect((await readdir(dir)).sort()).toEqual(['config.json', 'model.safetensors', 'pytorch_model.bin']);
  });
});
