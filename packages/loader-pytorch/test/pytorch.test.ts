import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPE_BYTES, type DType } from '@tinyllama/core';
import {
  FileCheckpoint,
  RandomAccessFile,
  openCheckpoint,
  openPytorchFile,
  pytorchLoader,
  readZipDirectory,
  type OpenedFile,
} from '../src/index.js';
import {
  FIXTURES,
  PWNED_MARKER,
  cleanup,
  copyFixture,
  expectError,
  golden,
  hex,
  pickleBytes,
  pstr,
  tempDir,
  u32,
  writeZip64,
  type Golden,
} from './helpers.js';

const ALL = Object.keys(DTYPE_BYTES) as DType[];

async function openBin(name: string): Promise<FileCheckpoint> {
  const o: OpenedFile = await openPytorchFile(path.join(FIXTURES, name));
  return new FileCheckpoint(o.tensors, 'pytorch-zip', [o.file]);
}

async function expectGolden(ckpt: FileCheckpoint, want: Record<string, Golden>, names = Object.keys(want)): Promise<void> {
  for (const name of names) {
    const g = want[name];
    const t = await ckpt.get(name, { dtypes: ALL });
    expect({ name, dtype: t.dtype, shape: t.shape, hex: hex(t.bytes) }).toEqual({ name, dtype: g.dtype, shape: g.shape, hex: g.hex });
  }
}

let want: Record<string, Golden>;
let tmp: string;
beforeAll(async () => {
  want = await golden();
  tmp = await tempDir();
});
afterAll(async () => {
  await cleanup(tmp);
});

describe('PyTorch zip checkpoints', () => {
  for (const file of ['tensors.bin', 'zip64.bin', 'zip64-forced.bin', 'deflated.bin']) {
    it(`reads every tensor of ${file} exactly (dtypes, offsets, tied, non-contiguous)`, async () => {
      const ckpt = await openBin(file);
      try {
        expect(ckpt.names()).toEqual(Object.keys(want));
        await expectGolden(ckpt, want);
      } finally {
        await ckpt.close();
      }
    });
  }

  it('parses the ZIP64 central directory and end record', async () => {
    const f = await RandomAccessFile.open(path.join(FIXTURES, 'zip64.bin'));
    try {
      const entries = await readZipDirectory(f);
      expect(entries[0].name).toBe('archive/data.pkl');
      expect(entries.map((e) => e.name)).toContain('archive/byteorder');
      expect(entries.every((e) => e.compressedSize !== 0xffffffff && e.localHeaderOffset !== 0xffffffff)).toBe(true);
    } finally {
      await f.close();
    }
  });

  it('reports tensor metadata without reading data, and tied tensors share bytes', async () => {
    const ckpt = await openBin('tensors.bin');
    try {
      expect(ckpt.info('view.offset')).toEqual({ name: 'view.offset', dtype: 'float32', shape: [4], byteLength: 16 });
      expect(ckpt.info('scalar').shape).toEqual([]);
      expect(ckpt.info('empty').byteLength).toBe(0);
      const [a, b] = await Promise.all([ckpt.get('tied.embed'), ckpt.get('tied.lm_head')]);
      expect(a.bytes).toEqual(b.bytes);
      expect(a.bytes).not.toBe(b.bytes); // each read is a fresh buffer
      expect(a.bytes.byteOffset).toBe(0);
      expect(a.bytes.buffer.byteLength).toBe(a.byteLength);
      const row = await ckpt.get('tied.row');
      expect(row.bytes).toEqual(a.bytes.subarray(32, 48));
      const f = await ckpt.getFloat32('view.offset');
      expect(Array.from(f.data)).toEqual([5, 6, 7, 8]);
    } finally {
      await ckpt.close();
    }
  });

  it('scopes names and checks shapes/dtypes through the WeightSource', async () => {
    const ckpt = await openBin('tensors.bin');
    try {
      const tied = ckpt.scope('tied');
      expect(tied.names()).toEqual(['embed', 'lm_head', 'row']);
      await expectError(tied.get('embed', { shape: [4, 5] }), 'E_SHAPE', 'tied.embed', '[5, 4]', '[4, 5]');
      await expectError(ckpt.get('i64'), 'E_DTYPE', 'i64');
      expect((await ckpt.get('i64', { dtypes: ['int64'] })).bytes.byteLength).toBe(40);
      await expectError(tied.get('missing'), 'E_NOT_FOUND', 'tied.missing');
    } finally {
      await ckpt.close();
    }
  });

  it('flattens nested checkpoints and ignores non-tensor values', async () => {
    const ckpt = await openBin('nested.bin');
    try {
      expect(ckpt.names()).toEqual(['model.w']);
      const t = await ckpt.get('model.w', { dtypes: ['int32'], shape: [4] });
      expect(Array.from(new Int32Array(t.bytes.buffer))).toEqual([0, 1, 2, 3]);
    } finally {
      await ckpt.close();
    }
  });

  it('fails reads after close with E_IO', async () => {
    const ckpt = await openBin('tensors.bin');
    await ckpt.close();
    await expectError(ckpt.get('f32'), 'E_IO', 'closed');
  });

  it('rejects legacy (pre-1.6) files with advice to re-save', async () => {
    await expectError(openPytorchFile(path.join(FIXTURES, 'legacy.bin')), 'E_UNSUPPORTED', 'legacy.bin', 'torch >= 1.6');
  });

  it('rejects big-endian archives', async () => {
    await expectError(openPytorchFile(path.join(FIXTURES, 'byteorder-big.bin')), 'E_UNSUPPORTED', 'big-endian');
  });

  it('rejects files that are not checkpoints', async () => {
    const p = path.join(tmp, 'garbage.bin');
    await writeFile(p, 'hello world, not a zip');
    await expectError(openPytorchFile(p), 'E_CORRUPT', 'garbage.bin');
  });
});

