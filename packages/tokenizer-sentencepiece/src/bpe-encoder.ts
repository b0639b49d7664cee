/**
 * {@link BpeEncoder}: exact SentencePiece BPE encoding in TypeScript, for BPE models whose normalizer
 * has no `precompiled_charsmap` (Llama 2 / TinyLlama). It gives the ids of the C++
 * `SentencePieceProcessor::Encode`:
 *
 * 1. normalize ({@link IdentityNormalizer}: whitespace handling only);
 * 2. split into symbols: a user-defined piece (longest match) is one frozen symbol, anything else one
 *    code point per symbol;
 * 3. merge: repeatedly join the adjacent pair whose concatenation is a piece (normal, user-defined or
 *    unused) with the highest score, the leftmost one among equal scores, until no pair is a piece;
 *    frozen symbols never merge. A priority queue with lazy invalidation over a doubly-linked symbol
 *    list makes this O(n log n);
 * 4. re-segment: a symbol that is an UNUSED piece is split back into the two symbols that were last
 *    seen forming it (recursively), as the library does;
 * 5. output: a symbol that is no piece is unknown. With byte fallback it becomes its UTF-8 bytes as
 *    `<0xXX>` pieces; without, it becomes the unknown id, and consecutive unknown symbols give one id.
 *
 * Models it cannot reproduce exactly are refused by {@link BpeEncoder.tryCreate} with a reason; the
 * caller then uses the wasm library, which also reports invalid models exactly as the C++ loader does.
 */
import { ModelType, PieceType, type SentencePieceModel } from './model-proto.js';
import type { SentencePieceEncoder } from './encoder.js';
import { IdentityNormalizer } from './identity-normalizer.js';
import { MergeQueue } from './merge-queue.js';
import { PrefixMatcher } from './prefix-matcher.js';
import { toWellFormed } from './utf8.js';

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;
/** The C++ prefix matcher keeps at most this many matches per position. */
const MAX_NESTED_USER_DEFINED = 64;
const MODEL_TYPE_NAMES: Record<number, string> = { 1: 'UNIGRAM', 2: 'BPE', 3: 'WORD', 4: 'CHAR' };

/** True for the piece types the merge step may produce (the C++ `pieces_` map). */
const isMergeable = (type: PieceType): boolean =>
  type === PieceType.Normal || type === PieceType.UserDefined || type === PieceType.Unused;

const isOneCodePoint = (s: string): boolean => s.length === 1 || (s.length === 2 && s.codePointAt(0)! > 0xffff);

/**
 * Why {@link BpeEncoder} cannot encode `model` exactly, or `undefined` when it can. Besides the model
 * kind (BPE, no charsmap, no self-test data), this repeats the C++ loader's checks, so that a model
 * the library would reject is left to it, and refuses the corner cases the merge step does not model
 * (a reserved piece that a symbol could spell, pieces that are not valid UTF-8, NaN scores).
 */
function unsupportedReason(model: SentencePieceModel): string | undefined {
  const { trainerSpec: ts, normalizerSpec: ns } = model;
  if (ts.modelType !== ModelType.Bpe) return `model_type is ${MODEL_TYPE_NAMES[ts.modelType]}, not BPE`;
  if (ns.precompiledCharsmap.length > 0) return 'the normalizer has a precompiled_charsmap';
  if (model.selfTestSamples) return 'the model has self_test_data';
  const mergeable = new Set<string>();
  const reserved = new Set<string>();
  const userDefined: string[] = [];
  const bytes = new Set<number>();
  let unknowns = 0;
  for (const [id, p] of model.pieces.entries()) {
    if (p.piece === '') return `piece ${id} is empty`;
    if (p.invalidUtf8) return `piece ${id} is not valid UTF-8`;
    const pieces = isMergeable(p.type) ? mergeable : reserved;
    if (pieces.has(p.piece)) return `piece '${p.piece}' is defined twice`;
    pieces.add(p.piece);
    if (p.type === PieceType.Unknown) unknowns++;
    if (p.type === PieceType.UserDefined) {
      if (p.piece.includes('\0')) return `user-defined piece ${id} contains U+0000`;
      userDefined.push(p.piece);
    }
    if (p.type === PieceType.Byte) {
      const m = BYTE_PIECE.exec(p.piece);
      if (!ts.byteFallback || !m) return `byte piece '${p.piece}' is invalid or byte_fallback is off`;
      bytes.add(parseInt(m[1], 16));
    }
    if (isMergeable(p.type) && Number.isNaN(p.score)) return `piece ${id} has a NaN score`;
  }
  if (unknowns !== 1) return `the model has ${unknowns} unknown pieces`;
  if (ts.byteFallback && bytes.size !== 256) return 'byte_fallback is on but the model lacks byte pieces';
  for (const r of reserved) {
    if (mergeable.has(r)) return `'${r}' is both a reserved and a normal piece`;
    if (isOneCodePoint(r)) return `reserved piece '${r}' is a single character`;
  }
  if (new PrefixMatcher(userDefined).maxNestedKeys > MAX_NESTED_USER_DEFINED) return 'too many nested user-defined pieces';
  return undefined;
}

const UTF8 = new TextEncoder();

/** UTF-8 bytes of `s` (well-formed) appended to `out` through `map`. */
function pushUtf8(s: string, map: Int32Array, out: number[]): void {
  for (const b of UTF8.encode(s)) out.push(map[b]);
}

