/**
 * `@tinyllama/cli`: the `tinyllama` command and the Node composition root.
 * @packageDocumentation
 */
export { createNodeRuntime, checkpointLoadersPlugin, llama2Plugin, sentencePiecePlugin, type NodeRuntimeOptions } from './compose.js';
export { run, usage } from './main.js';
export type { CliIO } from './io.js';
export { RANDOM_PRESETS, writeRandomCheckpoint, randomLlamaConfig, llamaTensorShapes, type RandomLlamaShape, type RandomCheckpointOptions } from './random-model.js';
export { writeSyntheticTokenizerModel } from './synthetic-tokenizer.js';
