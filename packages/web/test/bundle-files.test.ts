import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BundleFile, BundleManifest } from '@tinyllama/core';
import { describe, expect, it } from 'vitest';
import { bundleFileReader, sha256Hex, verifyBundleFile, type ByteStaging } from '../src/bundle-files.ts';
import { Sha256 } from '../src/sha256.ts';

const bytes = new TextEncoder().encode('tinyllama bundle file');
const entry: BundleFile = { path: 'chunk_01.onnx.data', size: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex'), role: 'weights' };

describe('bundle file verification (SubtleCrypto)', () => {
  it('hashes like node:crypto', async () => {
    expect(await sha256Hex(bytes)).toBe(entry.sha256);
  });

  it('accepts matching bytes', async () => {
    await expect(verifyBundleFile(entry, bytes)).resolves.toBeUndefined();
  });

  it('rejects a changed byte as E_CORRUPT naming the file', async () => {
    const bad = bytes.slice();
    bad[3] ^= 1;
    await expect(verifyBundleFile(entry, bad)).rejects.toMatchObject({ code: 'E_CORRUPT', message: expect.stringMatching(/'chunk_01\.onnx\.data': checksum failed \(sha256/) });
  });

  it('rejects a truncated file by its size', async () => {
    await expect(verifyBundleFile(entry, bytes.subarray(1))).rejects.toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining('checksum failed (size') });
  });
});

describe('readStaged: files written straight into a staging area (shared memory)', () => {
  const data = new Uint8Array(300_000).map((_, i) => (i * 7) & 255);
  const file: BundleFile = { path: 'chunk_00.onnx.data', size: data.length, sha256: createHash('sha256').update(data).digest('hex'), role: 'weights' };
  const manifest = { files: [file] } as unknown as BundleManifest;

  /** Serves `body` for every request (optionally without a content-length). */
  async function serve(body: Uint8Array, withLength = true): Promise<{ url: string; close: () => Promise<void> }> {
    const server = createServer((_req, res) => {
      res.writeHead(200, withLength ? { 'content-length': String(body.length) } : {});
      res.end(Buffer.from(body));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as AddressInfo;
    return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((r) => server.close(() => r())) };
  }

  /** A staging area over one SharedArrayBuffer that records what is live. */
  function staging() {
    const memory = new SharedArrayBuffer(1 << 20);
    const live = new Set<number>();
    let next = 0;
    const s: ByteStaging & { live: Set<number> } = {
      live,
      alloc(n) {
        const at = next;
        next += n;
        live.add(at);
        return new Uint8Array(memory, at, n);
      },
      sha256: (v) => createHash('sha256').update(Uint8Array.from(v)).digest('hex'),
      release: (v) => void live.delete(v.byteOffset),
    };
    return s;
  }

  it('streams into the staging area and verifies (with and without a content-length)', async () => {
    for (const withLength of [true, false]) {
      const srv = await serve(data, withLength);
      try {
        const st = staging();
        const files = await bundleFileReader(srv.url, manifest, { useCache: false });
        const view = await files.readStaged(file.path, st);
        expect(view.buffer).toBeInstanceOf(SharedArrayBuffer);
        expect(Buffer.from(view).equals(Buffer.from(data))).toBe(true);
        expect(st.live.size).toBe(1);
      } finally {
        await srv.close();
      }
    }
  });

  it('rejects a changed byte or a truncated body as E_CORRUPT and releases the staging', async () => {
    const bad = data.slice();
    bad[1234] ^= 1;
    for (const body of [bad, data.subarray(0, 1000)]) {
      const srv = await serve(body);
      try {
        const st = staging();
        const files = await bundleFileReader(srv.url, manifest, { useCache: false });
        await expect(files.readStaged(file.path, st)).rejects.toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining("'chunk_00.onnx.data': checksum failed") });
        expect(st.live.size).toBe(0);
      } finally {
        await srv.close();
      }
    }
  });
});

