import { TinyLlamaError } from '@tinyllama/core';
import type { LlamaConfig } from './config.js';

/** TinyLlama-1.1B (`TinyLlama/TinyLlama-1.1B-*`, Llama-2 architecture) as a normalised config. */
export const TINYLLAMA_1_1B: LlamaConfig = Object.freeze({
  architecture: 'llama2',
  hiddenSize: 2048,
  intermediateSize: 5632,
  numLayers: 22,
  numAttentionHeads: 32,
  numKeyValueHeads: 4,
  kvGroups: 8,
  headDim: 64,
  vocabSize: 32000,
  maxPositionEmbeddings: 2048,
  rmsNormEps: 1e-5,
  ropeTheta: 10000,
  tieWordEmbeddings: false,
  bosTokenId: 1,
  eosTokenIds: Object.freeze([2]),
});

/** Fields that define the TinyLlama-1.1B shape and numerics (token ids are not compared). */
const PRESET_FIELDS = [
  'hiddenSize',
  'intermediateSize',
  'numLayers',
  'numAttentionHeads',
  'numKeyValueHeads',
  'vocabSize',
  'maxPositionEmbeddings',
  'rmsNormEps',
  'ropeTheta',
  'tieWordEmbeddings',
] as const;

/** One field where a config differs from the preset. */
export interface PresetMismatch {
  readonly field: (typeof PRESET_FIELDS)[number];
  readonly expected: number | boolean;
  readonly actual: number | boolean;
}

/** Lists the fields where `config` differs from {@link TINYLLAMA_1_1B} (empty when it matches). */
export function checkTinyLlamaPreset(config: LlamaConfig): PresetMismatch[] {
  const out: PresetMismatch[] = [];
  for (const field of PRESET_FIELDS) {
    if (config[field] !== TINYLLAMA_1_1B[field]) out.push({ field, expected: TINYLLAMA_1_1B[field], actual: config[field] });
  }
  return out;
}

/** Throws `E_CONFIG` naming every field where `config` differs from {@link TINYLLAMA_1_1B}. */
export function assertTinyLlamaPreset(config: LlamaConfig): void {
  const diffs = checkTinyLlamaPreset(config);
  if (diffs.length === 0) return;
  const list = diffs.map((d) => `${d.field} is ${d.actual}, expected ${d.expected}`).join('; ');
  throw new TinyLlamaError('E_CONFIG', `config is not TinyLlama-1.1B: ${list}`);
}
