/**
 * Weight storage formats of the Llama graph: how linear layers and the embedding are emitted for
 * float32, float16 and block-quantised int4/int8 weights (onnxruntime `MatMulNBits` and
 * `GatherBlockQuantized`). Quantisation runs at write time, one tensor at a time.
 */
import { attr, f32ToF16, TinyLlamaError, type GraphOps, type LazyTensor, type WeightFormat } from '@tinyllama/core';
import { quantizeGatherBlock, quantizeMatMulNBits, type BlockSize, type QuantBits } from '@tinyllama/quantize';
import { emitGemmTransB, emitLinearFloat32, type LinearEmitter } from './llama.js';
import { lazyFloat32, type WeightRef } from './weights.js';

const MS = 'com.microsoft';

/** Emits the token embedding lookup `[B, S, E]` for `input_ids` `[B, S]`. */
export type EmbeddingEmitter = (g: GraphOps, inputIds: string, weight: WeightRef) => string;

/** The emitters of one weight format. */
export interface WeightEmitters {
  readonly linear: LinearEmitter;
  readonly embedding: EmbeddingEmitter;
  /**
   * LM head over a tied embedding: `float` reuses the embedding initializer; quantised formats emit a
   * linear over the same weight.
   */
  readonly tiedHead: 'share-embedding' | 'linear';
}

/**
 * Produces several initializers from one computation (e.g. packed weights and scales), computing it on
 * the first `load()` and releasing it once every part was loaded, so only one weight is in memory.
 */
function sharedParts<T>(parts: number, compute: () => Promise<T>): (pick: (t: T) => Uint8Array) => () => Promise<Uint8Array> {
  let pending: Promise<T> | undefined;
  let taken = 0;
  return (pick) => async () => {
    pending ??= compute();
    const value = await pending;
    if (++taken >= parts) {
      pending = undefined;
      taken = 0;
    }
    return pick(value);
  };
}

