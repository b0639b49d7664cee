import { readdirSync } from 'node:fs';
import path from 'node:path';
import { isTinyLlamaError } from '@tinyllama/core';
import { describe, expect, it } from 'vitest';
import {
  TINYLLAMA_1_1B,
  assertTinyLlamaPreset,
  checkTinyLlamaPreset,
  llama2Architecture,
  normalizeLlamaConfig,
} from '../src/index.js';
import { FIXTURES, readJson } from './helpers.js';

/** TinyLlama/TinyLlama-1.1B-Chat-v1.0 config.json (written out here; no download). */
const TINYLLAMA_HF_CONFIG = {
  architectures: ['LlamaForCausalLM'],
  attention_bias: false,
  bos_token_id: 1,
  eos_token_id: 2,
  hidden_act: 'silu',
  hidden_size: 2048,
  initializer_range: 0.02,
  intermediate_size: 5632,
  max_position_embeddings: 2048,
  model_type: 'llama',
  num_attention_heads: 32,
  num_hidden_layers: 22,
  num_key_value_heads: 4,
  pretraining_tp: 1,
  rms_norm_eps: 1e-5,
  rope_scaling: null,
  rope_theta: 10000.0,
  tie_word_embeddings: false,
  torch_dtype: 'bfloat16',
  transformers_version: '4.35.0',
  use_cache: true,
  vocab_size: 32000,
};

const MINIMAL = { hidden_size: 64, intermediate_size: 128, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 100 };

function error(fn: () => unknown): { code: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (isTinyLlamaError(e)) return { code: e.code, message: e.message };
    throw e;
  }
  throw new Error('expected an error');
}

