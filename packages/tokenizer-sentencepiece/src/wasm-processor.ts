/**
 * The fallback encoder: a thin adapter over `@sctg/sentencepiece-js` (the C++ SentencePiece library
 * compiled to WebAssembly), for models the TypeScript BPE encoder does not reproduce (unigram models,
 * normalization charsmaps...). Within the package only `encoder.ts` imports this module, dynamically, so
 * that the wasm module is loaded only when needed. The adapter hides the library's quirks:
 * - it loads a model from bytes (here: base64) into a fresh wasm instance per processor, and does not
 *   throw on a bad model, so the processor's status is checked after loading;
 * - it mis-encodes lone surrogates, so input is made well-formed first;
 * - it has no vocabulary API and its decode drops a leading U+FEFF (it uses a default `TextDecoder`),
 *   so only encoding is delegated to it (decoding is done from the pieces table).
 */
import { SentencePieceProcessor } from '@sctg/sentencepiece-js';
import { TinyLlamaError } from '@tinyllama/core';
import type { SentencePieceEncoder } from './encoder.js';
import { toWellFormed } from './utf8.js';

/** The embind `util::Status` object of the wasm module (only `ToString` is bound). */
interface WasmStatus {
  ToString(): string;
  delete(): void;
}

/** Base64 of `bytes` (portable: Node and browsers). */
function toBase64(bytes: Uint8Array): string {
  const CHUNK = 0x8000;
  const parts: string[] = [];
  for (let i = 0; i < bytes.length; i += CHUNK) {
    parts.push(String.fromCharCode(...bytes.subarray(i, i + CHUNK)));
  }
  return btoa(parts.join(''));
}

/** An encoder backed by the wasm build of the C++ library (one wasm instance each). */
export class WasmEncoder implements SentencePieceEncoder {
  readonly kind = 'wasm' as const;
  readonly #spp: SentencePieceProcessor;

  private constructor(spp: SentencePieceProcessor) {
    this.#spp = spp;
  }

  /**
   * Instantiates a wasm module and loads the model bytes into it.
   * @param source Names the file in error messages.
   * @throws `E_TOKENIZER` when the library rejects the model.
   */
  static async load(bytes: Uint8Array, source: string): Promise<WasmEncoder> {
    const spp = new SentencePieceProcessor();
    let status: string;
    try {
      await spp.loadFromB64StringModel(toBase64(bytes));
      const s = (spp.processor as { status?: () => WasmStatus } | undefined)?.status?.();
      if (!s) throw new Error('the wasm module created no processor');
      try {
        status = s.ToString();
      } finally {
        s.delete();
      }
    } catch (e) {
      throw new TinyLlamaError('E_TOKENIZER', `SentencePiece could not load '${source}': ${(e as Error)?.message ?? e}`, {
        cause: e,
      });
    }
    if (status !== 'OK') {
      throw new TinyLlamaError('E_TOKENIZER', `SentencePiece could not load '${source}': ${status}`);
    }
    return new WasmEncoder(spp);
  }

  /** Token ids of `text` (no BOS/EOS). Lone surrogates are encoded as U+FFFD. */
  encode(text: string): number[] {
    if (text === '') return [];
    try {
      return this.#spp.encodeIds(toWellFormed(text));
    } catch (e) {
      throw new TinyLlamaError('E_TOKENIZER', `SentencePiece failed to encode a ${text.length}-character string`, { cause: e });
    }
  }

  /** Decodes with the wasm library (tests only: it drops a leading U+FEFF of long outputs). */
  decodeWithLibrary(ids: readonly number[]): string {
    return this.#spp.decodeIds(Int32Array.from(ids)) as string;
  }
}
