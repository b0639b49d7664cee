/**
 * Parsing of a SentencePiece `.model` file (the `ModelProto` protobuf of
 * `sentencepiece_model.proto`): the pieces table and the trainer/normalizer settings the runtime needs.
 */
import { TinyLlamaError } from '@tinyllama/core';
import { ProtoError, ProtoReader, WireType } from './protobuf.js';

/** `ModelProto.SentencePiece.Type`. */
export const PieceType = {
  Normal: 1,
  Unknown: 2,
  Control: 3,
  UserDefined: 4,
  Unused: 5,
  Byte: 6,
} as const;
/** One of the {@link PieceType} values. */
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

/** `TrainerSpec.ModelType`. */
export const ModelType = { Unigram: 1, Bpe: 2, Word: 3, Char: 4 } as const;
/** One of the {@link ModelType} values. */
export type ModelType = (typeof ModelType)[keyof typeof ModelType];

/** One vocabulary entry. */
export interface SentencePiece {
  readonly piece: string;
  readonly score: number;
  readonly type: PieceType;
  /**
   * Set (true) when the piece's bytes are not valid UTF-8: `piece` then holds U+FFFD replacements and
   * differs from the C++ library's piece (such a piece can never match valid text there).
   */
  readonly invalidUtf8?: true;
}

/** One `SelfTestData` sample: the C++ library checks at load time that `input` encodes to `expected`. */
export interface SelfTestSample {
  readonly input: string;
  /** The expected pieces, joined by spaces. */
  readonly expected: string;
}

/** The `TrainerSpec` fields the runtime uses (proto defaults applied). */
export interface TrainerSpec {
  readonly modelType: ModelType;
  readonly vocabSize: number;
  readonly byteFallback: boolean;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  readonly padId: number;
  readonly unkPiece: string;
  readonly bosPiece: string;
  readonly eosPiece: string;
  readonly padPiece: string;
  /** Text that decoding emits for the unknown piece (default `" ⁇ "`). */
  readonly unkSurface: string;
  readonly treatWhitespaceAsSuffix: boolean;
}

/** The `NormalizerSpec` fields the runtime uses (proto defaults applied). */
export interface NormalizerSpec {
  readonly name: string;
  readonly precompiledCharsmap: Uint8Array;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
  readonly normalizationRuleTsv: string;
}

/** A parsed SentencePiece model. */
export interface SentencePieceModel {
  /** The vocabulary; the index is the id. */
  readonly pieces: readonly SentencePiece[];
  readonly trainerSpec: TrainerSpec;
  readonly normalizerSpec: NormalizerSpec;
  /** Present only when the file has one. */
  readonly denormalizerSpec?: NormalizerSpec;
  /** `self_test_data` samples; present only when the file has some. */
  readonly selfTestSamples?: readonly SelfTestSample[];
}

const PIECE_TYPES = new Set<number>(Object.values(PieceType));
const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });
const strictUtf8 = new TextDecoder('utf-8', { ignoreBOM: true, fatal: true });

