/**
 * {@link sentencePieceLoader}: core's `TokenizerLoader` for SentencePiece `tokenizer.model` files.
 */
import { TinyLlamaError, type TokenizerLoader } from '@tinyllama/core';
import { SentencePieceTokenizer } from './tokenizer.js';

/** The file name this loader recognises in a model directory. */
export const SENTENCEPIECE_FILE = 'tokenizer.model';

/** Base name of a path (either separator), without Node's `path` so this module stays browser-safe. */
const baseName = (p: string): string => p.slice(Math.max(p.lastIndexOf('/'), p.lastIndexOf('\\')) + 1);

/**
 * Loads {@link SentencePieceTokenizer}s. Register it in the runtime's tokenizer registry, e.g.
 * `runtime.tokenizers.register(sentencePieceLoader.name, sentencePieceLoader)`.
 */
export const sentencePieceLoader: TokenizerLoader = {
  name: 'sentencepiece',

  detect(fileNames: readonly string[]): boolean {
    return fileNames.some((n) => baseName(n) === SENTENCEPIECE_FILE);
  },

  /**
   * Reads `<dir>/tokenizer.model` (Node only).
   * @throws `E_NOT_FOUND` when the file is missing, `E_IO` when it cannot be read, `E_TOKENIZER` when invalid.
   */
  async loadFromDir(dir: string): Promise<SentencePieceTokenizer> {
    const [{ readFile }, { join }] = await Promise.all([import('node:fs/promises'), import('node:path')]);
    const file = join(dir, SENTENCEPIECE_FILE);
    let bytes: Uint8Array;
    try {
      bytes = await readFile(file);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException)?.code === 'ENOENT' ? 'E_NOT_FOUND' : 'E_IO';
      throw new TinyLlamaError(code, `cannot read tokenizer file '${file}'`, { cause: e });
    }
    return SentencePieceTokenizer.fromBytes(bytes, { source: file });
  },

  /** Loads from the bytes of a `tokenizer.model` (Node and browsers). */
  loadFromBytes(bytes: Uint8Array): Promise<SentencePieceTokenizer> {
    return SentencePieceTokenizer.fromBytes(bytes);
  },
};