function bytes(a: Float32Array | Uint8Array | Uint16Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

function toF16(data: Float32Array): Uint16Array {
  const out = new Uint16Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = f32ToF16(data[i]);
  return out;
}

function lazyFloat16(w: WeightRef): LazyTensor {
  return { dtype: 'float16', dims: w.shape, load: async () => bytes(toF16(await w.read())) };
}

const float32Embedding: EmbeddingEmitter = (g, inputIds, weight) => {
  const table = g.initializer(weight.key, lazyFloat32(weight)); // [V, E]
  return g.node('Gather', [table, inputIds], { name: 'embed_tokens', attrs: { axis: attr.int(0) } })[0]; // [B, S, E]
};

/** float16 storage: half the file; linear weights are upcast once when the session loads. */
const float16Linear: LinearEmitter = (g, x, weight, name) => {
  const w16 = g.initializer(weight.key, lazyFloat16(weight)); // [out, in] f16
  const w = g.op('Cast', [w16], { to: attr.int(1) }); // [out, in] f32 (constant-folded at load)
  return emitGemmTransB(g, x, w, weight.shape[0], name);
};

const float16Embedding: EmbeddingEmitter = (g, inputIds, weight) => {
  const table = g.initializer(weight.key, lazyFloat16(weight)); // [V, E] f16, stays half in memory
  const rows = g.node('Gather', [table, inputIds], { name: 'embed_tokens', attrs: { axis: attr.int(0) } })[0]; // [B, S, E] f16
  return g.op('Cast', [rows], { to: attr.int(1) }); // [B, S, E] f32
};

/** Options of the quantised emitters. */
interface QuantOptions {
  readonly bits: QuantBits;
  readonly blockSize: BlockSize;
  readonly symmetric: boolean;
  readonly accuracyLevel: number;
  readonly scaleSearch: boolean;
}

function matMulNBitsLinear(o: QuantOptions): LinearEmitter {
  return (g, x, weight, name) => {
    const [N, K] = weight.shape; // [out, in]
    const nb = Math.ceil(K / o.blockSize);
    const part = sharedParts(o.symmetric ? 2 : 3, async () =>
      quantizeMatMulNBits(await weight.read(), N, K, { bits: o.bits, blockSize: o.blockSize, symmetric: o.symmetric, scaleSearch: o.scaleSearch, name: weight.key }),
    );
    const inputs = [
      x,
      g.initializer(`${weight.key}.q${o.bits}`, { dtype: 'uint8', dims: [N, nb, (o.blockSize * o.bits) / 8], load: part((q) => q.B) }), // [N, nb, blob]
      g.initializer(`${weight.key}.scales`, { dtype: 'float32', dims: [N, nb], load: part((q) => bytes(q.scales)) }), // [N, nb]
    ];
    if (!o.symmetric) {
      const zpDims = [N, Math.ceil((nb * o.bits) / 8)];
      inputs.push(g.initializer(`${weight.key}.zero_points`, { dtype: 'uint8', dims: zpDims, load: part((q) => q.zeroPoints as Uint8Array) }));
    }
    return g.node('MatMulNBits', inputs, {
      name,
      domain: MS,
      attrs: {
        K: attr.int(K),
        N: attr.int(N),
        bits: attr.int(o.bits),
        block_size: attr.int(o.blockSize),
        accuracy_level: attr.int(o.accuracyLevel),
      },
    })[0]; // [..., N]
  };
}

function gatherBlockEmbedding(o: QuantOptions): EmbeddingEmitter {
  return (g, inputIds, weight) => {
    const [V, E] = weight.shape;
    if (E % o.blockSize !== 0) {
      // GatherBlockQuantized wants whole blocks per row: fall back to float32 rows.
      return float32Embedding(g, inputIds, weight);
    }
    const nb = E / o.blockSize;
    const part = sharedParts(o.symmetric ? 2 : 3, async () =>
      quantizeGatherBlock(await weight.read(), V, E, { bits: o.bits, blockSize: o.blockSize, symmetric: o.symmetric, scaleSearch: o.scaleSearch, name: weight.key }),
    );
    const inputs = [
      g.initializer(`${weight.key}.q${o.bits}`, { dtype: 'uint8', dims: [V, (E * o.bits) / 8], load: part((q) => q.data) }), // [V, E*bits/8]
      inputIds,
      g.initializer(`${weight.key}.scales`, { dtype: 'float32', dims: [V, nb], load: part((q) => bytes(q.scales)) }), // [V, nb]
    ];
    if (!o.symmetric) {
      inputs.push(
        g.initializer(`${weight.key}.zero_points`, { dtype: 'uint8', dims: [V, Math.ceil((nb * o.bits) / 8)], load: part((q) => q.zeroPoints as Uint8Array) }),
      );
    }
    return g.node('GatherBlockQuantized', inputs, {
      name: 'embed_tokens',
      domain: MS,
      attrs: { gather_axis: attr.int(0), quantize_axis: attr.int(1), block_size: attr.int(o.blockSize), bits: attr.int(o.bits) },
    })[0]; // [B, S, E]
  };
}

/**
 * The emitters for a {@link WeightFormat} (default float32), with its options validated; the embedding
 * and the LM head follow `embeddingDtype` / `lmHeadDtype` when given.
 */
export function weightEmitters(format: WeightFormat | undefined): WeightEmitters & { readonly lmHead: LinearEmitter } {
  const main = emittersFor(format);
  const embedding = format?.embeddingDtype ? emittersFor({ ...format, dtype: format.embeddingDtype }).embedding : main.embedding;
  const head = format?.lmHeadDtype ? emittersFor({ ...format, dtype: format.lmHeadDtype }) : main;
  // The float32 embedding initializer can only be shared by a float32 head over a float32 embedding.
  const share = head.tiedHead === 'share-embedding' && (format?.embeddingDtype ?? format?.dtype ?? 'float32') === 'float32';
  return { linear: main.linear, embedding, lmHead: head.linear, tiedHead: share ? 'share-embedding' : 'linear' };
}

function emittersFor(format: WeightFormat | undefined): WeightEmitters {
  const dtype = format?.dtype ?? 'float32';
  if (dtype === 'float32') return { linear: emitLinearFloat32, embedding: float32Embedding, tiedHead: 'share-embedding' };
  if (dtype === 'float16') return { linear: float16Linear, embedding: float16Embedding, tiedHead: 'linear' };
  if (dtype !== 'int4' && dtype !== 'int8') throw new TinyLlamaError('E_ARGUMENT', `unknown weight dtype '${String(dtype)}'`);
  const blockSize = format?.blockSize ?? 32;
  if (![16, 32, 64, 128, 256].includes(blockSize)) {
    throw new TinyLlamaError('E_ARGUMENT', `block size must be 16, 32, 64, 128 or 256, got ${blockSize}`);
  }
  const accuracyLevel = format?.accuracyLevel ?? 4;
  if (!(Number.isInteger(accuracyLevel) && accuracyLevel >= 0 && accuracyLevel <= 4)) {
    throw new TinyLlamaError('E_ARGUMENT', `accuracy level must be 0..4, got ${accuracyLevel}`);
  }
  const symmetric = format?.symmetric ?? true;
  const scaleSearch = format?.scaleSearch ?? false;
  if (scaleSearch && !symmetric) throw new TinyLlamaError('E_UNSUPPORTED', 'the scale search is for symmetric quantisation only');
  const o: QuantOptions = { bits: dtype === 'int4' ? 4 : 8, blockSize: blockSize as BlockSize, symmetric, accuracyLevel, scaleSearch };
  return { linear: matMulNBitsLinear(o), embedding: gatherBlockEmbedding(o), tiedHead: 'linear' };
}

/** True when a format needs onnxruntime's `com.microsoft` domain. */
export function weightFormatDomains(format: WeightFormat | undefined): string[] {
  const q = (d: WeightFormat['dtype'] | undefined): boolean => d === 'int4' || d === 'int8';
  return q(format?.dtype) || q(format?.embeddingDtype) || q(format?.lmHeadDtype) ? [MS] : [];
}
