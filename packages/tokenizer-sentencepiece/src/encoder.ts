/**
 * The choice of encoder (text → ids): the pure TypeScript {@link BpeEncoder} when it reproduces the
 * C++ library exactly for the model (BPE without a normalization charsmap, e.g. Llama 2 / TinyLlama),
 * else the C++ library compiled to WebAssembly. The wasm module (~4 MB of JavaScript source, ~26 MB
 * resident once instantiated) is imported only when it is needed.
 */
import { TinyLlamaError } from '@tinyllama/core';
import { BpeEncoder } from './bpe-encoder.js';
import type { SentencePieceModel } from './model-proto.js';

/**
 * Which implementation encodes text: `'bpe'`, the pure TypeScript BPE encoder, or `'wasm'`, the C++
 * SentencePiece library compiled to WebAssembly. Both give the ids of the C++ library.
 */
export type EncoderKind = 'bpe' | 'wasm';

/**
 * Which encoder to load: `'auto'` (the TypeScript encoder when the model qualifies, else wasm) or
 * `'wasm'` (always the C++ library).
 */
export type EncoderChoice = 'auto' | 'wasm';

/** Encodes text to ids (no BOS/EOS). */
export interface SentencePieceEncoder {
  readonly kind: EncoderKind;
  /** Token ids of `text`; lone surrogates are encoded as U+FFFD. */
  encode(text: string): number[];
}

/**
 * The encoder for a parsed model (see the module comment).
 * @param bytes The model file, for the wasm library.
 * @param source Names the file in error messages.
 * @throws `E_ARGUMENT` for an unknown `choice`; `E_TOKENIZER` when the wasm library rejects the model.
 */
export async function createEncoder(
  model: SentencePieceModel,
  bytes: Uint8Array,
  source: string,
  choice: EncoderChoice = 'auto',
): Promise<SentencePieceEncoder> {
  if (choice !== 'auto' && choice !== 'wasm') {
    throw new TinyLlamaError('E_ARGUMENT', `encoder must be 'auto' or 'wasm', got ${JSON.stringify(choice)}`);
  }
  if (choice === 'auto') {
    const bpe = BpeEncoder.tryCreate(model);
    if ('encoder' in bpe) return bpe.encoder;
  }
  const { WasmEncoder } = await import('./wasm-processor.js');
  return WasmEncoder.load(bytes, source);
}
