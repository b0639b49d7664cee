/**
 * Export of a Hugging Face Llama checkpoint to GGUF for llama.cpp: llama.cpp's metadata keys and tensor
 * names, the SentencePiece vocabulary, the q/k row permutation from Hugging Face's `rotate_half` rotary
 * layout to ggml's interleaved-pair layout, and F32 / F16 / Q8_0 / Q4_0 tensor data, streamed one
 * tensor at a time.
 */
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { TinyLlamaError, type ProgressCallback } from '@tinyllama/core';
import { readConfigJson } from '@tinyllama/core/node';
import { llamaWeights, normalizeLlamaConfig, type LlamaConfig, type WeightRef } from '@tinyllama/arch-llama2';
import { openCheckpoint } from '@tinyllama/loader-pytorch';
import { PieceType, parseSentencePieceModel, type SentencePieceModel } from '@tinyllama/tokenizer-sentencepiece';
import { GgmlType, LlamaFileType, gguf, type GgufMetadata, type GgufValue } from './gguf-format.js';
import { writeGguf, type GgufTensorSource } from './gguf-writer.js';
import { QK, quantizeQ4_0, quantizeQ8_0, toF16Bytes, toF32Bytes } from './quantize.js';

/** Export tensor types (`--type`). */
export type GgufExportType = 'f32' | 'f16' | 'q8_0' | 'q4_0';

/** Every {@link GgufExportType}. */
export const GGUF_EXPORT_TYPES: readonly GgufExportType[] = ['f32', 'f16', 'q8_0', 'q4_0'];

const FILE_TYPE: Readonly<Record<GgufExportType, LlamaFileType>> = {
  f32: LlamaFileType.ALL_F32,
  f16: LlamaFileType.MOSTLY_F16,
  q8_0: LlamaFileType.MOSTLY_Q8_0,
  q4_0: LlamaFileType.MOSTLY_Q4_0,
};

const MATRIX_TYPE: Readonly<Record<GgufExportType, GgmlType>> = {
  f32: GgmlType.F32,
  f16: GgmlType.F16,
  q8_0: GgmlType.Q8_0,
  q4_0: GgmlType.Q4_0,
};

/**
 * Reorders the rows of a q or k projection `[nHeads * headDim, rowLength]` from Hugging Face's
 * `rotate_half` layout (each head's first half pairs with its second half) to ggml's layout (adjacent
 * rows pair): within a head, new row `2i + j` is old row `j * headDim / 2 + i` (j ∈ {0, 1}).
 * Same effect as llama.cpp's converter (`LlamaModel.permute`, with `nHeads` = KV heads for k).
 */
export function permuteRotaryRows(w: Float32Array, nHeads: number, rowLength: number): Float32Array {
  const rows = w.length / rowLength;
  const headDim = rows / nHeads;
  if (!Number.isInteger(rows) || !Number.isInteger(headDim) || headDim % 2 !== 0) {
    throw new TinyLlamaError('E_SHAPE', `cannot permute ${w.length} values as ${nHeads} heads of rows of ${rowLength}: need an even head size`);
  }
  const half = headDim / 2;
  const out = new Float32Array(w.length); // [nHeads, half, 2, rowLength]
  for (let h = 0; h < nHeads; h++) {
    for (let i = 0; i < half; i++) {
      for (let j = 0; j < 2; j++) {
        const src = (h * headDim + j * half + i) * rowLength;
        const dst = (h * headDim + 2 * i + j) * rowLength;
        out.set(w.subarray(src, src + rowLength), dst);
      }
    }
  }
  return out;
}

