/**
 * `@tinyllama/backend-wasm`: the framework's own WebAssembly backend. A small ONNX graph executor
 * (reference TypeScript kernels for every op our graphs use) whose block-quantised matmuls run as
 * SIMD128 / relaxed-SIMD C kernels (built with clang-16 from `csrc/`) on worker threads sharing one
 * `WebAssembly.Memory`. Same `Backend` contract as onnxruntime; works in browsers and Node.
 * @packageDocumentation
 */
export { createWasmKernelsBackend, wasmKernelsPlugin, type WasmKernelsBackendOptions, type WasmKernelsSession } from './backend.js';
export { GraphExecutor, type ExternalDataReader, type GraphStats, type OwnedRegions } from './executor.js';
export { WasmKernels, type AttentionDims, type NBitsEngine, type NBitsWeight, type WasmKernelsOptions } from './kernels.js';
export { LinearMemory } from './memory.js';
export { REFERENCE_KERNELS, opKey, type Attrs, type OpKernel } from './ops/index.js';
