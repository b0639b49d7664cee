/**
 * `@tinyllama/core`: the contracts (weights, loaders, tokenizers, attention strategies, backends,
 * architectures), registries, the composition root and the generation loop.
 * @packageDocumentation
 */
export * from './errors.js';
export * from './tensor.js';
export * from './weights.js';
export * from './weight-source.js';
export * from './tokenizer.js';
export * from './graph.js';
export * from './io-names.js';
export * from './architecture.js';
export * from './registry.js';
export * from './backend.js';
export * from './logger.js';
export * from './sampling.js';
export * from './stop.js';
export * from './decoder.js';
export * from './prefill.js';
export * from './kv-cache.js';
export * from './generate.js';
export * from './profile.js';
export * from './runtime.js';
export * from './evaluate.js';
export * from './runner.js';
export * from './bundle.js';
export * from './chunked-runner.js';
export * from './embedding-lookup.js';
