import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises';
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