describe('malicious pickles', () => {
  const cases = [
    ['evil-os-system.bin', /'(posix|os)\.system'/],
    ['evil-eval.bin', /'builtins\.eval'/],
    ['evil-subprocess.bin', /'subprocess\.check_call'/],
  ] as const;
  for (const [file, global] of cases) {
    it(`${file}: E_UNSAFE_PICKLE naming the global, nothing executed`, async () => {
      await rm(PWNED_MARKER, { force: true });
      const err = await expectError(openPytorchFile(path.join(FIXTURES, file)), 'E_UNSAFE_PICKLE', file);
      expect(err.message).toMatch(global);
      expect(existsSync(PWNED_MARKER)).toBe(false);
    });
  }

  it('also through openCheckpoint on a model directory', async () => {
    const dir = path.join(tmp, 'evil-model');
    await mkdir(dir);
    await copyFixture('evil-os-system.bin', dir, 'pytorch_model.bin');
    await expectError(openCheckpoint(dir), 'E_UNSAFE_PICKLE', 'system');
    expect(existsSync(PWNED_MARKER)).toBe(false);
  });
});

describe('truncated PyTorch files', () => {
  it('give E_CORRUPT naming the file at every cut point', async () => {
    const full = await readFile(path.join(FIXTURES, 'tensors.bin'));
    const cuts = [0, 3, 30, 200, Math.floor(full.length / 2), full.length - 200, full.length - 23, full.length - 1];
    for (const cut of cuts) {
      const p = await copyFixture('tensors.bin', tmp, `cut-${cut}.bin`);
      await truncate(p, cut);
      await expectError(openPytorchFile(p), 'E_CORRUPT', `cut-${cut}.bin`);
    }
  });

  for (const file of ['tensors.bin', 'zip64.bin']) {
    it(`${file}: a hole cut out of the middle (stale directory offsets) is E_CORRUPT`, async () => {
      const full = await readFile(path.join(FIXTURES, file));
      const p = path.join(tmp, `holes-${file}`);
      await writeFile(p, Buffer.concat([full.subarray(0, 1200), full.subarray(1600)]));
      await expectError(openPytorchFile(p), 'E_CORRUPT', `holes-${file}`);
    });
  }
});

