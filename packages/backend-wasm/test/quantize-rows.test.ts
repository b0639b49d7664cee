import { describe, expect, it } from 'vitest';
import { KERNELS_BASE64 } from '../src/generated/kernels-wasm.js';

const wasmBytes = (key: keyof typeof KERNELS_BASE64) => new Uint8Array(Buffer.from(KERNELS_BASE64[key], 'base64'));

/** The scalar algorithm of q8_quantize_rows in float32 (Math.fround), de-interleaving per 32. */
function reference(a: Float32Array, M: number, K: number, B: number, deint: boolean) {
  const kb = Math.ceil(K / B);
  const aq = new Int8Array(M * kb * B);
  const scale = new Float32Array(M * kb);
  const sum = new Int32Array(M * kb);
  const d = deint && B % 32 === 0;
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < kb; b++) {
      const k0 = b * B;
      const len = Math.min(B, K - k0);
      let amax = 0;
      for (let i = 0; i < len; i++) amax = Math.max(amax, Math.abs(a[m * K + k0 + i]!));
      scale[m * kb + b] = Math.fround(amax / 127);
      const inv = amax > 0 ? Math.fround(127 / amax) : 0;
      let s = 0;
      for (let i = 0; i < B; i++) {
        let q = 0;
        if (i < len) {
          const x = Math.fround(a[m * K + k0 + i]! * inv);
          q = Math.trunc(Math.fround(x < 0 ? x - 0.5 : x + 0.5));
          q = Math.max(-127, Math.min(127, q));
        }
        s += q;
        const pos = d ? (i & ~31) + ((i & 31) >> 1) + ((i & 1) << 4) : i;
        aq[m * kb * B + k0 + pos] = q;
      }
      sum[m * kb + b] = s;
    }
  }
  return { aq, scale, sum };
}

describe('q8_quantize_rows (SIMD blocks)', () => {
  it('matches the scalar algorithm bit for bit, ties, zeros and ragged blocks included', async () => {
    for (const variant of ['simdLocal', 'relaxedLocal'] as const) {
      if (variant === 'relaxedLocal' && !WebAssembly.validate(wasmBytes('relaxedLocal'))) continue;
      const memory = new WebAssembly.Memory({ initial: 64, maximum: 65536 });
      const { instance } = await WebAssembly.instantiate(wasmBytes(variant), { env: { memory } });
      const q8 = instance.exports.q8_quantize_rows as (...args: number[]) => void;
      for (const [M, K, B, deint] of [[3, 256, 32, true], [2, 200, 64, true], [2, 300, 128, false], [1, 128, 128, true], [2, 96, 16, false]] as const) {
        const kb = Math.ceil(K / B);
        const a = new Float32Array(M * K);
        let s = 12345;
        for (let i = 0; i < a.length; i++) {
          s = (Math.imul(s, 1103515245) + 12345) >>> 0;
          a[i] = ((s >>> 8) / 2 ** 24 - 0.5) * 8;
        }
        // exact ties: with amax 127 (inv 1) the values k + 0.5 round away from zero
        a[0] = 127;
        for (let i = 1; i < 24; i++) a[i] = (i % 2 ? 1 : -1) * (i + 0.5);
        a[24] = -0;
        if (M > 1) a.fill(0, K, K + Math.min(B, K)); // an all-zero block (row 1)
        const base = 4096;
        const aOff = base, qOff = aOff + a.byteLength, sOff = qOff + M * kb * B + 64, mOff = sOff + M * kb * 4;
        new Float32Array(memory.buffer, aOff, a.length).set(a);
        q8(aOff, M, K, B, kb, deint ? 1 : 0, qOff, sOff, mOff);
        const ref = reference(a, M, K, B, deint);
        expect(new Int8Array(memory.buffer, qOff, M * kb * B)).toEqual(ref.aq);
        expect(new Float32Array(memory.buffer, sOff, M * kb)).toEqual(ref.scale);
        expect(new Int32Array(memory.buffer, mOff, M * kb)).toEqual(ref.sum);
      }
    }
  });
});
