/**
 * Node-only helpers of `@tinyllama/core`: loading a model directory from disk.
 * @packageDocumentation
 */
export * from './model-dir.js';
export * from './build-dir.js';
export * from './build-bundle.js';
export * from './bundle-store.js';
export * from './bundle-load.js';