/** Whether `bytes` (whose lenient decoding `text` is) are valid UTF-8. */
function isValidUtf8(bytes: Uint8Array, text: string): boolean {
  if (!text.includes('\uFFFD')) return true; // invalid bytes always decode to U+FFFD
  try {
    strictUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
}

function parsePiece(r: ProtoReader, index: number): SentencePiece {
  let piece = '';
  let score = 0;
  let type: number = PieceType.Normal;
  let valid = true;
  while (r.more) {
    const t = r.tag();
    if (t.field === 1) {
      r.expect(t, WireType.LengthDelimited, `pieces[${index}].piece`);
      const bytes = r.bytes();
      piece = utf8.decode(bytes);
      valid = isValidUtf8(bytes, piece);
    } else if (t.field === 2) {
      r.expect(t, WireType.Fixed32, `pieces[${index}].score`);
      score = r.float();
    } else if (t.field === 3) {
      r.expect(t, WireType.Varint, `pieces[${index}].type`);
      type = r.int32();
    } else {
      r.skip(t.wireType, t.field);
    }
  }
  if (!PIECE_TYPES.has(type)) throw new ProtoError(`pieces[${index}] ('${piece}') has unknown type ${type}`);
  return valid ? { piece, score, type: type as PieceType } : { piece, score, type: type as PieceType, invalidUtf8: true };
}

function parseSelfTestData(r: ProtoReader): SelfTestSample[] {
  const samples: SelfTestSample[] = [];
  while (r.more) {
    const t = r.tag();
    if (t.field !== 1) {
      r.skip(t.wireType, t.field);
      continue;
    }
    r.expect(t, WireType.LengthDelimited, 'self_test_data.samples');
    const m = r.message();
    let input = '';
    let expected = '';
    while (m.more) {
      const f = m.tag();
      if (f.field === 1 || f.field === 2) {
        m.expect(f, WireType.LengthDelimited, `self_test_data.samples[${samples.length}]`);
        if (f.field === 1) input = m.string();
        else expected = m.string();
      } else {
        m.skip(f.wireType, f.field);
      }
    }
    samples.push({ input, expected });
  }
  return samples;
}

function parseTrainerSpec(r: ProtoReader | undefined): TrainerSpec {
  const s = {
    modelType: ModelType.Unigram as number,
    vocabSize: 8000,
    byteFallback: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: '<unk>',
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
    unkSurface: ' \u2047 ',
    treatWhitespaceAsSuffix: false,
  };
  const varint: Record<number, (v: number) => void> = {
    3: (v) => (s.modelType = v),
    4: (v) => (s.vocabSize = v),
    24: (v) => (s.treatWhitespaceAsSuffix = v !== 0),
    35: (v) => (s.byteFallback = v !== 0),
    40: (v) => (s.unkId = v),
    41: (v) => (s.bosId = v),
    42: (v) => (s.eosId = v),
    43: (v) => (s.padId = v),
  };
  const text: Record<number, (v: string) => void> = {
    44: (v) => (s.unkSurface = v),
    45: (v) => (s.unkPiece = v),
    46: (v) => (s.bosPiece = v),
    47: (v) => (s.eosPiece = v),
    48: (v) => (s.padPiece = v),
  };
  while (r?.more) {
    const t = r.tag();
    if (varint[t.field]) {
      r.expect(t, WireType.Varint, `trainer_spec field ${t.field}`);
      varint[t.field](r.int32());
    } else if (text[t.field]) {
      r.expect(t, WireType.LengthDelimited, `trainer_spec field ${t.field}`);
      text[t.field](r.string());
    } else {
      r.skip(t.wireType, t.field);
    }
  }
  if (!Object.values(ModelType).includes(s.modelType as ModelType)) {
    throw new ProtoError(`trainer_spec.model_type ${s.modelType} is unknown`);
  }
  return { ...s, modelType: s.modelType as ModelType };
}

function parseNormalizerSpec(r: ProtoReader | undefined): NormalizerSpec {
  let name = '';
  let precompiledCharsmap: Uint8Array = new Uint8Array(0);
  let addDummyPrefix = true;
  let removeExtraWhitespaces = true;
  let escapeWhitespaces = true;
  let normalizationRuleTsv = '';
  while (r?.more) {
    const t = r.tag();
    switch (t.field) {
      case 1:
        r.expect(t, WireType.LengthDelimited, 'normalizer_spec.name');
        name = r.string();
        break;
      case 2:
        r.expect(t, WireType.LengthDelimited, 'normalizer_spec.precompiled_charsmap');
        precompiledCharsmap = r.bytes();
        break;
      case 3:
        r.expect(t, WireType.Varint, 'normalizer_spec.add_dummy_prefix');
        addDummyPrefix = r.bool();
        break;
      case 4:
        r.expect(t, WireType.Varint, 'normalizer_spec.remove_extra_whitespaces');
        removeExtraWhitespaces = r.bool();
        break;
      case 5:
        r.expect(t, WireType.Varint, 'normalizer_spec.escape_whitespaces');
        escapeWhitespaces = r.bool();
        break;
      case 6:
        r.expect(t, WireType.LengthDelimited, 'normalizer_spec.normalization_rule_tsv');
        normalizationRuleTsv = r.string();
        break;
      default:
        r.skip(t.wireType, t.field);
    }
  }
  return { name, precompiledCharsmap, addDummyPrefix, removeExtraWhitespaces, escapeWhitespaces, normalizationRuleTsv };
}

/**
 * Parses the bytes of a SentencePiece `.model` file (a serialized `ModelProto`).
 * Unknown fields are skipped. Proto defaults apply to absent fields.
 * @param source Names the file in error messages.
 * @throws `E_TOKENIZER` when the bytes are not a valid model (truncated, wrong wire types, no pieces).
 */
export function parseSentencePieceModel(bytes: Uint8Array, source = 'tokenizer.model'): SentencePieceModel {
  const pieces: SentencePiece[] = [];
  let trainer: ProtoReader | undefined;
  let normalizer: ProtoReader | undefined;
  let denormalizer: ProtoReader | undefined;
  let selfTest: ProtoReader | undefined;
  try {
    const r = new ProtoReader(bytes);
    while (r.more) {
      const t = r.tag();
      switch (t.field) {
        case 1:
          r.expect(t, WireType.LengthDelimited, 'pieces');
          pieces.push(parsePiece(r.message(), pieces.length));
          break;
        case 2:
          r.expect(t, WireType.LengthDelimited, 'trainer_spec');
          trainer = r.message();
          break;
        case 3:
          r.expect(t, WireType.LengthDelimited, 'normalizer_spec');
          normalizer = r.message();
          break;
        case 4:
          r.expect(t, WireType.LengthDelimited, 'self_test_data');
          selfTest = r.message();
          break;
        case 5:
          r.expect(t, WireType.LengthDelimited, 'denormalizer_spec');
          denormalizer = r.message();
          break;
        default:
          r.skip(t.wireType, t.field);
      }
    }
    if (pieces.length === 0) throw new ProtoError('the model has no pieces');
    const selfTestSamples = selfTest ? parseSelfTestData(selfTest) : [];
    return {
      pieces,
      trainerSpec: parseTrainerSpec(trainer),
      normalizerSpec: parseNormalizerSpec(normalizer),
      ...(denormalizer ? { denormalizerSpec: parseNormalizerSpec(denormalizer) } : {}),
      ...(selfTestSamples.length > 0 ? { selfTestSamples } : {}),
    };
  } catch (e) {
    if (!(e instanceof ProtoError)) throw e;
    throw new TinyLlamaError('E_TOKENIZER', `'${source}' is not a valid SentencePiece model: ${e.message}`, { cause: e });
  }
}
