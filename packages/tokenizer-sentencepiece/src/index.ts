/**
 * `@tinyllama/tokenizer-sentencepiece`: exact SentencePiece tokenization for Node and browsers. Encoding
 * runs in TypeScript for BPE models without a normalization charsmap (Llama 2 / TinyLlama), else in the
 * C++ library compiled to WebAssembly (loaded only for such models); decoding and incremental decoding
 * work from the pieces table.
 * @packageDocumentation
 */
export { SentencePieceTokenizer, type SentencePieceLoadOptions } from './tokenizer.js';
export { sentencePieceLoader, SENTENCEPIECE_FILE } from './loader.js';
export { sentencePiecePlugin } from './plugin.js';
export type { EncoderKind, EncoderChoice } from './encoder.js';
export {
  parseSentencePieceModel,
  PieceType,
  ModelType,
  type SentencePiece,
  type SentencePieceModel,
  type SelfTestSample,
  type TrainerSpec,
  type NormalizerSpec,
} from './model-proto.js';
export { DecodeTable, PieceStreamDecoder } from './piece-decoder.js';
