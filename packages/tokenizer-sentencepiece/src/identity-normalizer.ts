/**
 * {@link IdentityNormalizer}: SentencePiece's encode-time normalization for models without a
 * `precompiled_charsmap` (e.g. Llama 2's `identity` normalizer), where characters are kept as they are
 * and only whitespace is handled:
 * - with `remove_extra_whitespaces`, leading and trailing spaces are dropped and runs of spaces
 *   collapse to one;
 * - a dummy-prefix whitespace is added in front (or at the end with `treat_whitespace_as_suffix`) of
 *   non-empty text when `add_dummy_prefix`;
 * - with `escape_whitespaces`, each space U+0020 becomes `▁` U+2581.
 *
 * Only U+0020 counts as whitespace (other spaces would be mapped to it by a charsmap, which these
 * models do not have). User-defined pieces are read as whole units, as the C++ normalizer does: a
 * unit ending with a space counts as a space for the collapsing of runs, and leading spaces of a unit
 * following a space are dropped.
 */
import type { NormalizerSpec } from './model-proto.js';
import type { PrefixMatcher } from './prefix-matcher.js';

/** U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's escaped whitespace. */
export const SPACE_SYMBOL = '\u2581';
const SPACE = 0x20;

/** Normalizes text like the C++ `Normalizer` with an empty charsmap. */
export class IdentityNormalizer {
  readonly #addDummyPrefix: boolean;
  readonly #removeExtraWhitespaces: boolean;
  readonly #escapeWhitespaces: boolean;
  readonly #suffix: boolean;
  readonly #matcher: PrefixMatcher | undefined;
  /** The whitespace that the dummy prefix adds: `▁` or, without escaping, a space. */
  readonly #ws: string;

  /**
   * @param treatWhitespaceAsSuffix `trainer_spec.treat_whitespace_as_suffix`: the dummy whitespace goes
   *   at the end.
   * @param matcher The model's user-defined pieces, if any.
   */
  constructor(spec: NormalizerSpec, treatWhitespaceAsSuffix: boolean, matcher?: PrefixMatcher) {
    this.#addDummyPrefix = spec.addDummyPrefix;
    this.#removeExtraWhitespaces = spec.removeExtraWhitespaces;
    this.#escapeWhitespaces = spec.escapeWhitespaces;
    this.#suffix = treatWhitespaceAsSuffix;
    this.#matcher = matcher;
    this.#ws = spec.escapeWhitespaces ? SPACE_SYMBOL : ' ';
  }

  /** The normalized form of well-formed `text` ('' for '' and, with removal, for only spaces). */
  normalize(text: string): string {
    if (text === '') return '';
    if (!this.#removeExtraWhitespaces) {
      // Units play no role here: every space is escaped, inside user-defined pieces too.
      return this.#withDummy(this.#escape(text));
    }
    let pos = 0;
    while (pos < text.length && this.#unitLength(text, pos) === 1 && text.charCodeAt(pos) === SPACE) pos++;
    if (pos === text.length) return '';
    let out = this.#addDummyPrefix && !this.#suffix ? this.#ws : '';
    let prevSpace = true;
    while (pos < text.length) {
      const len = this.#unitLength(text, pos);
      let from = pos;
      const end = pos + len;
      if (prevSpace) while (from < end && text.charCodeAt(from) === SPACE) from++;
      if (from < end) {
        out += this.#escape(text.slice(from, end));
        prevSpace = text.charCodeAt(end - 1) === SPACE;
      }
      pos = end;
    }
    const ws = this.#ws.charCodeAt(0);
    let end = out.length;
    while (end > 0 && out.charCodeAt(end - 1) === ws) end--;
    out = out.slice(0, end);
    return this.#addDummyPrefix && this.#suffix ? out + this.#ws : out;
  }

  #escape(s: string): string {
    return this.#escapeWhitespaces ? s.replaceAll(' ', SPACE_SYMBOL) : s;
  }

  #withDummy(s: string): string {
    if (!this.#addDummyPrefix) return s;
    return this.#suffix ? s + this.#ws : this.#ws + s;
  }

  /** Length of the unit at `pos`: a user-defined piece (longest match) or one code point. */
  #unitLength(text: string, pos: number): number {
    const m = this.#matcher ? this.#matcher.match(text, pos) : 0;
    if (m > 0) return m;
    const c = text.charCodeAt(pos);
    return c >= 0xd800 && c <= 0xdbff && pos + 1 < text.length ? 2 : 1;
  }
}
