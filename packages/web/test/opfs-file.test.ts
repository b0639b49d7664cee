import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openOpfsFile } from '../src/opfs-file.js';

/** A minimal in-memory OPFS: one directory of files with synchronous access handles. */
function fakeOpfs(): { files: Map<string, Uint8Array> } {
  const files = new Map<string, Uint8Array>();
  class FakeFileHandle {
    constructor(readonly name: string) {}
    async createSyncAccessHandle() {
      const name = this.name;
      const get = () => files.get(name) ?? new Uint8Array(0);
      return {
        read(buffer: Uint8Array, { at }: { at: number }) {
          const src = get().subarray(at, at + buffer.length);
          buffer.set(src);
          return src.length;
        },
        write(buffer: Uint8Array, { at }: { at: number }) {
          const cur = get();
          const next = new Uint8Array(Math.max(cur.length, at + buffer.length));
          next.set(cur);
          next.set(buffer, at);
          files.set(name, next);
          return buffer.length;
        },
        truncate(size: number) {
          files.set(name, get().slice(0, size));
        },
        getSize: () => get().length,
        flush() {},
        close() {},
      };
    }
  }
  const dir = {
    async getFileHandle(name: string) {
      if (!files.has(name)) files.set(name, new Uint8Array(0));
      return new FakeFileHandle(name);
    },
    async getDirectoryHandle() {
      return dir;
    },
    async removeEntry(name: string) {
      files.delete(name);
    },
    async *keys() {
      yield* [...files.keys()];
    },
  };
  const g = globalThis as Record<string, unknown>;
  g.FileSystemFileHandle = FakeFileHandle;
  Object.defineProperty(globalThis, 'navigator', { value: { storage: { getDirectory: async () => dir } }, configurable: true });
  return { files };
}

describe('openOpfsFile (in-memory OPFS)', () => {
  let saved: PropertyDescriptor | undefined;
  beforeEach(() => {
    saved = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  });
  afterEach(() => {
    if (saved) Object.defineProperty(globalThis, 'navigator', saved);
    delete (globalThis as Record<string, unknown>).FileSystemFileHandle;
  });

  const bytes = Uint8Array.from({ length: 1000 }, (_, i) => (i * 7) & 255);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  const stream = (parts: Uint8Array[], hang = false) =>
    new ReadableStream<Uint8Array>({
      start(c) {
        for (const p of parts) c.enqueue(p);
        if (!hang) c.close();
      },
    });

  it('copies a streamed source, verifies it and reads ranges', async () => {
    fakeOpfs();
    const r = await openOpfsFile({ path: 'embed.onnx.data', size: bytes.length, sha256, source: async () => stream([bytes.subarray(0, 300), bytes.subarray(300)]) });
    expect(r).toBeDefined();
    expect(Array.from(await r!.read(10, 5))).toEqual(Array.from(bytes.subarray(10, 15)));
  });

  it('a source that stops sending fails as E_IO naming the file instead of hanging', async () => {
    fakeOpfs();
    const t0 = performance.now();
    await expect(
      openOpfsFile({ path: 'embed.onnx.data', size: bytes.length, sha256, stallMs: 50, source: async () => stream([bytes.subarray(0, 300)], true) }),
    ).rejects.toMatchObject({ code: 'E_IO', message: expect.stringMatching(/OPFS copy of 'embed\.onnx\.data': no data for 0\.05 s/) });
    expect(performance.now() - t0).toBeLessThan(5000);
  });
});
