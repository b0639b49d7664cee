import { createHash } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BundleFile, BundleManifest } from '@tinyllama/core';
import { describe, expect, it } from 'vitest';
import { bundleFileReader, sha256Hex, verifyBundleFile, type ByteStaging } from '../src/bundle-files.ts';

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
