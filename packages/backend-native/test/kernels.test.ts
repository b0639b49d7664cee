/**
 * The native addon against plain references: panel repacking and the 4-bit matmul (VNNI rows and AMX
 * tiles, with bias, SwiGLU, ragged last blocks) over a JS dequantisation of the same weights and the
 * same int8 activations; the activation quantiser against the wasm kernels' rounding rule; causal
 * grouped-query attention against a float64 softmax; and the addon's argument checks. Skipped, saying why, where the addon is not built or the CPU lacks
 * AVX512-VNNI.
 */
import { describe, expect, it } from 'vitest';
import { isTinyLlamaError } from '@tinyllama/core';
import { loadAddon, type NativeAddon } from '../src/index.js';

let addon: NativeAddon | undefined;
let why = '';
try {
  addon = loadAddon();
  addon.start(2);
} catch (e) {
  why = (e as Error).message;
}
const AMX = addon !== undefined && (addon.features() & 2) !== 0;

/** A bump allocator over one shared wasm memory (as the executor's). */
function arena(bytes: number) {
  const mem = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) + 1, maximum: 65536, shared: true });
  let off = 64;
  const alloc = (n: number) => {
    const o = off;
    off += Math.ceil(n / 64) * 64;
    if (off > mem.buffer.byteLength) throw new Error('arena too small');
    return o;
  };
  return { mem, alloc, u8: () => new Uint8Array(mem.buffer) };
}

/** Deterministic pseudo-random numbers in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

/** int8 per-block activation quantisation, half away from zero (the wasm kernels' rule). */
function quantizeRef(a: Float32Array, M: number, K: number, B: number): { aq: Int8Array; scale: Float32Array; sum: Int32Array } {
  const kb = Math.ceil(K / B);
  const aq = new Int8Array(M * kb * B);
  const scale = new Float32Array(M * kb);
  const sum = new Int32Array(M * kb);
  for (let m = 0; m < M; m++) {
    for (let b = 0; b < kb; b++) {
      const len = Math.min(B, K - b * B);
      let amax = 0;
      for (let i = 0; i < len; i++) amax = Math.max(amax, Math.abs(a[m * K + b * B + i]!));
      const inv = amax > 0 ? Math.fround(127 / amax) : 0;
      let s = 0;
      for (let i = 0; i < len; i++) {
        const t = Math.fround(a[m * K + b * B + i]! * inv);
        const v = Math.max(-127, Math.min(127, Math.trunc(t < 0 ? Math.fround(t - 0.5) : Math.fround(t + 0.5))));
        aq[m * kb * B + b * B + i] = v;
        s += v;
      }
      scale[m * kb + b] = Math.fround(amax / 127);
      sum[m * kb + b] = s;
    }
  }
  return { aq, scale, sum };
}

interface Case {
  M: number;
  K: number;
  N: number;
  B: number;
  amx: boolean;
  bias?: boolean;
  swiglu?: boolean;
}

