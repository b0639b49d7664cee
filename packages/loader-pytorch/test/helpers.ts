import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, open, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import { isTinyLlamaError, type ErrorCode } from '@tinyllama/core';

/** Committed fixtures of this package (written by fixtures/gen.py). */
export const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures');
/** Repository root. */
export const REPO_ROOT = path.resolve(FIXTURES, '../../../..');
/** Shared read-only fixtures (may be absent). */
export const SHARED = path.resolve(REPO_ROOT, '../shared/fixtures');
/** The marker the malicious pickles would create. */
export const PWNED_MARKER = '/tmp/tinyllama-loader-pytorch-pwned-marker';

/** Expected tensors from golden.json. */
export interface Golden {
  readonly dtype: string;
  readonly shape: number[];
  readonly hex: string;
}

export async function golden(): Promise<Record<string, Golden>> {
  return JSON.parse(await readFile(path.join(FIXTURES, 'golden.json'), 'utf8')) as Record<string, Golden>;
}

export function hex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}

/** A fresh temp directory; remove with `cleanup`. */
export async function tempDir(): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), 'loader-pytorch-test-'));
}

export async function cleanup(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Copies fixture `name` into `dir` as `as` and returns the new path. */
export async function copyFixture(name: string, dir: string, as: string = name): Promise<string> {
  const to = path.join(dir, as);
  await copyFile(path.join(FIXTURES, name), to);
  return to;
}

/** Awaits `p`, expecting a TinyLlamaError with `code` whose message contains every `parts`. */
export async function expectError(p: Promise<unknown> | (() => unknown), code: ErrorCode, ...parts: string[]): Promise<Error> {
  let err: unknown;
  try {
    await (typeof p === 'function' ? p() : p);
  } catch (e) {
    err = e;
  }
  expect(err, `expected ${code}`).toBeDefined();
  if (!isTinyLlamaError(err, code)) throw err;
  for (const s of parts) expect(err.message).toContain(s);
  return err;
}

export function exists(p: string): boolean {
  return existsSync(p);
}

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
 * Writes a stored ZIP64 archive (ZIP64 extras everywhere). A member without `data` becomes a sparse hole
 * of `size` bytes, which lets tests place records beyond 4 GiB cheaply. CRCs are 0 (the loader does not
 * verify them).
 */
export async function writeZip64(file: string, members: { name: string; data?: Uint8Array; size?: number }[]): Promise<void> {
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

/** Builds pickle bytes: numbers are single bytes, strings UTF-8, arrays/Uint8Arrays spliced. */
export function pickleBytes(...parts: (number | string | number[] | Uint8Array)[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) {
    if (typeof p === 'number') out.push(p);
    else if (typeof p === 'string') out.push(...new TextEncoder().encode(p));
    else out.push(...p);
  }
  return new Uint8Array(out);
}

/** Little-endian u32 bytes. */
export const u32 = (n: number): number[] => [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255];
/** Little-endian u64 bytes. */
export const u64 = (n: bigint): number[] => Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(8 * i)) & 255n));
/** BINUNICODE opcode with its string. */
export const pstr = (s: string): (number | string | number[])[] => ['X', u32(new TextEncoder().encode(s).length), s];