describe('crafted torch archives: views are validated against their storage', () => {
  /** data.pkl of `{'w': _rebuild_tensor_v2(storage(key, numel), offset, size, stride, False, {})}`. */
  function tensorPickle(o: { size: number[]; stride: number[]; offset?: number; numel: number; key?: string }): Uint8Array {
    const ints = (xs: number[]) => xs.flatMap((d) => ['J', u32(d)] as const);
    return pickleBytes(
      0x80, 2, '}', '(', ...pstr('w'), 'c', 'torch._utils\n_rebuild_tensor_v2\n',
      '(', '(', ...pstr('storage'), 'c', 'torch\nFloatStorage\n', ...pstr(o.key ?? '0'), ...pstr('cpu'), 'J', u32(o.numel), 't', 'Q',
      'J', u32(o.offset ?? 0), '(', ...ints(o.size), 't', '(', ...ints(o.stride), 't', 0x89, '}', 't', 'R',
      'u', '.',
    );
  }
  async function archive(name: string, pkl: Uint8Array, data: number[]): Promise<string> {
    const file = path.join(tmp, name);
    await writeZip64(file, [
      { name: 'archive/data.pkl', data: pkl },
      { name: 'archive/data/0', data: new Uint8Array(new Float32Array(data).buffer) },
      { name: 'archive/version', data: new TextEncoder().encode('3\n') },
    ]);
    return file;
  }

  it('materialises a small broadcast (stride 0) view', async () => {
    const o = await openPytorchFile(await archive('bcast.bin', tensorPickle({ size: [3, 2], stride: [0, 1], numel: 2 }), [1.5, 2.5]));
    const ck = new FileCheckpoint(o.tensors, 'pytorch-zip', [o.file]);
    expect(Array.from((await ck.getFloat32('w', { shape: [3, 2] })).data)).toEqual([1.5, 2.5, 1.5, 2.5, 1.5, 2.5]);
    await ck.close();
  });

  it('rejects a huge broadcast view of a tiny storage (memory amplification)', async () => {
    const file = await archive('bomb.bin', tensorPickle({ size: [100_000_000, 100], stride: [0, 0], numel: 1 }), [1]);
    await expectError(openPytorchFile(file), 'E_UNSUPPORTED', 'bomb.bin', "'w'", 'broadcast');
  });

  it('rejects a view reaching past its storage', async () => {
    const file = await archive('oob.bin', tensorPickle({ size: [4], stride: [1], offset: 2, numel: 4 }), [1, 2, 3, 4]);
    await expectError(openPytorchFile(file), 'E_CORRUPT', 'oob.bin', "'w'", 'reaches byte 24');
  });

  it('rejects a storage larger than its record, and a missing record', async () => {
    await expectError(openPytorchFile(await archive('short.bin', tensorPickle({ size: [10], stride: [1], numel: 10 }), [1, 2])), 'E_CORRUPT', 'short.bin', 'needs 40');
    await expectError(
      openPytorchFile(await archive('norec.bin', tensorPickle({ size: [1], stride: [1], numel: 1, key: '7' }), [1])),
      'E_CORRUPT',
      'norec.bin',
      'archive/data/7',
    );
  });
});

describe('sharded PyTorch checkpoints', () => {
  it('opens pytorch_model.bin.index.json shards', async () => {
    const ckpt = await pytorchLoader.open(path.join(FIXTURES, 'sharded-bin'));
    try {
      expect(ckpt.format).toBe('pytorch-zip (2 shards)');
      expect(ckpt.files.map((f) => path.basename(f))).toEqual(['pytorch_model-00001-of-00002.bin', 'pytorch_model-00002-of-00002.bin']);
      expect(ckpt.names().sort()).toEqual(['bf16', 'f16', 'f32', 'i64', 'scalar', 'tied.embed', 'tied.row', 'view.base', 'view.offset']);
      await expectGolden(ckpt as FileCheckpoint, want, ckpt.names());
    } finally {
      await ckpt.close();
    }
  });

  it('E_NOT_FOUND for a missing shard file and for a tensor missing from its shard', async () => {
    const dir = path.join(tmp, 'shards-missing');
    await mkdir(dir);
    const index = JSON.parse(await readFile(path.join(FIXTURES, 'sharded-bin/pytorch_model.bin.index.json'), 'utf8')) as {
      weight_map: Record<string, string>;
    };
    await copyFixture('sharded-bin/pytorch_model-00001-of-00002.bin', dir, 'pytorch_model-00001-of-00002.bin');
    await writeFile(path.join(dir, 'pytorch_model.bin.index.json'), JSON.stringify(index));
    await expectError(pytorchLoader.open(dir), 'E_NOT_FOUND', 'pytorch_model-00002-of-00002.bin');

    await copyFixture('sharded-bin/pytorch_model-00002-of-00002.bin', dir, 'pytorch_model-00002-of-00002.bin');
    index.weight_map['model.ghost.weight'] = 'pytorch_model-00001-of-00002.bin';
    await writeFile(path.join(dir, 'pytorch_model.bin.index.json'), JSON.stringify(index));
    await expectError(pytorchLoader.open(dir), 'E_NOT_FOUND', 'model.ghost.weight', 'pytorch_model-00001-of-00002.bin');
  });

  it('rejects an index that points outside the directory', async () => {
    const dir = path.join(tmp, 'shards-escape');
    await mkdir(dir);
    await writeFile(path.join(dir, 'pytorch_model.bin.index.json'), JSON.stringify({ weight_map: { w: '../../etc/passwd' } }));
    await expectError(pytorchLoader.open(dir), 'E_CORRUPT', 'not a plain file name');
  });
});
