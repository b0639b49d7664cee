/**
 * Native x86-64 kernels for the framework's own graph executor: the wasm-kernels backend runs the
 * graph (its memory, ops and KV cache), and the 4-bit block-quantised matmuls it would run in
 * WebAssembly run here instead, in place on the same memory, with AVX512-VNNI (one or a few rows)
 * and AMX-INT8 tiles (prompts). See `docs/native-backend.md`.
 * @packageDocumentation
 */
export { addonPath, loadAddon, type NativeAddon } from './addon.js';
export { createNativeEngine, createNativeKernelsBackend, nativeKernelsPlugin, type NativeEngineOptions, type NativeKernelsBackendOptions } from './backend.js';
