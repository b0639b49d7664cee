/**
 * ggml's reference block encodings for file creation (`quantize_row_q4_0_ref`, `quantize_row_q8_0_ref`)
 * and F16, bit-exact: every step is rounded to float32 like the C code, so a Q4_0 export equals what
 * `llama-quantize --pure` writes from the F32 export.
 */
import { TinyLlamaError, f16ToF32, f32ToF16 } from '@tinyllama/core';

/** Elements per Q4_0 / Q8_0 block. */
export const QK = 32;
/** Bytes per Q4_0 block: f16 scale + 16 bytes of nibbles. */
export const Q4_0_BLOCK_BYTES = 18;
/** Bytes per Q8_0 block: f16 scale + 32 int8. */
export const Q8_0_BLOCK_BYTES = 34;

const fr = Math.fround;

function checkBlocks(x: Float32Array, what: string): number {
  if (x.length % QK !== 0) throw new TinyLlamaError('E_SHAPE', `${what}: ${x.length} values are not a whole number of ${QK}-value blocks`);
  return x.length / QK;
}

/**
 * Q4_0: per block of 32, `d = max / -8` where `max` is the value of largest magnitude (sign kept, first
 * one on ties), stored as f16; `q = min(15, trunc(x / d + 8.5))`; byte j holds value j in its low
 * nibble and value j + 16 in its high nibble. Dequantized value: `(q - 8) * d`.
 */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  const nb = checkBlocks(x, 'Q4_0');
  const out = new Uint8Array(nb * Q4_0_BLOCK_BYTES);
  for (let b = 0; b < nb; b++) {
    const base = b * QK;
    let amax = 0;
    let max = 0;
    for (let j = 0; j < QK; j++) {
      const v = x[base + j];
      const a = Math.abs(v);
      if (amax < a) {
        amax = a;
        max = v;
      }
    }
    const d = fr(max / -8);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    const o = b * Q4_0_BLOCK_BYTES;
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < QK / 2; j++) {
      const q0 = Math.min(15, Math.trunc(fr(fr(x[base + j] * id) + 8.5)));
      const q1 = Math.min(15, Math.trunc(fr(fr(x[base + QK / 2 + j] * id) + 8.5)));
      out[o + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/** Inverse of {@link quantizeQ4_0} (up to the rounding): `(q - 8) * d`. */
export function dequantizeQ4_0(bytes: Uint8Array): Float32Array {
  const nb = bytes.length / Q4_0_BLOCK_BYTES;
  const out = new Float32Array(nb * QK);
  for (let b = 0; b < nb; b++) {
    const o = b * Q4_0_BLOCK_BYTES;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    for (let j = 0; j < QK / 2; j++) {
      const q = bytes[o + 2 + j];
      out[b * QK + j] = ((q & 0x0f) - 8) * d;
      out[b * QK + QK / 2 + j] = ((q >>> 4) - 8) * d;
    }
  }
  return out;
}

/** C's `roundf`: halves round away from zero. */
function roundHalfAway(v: number): number {
  return v < 0 ? -Math.round(-v) : Math.round(v);
}

/** Q8_0: per block of 32, `d = amax / 127` stored as f16, `q = roundf(x / d)` as int8. */
export function quantizeQ8_0(x: Float32Array): Uint8Array {
  const nb = checkBlocks(x, 'Q8_0');
  const out = new Uint8Array(nb * Q8_0_BLOCK_BYTES);
  for (let b = 0; b < nb; b++) {
    const base = b * QK;
    let amax = 0;
    for (let j = 0; j < QK; j++) amax = Math.max(amax, Math.abs(x[base + j]));
    const d = fr(amax / 127);
    const id = d !== 0 ? fr(1 / d) : 0;
    const h = f32ToF16(d);
    const o = b * Q8_0_BLOCK_BYTES;
    out[o] = h & 0xff;
    out[o + 1] = h >>> 8;
    for (let j = 0; j < QK; j++) out[o + 2 + j] = roundHalfAway(fr(x[base + j] * id)) & 0xff;
  }
  return out;
}

/** Inverse of {@link quantizeQ8_0} (up to the rounding): `q * d`. */
export function dequantizeQ8_0(bytes: Uint8Array): Float32Array {
  const nb = bytes.length / Q8_0_BLOCK_BYTES;
  const out = new Float32Array(nb * QK);
  for (let b = 0; b < nb; b++) {
    const o = b * Q8_0_BLOCK_BYTES;
    const d = f16ToF32(bytes[o] | (bytes[o + 1] << 8));
    for (let j = 0; j < QK; j++) out[b * QK + j] = ((bytes[o + 2 + j] << 24) >> 24) * d;
  }
  return out;
}

/** Little-endian IEEE half-precision bytes of `x` (round to nearest even). */
export function toF16Bytes(x: Float32Array): Uint8Array {
  const h = new Uint16Array(x.length);
  for (let i = 0; i < x.length; i++) h[i] = f32ToF16(x[i]);
  return new Uint8Array(h.buffer);
}

/** Little-endian float32 bytes of `x` (a view, no copy). */
export function toF32Bytes(x: Float32Array): Uint8Array {
  return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
}