/** Runs one matmul through the addon and through a float64 reference; returns the max relative error. */
function runCase(c: Case, seed = 1): number {
  const nat = addon!;
  const { M, K, N, B } = c;
  const kb = Math.ceil(K / B);
  const blob = B / 2;
  const r = rng(seed);
  const { mem, alloc, u8 } = arena(2 * N * kb * blob + M * K * 16 + N * kb * 8 + M * N * 4 + (1 << 16));
  const aOff = alloc(M * K * 4);
  const aqOff = alloc(M * kb * B);
  const asOff = alloc(M * kb * 4);
  const amOff = alloc(M * kb * 4);
  const yOff = alloc(M * N * 4);
  const biasOff = c.bias ? alloc(N * 4) : 0;
  const weights = (c.swiglu ? [0, 1] : [0]).map(() => {
    const q = alloc(N * kb * blob);
    const s = alloc(N * kb * 4);
    const qv = new Uint8Array(mem.buffer, q, N * kb * blob);
    for (let i = 0; i < qv.length; i++) qv[i] = Math.floor(r() * 256);
    const sv = new Float32Array(mem.buffer, s, N * kb);
    for (let i = 0; i < sv.length; i++) sv[i] = 0.01 + 0.1 * r();
    return { q, s, qCopy: qv.slice(), sCopy: sv.slice() };
  });
  const a = new Float32Array(mem.buffer, aOff, M * K);
  for (let i = 0; i < a.length; i++) a[i] = (r() * 2 - 1) * (i % 7 === 0 ? 4 : 1);
  const bias = c.bias ? new Float32Array(mem.buffer, biasOff, N) : undefined;
  if (bias) for (let i = 0; i < N; i++) bias[i] = r() - 0.5;

  nat.quantize(u8(), aOff, M, K, B, kb, aqOff, asOff, amOff);
  const ref = quantizeRef(a, M, K, B);
  expect(new Int8Array(mem.buffer, aqOff, M * kb * B)).toEqual(ref.aq);
  expect(new Float32Array(mem.buffer, asOff, M * kb)).toEqual(ref.scale);
  expect(new Int32Array(mem.buffer, amOff, M * kb)).toEqual(ref.sum);

  const dot = (w: { qCopy: Uint8Array; sCopy: Float32Array }) => {
    const y = new Float64Array(M * N);
    for (let n = 0; n < N; n++) {
      for (let m = 0; m < M; m++) {
        let t = 0;
        for (let k = 0; k < K; k++) {
          const b = Math.floor(k / B);
          const e = k % B;
          const byte = w.qCopy[n * kb * blob + b * blob + (e >> 1)]!;
          const code = e & 1 ? byte >> 4 : byte & 15;
          t += ref.aq[m * kb * B + k]! * ref.scale[m * kb + b]! * (code - 8) * w.sCopy[n * kb + b]!;
        }
        y[m * N + n] = t + (bias ? bias[n]! : 0);
      }
    }
    return y;
  };
  const g = dot(weights[0]!);
  const u = c.swiglu ? dot(weights[1]!) : undefined;
  for (const w of weights) nat.repack(u8(), w.q, w.s, N, kb, B);
  const up = c.swiglu ? weights[1]! : { q: 0, s: 0 };
  nat.matmul(u8(), aqOff, asOff, amOff, M, kb, B, weights[0]!.q, weights[0]!.s, biasOff, yOff, N, up.q, up.s, c.amx ? 1 : 0);
  const y = new Float32Array(mem.buffer, yOff, M * N);
  let err = 0;
  let max = 0;
  for (let i = 0; i < M * N; i++) {
    const want = u ? (g[i]! / (1 + Math.exp(-g[i]!))) * u[i]! : g[i]!;
    err = Math.max(err, Math.abs(y[i]! - want));
    max = Math.max(max, Math.abs(want));
  }
  return err / max;
}

