import { createHash } from 'node:crypto';
import type { BundleFile } from '@tinyllama/core';
import { describe, expect, it } from 'vitest';
import { sha256Hex, verifyBundleFile } from '../src/bundle-files.ts';

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
