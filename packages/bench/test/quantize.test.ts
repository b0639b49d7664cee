import { describe, expect, it } from 'vitest';
import { dequantizeQ4_0, dequantizeQ8_0, quantizeQ4_0, quantizeQ8_0, toF16Bytes } from '../src/quantize.js';

// ---- an independent reference, written from ggml's C semantics --------------------------------------

/** float32 arithmetic by storing through a Float32Array. */
const f32 = new Float32Array(1);
function single(x: number): number {
  f32[0] = x;
  return f32[0];
}

/** f32 → f16 bits by exact scaling and round-half-even (different algorithm from the exporter's). */
function refHalf(x: number): number {
  const sign = x < 0 || Object.is(x, -0) ? 0x8000 : 0;
  const a = Math.abs(x);
  if (Number.isNaN(x)) return 0x7e00;
  if (a === 0) return sign;
  const rne = (v: number): number => {
    const fl = Math.floor(v);
    const diff = v - fl;
    if (diff > 0.5) return fl + 1;
    if (diff < 0.5) return fl;
    return fl % 2 === 0 ? fl : fl + 1;
  };
  let e = Math.floor(Math.log2(a));
  if (2 ** e > a) e--;
  if (2 ** (e + 1) <= a) e++;
  if (e < -14) return sign | rne(a / 2 ** -24); // subnormal (may round up to the smallest normal: same bits)
  let m = rne((a / 2 ** e) * 1024); // 1024..2048
  if (m === 2048) {
    m = 1024;
    e++;
  }
  if (e > 15) return sign | 0x7c00;
  return sign | ((e + 15) << 10) | (m - 1024);
}

function refQ4Block(x: ArrayLike<number>): number[] {
  let amax = 0;
  let max = 0;
  for (let j = 0; j < 32; j++) {
    if (amax < Math.abs(x[j])) {
      amax = Math.abs(x[j]);
      max = x[j];
    }
  }
  const d = single(max / -8);
  const id = d === 0 ? 0 : single(1 / d);
  const h = refHalf(d);
  const out = [h & 0xff, h >> 8];
  for (let j = 0; j < 16; j++) {
    const lo = Math.min(15, Math.trunc(single(single(x[j] * id) + 8.5)));
    const hi = Math.min(15, Math.trunc(single(single(x[j + 16] * id) + 8.5)));
    out.push(lo + 16 * hi);
  }
  return out;
}

function refQ8Block(x: ArrayLike<number>): number[] {
  let amax = 0;
  for (let j = 0; j < 32; j++) amax = Math.max(amax, Math.abs(x[j]));
  const d = single(amax / 127);
  const id = d === 0 ? 0 : single(1 / d);
  const h = refHalf(d);
  const out = [h & 0xff, h >> 8];
  for (let j = 0; j < 32; j++) {
    const v = single(x[j] * id);
    const q = Math.sign(v) * Math.floor(Math.abs(v) + 0.5); // roundf
    out.push(q < 0 ? q + 256 : q);
  }
  return out;
}

function refBlocks(x: Float32Array, block: (b: Float32Array) => number[]): Uint8Array {
  const out: number[] = [];
  for (let b = 0; b < x.length; b += 32) out.push(...block(x.subarray(b, b + 32)));
  return Uint8Array.from(out);
}

/** Deterministic pseudo-random float32 data with a mix of scales, ties and zeros. */
function testData(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const rnd = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const block = Math.floor(i / 32);
    const scale = [1, 0.02, 1e-3, 300, 1e-6][block % 5];
    x[i] = (rnd() * 2 - 1) * scale;
  }
  return x;
}

// ---- tests -----------------------------------------------------------------------------------------

describe('f16 conversion', () => {
  it('matches an independent round-half-even conversion', () => {
    const x = testData(32 * 40, 7);
    const special = Float32Array.from([0, -0, 1, -1, 65504, 65520, 70000, 6.1e-5, 5.96e-8, 2.98e-8, 1e-9, 0.1, 1 / 3, 2049, 2051]);
    for (const data of [x, special]) {
      const got = new Uint16Array(toF16Bytes(data).buffer);
      expect(Array.from(got)).toEqual(Array.from(data, refHalf));
    }
  });
});

