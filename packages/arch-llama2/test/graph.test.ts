import { mkdtemp, readdir, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { isTinyLlamaError, type TinyLlamaError } from '@tinyllama/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  TINYLLAMA_1_1B,
  buildLlamaModel,
  gqaAttention,
  llama2Architecture,
  normalizeLlamaConfig,
  portableAttention,
  ropeCaches,
  validateWeights,
  type LlamaConfig,
} from '../src/index.js';
import { Decoder, createSession, maxAbsDiff } from './helpers.js';
import { hfTensorShapes, syntheticSource } from './synthetic.js';

const SMALL: LlamaConfig = normalizeLlamaConfig({
  hidden_size: 32,
  intermediate_size: 48,
  num_hidden_layers: 2,
  num_attention_heads: 2,
  num_key_value_heads: 1,
  vocab_size: 40,
  max_position_embeddings: 32,
  rms_norm_eps: 1e-5,
});

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 'tinyllama-arch-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

function caught(fn: () => unknown): TinyLlamaError {
  try {
    fn();
  } catch (e) {
    if (isTinyLlamaError(e)) return e;
    throw e;
  }
  throw new Error('expected an error');
}

describe('validateWeights', () => {
  it('accepts a complete checkpoint from metadata alone, ignoring extra tensors', () => {
    const { source, reads } = syntheticSource(hfTensorShapes(SMALL));
    expect(() => validateWeights(source, SMALL)).not.toThrow();
    expect(reads).toEqual([]);
  });

  it('names missing tensors', () => {
    const shapes = hfTensorShapes(SMALL);
    shapes.delete('model.layers.1.mlp.up_proj.weight');
    shapes.delete('model.norm.weight');
    const e = caught(() => validateWeights(syntheticSource(shapes).source, SMALL));
    expect(e.code).toBe('E_NOT_FOUND');
    expect(e.message).toContain('model.layers.1.mlp.up_proj.weight');
    expect(e.message).toContain('model.norm.weight');
  });

  it('requires lm_head.weight only when embeddings are untied', () => {
    const tied = { ...SMALL, tieWordEmbeddings: true };
    expect(() => validateWeights(syntheticSource(hfTensorShapes(tied)).source, tied)).not.toThrow();
    const e = caught(() => validateWeights(syntheticSource(hfTensorShapes(tied)).source, SMALL));
    expect(e.code).toBe('E_NOT_FOUND');
    expect(e.message).toContain('lm_head.weight');
    expect(e.message).toContain('tie_word_embeddings');
  });

  it('names tensors with wrong shapes, with both shapes', () => {
    const shapes = hfTensorShapes(SMALL);
    shapes.set('model.layers.0.self_attn.k_proj.weight', [32, 32]); // MHA-shaped k_proj in a GQA config
    const e = caught(() => validateWeights(syntheticSource(shapes).source, SMALL));
    expect(e.code).toBe('E_SHAPE');
    expect(e.message).toContain("'model.layers.0.self_attn.k_proj.weight' has shape [32, 32], expected [16, 32]");
  });

  it('rejects non-floating dtypes', () => {
    const { source } = syntheticSource(hfTensorShapes(SMALL), { dtypes: { 'model.norm.weight': 'int8' } });
    const e = caught(() => validateWeights(source, SMALL));
    expect(e.code).toBe('E_DTYPE');
    expect(e.message).toContain('model.norm.weight');
  });
});

