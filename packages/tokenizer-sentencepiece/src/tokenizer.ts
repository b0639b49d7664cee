/**
 * {@link SentencePieceTokenizer}: core's `Tokenizer` for SentencePiece `.model` files
 * (e.g. Llama 2 / TinyLlama: BPE, 32,000 pieces, byte fallback).
 */
import { TinyLlamaError, type EncodeOptions, type IncrementalDecoder, type Tokenizer } from '@tinyllama/core';
import { createEncoder, type EncoderChoice, type EncoderKind, type SentencePieceEncoder } from './encoder.js';
import { PieceType, parseSentencePieceModel, type SentencePieceModel } from './model-proto.js';
import { DecodeTable } from './piece-decoder.js';

/** Options of {@link SentencePieceTokenizer.fromBytes}. */
export interface SentencePieceLoadOptions {
  /** Names the model file in error messages (default `tokenizer.model`). */
  readonly source?: string;
  /**
   * `'auto'` (default): encode with the pure TypeScript BPE encoder when the model qualifies (BPE, no
   * normalization charsmap: Llama 2 / TinyLlama), else with the C++ library compiled to WebAssembly.
   * `'wasm'`: always the C++ library. See {@link SentencePieceTokenizer.encoderKind}.
   */
  readonly encoder?: EncoderChoice;
}

/**
 * An exact SentencePiece tokenizer: its ids and text are those of the C++ library. Encoding runs in
 * TypeScript for BPE models without a normalization charsmap (Llama 2 / TinyLlama), else in the C++
 * library compiled to WebAssembly (loaded only then); decoding (whole or incremental) reproduces the
 * C++ `Decode` from the pieces table. Special ids come from the model file. Create with
 * {@link SentencePieceTokenizer.fromBytes}.
 */
export class SentencePieceTokenizer implements Tokenizer {
  /** The parsed model file. */
  readonly model: SentencePieceModel;
  /** Number of pieces (ids are 0 .. vocabSize-1). */
  readonly vocabSize: number;
  /** Id of `trainer_spec.bos_piece` (`<s>`) when it is a control piece, else -1. */
  readonly bosId: number;
  /** Id of `trainer_spec.eos_piece` (`</s>`) when it is a control piece, else -1. */
  readonly eosId: number;
  /** Id of the unknown piece (`<unk>`). */
  readonly unkId: number;
  /** Id of `trainer_spec.pad_piece` (`<pad>`) when it is a control piece, else -1. */
  readonly padId: number;
  /**
   * Which encoder this tokenizer uses: `'bpe'`, the pure TypeScript BPE encoder (chosen for BPE models
   * without a normalization charsmap, e.g. Llama 2 / TinyLlama), or `'wasm'`, the C++ library compiled
   * to WebAssembly (other models, or `encoder: 'wasm'` at load). Both give identical ids; the
   * TypeScript encoder saves the wasm module's ~26 MB of memory.
   */
  readonly encoderKind: EncoderKind;
  readonly #encoder: SentencePieceEncoder;
  readonly #table: DecodeTable;
  #pieceIds: Map<string, number> | undefined;

  private constructor(model: SentencePieceModel, encoder: SentencePieceEncoder, table: DecodeTable) {
    this.model = model;
    this.#encoder = encoder;
    this.encoderKind = encoder.kind;
    this.#table = table;
    this.vocabSize = model.pieces.length;
    const ts = model.trainerSpec;
    // As the C++ library: the id of the named piece when it has the expected type, else -1.
    this.unkId = this.#special(ts.unkPiece, PieceType.Unknown);
    if (this.unkId < 0) this.unkId = model.pieces.findIndex((p) => p.type === PieceType.Unknown);
    this.bosId = this.#special(ts.bosPiece, PieceType.Control);
    this.eosId = this.#special(ts.eosPiece, PieceType.Control);
    this.padId = this.#special(ts.padPiece, PieceType.Control);
  }

  /**
   * Loads a tokenizer from the bytes of a `.model` file (Node and browsers). The encoder is chosen as
   * `options.encoder` says (see {@link SentencePieceTokenizer.encoderKind}); a wasm encoder is a wasm
   * instance of this tokenizer's own.
   * @throws `E_TOKENIZER` when the bytes are not a usable SentencePiece model.
   * @throws `E_UNSUPPORTED` when the model has a denormalizer (decode-time normalization rules).
   * @throws `E_ARGUMENT` for an unknown `options.encoder`.
   */
  static async fromBytes(bytes: Uint8Array, options: SentencePieceLoadOptions = {}): Promise<SentencePieceTokenizer> {
    const source = options.source ?? 'tokenizer.model';
    const model = parseSentencePieceModel(bytes, source);
    if (model.denormalizerSpec && model.denormalizerSpec.precompiledCharsmap.length > 0) {
      throw new TinyLlamaError('E_UNSUPPORTED', `'${source}' has a denormalizer_spec (decode-time normalization), which is not supported`);
    }
    const table = new DecodeTable(model, source);
    const encoder = await createEncoder(model, bytes, source, options.encoder);
    return new SentencePieceTokenizer(model, encoder, table);
  }

  /**
   * Token ids of `text`, exactly as the C++ library encodes it. Lone surrogates are encoded as U+FFFD.
   * @throws `E_ARGUMENT` when BOS/EOS is requested but the model has none.
   */
  encode(text: string, options: EncodeOptions = {}): number[] {
    if (typeof text !== 'string') throw new TinyLlamaError('E_ARGUMENT', `encode expects a string, got ${typeof text}`);
    const ids = this.#encoder.encode(text);
    if (options.addBos) {
      if (this.bosId < 0) throw new TinyLlamaError('E_ARGUMENT', 'addBos: the tokenizer model has no BOS piece');
      ids.unshift(this.bosId);
    }
    if (options.addEos) {
      if (this.eosId < 0) throw new TinyLlamaError('E_ARGUMENT', 'addEos: the tokenizer model has no EOS piece');
      ids.push(this.eosId);
    }
    return ids;
  }

  /**
   * Text of `ids`, exactly as the C++ library decodes them: control tokens dropped, the dummy-prefix
   * space of the first piece removed, byte pieces joined into UTF-8 (invalid bytes → U+FFFD).
   * @throws `E_ARGUMENT` when an id is out of range.
   */
  decode(ids: readonly number[]): string {
    return this.#table.decode(ids);
  }

  /** A fresh incremental decoder (see core's `IncrementalDecoder`): O(1) work per id. */
  createDecoder(): IncrementalDecoder {
    return this.#table.createDecoder();
  }

  /**
   * The piece string of an id (e.g. `▁the`, `<0x0A>`, `<s>`).
   * @throws `E_ARGUMENT` when out of range.
   */
  idToPiece(id: number): string {
    this.#table.check(id);
    return this.model.pieces[id].piece;
  }

  /** The id of a piece string, or `undefined` when the vocabulary has no such piece. */
  pieceToId(piece: string): number | undefined {
    if (!this.#pieceIds) {
      const m = new Map<string, number>();
      this.model.pieces.forEach((p, i) => {
        if (!m.has(p.piece)) m.set(p.piece, i);
      });
      this.#pieceIds = m;
    }
    return this.#pieceIds.get(piece);
  }

  /** True when `id` is a control piece (e.g. BOS/EOS), which decodes to no text. */
  isControl(id: number): boolean {
    this.#table.check(id);
    return this.model.pieces[id].type === PieceType.Control;
  }

  #special(piece: string, type: PieceType): number {
    const id = this.model.pieces.findIndex((p) => p.piece === piece);
    return id >= 0 && this.model.pieces[id].type === type ? id : -1;
  }
}
