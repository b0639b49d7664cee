import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPE_BYTES, type DType } from '@tinyllama/core';
import { FileCheckpoint, RandomAccessFile, openPytorchFile, readZipDirectory } from '../src/index.js';
import { readZipEntryRange, zipEntryDataOffset } from '../src/zip.js';
import { FIXTURES, cleanup, golden, hex, tempDir, writeZip64 } from './helpers.js';

const ALL = Object.keys(DTYPE_BYTES) as DType[];
/** A hole larger than 4 GiB (sparse in the file) so every later offset needs ZIP64. */
const PADDING = 2 ** 32 + 12_345;

let tmp: string;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await cleanup(tmp);
});

describe.skipIf(process.platform === 'win32')('ZIP64 beyond 4 GiB (sparse file; skipped on Windows)', () => {
  it('reads tensors whose records and central directory lie past 4 GiB', async () => {
    const src = await RandomAccessFile.open(path.join(FIXTURES, 'tensors.bin'));
    const members: { name: string; data?: Uint8Array; size?: number }[] = [];
    for (const e of await readZipDirectory(src)) {
      const data = await readZipEntryRange(src, e, await zipEntryDataOffset(src, e), 0, e.uncompressedSize);
      members.push({ name: e.name.replace(/^tensors\//, 'archive/'), data });
      if (e.name.endsWith('data.pkl')) members.push({ name: 'archive/padding', size: PADDING });
    }
    await src.close();
    const file = path.join(tmp, 'huge.bin');
    await writeZip64(file, members);

    const f = await RandomAccessFile.open(file);
    expect(f.size).toBeGreaterThan(2 ** 32);
    const entries = await readZipDirectory(f);
    await f.close();
    expect(entries.find((e) => e.name === 'archive/data/0')!.localHeaderOffset).toBeGreaterThan(2 ** 32);

    const o = await openPytorchFile(file);
    const ckpt = new FileCheckpoint(o.tensors, 'pytorch-zip', [o.file]);
    try {
      const want = await golden();
      expect(ckpt.names()).toEqual(Object.keys(want));
      for (const [name, g] of Object.entries(want)) expect(hex((await ckpt.get(name, { dtypes: ALL })).bytes)).toBe(g.hex);
    } finally {
      await ckpt.close();
    }
  });
});