describe('buildLlamaModel', () => {
  it('builds TinyLlama-1.1B from metadata without reading a weight', async () => {
    const { source, reads } = syntheticSource(hfTensorShapes(TINYLLAMA_1_1B), { dtype: 'bfloat16' });
    for (const attention of [gqaAttention, portableAttention]) {
      const model = await llama2Architecture.buildModel(source, TINYLLAMA_1_1B, { attention });
      expect(model.parameterCount).toBe(1_100_048_384);
    }
    expect(reads).toEqual([]);
  });

  it('declares the IO names, dtypes and symbolic dims', async () => {
    const model = await buildLlamaModel(syntheticSource(hfTensorShapes(SMALL)).source, SMALL, { attention: portableAttention });
    const { inputs, outputs } = model.signature;
    expect(inputs.slice(0, 4)).toEqual([
      { name: 'input_ids', dtype: 'int64', dims: ['batch_size', 'sequence_length'] },
      { name: 'attention_mask', dtype: 'int64', dims: ['batch_size', 'total_sequence_length'] },
      { name: 'position_ids', dtype: 'int64', dims: ['batch_size', 'sequence_length'] },
      { name: 'past_key_values.0.key', dtype: 'float32', dims: ['batch_size', 1, 'past_sequence_length', 16] },
    ]);
    expect(inputs).toHaveLength(3 + 2 * SMALL.numLayers + 1);
    expect(inputs.at(-1)).toEqual({ name: 'logits_to_keep', dtype: 'int64', dims: [] });
    expect(outputs.map((o) => o.name)).toEqual([
      'present.0.key',
      'present.0.value',
      'present.1.key',
      'present.1.value',
      'logits',
    ]);
    expect(outputs[4].dims).toEqual(['batch_size', 'logits_to_keep', 40]);
    expect(outputs[0].dims).toEqual(['batch_size', 1, 'total_sequence_length', 16]);
  });

  it('with gqa also outputs each layer\'s new KV rows (present_rows, for the rows KV cache)', async () => {
    const model = await buildLlamaModel(syntheticSource(hfTensorShapes(SMALL)).source, SMALL, { attention: gqaAttention });
    const names = model.signature.outputs.map((o) => o.name);
    expect(names).toEqual([
      'present.0.key',
      'present.0.value',
      'present_rows.0.key',
      'present_rows.0.value',
      'present.1.key',
      'present.1.value',
      'present_rows.1.key',
      'present_rows.1.value',
      'logits',
    ]);
    expect(model.signature.outputs[2].dims).toEqual(['batch_size', 1, 'sequence_length', 16]);
    expect(model.opCounts().get('Slice')).toBe(2 * SMALL.numLayers);
  });

  it('uses GroupQueryAttention per layer for gqa and only standard ops for portable', async () => {
    const { source } = syntheticSource(hfTensorShapes(SMALL));
    const gqa = (await buildLlamaModel(source, SMALL, { attention: gqaAttention })).opCounts();
    expect(gqa.get('com.microsoft:GroupQueryAttention')).toBe(SMALL.numLayers);
    const portable = (await buildLlamaModel(source, SMALL, { attention: portableAttention })).opCounts();
    expect([...portable.keys()].filter((k) => k.includes(':'))).toEqual([]);
    expect(portable.get('Softmax')).toBe(SMALL.numLayers);
  });

  it('reads each weight once, upcasts bf16 lazily and both strategies agree', async () => {
    // head_dim 16 lets GQA apply rotary itself; mixed stored dtypes are upcast at write time
    const { source, reads } = syntheticSource(hfTensorShapes(SMALL), { readable: true, dtype: 'bfloat16', dtypes: { 'model.norm.weight': 'float32' } });
    const gqaModel = await buildLlamaModel(source, SMALL, { attention: gqaAttention });
    const portableModel = await buildLlamaModel(source, SMALL, { attention: portableAttention, rmsNorm: 'fused' });
    expect(reads).toEqual([]);
    const dir = path.join(tmp, 'small');
    const gqa = new Decoder(await createSession(gqaModel, { dir }), SMALL);
    expect(new Set(reads).size).toBe(reads.length);
    expect(reads).toHaveLength(hfTensorShapes(SMALL).size - SMALL.numLayers); // all but rotary_emb.inv_freq
    expect((await readdir(dir)).sort()).toEqual(['model.onnx', 'model.onnx.data']);
    const portable = new Decoder(await createSession(portableModel, { bytes: true }), SMALL);
    const ids = [1, 5, 9, 33, 2, 17, 4];
    const a = await gqa.step(ids);
    const b = await portable.step(ids);
    expect(maxAbsDiff(a, b)).toBeLessThan(1e-5);
    const a2 = await gqa.step([3]);
    const b2 = await portable.step([3]);
    expect(maxAbsDiff(a2, b2)).toBeLessThan(1e-5);
  });
});

describe('ropeCaches', () => {
  it('matches Hugging Face float32 cos/sin (torch 1.13) within 1e-6', () => {
    const { cos, sin, halfDim } = ropeCaches(64, 2048, 10000);
    expect(halfDim).toBe(32);
    // [position, index, cos, sin] from transformers' LlamaRotaryEmbedding math in float32
    const expected: [number, number, number, number][] = [
      [0, 0, 1.0, 0.0],
      [1, 1, 0.7317609786987305, 0.6815613508224487],
      [100, 5, 0.15120846033096313, -0.9885019063949585],
      [2047, 0, 0.24971525371074677, -0.968319296836853],
      [2047, 31, 0.962973952293396, 0.2695944309234619],
      [1234, 3, 0.425839900970459, -0.9047985076904297],
    ];
    for (const [p, i, c, s] of expected) {
      expect(Math.abs(cos[p * 32 + i] - c)).toBeLessThan(1e-6);
      expect(Math.abs(sin[p * 32 + i] - s)).toBeLessThan(1e-6);
    }
  });
});
