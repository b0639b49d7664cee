import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { TinyLlamaError } from '@tinyllama/core';

/** The addon's functions (csrc/addon.c). Offsets are byte offsets into `mem`. */
export interface NativeAddon {
  /** Bit 0: AVX512-VNNI; bit 1: AMX-INT8 usable by this process. */
  features(): number;
  /** Starts the kernel threads once (the caller's included); returns the threads in use. */
  start(threads: number): number;
  repack(mem: Uint8Array, q: number, scales: number, N: number, kBlocks: number, B: number): void;
  quantize(mem: Uint8Array, a: number, M: number, K: number, B: number, kBlocks: number, aq: number, ascale: number, asum: number): void;
  matmul(mem: Uint8Array, aq: number, ascale: number, asum: number, M: number, kBlocks: number, B: number, q: number, scales: number, bias: number, y: number, N: number, qUp: number, scalesUp: number, amx: number): void;
  /** Backs loaded weights at `[off, off + len)` with transparent huge pages (see csrc/addon.c); returns the 2 MB pages made. */
  hugepages(mem: Uint8Array, off: number, len: number): number;
  attention(mem: Uint8Array, q: number, k: number, v: number, out: number, S: number, T: number, pastLen: number, H: number, Hkv: number, D: number, capacity: number, scale: number): void;
}

/** Where the build puts the addon: `build/tinyllama_native.node` in this package. */
export function addonPath(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', 'build', 'tinyllama_native.node');
}

/** Loaded addons by path (a Node addon is loaded once per process). */
const loaded = new Map<string, NativeAddon>();

/**
 * Loads the addon (once). Throws `E_BACKEND` when it was not built (`pnpm build` compiles it where a C
 * compiler and Node's headers are present) or cannot be loaded, and when the CPU lacks AVX512-VNNI.
 */
export function loadAddon(path = addonPath()): NativeAddon {
  const known = loaded.get(path);
  if (known) return known;
  if (process.platform !== 'linux' || process.arch !== 'x64') throw new TinyLlamaError('E_BACKEND', `native kernels: x86-64 Linux only (this is ${process.platform}-${process.arch})`);
  if (!existsSync(path)) throw new TinyLlamaError('E_BACKEND', `native kernels: '${path}' was not built (pnpm build compiles it; it needs a C compiler and Node's headers)`);
  let addon: NativeAddon;
  try {
    addon = createRequire(import.meta.url)(path) as NativeAddon;
  } catch (e) {
    throw new TinyLlamaError('E_BACKEND', `native kernels: cannot load '${path}': ${(e as Error).message}`, { cause: e });
  }
  if ((addon.features() & 1) === 0) throw new TinyLlamaError('E_BACKEND', 'native kernels: this CPU has no AVX512-VNNI');
  loaded.set(path, addon);
  return addon;
}