/** GGUF metadata of a Llama model with a SentencePiece vocabulary (llama.cpp's key names). */
export function llamaGgufMetadata(config: LlamaConfig, spm: SentencePieceModel, type: GgufExportType, name: string): GgufMetadata {
  const V = config.vocabSize;
  const tokens: string[] = [];
  const scores: number[] = [];
  const types: number[] = [];
  for (let id = 0; id < V; id++) {
    const p = spm.pieces[id];
    // llama.cpp's converter pads a short vocabulary the same way
    tokens.push(p ? p.piece : `[PAD${id}]`);
    scores.push(p ? p.score : -10000);
    types.push(p ? p.type : PieceType.Unused); // SentencePiece piece types are GGUF token types
  }
  const ts = spm.trainerSpec;
  const m: [string, GgufValue][] = [
    ['general.architecture', gguf.str('llama')],
    ['general.name', gguf.str(name)],
    ['general.file_type', gguf.u32(FILE_TYPE[type])],
    ['general.quantization_version', gguf.u32(2)],
    ['llama.vocab_size', gguf.u32(V)],
    ['llama.context_length', gguf.u32(config.maxPositionEmbeddings)],
    ['llama.embedding_length', gguf.u32(config.hiddenSize)],
    ['llama.block_count', gguf.u32(config.numLayers)],
    ['llama.feed_forward_length', gguf.u32(config.intermediateSize)],
    ['llama.rope.dimension_count', gguf.u32(config.headDim)],
    ['llama.attention.head_count', gguf.u32(config.numAttentionHeads)],
    ['llama.attention.head_count_kv', gguf.u32(config.numKeyValueHeads)],
    ['llama.attention.layer_norm_rms_epsilon', gguf.f32(config.rmsNormEps)],
    ['llama.rope.freq_base', gguf.f32(config.ropeTheta)],
  ];
  if (config.headDim * config.numAttentionHeads !== config.hiddenSize) {
    m.push(['llama.attention.key_length', gguf.u32(config.headDim)], ['llama.attention.value_length', gguf.u32(config.headDim)]);
  }
  m.push(
    ['tokenizer.ggml.model', gguf.str('llama')],
    ['tokenizer.ggml.pre', gguf.str('default')],
    ['tokenizer.ggml.tokens', gguf.strArray(tokens)],
    ['tokenizer.ggml.scores', gguf.f32Array(scores)],
    ['tokenizer.ggml.token_type', gguf.i32Array(types)],
    ['tokenizer.ggml.bos_token_id', gguf.u32(config.bosTokenId)],
    ['tokenizer.ggml.eos_token_id', gguf.u32(config.eosTokenIds[0])],
  );
  if (ts.unkId >= 0 && ts.unkId < V) m.push(['tokenizer.ggml.unknown_token_id', gguf.u32(ts.unkId)]);
  if (ts.padId >= 0 && ts.padId < V) m.push(['tokenizer.ggml.padding_token_id', gguf.u32(ts.padId)]);
  m.push(['tokenizer.ggml.add_bos_token', gguf.bool(true)], ['tokenizer.ggml.add_eos_token', gguf.bool(false)]);
  return m;
}

/** One tensor of the export plan. */
export interface PlannedTensor {
  /** llama.cpp name, e.g. `blk.0.attn_q.weight`. */
  readonly gguf: string;
  /** The Hugging Face weight it comes from. */
  readonly source: WeightRef;
  /** ggml dims (innermost first). */
  readonly dims: readonly number[];
  readonly type: GgmlType;
  /** Rotary permutation with this many heads (q: attention heads, k: KV heads). */
  readonly permuteHeads?: number;
  /** Set when the requested block type could not be used (row length not a multiple of 32). */
  readonly fallback?: string;
}

/**
 * The tensors of the GGUF in llama.cpp's order and names, with their types: 1-D norms stay F32;
 * matrices get the requested type, or F16 when a quantized type cannot hold their rows.
 * A tied output head is omitted (llama.cpp then reuses `token_embd`).
 */
