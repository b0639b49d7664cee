import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RANDOM_PRESETS, writeRandomCheckpoint } from '@tinyllama/cli';
import { openCheckpoint } from '@tinyllama/loader-pytorch';
import { parseSentencePieceModel } from '@tinyllama/tokenizer-sentencepiece';
import { f16ToF32 } from '@tinyllama/core';
import { exportLlamaGguf, permuteRotaryRows, type GgufExportType } from '../src/gguf.js';
import { quantizeQ4_0, quantizeQ8_0 } from '../src/quantize.js';
import { readGguf, type ReadGguf } from './gguf-reader.js';

// tiny preset: hidden 64, intermediate 172 (not a multiple of 32), 2 layers, 4 heads, 2 KV heads, vocab 384, tied
const shape = RANDOM_PRESETS.tiny;
const headDim = shape.hiddenSize / shape.numHeads;

let work: string;
let modelDir: string;
const files = new Map<GgufExportType, ReadGguf>();
const sizes = new Map<GgufExportType, number>();

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tinyllama-gguf-'));
  modelDir = join(work, 'tiny');
  await writeRandomCheckpoint({ outDir: modelDir, shape, seed: 3 });
  for (const type of ['f32', 'f16', 'q8_0', 'q4_0'] as const) {
    const out = join(work, `tiny-${type}.gguf`);
    const res = await exportLlamaGguf({ modelDir, outFile: out, type });
    const bytes = await readFile(out);
    expect(res.bytes).toBe(bytes.length);
    files.set(type, readGguf(bytes));
    sizes.set(type, bytes.length);
  }
});

afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function checkpointFloat32(name: string): Promise<Float32Array> {
  const ck = await openCheckpoint(modelDir);
  try {
    return (await ck.getFloat32(name)).data;
  } finally {
    await ck.close();
  }
}

const meta = (g: ReadGguf, key: string): unknown => g.metadata.get(key)?.value;

