/**
 * Exact decoding of ids to text from the pieces table, reproducing `SentencePieceProcessor::Decode`
 * of the C++ library, in a streaming form (one id at a time, O(1) per id).
 *
 * The C++ rules:
 * - a run of consecutive byte pieces (`<0xNN>`) is decoded as UTF-8; each byte that does not start a
 *   complete valid sequence becomes U+FFFD (any non-byte piece, control tokens included, ends a run);
 * - control pieces (`<s>`, `</s>`) produce nothing; the unknown piece produces `unk_surface` (" ⁇ ");
 * - other pieces produce their text with `▁` replaced by a space, except that while at the
 *   "beginning of sentence" (no text produced yet and no piece has had its leading `▁` consumed),
 *   one leading `▁` is dropped (the dummy prefix) when the normalizer adds a dummy prefix or removes
 *   extra whitespace (the latter keeps dropping leading `▁` until some text appears).
 */
import { TinyLlamaError, type IncrementalDecoder } from '@tinyllama/core';
import { PieceType, type SentencePieceModel } from './model-proto.js';
import { Utf8RunDecoder } from './utf8.js';

const SPACE_SYMBOL = '\u2581';
const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;

const Kind = { Text: 0, Control: 1, Unknown: 2, Byte: 3 } as const;

/** Per-id decoding data precomputed from a model. */
export class DecodeTable {
  /** Number of ids. */
  readonly size: number;
  readonly #kind: Uint8Array;
  /** Byte value of byte pieces. */
  readonly #byte: Uint8Array;
  /** Surface of text pieces (`▁` → space) and of the unknown piece. */
  readonly #surface: string[];
  /** Surface at the beginning of sentence (leading `▁` dropped), for pieces that start with `▁`. */
  readonly #bosSurface: (string | undefined)[];
  readonly #consumeBosWs: boolean;
  readonly #removeExtraWs: boolean;

  /**
   * @throws `E_TOKENIZER` when a byte piece is not spelled `<0xNN>`.
   */
  constructor(model: SentencePieceModel, source = 'tokenizer.model') {
    const n = model.pieces.length;
    this.size = n;
    this.#kind = new Uint8Array(n);
    this.#byte = new Uint8Array(n);
    this.#surface = new Array<string>(n);
    this.#bosSurface = new Array<string | undefined>(n);
    const ns = model.normalizerSpec;
    this.#consumeBosWs = ns.addDummyPrefix || ns.removeExtraWhitespaces;
    this.#removeExtraWs = ns.removeExtraWhitespaces;
    for (let id = 0; id < n; id++) {
      const { piece, type } = model.pieces[id];
      this.#surface[id] = '';
      if (type === PieceType.Control) {
        this.#kind[id] = Kind.Control;
      } else if (type === PieceType.Unknown) {
        this.#kind[id] = Kind.Unknown;
        this.#surface[id] = model.trainerSpec.unkSurface;
      } else if (type === PieceType.Byte) {
        const m = BYTE_PIECE.exec(piece);
        if (!m) throw new TinyLlamaError('E_TOKENIZER', `'${source}': byte piece ${id} is '${piece}', expected '<0xNN>'`);
        this.#kind[id] = Kind.Byte;
        this.#byte[id] = parseInt(m[1], 16);
      } else {
        this.#kind[id] = Kind.Text;
        this.#surface[id] = piece.replaceAll(SPACE_SYMBOL, ' ');
        if (piece.startsWith(SPACE_SYMBOL)) this.#bosSurface[id] = this.#surface[id].slice(1);
      }
    }
  }

  /** Throws `E_ARGUMENT` unless `id` is an integer in [0, size). */
  check(id: number): void {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) {
      throw new TinyLlamaError('E_ARGUMENT', `token id ${id} is out of range [0, ${this.size})`);
    }
  }

  /** A fresh streaming decoder over this table. */
  createDecoder(): PieceStreamDecoder {
    return new PieceStreamDecoder(this);
  }

  /** Decodes a whole id sequence (same rules, same result as concatenating a stream decoder's output). */
  decode(ids: readonly number[]): string {
    for (const id of ids) this.check(id);
    const d = new PieceStreamDecoder(this);
    const parts: string[] = [];
    for (const id of ids) parts.push(d.push(id));
    parts.push(d.flush());
    return parts.join('');
  }

  /** @internal Used by {@link PieceStreamDecoder}. */
  kind(id: number): number {
    return this.#kind[id];
  }
  /** @internal */
  byte(id: number): number {
    return this.#byte[id];
  }
  /**
   * @internal The surface of a non-byte piece and whether it consumed the beginning-of-sentence
   * whitespace (C++ `DecodeSentencePiece`).
   */
  surface(id: number, isBosWs: boolean): [string, boolean] {
    const kind = this.#kind[id];
    if (kind !== Kind.Text || !isBosWs || !this.#consumeBosWs) return [this.#surface[id], false];
    const stripped = this.#bosSurface[id];
    if (stripped === undefined) return [this.#surface[id], false];
    return [stripped, !this.#removeExtraWs];
  }
}

/**
 * Streams text out of ids: `push(id)` returns the newly completed text. The concatenation of all
 * pushes and {@link PieceStreamDecoder.flush} equals {@link DecodeTable.decode} of the same ids.
 * A `push` after `flush` continues the same text (a byte sequence is not joined across the flush).
 */
export class PieceStreamDecoder implements IncrementalDecoder {
  readonly #table: DecodeTable;
  readonly #bytes = new Utf8RunDecoder();
  /** C++ `is_bos_ws`: still expecting the dummy-prefix whitespace. */
  #isBosWs = true;
  /** C++ `bos_ws_seen`: the previous non-byte piece consumed the dummy-prefix whitespace. */
  #bosWsSeen = false;
  /** C++ `!text->empty()`. */
  #hasText = false;

  constructor(table: DecodeTable) {
    this.#table = table;
  }

  /**
   * Adds one id; returns the text it completes.
   * @throws `E_ARGUMENT` when the id is out of range.
   */
  push(id: number): string {
    const t = this.#table;
    t.check(id);
    if (t.kind(id) === Kind.Byte) {
      const out = this.#bytes.push(t.byte(id));
      if (out) this.#hasText = true;
      return out;
    }
    const tail = this.flush();
    if (this.#bosWsSeen || this.#hasText) this.#isBosWs = false;
    const [surface, consumed] = t.surface(id, this.#isBosWs);
    this.#bosWsSeen = consumed;
    if (surface) this.#hasText = true;
    return tail + surface;
  }

  /** Ends a pending byte sequence: its bytes become U+FFFD each, as `decode` does at the end. */
  flush(): string {
    const out = this.#bytes.finish();
    if (out) this.#hasText = true;
    return out;
  }
}