describe('Sha256 (incremental, TypeScript)', () => {
  it('equals node:crypto for every length around the block boundaries, fed in uneven pieces', () => {
    const all = new Uint8Array(1000).map((_, i) => (i * 31 + 7) & 255);
    for (const n of [0, 1, 3, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, 1000]) {
      const msg = all.subarray(0, n);
      const h = new Sha256();
      for (let i = 0; i < n; i += 37) h.update(msg.subarray(i, Math.min(n, i + 37)));
      expect(h.hex()).toBe(createHash('sha256').update(msg).digest('hex'));
    }
    expect(new Sha256().update(new TextEncoder().encode('abc')).hex()).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});

describe('rangeReader: random access to a cached file without holding it', () => {
  const data = new Uint8Array(200_000).map((_, i) => (i * 13) & 255);
  const file: BundleFile = { path: 'embed.onnx.data', size: data.length, sha256: createHash('sha256').update(data).digest('hex'), role: 'weights' };
  const manifest = { files: [file] } as unknown as BundleManifest;

  /** A Cache API over a Map (Node has none). */
  function fakeCaches() {
    const entries = new Map<string, Response>();
    const cache = {
      entries,
      async match(key: string) {
        return entries.get(key)?.clone();
      },
      async put(key: string, res: Response) {
        entries.set(key, new Response(await res.arrayBuffer()));
      },
      async delete(key: string | Request) {
        return entries.delete(typeof key === 'string' ? key : key.url);
      },
      async keys() {
        return [...entries.keys()].map((url) => ({ url }));
      },
    };
    return { cache, caches: { open: async () => cache, delete: async () => true } };
  }

  it('a cached read that brings no data is retried once with a fresh response, then fails as E_IO instead of hanging', async () => {
    const fake = fakeCaches();
    const saved = (globalThis as { caches?: unknown }).caches;
    (globalThis as { caches?: unknown }).caches = fake.caches;
    const key = `http://127.0.0.1:9/${file.path}?tinyllama-sha256=${file.sha256}`;
    /** A response whose body never delivers a byte (what a stalled Cache API read looks like). */
    const silent = () => new Response(new ReadableStream({ type: 'bytes', pull: () => new Promise<void>(() => undefined) }));
    let stalls = 0;
    const match = fake.cache.match;
    fake.cache.match = async (k: string) => (stalls-- > 0 ? silent() : match(k));
    try {
      fake.cache.entries.set(key, new Response(data));
      const st = { alloc: (n: number) => new Uint8Array(n), sha256: (v: Uint8Array) => createHash('sha256').update(v).digest('hex'), release: () => undefined };
      for (const read of ['readStaged', 'read'] as const) {
        stalls = 1; // the first response stalls, the retry's is good
        const files = await bundleFileReader('http://127.0.0.1:9/', manifest, { stallMs: 50 });
        const got = read === 'read' ? await files.read(file.path) : await files.readStaged(file.path, st);
        expect(Buffer.from(got).equals(Buffer.from(data)), read).toBe(true);
        expect(files.stalledReads).toEqual([file.path]);
        stalls = 2; // both stall: an error naming the file, not a hang
        const again = await bundleFileReader('http://127.0.0.1:9/', manifest, { stallMs: 50 });
        const failing = read === 'read' ? again.read(file.path) : again.readStaged(file.path, st);
        await expect(failing, read).rejects.toMatchObject({ code: 'E_IO', message: expect.stringMatching(/'embed\.onnx\.data': no data for 0\.05 s/) });
      }
    } finally {
      (globalThis as { caches?: unknown }).caches = saved;
    }
  });

  it('downloads and caches a missing file, then reads ranges from the cached copy; corruption is E_CORRUPT', async () => {
    let requests = 0;
    const server = createServer((_req, res) => {
      requests++;
      res.writeHead(200, { 'content-length': String(data.length) });
      res.end(Buffer.from(data));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const fake = fakeCaches();
    const saved = (globalThis as { caches?: unknown }).caches;
    (globalThis as { caches?: unknown }).caches = fake.caches;
    try {
      const files = await bundleFileReader(url, manifest);
      const reader = (await files.rangeReader(file.path))!;
      expect(reader.size).toBe(data.length);
      expect(Array.from(await reader.read(70_001, 5))).toEqual(Array.from(data.subarray(70_001, 70_006)));
      expect(requests).toBe(1);
      await reader.close();
      await expect(reader.read(0, 1)).rejects.toThrow(/read after close/);
      // second open: from the cache, no download
      const again = (await bundleFileReader(url, manifest)).rangeReader(file.path);
      expect(Array.from(await (await again)!.read(0, 3))).toEqual([0, 13, 26]);
      expect(requests).toBe(1);
      // a corrupted cached copy is rejected and dropped
      const key = [...fake.cache.entries.keys()][0]!;
      const bad = data.slice();
      bad[12345] ^= 1;
      fake.cache.entries.set(key, new Response(bad));
      await expect((await bundleFileReader(url, manifest)).rangeReader(file.path)).rejects.toMatchObject({ code: 'E_CORRUPT', message: expect.stringContaining("'embed.onnx.data': checksum failed") });
      expect(fake.cache.entries.size).toBe(0);
      // without the Cache API there is no range reader (the caller loads the file)
      expect(await (await bundleFileReader(url, manifest, { useCache: false })).rangeReader(file.path)).toBeUndefined();
    } finally {
      (globalThis as { caches?: unknown }).caches = saved;
      await new Promise((r) => server.close(() => r(undefined)));
    }
  });
});
