/**
 * UTF-8 handling that reproduces the C++ SentencePiece library byte for byte: its `DecodeUTF8`
 * (used when decoding runs of `<0xNN>` byte-fallback pieces) replaces each byte that does not start a
 * complete, valid sequence with one U+FFFD and resumes at the next byte. That differs from the
 * WHATWG `TextDecoder` (which replaces a maximal invalid subpart with a single U+FFFD), so the
 * decoder here is hand-written.
 */

/** U+FFFD REPLACEMENT CHARACTER. */
export const REPLACEMENT = '\uFFFD';

/** Expected sequence length for a lead byte (1-4), or 0 when it can never start a valid sequence. */
export function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if ((lead & 0xe0) === 0xc0) return 2;
  if ((lead & 0xf0) === 0xe0) return 3;
  if ((lead & 0xf8) === 0xf0) return 4;
  return 0; // a trail byte or 0xF8-0xFF
}

const isTrail = (b: number): boolean => (b & 0xc0) === 0x80;
const MIN_CP = [0, 0, 0x80, 0x800, 0x10000];
const LEAD_MASK = [0, 0x7f, 0x1f, 0x0f, 0x07];

/**
 * Whether no continuation can make `bytes[0..n)` (n below the expected length) valid: a present
 * byte is not a trail byte, or every code point it could still encode is overlong, a surrogate or
 * above U+10FFFF.
 */
function certainlyInvalid(bytes: readonly number[], n: number, need: number): boolean {
  let lo = bytes[0] & LEAD_MASK[need];
  for (let i = 1; i < n; i++) {
    if (!isTrail(bytes[i])) return true;
    lo = (lo << 6) | (bytes[i] & 0x3f);
  }
  const free = 6 * (need - n); // payload bits not known yet
  lo <<= free;
  const hi = lo | ((1 << free) - 1);
  return hi < MIN_CP[need] || lo > 0x10ffff || (lo >= 0xd800 && hi <= 0xdfff);
}

/**
 * The C++ `DecodeUTF8` on the first `need` = {@link utf8SequenceLength} bytes (all present):
 * the code point, or -1 when the lead byte is invalid (the caller then emits U+FFFD and skips 1 byte).
 */
function decodeComplete(bytes: readonly number[], need: number): number {
  let cp = bytes[0] & LEAD_MASK[need];
  for (let i = 1; i < need; i++) {
    if (!isTrail(bytes[i])) return -1;
    cp = (cp << 6) | (bytes[i] & 0x3f);
  }
  if (cp < MIN_CP[need] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return -1;
  return cp;
}

/**
 * Decodes a run of bytes pushed one at a time, exactly like the C++ library decodes a run of
 * consecutive byte pieces: text is returned as soon as it is certain; an incomplete sequence waits
 * for more bytes (or {@link Utf8RunDecoder.finish}, which ends the run).
 */
export class Utf8RunDecoder {
  /** Bytes not yet resolved (at most 3). */
  readonly #pending: number[] = [];

  /** True while bytes are waiting for the rest of their sequence. */
  get pending(): boolean {
    return this.#pending.length > 0;
  }

  /** Adds one byte; returns the text it completes ('' while a sequence is incomplete). */
  push(byte: number): string {
    this.#pending.push(byte);
    return this.#drain(false);
  }

  /** Ends the run: pending bytes become one U+FFFD each (as the C++ library does). */
  finish(): string {
    return this.#pending.length === 0 ? '' : this.#drain(true);
  }

  #drain(final: boolean): string {
    const p = this.#pending;
    let out = '';
    while (p.length > 0) {
      const need = utf8SequenceLength(p[0]);
      if (need > 0 && p.length >= need) {
        const cp = decodeComplete(p, need);
        if (cp >= 0) {
          out += String.fromCodePoint(cp);
          p.splice(0, need);
          continue;
        }
      } else if (need > 0 && !final && !certainlyInvalid(p, p.length, need)) {
        break; // wait for more bytes
      }
      out += REPLACEMENT;
      p.shift();
    }
    return out;
  }
}

/**
 * Decodes a complete byte string with the C++ library's rules (see {@link Utf8RunDecoder}).
 */
export function decodeUtf8Like(bytes: ArrayLike<number>): string {
  const d = new Utf8RunDecoder();
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += d.push(bytes[i]);
  return out + d.finish();
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * `String.prototype.toWellFormed` (lone surrogates become U+FFFD), with a fallback for engines
 * that lack it.
 */
export function toWellFormed(text: string): string {
  const native = (String.prototype as { toWellFormed?: (this: string) => string }).toWellFormed;
  return native ? native.call(text) : text.replace(LONE_SURROGATE, REPLACEMENT);
}