describe('normalizeLlamaConfig', () => {
  it('fills the Hugging Face LlamaConfig defaults', () => {
    expect(normalizeLlamaConfig(MINIMAL)).toEqual({
      architecture: 'llama2',
      hiddenSize: 64,
      intermediateSize: 128,
      numLayers: 2,
      numAttentionHeads: 4,
      numKeyValueHeads: 4,
      kvGroups: 1,
      headDim: 16,
      vocabSize: 100,
      maxPositionEmbeddings: 2048,
      rmsNormEps: 1e-6,
      ropeTheta: 10000,
      tieWordEmbeddings: false,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
  });

  it('reads GQA heads, explicit head_dim, EOS lists and no-op rope_scaling', () => {
    const c = normalizeLlamaConfig({
      ...MINIMAL,
      num_key_value_heads: 2,
      head_dim: 32,
      eos_token_id: [2, 7],
      rope_scaling: { rope_type: 'default' },
      attention_bias: false,
      mlp_bias: false,
    });
    expect(c).toMatchObject({ numKeyValueHeads: 2, kvGroups: 2, headDim: 32, eosTokenIds: [2, 7] });
    expect(normalizeLlamaConfig({ ...MINIMAL, rope_scaling: null }).ropeTheta).toBe(10000);
  });

  it.each([
    [{ ...MINIMAL, hidden_size: undefined }, 'E_CONFIG', 'hidden_size'],
    [{ ...MINIMAL, hidden_size: 64.5 }, 'E_CONFIG', 'hidden_size'],
    [{ ...MINIMAL, num_hidden_layers: 0 }, 'E_CONFIG', 'num_hidden_layers'],
    [{ ...MINIMAL, vocab_size: '100' }, 'E_CONFIG', 'vocab_size'],
    [{ ...MINIMAL, num_key_value_heads: 3 }, 'E_CONFIG', 'num_key_value_heads'],
    [{ ...MINIMAL, num_attention_heads: 5 }, 'E_CONFIG', 'hidden_size'],
    [{ ...MINIMAL, head_dim: 7 }, 'E_CONFIG', 'head_dim'],
    [{ ...MINIMAL, rms_norm_eps: -1 }, 'E_CONFIG', 'rms_norm_eps'],
    [{ ...MINIMAL, rope_theta: 0 }, 'E_CONFIG', 'rope_theta'],
    [{ ...MINIMAL, tie_word_embeddings: 'yes' }, 'E_CONFIG', 'tie_word_embeddings'],
    [{ ...MINIMAL, eos_token_id: [] }, 'E_CONFIG', 'eos_token_id'],
    [{ ...MINIMAL, eos_token_id: 100 }, 'E_CONFIG', 'eos_token_id'],
    [{ ...MINIMAL, bos_token_id: -1 }, 'E_CONFIG', 'bos_token_id'],
    [{ ...MINIMAL, rope_scaling: { type: 'linear', factor: 2 } }, 'E_UNSUPPORTED', 'rope_scaling'],
    [{ ...MINIMAL, rope_scaling: { rope_type: 'llama3', factor: 8 } }, 'E_UNSUPPORTED', 'rope_scaling'],
    [{ ...MINIMAL, rope_scaling: 'linear' }, 'E_CONFIG', 'rope_scaling'],
    [{ ...MINIMAL, attention_bias: true }, 'E_UNSUPPORTED', 'attention_bias'],
    [{ ...MINIMAL, mlp_bias: true }, 'E_UNSUPPORTED', 'mlp_bias'],
    [{ ...MINIMAL, hidden_act: 'gelu' }, 'E_UNSUPPORTED', 'hidden_act'],
  ])('rejects %o with %s naming %s', (raw, code, field) => {
    const e = error(() => normalizeLlamaConfig(raw));
    expect(e.code).toBe(code);
    expect(e.message).toContain(`'${field}'`);
  });

  it('normalises every committed tiny fixture config', () => {
    const dir = path.join(FIXTURES, 'tiny');
    const variants = readdirSync(dir, { withFileTypes: true }).filter((d) => d.isDirectory());
    expect(variants.length).toBeGreaterThan(0);
    for (const v of variants) {
      const raw = readJson<Record<string, unknown>>(path.join(dir, v.name, 'config.json'));
      expect(llama2Architecture.matches(raw)).toBe(true);
      const c = llama2Architecture.normalizeConfig(raw);
      expect(c.numAttentionHeads % c.numKeyValueHeads).toBe(0);
    }
  });
});

describe('matches', () => {
  it('recognises model_type llama or LlamaForCausalLM', () => {
    expect(llama2Architecture.matches({ model_type: 'llama' })).toBe(true);
    expect(llama2Architecture.matches({ architectures: ['LlamaForCausalLM'] })).toBe(true);
    expect(llama2Architecture.matches({ model_type: 'mistral', architectures: ['MistralForCausalLM'] })).toBe(false);
    expect(llama2Architecture.matches({})).toBe(false);
  });
});

describe('TinyLlama-1.1B preset', () => {
  it('accepts the TinyLlama-1.1B config', () => {
    const c = normalizeLlamaConfig(TINYLLAMA_HF_CONFIG);
    expect(checkTinyLlamaPreset(c)).toEqual([]);
    expect(() => assertTinyLlamaPreset(c)).not.toThrow();
    expect(c).toEqual(TINYLLAMA_1_1B);
  });

  it('lists and names differing fields', () => {
    const c = normalizeLlamaConfig({ ...TINYLLAMA_HF_CONFIG, num_key_value_heads: 8, rms_norm_eps: 1e-6 });
    expect(checkTinyLlamaPreset(c)).toEqual([
      { field: 'numKeyValueHeads', expected: 4, actual: 8 },
      { field: 'rmsNormEps', expected: 1e-5, actual: 1e-6 },
    ]);
    const e = error(() => assertTinyLlamaPreset(c));
    expect(e.code).toBe('E_CONFIG');
    expect(e.message).toContain('numKeyValueHeads is 8, expected 4');
    expect(e.message).toContain('rmsNormEps');
    const tied = normalizeLlamaConfig({ ...TINYLLAMA_HF_CONFIG, tie_word_embeddings: true });
    expect(error(() => assertTinyLlamaPreset(tied)).message).toContain('tieWordEmbeddings');
  });
});
