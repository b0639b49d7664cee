/**
 * `@tinyllama/tokenizer-sentencepiece`: exact SentencePiece tokenization (encoding by the C++ library
 * compiled to WebAssembly, decoding and incremental decoding from the pieces table) for Node and browsers.
 * @packageDocumentation
 */
export { SentencePieceTokenizer, type SentencePieceLoadOptions } from './tokenizer.js';
export { sentencePieceLoader, SENTENCEPIECE_FILE } from './loader.js';
export {
  parseSentencePieceModel,
  PieceType,
  ModelType,
  type SentencePiece,
  type SentencePieceModel,
  type TrainerSpec,
  type NormalizerSpec,
} from './model-proto.js';
export { DecodeTable, PieceStreamDecoder } from './piece-decoder.js';