describe('GGUF export of the tiny preset', () => {
  it('writes a v3 header with llama.cpp hyperparameters', () => {
    const g = files.get('f32')!;
    expect(g.version).toBe(3);
    expect(meta(g, 'general.architecture')).toBe('llama');
    expect(meta(g, 'general.file_type')).toBe(0);
    expect(meta(g, 'llama.context_length')).toBe(shape.maxPositions);
    expect(meta(g, 'llama.embedding_length')).toBe(shape.hiddenSize);
    expect(meta(g, 'llama.block_count')).toBe(shape.numLayers);
    expect(meta(g, 'llama.feed_forward_length')).toBe(shape.intermediateSize);
    expect(meta(g, 'llama.rope.dimension_count')).toBe(headDim);
    expect(meta(g, 'llama.attention.head_count')).toBe(shape.numHeads);
    expect(meta(g, 'llama.attention.head_count_kv')).toBe(shape.numKvHeads);
    expect(meta(g, 'llama.attention.layer_norm_rms_epsilon')).toBeCloseTo(1e-5, 10);
    expect(meta(g, 'llama.rope.freq_base')).toBe(10000);
    expect(meta(g, 'tokenizer.ggml.model')).toBe('llama');
    expect(meta(g, 'tokenizer.ggml.bos_token_id')).toBe(1);
    expect(meta(g, 'tokenizer.ggml.eos_token_id')).toBe(2);
    expect(meta(g, 'tokenizer.ggml.unknown_token_id')).toBe(0);
    expect(g.metadata.get('general.file_type')?.type).toBe(4); // u32
    expect(g.metadata.get('tokenizer.ggml.add_bos_token')).toEqual({ type: 7, value: true });
    expect([2, 1, 7].map((_, i) => meta(files.get((['f16', 'q4_0', 'q8_0'] as const)[i])!, 'general.file_type'))).toEqual([1, 2, 7]);
  });

  it('copies the SentencePiece vocabulary (tokens, scores, types)', async () => {
    const spm = parseSentencePieceModel(await readFile(join(modelDir, 'tokenizer.model')));
    const g = files.get('q4_0')!;
    const tokens = meta(g, 'tokenizer.ggml.tokens') as string[];
    const scores = meta(g, 'tokenizer.ggml.scores') as number[];
    const types = meta(g, 'tokenizer.ggml.token_type') as number[];
    expect(tokens.length).toBe(shape.vocabSize);
    expect(tokens).toEqual(spm.pieces.map((p) => p.piece));
    expect(scores).toEqual(spm.pieces.map((p) => Math.fround(p.score)));
    expect(types).toEqual(spm.pieces.map((p) => p.type));
    expect(types.slice(0, 3)).toEqual([2, 3, 3]); // <unk> unknown, <s> </s> control
  });

  it("uses llama.cpp's tensor names, reversed dims, and omits the tied output head", () => {
    const g = files.get('f32')!;
    const names = g.tensors.map((t) => t.name);
    const layer = (i: number): string[] =>
      ['attn_norm', 'attn_q', 'attn_k', 'attn_v', 'attn_output', 'ffn_norm', 'ffn_gate', 'ffn_up', 'ffn_down'].map((n) => `blk.${i}.${n}.weight`);
    expect(names).toEqual(['token_embd.weight', ...layer(0), ...layer(1), 'output_norm.weight']);
    const dims = Object.fromEntries(g.tensors.map((t) => [t.name, t.dims]));
    const E = shape.hiddenSize;
    expect(dims['token_embd.weight']).toEqual([E, shape.vocabSize]);
    expect(dims['blk.0.attn_q.weight']).toEqual([E, shape.numHeads * headDim]);
    expect(dims['blk.0.attn_k.weight']).toEqual([E, shape.numKvHeads * headDim]);
    expect(dims['blk.0.ffn_down.weight']).toEqual([shape.intermediateSize, E]);
    expect(dims['blk.0.attn_norm.weight']).toEqual([E]);
  });

  it('aligns every tensor and ends the file at the last tensor', () => {
    for (const [type, g] of files) {
      expect(g.dataStart % 32).toBe(0);
      const bytesOf = (t: { type: number; dims: number[] }): number => {
        const n = t.dims.reduce((a, b) => a * b, 1);
        return t.type === 0 ? n * 4 : t.type === 1 ? n * 2 : t.type === 2 ? (n / 32) * 18 : (n / 32) * 34;
      };
      let end = 0;
      for (const t of g.tensors) {
        expect(t.offset % 32).toBe(0);
        expect(t.offset).toBeGreaterThanOrEqual(end);
        end = Math.ceil((t.offset + bytesOf(t)) / 32) * 32;
      }
      expect(g.dataStart + end).toBe(sizes.get(type));
    }
  });

  it('F32: data equals the checkpoint, with q/k rows permuted', async () => {
    const g = files.get('f32')!;
    const f32 = (name: string, n: number): Float32Array => new Float32Array(g.data(name, n * 4).buffer);
    const embed = await checkpointFloat32('model.embed_tokens.weight');
    expect(f32('token_embd.weight', embed.length)).toEqual(embed);
    const v = await checkpointFloat32('model.layers.1.self_attn.v_proj.weight');
    expect(f32('blk.1.attn_v.weight', v.length)).toEqual(v);
    const q = await checkpointFloat32('model.layers.1.self_attn.q_proj.weight');
    expect(f32('blk.1.attn_q.weight', q.length)).toEqual(permuteRotaryRows(q, shape.numHeads, shape.hiddenSize));
    const k = await checkpointFloat32('model.layers.0.self_attn.k_proj.weight');
    const kOut = f32('blk.0.attn_k.weight', k.length);
    expect(kOut).toEqual(permuteRotaryRows(k, shape.numKvHeads, shape.hiddenSize));
    expect(kOut).not.toEqual(k);
    const norm = await checkpointFloat32('model.norm.weight');
    expect(f32('output_norm.weight', norm.length)).toEqual(norm);
  });

  it('Q4_0 / Q8_0: matrices hold the reference blocks, norms stay F32, ragged rows fall back to F16', async () => {
    const k = await checkpointFloat32('model.layers.0.self_attn.k_proj.weight');
    const kp = permuteRotaryRows(k, shape.numKvHeads, shape.hiddenSize);
    const down = await checkpointFloat32('model.layers.0.mlp.down_proj.weight');
    for (const [type, ggml, quant, blockBytes] of [
      ['q4_0', 2, quantizeQ4_0, 18],
      ['q8_0', 8, quantizeQ8_0, 34],
    ] as const) {
      const g = files.get(type)!;
      const t = (name: string) => g.tensors.find((x) => x.name === name)!;
      expect(t('blk.0.attn_k.weight').type).toBe(ggml);
      expect(t('token_embd.weight').type).toBe(ggml);
      expect(t('blk.0.attn_norm.weight').type).toBe(0);
      expect(g.data('blk.0.attn_k.weight', (kp.length / 32) * blockBytes)).toEqual(quant(kp));
      expect(t('blk.0.ffn_down.weight').type).toBe(1); // 172 columns: F16
      const h = new Uint16Array(g.data('blk.0.ffn_down.weight', down.length * 2).buffer);
      for (let i = 0; i < down.length; i += 97) expect(f16ToF32(h[i])).toBeCloseTo(down[i], 2);
    }
    const f16 = files.get('f16')!;
    expect(f16.tensors.find((x) => x.name === 'blk.0.attn_q.weight')!.type).toBe(1);
    expect(f16.tensors.find((x) => x.name === 'output_norm.weight')!.type).toBe(0);
  });

  it('leaves no partial file behind when the model directory is bad', async () => {
    const out = join(work, 'bad.gguf');
    await expect(exportLlamaGguf({ modelDir: join(work, 'missing'), outFile: out, type: 'f32' })).rejects.toThrow();
    await expect(stat(`${out}.partial`)).rejects.toThrow();
  });
});
