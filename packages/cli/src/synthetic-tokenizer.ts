/**
 * Writes a synthetic SentencePiece BPE model (`tokenizer.model`) of any vocabulary size, for random
 * test checkpoints when no real tokenizer is at hand: `<unk>`/`<s>`/`</s>` at 0/1/2, the 256 byte-fallback
 * pieces, printable characters, common English words reachable through BPE merges, and filler pieces.
 */

const COMMON_WORDS = (
  'the of and to a in is it you that he was for on are with as I his they be at one have this from or had by ' +
  'but some what there we can out other were all your when up use word how said an each she which do their ' +
  'time if will way about many then them would write like so these her long make thing see him two has look ' +
  'more day could go come did my sound no most number who over know water than call first people may down side ' +
  'been now find any new work part take get place made live where after back little only round man year came ' +
  'show every good me give our under name very through just form much great think say help low line before turn ' +
  'cause same mean differ move right boy old too does tell sentence set three want air well also play small end ' +
  'put home read hand port large spell add even land here must big high such follow act why ask men change went ' +
  'light kind off need house picture try us again animal point mother world near build self earth father once upon ' +
  'story happy friend dog cat tree sun play ran saw loved'
).split(' ');

class ProtoWriter {
  readonly #chunks: number[] = [];
  varint(v: number): this {
    let x = v >>> 0;
    if (v < 0) {
      // negative int32 → 10-byte two's complement varint
      const big = BigInt.asUintN(64, BigInt(v));
      let b = big;
      while (b >= 0x80n) {
        this.#chunks.push(Number(b & 0x7fn) | 0x80);
        b >>= 7n;
      }
      this.#chunks.push(Number(b));
      return this;
    }
    while (x >= 0x80) {
      this.#chunks.push((x & 0x7f) | 0x80);
      x >>>= 7;
    }
    this.#chunks.push(x);
    return this;
  }
  tag(field: number, wire: number): this {
    return this.varint((field << 3) | wire);
  }
  int(field: number, v: number): this {
    return this.tag(field, 0).varint(v);
  }
  bool(field: number, v: boolean): this {
    return this.int(field, v ? 1 : 0);
  }
  float(field: number, v: number): this {
    this.tag(field, 5);
    const b = new Uint8Array(new Float32Array([v]).buffer);
    this.#chunks.push(...b);
    return this;
  }
  bytes(field: number, data: Uint8Array): this {
    this.tag(field, 2).varint(data.length);
    for (const x of data) this.#chunks.push(x);
    return this;
  }
  string(field: number, s: string): this {
    return this.bytes(field, new TextEncoder().encode(s));
  }
  message(field: number, w: ProtoWriter): this {
    return this.bytes(field, w.finish());
  }
  finish(): Uint8Array {
    return Uint8Array.from(this.#chunks);
  }
}

const enum PieceType {
  NORMAL = 1,
  UNKNOWN = 2,
  CONTROL = 3,
  BYTE = 6,
}

/** Builds the piece list (piece, score, type) for a synthetic vocabulary of `vocabSize` pieces. */
export function syntheticPieces(vocabSize: number): { piece: string; score: number; type: number }[] {
  if (vocabSize < 259 + 100) throw new RangeError(`synthetic tokenizer needs vocabSize >= 359, got ${vocabSize}`);
  const pieces: { piece: string; score: number; type: number }[] = [
    { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
    { piece: '<s>', score: 0, type: PieceType.CONTROL },
    { piece: '</s>', score: 0, type: PieceType.CONTROL },
  ];
  for (let b = 0; b < 256; b++) {
    pieces.push({ piece: `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`, score: 0, type: PieceType.BYTE });
  }
  const seen = new Set(pieces.map((p) => p.piece));
  const normal: string[] = [];
  const add = (p: string): void => {
    if (!seen.has(p) && pieces.length + normal.length < vocabSize) {
      seen.add(p);
      normal.push(p);
    }
  };
  // Merged pieces first (higher score = merged earlier): every prefix of "▁word" so BPE can reach it.
  for (const w of COMMON_WORDS) {
    const full = `\u2581${w}`;
    for (let k = 2; k <= full.length; k++) add(full.slice(0, k));
  }
  const chars = '\u2581etaoinshrdlcumwfgypbvkjxqzETAOINSHRDLCUMWFGYPBVKJXQZ0123456789.,!?;:\'"-()[]{}<>/\\@#$%^&*+=_|~`';
  for (const c of chars) add(c);
  for (let i = 0; pieces.length + normal.length < vocabSize; i++) add(`\u2581t${pieces.length + normal.length}`);
  normal.forEach((p, i) => pieces.push({ piece: p, score: -i, type: PieceType.NORMAL }));
  return pieces;
}

/** Serialises a synthetic SentencePiece `ModelProto` (BPE, byte fallback, BOS 1, EOS 2, UNK 0, no pad). */
export function writeSyntheticTokenizerModel(vocabSize: number): Uint8Array {
  const model = new ProtoWriter();
  for (const p of syntheticPieces(vocabSize)) {
    model.message(1, new ProtoWriter().string(1, p.piece).float(2, p.score).int(3, p.type));
  }
  const trainer = new ProtoWriter()
    .int(3, 2) // model_type = BPE
    .int(4, vocabSize)
    .bool(35, true) // byte_fallback
    .int(40, 0) // unk_id
    .int(41, 1) // bos_id
    .int(42, 2) // eos_id
    .int(43, -1); // pad_id
  const normalizer = new ProtoWriter().string(1, 'identity').bool(3, true).bool(4, false).bool(5, true);
  model.message(2, trainer).message(3, normalizer);
  return model.finish();
}
