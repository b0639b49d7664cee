/**
 * Relaxed SIMD is used only where it computes our kernels' integers exactly. Node 20 accepts relaxed
 * SIMD behind --experimental-wasm-relaxed-simd but gets the kernels' dot products wrong; run in a
 * child process with that flag, whatever variant `WasmKernels.create` picks must give exactly the
 * SIMD128 build's matmul.
 */
import { spawnSync } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');

const SCRIPT = `
import { WasmKernels } from ${JSON.stringify(join(HERE, '../src/kernels.ts'))};
const picked = await WasmKernels.create({ threads: 1 });
const simd = await WasmKernels.create({ threads: 1, relaxedSimd: false });
let s = 12345;
const r = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
const K = 256, N = 64, B = 128, M = 3;
const w = { K, N, bits: 4, blockSize: B, q: Uint8Array.from({ length: N * K / 2 }, () => (r() * 256) | 0), scales: Float32Array.from({ length: N * K / B }, () => r()) };
const a = Float32Array.from({ length: M * K }, () => r() * 2 - 1);
const y1 = picked.matmulNBits(a, M, picked.uploadNBits(w, 'w'));
const y2 = simd.matmulNBits(a, M, simd.uploadNBits(w, 'w'));
console.log(JSON.stringify({ variant: picked.variant, same: y1.every((v, i) => v === y2[i]) }));
process.exit(0);
`;

describe('relaxed SIMD check', () => {
  it('with --experimental-wasm-relaxed-simd, the variant picked computes exactly what SIMD128 does', () => {
    const res = spawnSync(process.execPath, ['--experimental-wasm-relaxed-simd', '--import', 'tsx', '--input-type=module', '-e', SCRIPT], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
    expect(res.status, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout.trim().split('\n').pop()!) as { variant: string; same: boolean };
    expect(out.same).toBe(true);
    // Node 20's relaxed dot products are wrong in the kernels: the check keeps SIMD128 there
    if (process.versions.node.startsWith('20.')) expect(out.variant).toBe('simd');
  });
});