export function planLlamaTensors(config: LlamaConfig, weights: ReturnType<typeof llamaWeights>, type: GgufExportType): PlannedTensor[] {
  const plan: PlannedTensor[] = [];
  const add = (name: string, source: WeightRef, permuteHeads?: number): void => {
    const dims = [...source.shape].reverse();
    let t: GgmlType = dims.length === 1 ? GgmlType.F32 : MATRIX_TYPE[type];
    let fallback: string | undefined;
    if ((t === GgmlType.Q4_0 || t === GgmlType.Q8_0) && dims[0] % QK !== 0) {
      fallback = `row length ${dims[0]} is not a multiple of ${QK}: F16 instead of ${type.toUpperCase()}`;
      t = GgmlType.F16;
    }
    plan.push({ gguf: name, source, dims, type: t, ...(permuteHeads ? { permuteHeads } : {}), ...(fallback ? { fallback } : {}) });
  };
  add('token_embd.weight', weights.embedTokens);
  weights.layers.forEach((l, i) => {
    const b = `blk.${i}`;
    add(`${b}.attn_norm.weight`, l.inputNorm);
    add(`${b}.attn_q.weight`, l.qProj, config.numAttentionHeads);
    add(`${b}.attn_k.weight`, l.kProj, config.numKeyValueHeads);
    add(`${b}.attn_v.weight`, l.vProj);
    add(`${b}.attn_output.weight`, l.oProj);
    add(`${b}.ffn_norm.weight`, l.postAttentionNorm);
    add(`${b}.ffn_gate.weight`, l.gateProj);
    add(`${b}.ffn_up.weight`, l.upProj);
    add(`${b}.ffn_down.weight`, l.downProj);
  });
  add('output_norm.weight', weights.norm);
  if (!config.tieWordEmbeddings) add('output.weight', weights.lmHead);
  return plan;
}

/** Encodes float32 data as `type`. */
export function encodeTensor(data: Float32Array, type: GgmlType): Uint8Array {
  switch (type) {
    case GgmlType.F32: return toF32Bytes(data);
    case GgmlType.F16: return toF16Bytes(data);
    case GgmlType.Q8_0: return quantizeQ8_0(data);
    case GgmlType.Q4_0: return quantizeQ4_0(data);
    default: throw new TinyLlamaError('E_DTYPE', `cannot encode ggml type ${String(type)}`);
  }
}

/** Options of {@link exportLlamaGguf}. */
export interface ExportGgufOptions {
  /** Hugging Face model directory (config.json, weights, tokenizer.model). */
  readonly modelDir: string;
  readonly outFile: string;
  readonly type: GgufExportType;
  /** `general.name` (default: the directory's name). */
  readonly name?: string;
  readonly onProgress?: ProgressCallback;
}

/** What {@link exportLlamaGguf} wrote. */
export interface ExportGgufResult {
  readonly file: string;
  readonly bytes: number;
  readonly tensorCount: number;
  /** Tensors that got F16 instead of the requested block type, with the reason. */
  readonly fallbacks: readonly string[];
}

/**
 * Writes a GGUF v3 file from a Hugging Face Llama checkpoint directory, streaming one tensor at a time.
 * @throws `E_CONFIG` / `E_UNSUPPORTED` for configs llama.cpp's `llama` architecture cannot express here,
 *   `E_NOT_FOUND` when `tokenizer.model` or tensors are missing, `E_IO` on write failures.
 */
export async function exportLlamaGguf(options: ExportGgufOptions): Promise<ExportGgufResult> {
  const dir = resolve(options.modelDir);
  const config = normalizeLlamaConfig(await readConfigJson(dir));
  const tokFile = join(dir, 'tokenizer.model');
  let spmBytes: Uint8Array;
  try {
    spmBytes = await readFile(tokFile);
  } catch (e) {
    throw new TinyLlamaError('E_NOT_FOUND', `cannot read '${tokFile}': a SentencePiece tokenizer.model is required for GGUF export`, { cause: e });
  }
  const spm = parseSentencePieceModel(spmBytes, tokFile);
  const checkpoint = await openCheckpoint(dir);
  try {
    const plan = planLlamaTensors(config, llamaWeights(checkpoint, config), options.type);
    const tensors: GgufTensorSource[] = plan.map((p) => ({
      name: p.gguf,
      dims: p.dims,
      type: p.type,
      load: async () => {
        let data = await p.source.read(); // [out, in] float32
        if (p.permuteHeads) data = permuteRotaryRows(data, p.permuteHeads, p.dims[0]);
        return encodeTensor(data, p.type);
      },
    }));
    const metadata = llamaGgufMetadata(config, spm, options.type, options.name ?? basename(dir));
    const res = await writeGguf(options.outFile, metadata, tensors, { onProgress: options.onProgress });
    return {
      file: res.file,
      bytes: res.bytes,
      tensorCount: plan.length,
      fallbacks: plan.filter((p) => p.fallback).map((p) => `${p.gguf}: ${p.fallback}`),
    };
  } finally {
    await checkpoint.close();
  }
}