/** The pure TypeScript encoder for BPE models without a charsmap. Create with {@link BpeEncoder.tryCreate}. */
export class BpeEncoder implements SentencePieceEncoder {
  readonly kind = 'bpe' as const;
  readonly #normalizer: IdentityNormalizer;
  /** User-defined pieces, when the model has some. */
  readonly #matcher: PrefixMatcher | undefined;
  /** Normal, user-defined and unused pieces → id. */
  readonly #ids = new Map<string, number>();
  readonly #scores: Float64Array;
  readonly #unused: Uint8Array;
  readonly #hasUnused: boolean;
  /** Longest mergeable piece, in UTF-16 code units: longer pairs are not looked up. */
  readonly #maxLength: number;
  readonly #unkId: number;
  /** Byte value → id of its `<0xXX>` piece; only with byte fallback. */
  readonly #byteIds: Int32Array | undefined;

  private constructor(model: SentencePieceModel) {
    const n = model.pieces.length;
    this.#scores = new Float64Array(n);
    this.#unused = new Uint8Array(n);
    const userDefined: string[] = [];
    let maxLength = 0;
    let unkId = -1;
    const byteIds = model.trainerSpec.byteFallback ? new Int32Array(256) : undefined;
    for (const [id, { piece, score, type }] of model.pieces.entries()) {
      if (isMergeable(type)) {
        this.#ids.set(piece, id);
        this.#scores[id] = score;
        maxLength = Math.max(maxLength, piece.length);
        if (type === PieceType.Unused) this.#unused[id] = 1;
        if (type === PieceType.UserDefined) userDefined.push(piece);
      } else if (type === PieceType.Unknown) {
        unkId = id;
      } else if (type === PieceType.Byte && byteIds) {
        byteIds[parseInt(piece.slice(3, 5), 16)] = id;
      }
    }
    this.#hasUnused = this.#unused.includes(1);
    this.#maxLength = maxLength;
    this.#unkId = unkId;
    this.#byteIds = byteIds;
    this.#matcher = userDefined.length > 0 ? new PrefixMatcher(userDefined) : undefined;
    this.#normalizer = new IdentityNormalizer(model.normalizerSpec, model.trainerSpec.treatWhitespaceAsSuffix, this.#matcher);
  }

  /**
   * An encoder for `model`, or the reason why this encoder cannot reproduce the C++ library on it
   * (not BPE, a charsmap, self-test data, a model the library would reject, or an unmodelled corner
   * case).
   */
  static tryCreate(model: SentencePieceModel): { readonly encoder: BpeEncoder } | { readonly reason: string } {
    const reason = unsupportedReason(model);
    return reason === undefined ? { encoder: new BpeEncoder(model) } : { reason };
  }

  /** Token ids of `text` (no BOS/EOS). Lone surrogates are encoded as U+FFFD. */
  encode(text: string): number[] {
    const s = this.#normalizer.normalize(toWellFormed(text));
    if (s === '') return [];

    // Symbols: [start[i], start[i] + len[i]) of s, linked by prev/next; len 0 once merged away.
    const cap = s.length;
    const start = new Int32Array(cap);
    const len = new Int32Array(cap);
    const prev = new Int32Array(cap);
    const next = new Int32Array(cap);
    const frozen = new Uint8Array(cap);
    let count = 0;
    for (let pos = 0; pos < s.length; count++) {
      let l = this.#matcher ? this.#matcher.match(s, pos) : 0;
      if (l > 0) {
        frozen[count] = 1;
      } else {
        const c = s.charCodeAt(pos);
        l = c >= 0xd800 && c <= 0xdbff && pos + 1 < s.length ? 2 : 1;
      }
      start[count] = pos;
      len[count] = l;
      prev[count] = count - 1;
      next[count] = count + 1;
      pos += l;
    }
    next[count - 1] = -1;

    const ids = this.#ids;
    const scores = this.#scores;
    const unused = this.#unused;
    const maxLength = this.#maxLength;
    const queue = new MergeQueue();
    // For re-segmentation: an unused piece → the two symbols last seen forming it.
    const revMerge = this.#hasUnused ? new Map<string, [string, string]>() : undefined;
    const consider = (left: number, right: number): void => {
      if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
      const size = len[left] + len[right];
      if (size > maxLength) return;
      const piece = s.slice(start[left], start[left] + size);
      const id = ids.get(piece);
      if (id === undefined) return;
      queue.push(scores[id], left, right, size);
      if (revMerge && unused[id]) {
        revMerge.set(piece, [s.slice(start[left], start[right]), s.slice(start[right], start[right] + len[right])]);
      }
    };

    for (let i = 1; i < count; i++) consider(i - 1, i);
    while (queue.pop()) {
      const { left, right, size } = queue;
      // Stale: one side was merged away, or grew (sizes only grow, so equal sizes mean unchanged).
      if (len[left] === 0 || len[right] === 0 || len[left] + len[right] !== size) continue;
      len[left] = size;
      len[right] = 0;
      const after = next[right];
      next[left] = after;
      if (after >= 0) prev[after] = left;
      consider(prev[left], left);
      consider(left, after);
    }

    const out: number[] = [];
    const unkId = this.#unkId;
    const byteIds = this.#byteIds;
    let prevUnknown = false;
    const emit = (w: string): void => {
      const id = ids.get(w) ?? unkId;
      if (revMerge && unused[id]) {
        const parts = revMerge.get(w);
        if (parts) {
          emit(parts[0]);
          emit(parts[1]);
          return;
        }
      }
      const unknown = id === unkId;
      if (unknown && byteIds) pushUtf8(w, byteIds, out);
      else if (!(unknown && prevUnknown)) out.push(id);
      prevUnknown = unknown;
    };
    for (let i = 0; i >= 0; i = next[i]) emit(s.slice(start[i], start[i] + len[i]));
    return out;
  }
}
