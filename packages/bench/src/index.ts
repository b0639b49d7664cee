/**
 * `@tinyllama/bench`: the llama.cpp baseline. A GGUF v3 exporter for Hugging Face Llama checkpoints
 * (F32 / F16 / Q8_0 / Q4_0, bit-exact with ggml's reference quantizers) and a suite that runs
 * `tinyllama bench` and llama.cpp's `llama-bench` alternately and reports medians and ratios.
 * @packageDocumentation
 */
export * from './gguf-format.js';
export * from './gguf-writer.js';
export * from './quantize.js';
export * from './gguf.js';
export * from './llama-bench.js';
export * from './process-run.js';
export * from './suite-runner.js';
export * from './report.js';
