/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Prepend the BOS id (default false). */
  readonly addBos?: boolean;
  /** Append the EOS id (default false). */
  readonly addEos?: boolean;
}

/**
 * Streams text out of ids exactly: `push(id)` returns the newly completed text (possibly '' while a
 * UTF-8 sequence split across byte-fallback tokens is incomplete); the concatenation of all pushes plus
 * `flush()` equals `decode(allIds)`.
 */
export interface IncrementalDecoder {
  push(id: number): string;
  /** Text still pending (e.g. an incomplete UTF-8 sequence, emitted as U+FFFD like `decode`). */
  flush(): string;
}

/** A tokenizer: ids and special ids come from the model file, never constants. */
export interface Tokenizer {
  readonly vocabSize: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly unkId: number;
  /** -1 when the model has none. */
  readonly padId: number;
  encode(text: string, options?: EncodeOptions): number[];
  /** Decodes ids to text (special tokens dropped, leading space of the first piece removed). */
  decode(ids: readonly number[]): string;
  /** The piece string of an id; throws `E_ARGUMENT` when out of range. */
  idToPiece(id: number): string;
  /** A fresh incremental decoder (one per generation). */
  createDecoder(): IncrementalDecoder;
}

/** Loads tokenizers from model files; registered by name in the tokenizer registry. */
export interface TokenizerLoader {
  readonly name: string;
  /** True when this loader can use one of these file names in a model directory. */
  detect(fileNames: readonly string[]): boolean;
  /** Loads from a model directory (Node). */
  loadFromDir(dir: string): Promise<Tokenizer>;
  /** Loads from the bytes of the tokenizer file (Node and browsers). */
  loadFromBytes(bytes: Uint8Array): Promise<Tokenizer>;
}