describe('Q4_0 blocks', () => {
  it('packs a hand-computed block (d = max / -8, low nibble = first 16 values)', () => {
    const x = new Float32Array(32);
    x[0] = -8; // largest magnitude, negative: d = 1
    x[1] = 1; // 1 + 8.5 → 9
    x[16] = 7; // 7 + 8.5 → 15
    x[17] = 7.6; // 16.1 → clamped to 15
    x[2] = -7.9; // 0.6 → 0
    const q = quantizeQ4_0(x);
    expect(q.length).toBe(18);
    expect([q[0], q[1]]).toEqual([0x00, 0x3c]); // f16(1.0)
    expect(q[2]).toBe(0 | (15 << 4)); // values 0 and 16
    expect(q[3]).toBe(9 | (15 << 4)); // values 1 and 17
    expect(q[4]).toBe(0 | (8 << 4)); // values 2 and 18
    expect(q[5]).toBe(8 | (8 << 4)); // zeros → 8
  });

  it('keeps the sign of the first largest-magnitude value on ties, and zero blocks give d = 0', () => {
    const x = new Float32Array(64);
    x[3] = 2;
    x[9] = -2; // same magnitude later: the first (positive) wins → d = -0.25
    const q = quantizeQ4_0(x);
    expect([q[0], q[1]]).toEqual([0x00, 0xb4]); // f16(-0.25)
    // 0 / -8 is -0 in C too: the scale's f16 is 0x8000
    expect(Array.from(q.subarray(18, 36))).toEqual([0x00, 0x80, ...new Array(16).fill(0x88)]);
  });

  it('is byte-identical to the reference on varied data', () => {
    const x = testData(32 * 500, 1);
    expect(quantizeQ4_0(x)).toEqual(refBlocks(x, refQ4Block));
  });

  it('dequantizes within one step (half a step except at the clamped end)', () => {
    const x = testData(32 * 50, 3);
    const y = dequantizeQ4_0(quantizeQ4_0(x));
    for (let b = 0; b < x.length; b += 32) {
      const amax = Math.max(...Array.from(x.subarray(b, b + 32), Math.abs));
      if (amax < 0.01) continue; // the f16 scale is subnormal there: no relative bound
      const step = amax / 8;
      for (let j = b; j < b + 32; j++) expect(Math.abs(y[j] - x[j])).toBeLessThanOrEqual(step + amax * 2e-3 + 1e-30);
    }
  });

  it('rejects a partial block', () => {
    expect(() => quantizeQ4_0(new Float32Array(40))).toThrow(/40 values/);
  });
});

describe('Q8_0 blocks', () => {
  it('rounds halves away from zero like roundf', () => {
    const x = new Float32Array(32);
    x.set([127, 2.5, -2.5, 0.5, -0.5, -127, 1.49]);
    const q = quantizeQ8_0(x);
    expect(q.length).toBe(34);
    expect([q[0], q[1]]).toEqual([0x00, 0x3c]); // d = 127 / 127 = 1
    expect(Array.from(new Int8Array(q.buffer, 2, 7))).toEqual([127, 3, -3, 1, -1, -127, 1]);
  });

  it('is byte-identical to the reference on varied data', () => {
    const x = testData(32 * 500, 2);
    expect(quantizeQ8_0(x)).toEqual(refBlocks(x, refQ8Block));
  });

  it('dequantizes within half a step', () => {
    const x = testData(32 * 50, 4);
    const y = dequantizeQ8_0(quantizeQ8_0(x));
    for (let b = 0; b < x.length; b += 32) {
      const amax = Math.max(...Array.from(x.subarray(b, b + 32), Math.abs));
      if (amax < 0.01) continue; // the f16 scale is subnormal there: no relative bound
      for (let j = b; j < b + 32; j++) expect(Math.abs(y[j] - x[j])).toBeLessThanOrEqual((amax / 127) * 0.5 + amax * 1e-3 + 1e-30);
    }
  });
});
