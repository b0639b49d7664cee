import { availableParallelism } from 'node:os';
import { TinyLlamaError, type Backend, type ModelFacts, type RuntimePlugin } from '@tinyllama/core';
import { createWasmKernelsBackend, type NBitsEngine, type WasmKernels, type WasmKernelsBackendOptions } from '@tinyllama/backend-wasm';
import { loadAddon, type NativeAddon } from './addon.js';

/** Options of {@link createNativeEngine}. */
export interface NativeEngineOptions {
  /**
   * Kernel threads, the caller's included (default: `os.availableParallelism()`, at most 8). The
   * threads are started once per process: later engines share the first one's.
   */
  readonly threads?: number;
  /** Use AMX tiles from this many activation rows on (default 2; 0 never). */
  readonly amxMinRows?: number;
  /** The addon (default: the one this package builds). */
  readonly addon?: NativeAddon;
  /**
   * Back the weights with transparent huge pages once they are repacked (default true): they are then
   * streamed with one TLB entry per 2 MB (decode 7-9% faster on the 1.1B model here). Memory the
   * executor allocates later (KV cache, scratch) keeps 4 KB pages.
   */
  readonly hugePages?: boolean;
}

/**
 * The native engine for {@link WasmKernels}: takes 4-bit weights without zero points whose output count
 * is a multiple of 16 (the panel width) and whose block size is a multiple of 8.
 */
export function createNativeEngine(options: NativeEngineOptions = {}): NBitsEngine & { readonly threads: number; readonly amx: boolean } {
  const addon = options.addon ?? loadAddon();
  const threads = addon.start(Math.max(1, options.threads ?? Math.min(8, availableParallelism())));
  const amx = (addon.features() & 2) !== 0;
  const amxMinRows = options.amxMinRows ?? 2;
  const hugePages = options.hugePages ?? true;
  return {
    name: amx ? 'avx512-vnni+amx-int8' : 'avx512-vnni',
    threads,
    amx,
    accepts: (w) => w.bits === 4 && !w.zeroPoints && w.N % 16 === 0 && w.blockSize % 8 === 0,
    repack: (mem, q, scales, N, kBlocks, B) => {
      addon.repack(mem, q, scales, N, kBlocks, B);
      if (hugePages) {
        addon.hugepages(mem, q, (N * kBlocks * B) / 2);
        addon.hugepages(mem, scales, N * kBlocks * 4);
      }
    },
    quantize: (mem, a, M, K, B, kBlocks, aq, ascale, asum) => addon.quantize(mem, a, M, K, B, kBlocks, aq, ascale, asum),
    matmul: (mem, aq, ascale, asum, M, kBlocks, B, q, scales, bias, y, N, qUp, scalesUp) =>
      addon.matmul(mem, aq, ascale, asum, M, kBlocks, B, q, scales, bias, y, N, qUp, scalesUp, amx && amxMinRows > 0 && M >= amxMinRows ? 1 : 0),
    attention: (mem, q, k, v, out, S, T, pastLen, H, Hkv, D, capacity, scale) => addon.attention(mem, q, k, v, out, S, T, pastLen, H, Hkv, D, capacity, scale),
  };
}

/** Options of {@link createNativeKernelsBackend}. */
export interface NativeKernelsBackendOptions extends Omit<WasmKernelsBackendOptions, 'nbitsEngine' | 'threads'>, NativeEngineOptions {
  /** Threads of the executor's own WebAssembly code (norms, rotary, the rest; default 1). */
  readonly wasmThreads?: number;
}

/**
 * The `native-kernels` backend (Node, x86-64 Linux with AVX512-VNNI): the wasm-kernels backend whose
 * executor runs its 4-bit matmuls and attention on the native engine, made when the backend
 * initialises (a missing addon or CPU feature fails `init` with `E_BACKEND`). Chosen by default only
 * for symmetric int4 models ({@link Backend.suits}); any other graph runs when it is named, its other
 * matmuls on the WebAssembly kernels. `threads` sets the native threads.
 */
export function createNativeKernelsBackend(options: NativeKernelsBackendOptions = {}): Backend & { readonly kernels: () => WasmKernels | undefined } {
  const engine = (): NBitsEngine => {
    try {
      return createNativeEngine(options);
    } catch (e) {
      if (e instanceof TinyLlamaError) throw e;
      throw new TinyLlamaError('E_BACKEND', `native kernels: ${(e as Error).message}`, { cause: e });
    }
  };
  const backend = createWasmKernelsBackend({ ...options, name: options.name ?? 'native-kernels', threads: options.wasmThreads ?? 1, nbitsEngine: engine });
  // picked unnamed only for symmetric int4 models: other weights run on its WebAssembly kernels, slower than onnxruntime's
  return Object.assign(backend, { suits: (m: ModelFacts) => m.weightDtype === 'int4' && m.symmetric !== false });
}

/** Registers the native-kernels backend (priority 110: above onnxruntime-node where it initialises). */
export function nativeKernelsPlugin(options: NativeKernelsBackendOptions = {}): RuntimePlugin {
  return {
    name: 'backend-native',
    register(rt) {
      rt.backends.register(createNativeKernelsBackend(options), 110);
    },
  };
}
