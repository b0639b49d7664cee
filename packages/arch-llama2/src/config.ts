import { TinyLlamaError, type DecoderConfig } from '@tinyllama/core';

/** A normalised Llama-2 configuration (core's {@link DecoderConfig} with `architecture: 'llama2'`). */
export interface LlamaConfig extends DecoderConfig {
  readonly architecture: 'llama2';
}

type Raw = Readonly<Record<string, unknown>>;

/** RoPE scaling types that leave the default rotary frequencies unchanged. */
const NO_OP_ROPE_SCALING = new Set(['default']);

/**
 * True when the raw `config.json` describes a Llama model: `model_type: "llama"` or `architectures`
 * containing `LlamaForCausalLM`.
 */
export function matchesLlamaConfig(raw: Raw): boolean {
  if (raw.model_type === 'llama') return true;
  const archs = raw.architectures;
  return Array.isArray(archs) && archs.includes('LlamaForCausalLM');
}

function configError(field: string, message: string): TinyLlamaError {
  return new TinyLlamaError('E_CONFIG', `config.json: '${field}' ${message}`);
}

function positiveInt(raw: Raw, field: string, fallback?: number): number {
  const v = raw[field] ?? fallback;
  if (v === undefined) throw configError(field, 'is missing');
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v <= 0) {
    throw configError(field, `must be a positive integer, got ${JSON.stringify(v)}`);
  }
  return v;
}

function positiveNumber(raw: Raw, field: string, fallback: number): number {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) {
    throw configError(field, `must be a positive number, got ${JSON.stringify(v)}`);
  }
  return v;
}

function tokenId(v: unknown, field: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) {
    throw configError(field, `must be a non-negative integer token id, got ${JSON.stringify(v)}`);
  }
  return v;
}

function bool(raw: Raw, field: string, fallback: boolean): boolean {
  const v = raw[field] ?? fallback;
  if (typeof v !== 'boolean') throw configError(field, `must be a boolean, got ${JSON.stringify(v)}`);
  return v;
}

function unsupported(field: string, message: string): TinyLlamaError {
  return new TinyLlamaError('E_UNSUPPORTED', `config.json: '${field}' ${message}`);
}

/**
 * Normalises a Hugging Face `LlamaConfig` (`config.json`) into a {@link LlamaConfig}, filling the same
 * defaults as `transformers` (`num_key_value_heads` = heads, `max_position_embeddings` 2048,
 * `rms_norm_eps` 1e-6, `rope_theta` 10000, `tie_word_embeddings` false, BOS 1, EOS 2) and validating it.
 * Throws `E_CONFIG` naming the offending field, or `E_UNSUPPORTED` for valid Llama features this
 * runtime does not implement (RoPE scaling, attention/MLP biases, activations other than SiLU).
 */
export function normalizeLlamaConfig(raw: Raw): LlamaConfig {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    throw new TinyLlamaError('E_CONFIG', 'config.json must be a JSON object');
  }
  const hiddenSize = positiveInt(raw, 'hidden_size');
  const intermediateSize = positiveInt(raw, 'intermediate_size');
  const numLayers = positiveInt(raw, 'num_hidden_layers');
  const numAttentionHeads = positiveInt(raw, 'num_attention_heads');
  const numKeyValueHeads = positiveInt(raw, 'num_key_value_heads', numAttentionHeads);
  const vocabSize = positiveInt(raw, 'vocab_size');
  const maxPositionEmbeddings = positiveInt(raw, 'max_position_embeddings', 2048);
  const rmsNormEps = positiveNumber(raw, 'rms_norm_eps', 1e-6);
  const ropeTheta = positiveNumber(raw, 'rope_theta', 10000);
  const tieWordEmbeddings = bool(raw, 'tie_word_embeddings', false);

  if (numAttentionHeads % numKeyValueHeads !== 0) {
    throw configError(
      'num_key_value_heads',
      `(${numKeyValueHeads}) must divide num_attention_heads (${numAttentionHeads})`,
    );
  }
  let headDim: number;
  if (raw.head_dim !== undefined && raw.head_dim !== null) {
    headDim = positiveInt(raw, 'head_dim');
  } else {
    if (hiddenSize % numAttentionHeads !== 0) {
      throw configError('hidden_size', `(${hiddenSize}) must be divisible by num_attention_heads (${numAttentionHeads})`);
    }
    headDim = hiddenSize / numAttentionHeads;
  }
  if (headDim % 2 !== 0) throw configError('head_dim', `(${headDim}) must be even for rotary embeddings`);

  const act = raw.hidden_act ?? 'silu';
  if (act !== 'silu') throw unsupported('hidden_act', `${JSON.stringify(act)} is not supported (only "silu")`);
  for (const field of ['attention_bias', 'mlp_bias']) {
    const v = raw[field] ?? false;
    if (typeof v !== 'boolean') throw configError(field, `must be a boolean, got ${JSON.stringify(v)}`);
    if (v) throw unsupported(field, 'is true: biased projections are not supported');
  }
  const scaling = raw.rope_scaling;
  if (scaling !== undefined && scaling !== null) {
    if (typeof scaling !== 'object' || Array.isArray(scaling)) {
      throw configError('rope_scaling', `must be an object or null, got ${JSON.stringify(scaling)}`);
    }
    const s = scaling as Raw;
    const type = s.rope_type ?? s.type;
    if (typeof type !== 'string' || !NO_OP_ROPE_SCALING.has(type)) {
      throw unsupported('rope_scaling', `type ${JSON.stringify(type)} is not supported (only null or "default")`);
    }
  }

  const bosTokenId = tokenId(raw.bos_token_id ?? 1, 'bos_token_id');
  const eosRaw = raw.eos_token_id ?? 2;
  const eosList = Array.isArray(eosRaw) ? eosRaw : [eosRaw];
  if (eosList.length === 0) throw configError('eos_token_id', 'must not be an empty list');
  const eosTokenIds = eosList.map((v) => tokenId(v, 'eos_token_id'));
  for (const [field, ids] of [
    ['bos_token_id', [bosTokenId]],
    ['eos_token_id', eosTokenIds],
  ] as const) {
    for (const id of ids) if (id >= vocabSize) throw configError(field, `(${id}) must be below vocab_size (${vocabSize})`);
  }

  return {
    architecture: 'llama2',
    hiddenSize,
    intermediateSize,
    numLayers,
    numAttentionHeads,
    numKeyValueHeads,
    kvGroups: numAttentionHeads / numKeyValueHeads,
    headDim,
    vocabSize,
    maxPositionEmbeddings,
    rmsNormEps,
    ropeTheta,
    tieWordEmbeddings,
    bosTokenId,
    eosTokenIds,
  };
}
