import { open } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPE_BYTES, type DType } from '@tinyllama/core';
import { FileCheckpoint, RandomAccessFile, openPytorchFile, readZipDirectory } from '../src/index.js';
import { readZipEntryRange, zipEntryDataOffset } from '../src/zip.js';
import { FIXTURES, cleanup, golden, hex, tempDir } from './helpers.js';

const ALL = Object.keys(DTYPE_BYTES) as DType[];
/** A hole larger than 4 GiB so every later offset needs ZIP64. */
const PADDING = 2 ** 32 + 12_345;

/** Little-endian record builder. */
function rec(fields: [number | bigint, 2 | 4 | 8][]): Buffer {
  const b = Buffer.alloc(fields.reduce((a, [, n]) => a + n, 0));
  let o = 0;
  for (const [v, n] of fields) {
    if (n === 2) b.writeUInt16LE(Number(v), o);
    else if (n === 4) b.writeUInt32LE(Number(v), o);
    else b.writeBigUInt64LE(BigInt(v), o);
    o += n;
  }
  return b;
}

/**
 * Writes a stored ZIP64 archive whose second entry is a sparse hole of `PADDING` bytes, so the tensor
 * records and the central directory sit beyond 4 GiB (like a real 4.4 GB TinyLlama .bin). CRCs are 0
 * (the loader does not verify them).
 */
async function writeSparseZip64(file: string, members: { name: string; data?: Uint8Array; size?: number }[]): Promise<void> {
  const fh = await open(file, 'w');
  let pos = 0;
  const cd: Buffer[] = [];
  const put = async (b: Uint8Array): Promise<void> => {
    await fh.write(b, 0, b.length, pos);
    pos += b.length;
  };
  for (const m of members) {
    const size = m.data?.length ?? m.size ?? 0;
    const name = Buffer.from(m.name);
    const at = pos;
    const lx = rec([[1, 2], [16, 2], [size, 8], [size, 8]]);
    await put(rec([[0x04034b50, 4], [45, 2], [0, 2], [0, 2], [0, 2], [0x21, 2], [0, 4], [0xffffffff, 4], [0xffffffff, 4], [name.length, 2], [lx.length, 2]]));
    await put(Buffer.concat([name, lx]));
    if (m.data) await put(m.data);
    else pos += size; // leave a hole
    const cx = rec([[1, 2], [24, 2], [size, 8], [size, 8], [at, 8]]);
    cd.push(
      rec([[0x02014b50, 4], [45, 2], [45, 2], [0, 2], [0, 2], [0, 2], [0x21, 2], [0, 4], [0xffffffff, 4], [0xffffffff, 4],
        [name.length, 2], [cx.length, 2], [0, 2], [0, 2], [0, 2], [0, 4], [0xffffffff, 4]]),
      name,
      cx,
    );
  }
  const cdAt = pos;
  const cdBytes = Buffer.concat(cd);
  await put(cdBytes);
  const z64At = pos;
  const n = members.length;
  await put(rec([[0x06064b50, 4], [44, 8], [45, 2], [45, 2], [0, 4], [0, 4], [n, 8], [n, 8], [cdBytes.length, 8], [cdAt, 8]]));
  await put(rec([[0x07064b50, 4], [0, 4], [z64At, 8], [1, 4]]));
  await put(rec([[0x06054b50, 4], [0, 2], [0, 2], [0xffff, 2], [0xffff, 2], [0xffffffff, 4], [0xffffffff, 4], [0, 2]]));
  await fh.close();
}

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
    await writeSparseZip64(file, members);

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