describe.skipIf(addon === undefined)(`native addon${addon ? '' : ` (skipped: ${why})`}`, () => {
  const shapes: Case[] = [
    { M: 1, K: 256, N: 64, B: 128, amx: false },
    { M: 1, K: 96, N: 32, B: 32, amx: false, bias: true },
    { M: 3, K: 200, N: 48, B: 32, amx: false }, // ragged last block
    { M: 9, K: 64, N: 16, B: 16, amx: false },
    { M: 13, K: 512, N: 32, B: 256, amx: false, swiglu: true },
    { M: 16, K: 256, N: 48, B: 64, amx: true },
    { M: 21, K: 640, N: 32, B: 128, amx: true, bias: true }, // a full and a short group of rows
    { M: 5, K: 96, N: 16, B: 64, amx: true, swiglu: true }, // ragged
    { M: 37, K: 128, N: 64, B: 128, amx: true, swiglu: true },
  ];
  for (const c of shapes) {
    const label = `M=${c.M} K=${c.K} N=${c.N} B=${c.B}${c.amx ? ' amx' : ''}${c.bias ? ' bias' : ''}${c.swiglu ? ' swiglu' : ''}`;
    it.skipIf(c.amx && !AMX)(`${label}: equals the float64 reference (rel. error < 1e-5)`, () => {
      expect(runCase(c)).toBeLessThan(1e-5);
    });
  }

  it('AMX and VNNI agree on the same call', () => {
    if (!AMX) return;
    expect(runCase({ M: 16, K: 256, N: 32, B: 128, amx: true }, 7)).toBeLessThan(1e-5);
    expect(runCase({ M: 16, K: 256, N: 32, B: 128, amx: false }, 7)).toBeLessThan(1e-5);
  });

  for (const [S, past, H, Hkv, D] of [
    [1, 0, 4, 4, 64],
    [1, 40, 8, 2, 64],
    [5, 11, 8, 2, 64],
    [3, 2, 6, 3, 20], // D not a multiple of 16: the scalar path
    [17, 0, 32, 4, 64],
    [21, 0, 4, 2, 16], // keys transposed, two heads per group
    [21, 0, 4, 4, 16],
    [40, 3, 8, 1, 32], // eight heads per group
    [2, 3, 72, 1, 16], // more heads per group than the joint path takes, and than 64
  ] as const) {
    it(`attention S=${S} past=${past} H=${H} Hkv=${Hkv} D=${D}: equals the float64 reference (abs. error < 1e-5)`, () => {
      const nat = addon!;
      const T = past + S;
      const capacity = T + 7;
      const r = rng(S * 1000 + past);
      const { mem, alloc, u8 } = arena((2 * S * H * D + 2 * Hkv * capacity * D) * 4 + (1 << 16));
      const fill = (off: number, n: number, amp: number) => {
        const v = new Float32Array(mem.buffer, off, n);
        for (let i = 0; i < n; i++) v[i] = (r() * 2 - 1) * amp;
        return v;
      };
      const q = fill(alloc(S * H * D * 4), S * H * D, 1);
      const k = fill(alloc(Hkv * capacity * D * 4), Hkv * capacity * D, 2);
      const v = fill(alloc(Hkv * capacity * D * 4), Hkv * capacity * D, 1);
      const outOff = alloc(S * H * D * 4);
      const scale = 1 / Math.sqrt(D);
      nat.attention(u8(), q.byteOffset, k.byteOffset, v.byteOffset, outOff, S, T, past, H, Hkv, D, capacity, scale);
      const out = new Float32Array(mem.buffer, outOff, S * H * D);
      let err = 0;
      for (let s = 0; s < S; s++) {
        for (let h = 0; h < H; h++) {
          const g = Math.floor(h / (H / Hkv));
          const n = past + s + 1;
          const sc = Array.from({ length: n }, (_, j) => {
            let t = 0;
            for (let d = 0; d < D; d++) t += q[(s * H + h) * D + d]! * k[(g * capacity + j) * D + d]!;
            return t * scale;
          });
          const mx = Math.max(...sc);
          const e = sc.map((x) => Math.exp(x - mx));
          const sum = e.reduce((a, b) => a + b, 0);
          for (let d = 0; d < D; d++) {
            let o = 0;
            for (let j = 0; j < n; j++) o += (e[j]! / sum) * v[(g * capacity + j) * D + d]!;
            err = Math.max(err, Math.abs(out[(s * H + h) * D + d]! - o));
          }
        }
      }
      expect(err).toBeLessThan(1e-5);
    });
  }

  it('rejects offsets outside the memory, a non-Uint8Array memory and unsupported shapes', () => {
    const nat = addon!;
    const { u8 } = arena(1 << 16);
    const mem = u8();
    let caught: unknown;
    try {
      nat.matmul(mem, 0, 64, 128, 1, 2, 32, 256, mem.length - 8, 0, 512, 16, 0, 0, 0);
    } catch (e) {
      caught = e;
    }
    expect(caught).toBeInstanceOf(RangeError);
    expect((caught as { code?: string }).code).toBe('E_SHAPE');
    expect(String(caught)).toMatch(/scales .* is outside the memory/);
    expect(() => nat.matmul(new Float32Array(4) as unknown as Uint8Array, 0, 0, 0, 1, 1, 32, 0, 0, 0, 0, 16, 0, 0, 0)).toThrow(/Uint8Array/);
    expect(() => nat.matmul(mem, 0, 64, 128, 1, 1, 32, 256, 512, 0, 1024, 24, 0, 0, 0)).toThrow(/N % 16/);
    expect(() => nat.repack(mem, 0, 4096, 17, 1, 32)).toThrow(/N % 16/);
    expect(() => nat.attention(mem, 0, 0, 0, 0, 2, 5, 2, 8, 2, 64, 8, 0.125)).toThrow(/pastLen \+ S == T/);
    expect(() => nat.attention(mem, 0, 0, 0, 0, 1, 600, 599, 8, 2, 64, 600, 0.125)).toThrow(/key cache .* is outside the memory/);
  });
});

describe('loadAddon', () => {
  it('names the missing file', () => {
    let caught: unknown;
    try {
      loadAddon('/nonexistent/tinyllama_native.node');
    } catch (e) {
      caught = e;
    }
    expect(isTinyLlamaError(caught) && caught.code === 'E_BACKEND').toBe(true);
    expect(String(caught)).toMatch(/nonexistent/);
  });
});
