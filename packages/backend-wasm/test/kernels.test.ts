import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KERNELS_SOURCE_HASH } from '../src/generated/kernels-wasm.js';
import { WasmKernels } from '../src/kernels.js';
import { REFERENCE_KERNELS } from '../src/ops/index.js';
import { rotate, splitPackedQkv } from '../src/ops/attention.js';

const CSRC = join(dirname(fileURLToPath(import.meta.url)), '../csrc');

/** Deterministic xorshift PRNG in [0, 1). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 4294967296;
  };
}

/** Plain float32 reference of MatMulNBits: dequantise w = (q - zp) * scale, then multiply. */
function reference(a: Float32Array, M: number, K: number, N: number, B: number, bits: number, q: Uint8Array, sc: Float32Array, zp?: Uint8Array): Float32Array {
  const kb = Math.ceil(K / B);
  const blob = (B * bits) / 8;
  const y = new Float32Array(M * N);
  for (let n = 0; n < N; n++) {
    for (let m = 0; m < M; m++) {
      let s = 0;
      for (let k = 0; k < K; k++) {
        const b = Math.floor(k / B);
        const i = k % B;
        let code: number;
        let z: number;
        if (bits === 4) {
          const byte = q[n * kb * blob + b * blob + (i >> 1)]!;
          code = i & 1 ? byte >> 4 : byte & 15;
          const zb = zp ? zp[n * Math.ceil(kb / 2) + (b >> 1)]! : 0;
          z = zp ? (b & 1 ? zb >> 4 : zb & 15) : 8;
        } else {
          code = q[n * kb * blob + b * blob + i]!;
          z = zp ? zp[n * kb + b]! : 128;
        }
        s += a[m * K + k]! * (code - z) * sc[n * kb + b]!;
      }
      y[m * N + n] = s;
    }
  }
  return y;
}

describe('wasm kernels', () => {
  let kernels: WasmKernels;
  beforeAll(async () => {
    kernels = await WasmKernels.create({ threads: 2 });
  });
  afterAll(() => kernels.dispose());

  it('were built from the committed C sources', () => {
    const hash = createHash('sha256');
    for (const f of readdirSync(CSRC).filter((f) => f.endsWith('.c') || f.endsWith('.h')).sort()) hash.update(f).update(readFileSync(join(CSRC, f)));
    expect(hash.digest('hex').slice(0, 16), 'run `node packages/backend-wasm/scripts/build-wasm.mjs` (needs clang-16)').toBe(KERNELS_SOURCE_HASH);
  });

  // [M, K, N, block, bits, zero points]: tiles of 4 columns with a ragged tail (N % 4), two-row prompt
  // tiles and odd M, block sizes on and off the SIMD paths, ragged K, asymmetric weights
  const cases: [number, number, number, number, 4 | 8, boolean][] = [
    [1, 256, 96, 32, 4, false],
    [1, 2048, 130, 128, 4, false],
    [5, 256, 102, 64, 4, false],
    [16, 512, 200, 128, 4, false],
    [3, 200, 130, 32, 4, true],
    [4, 40, 70, 16, 4, true],
    [2, 256, 64, 128, 8, false],
    [3, 72, 80, 16, 8, true],
  ];
  it('repacks 4-bit weights staged in its memory from where they are, with the same results as from JS copies', () => {
    const K = 256, N = 36, B = 32, kb = K / B;
    const r = rng(7);
    const q = Uint8Array.from({ length: N * kb * (B / 2) }, () => Math.floor(r() * 256));
    const sc = Float32Array.from({ length: N * kb }, () => r() * 0.1);
    const a = Float32Array.from({ length: 2 * K }, () => r() * 2 - 1);
    const fromJs = kernels.uploadNBits({ K, N, bits: 4, blockSize: B, q, scales: sc }, 'js');
    // a staged file: weights then scales, as external data
    const staged = kernels.stage(q.byteLength + sc.byteLength);
    staged.set(q);
    staged.set(new Uint8Array(sc.buffer), q.byteLength);
    expect(kernels.mem.owns(staged)).toBe(true); // repacked from its address, no raw copy
    expect(kernels.mem.owns(q)).toBe(false);
    const inPlace = kernels.uploadNBits(
      { K, N, bits: 4, blockSize: B, q: staged.subarray(0, q.byteLength), scales: new Float32Array(staged.buffer, staged.byteOffset + q.byteLength, sc.length) },
      'staged',
    );
    kernels.releaseStaging(staged);
    expect(kernels.matmulNBits(a, 2, inPlace)).toEqual(kernels.matmulNBits(a, 2, fromJs));
    kernels.releaseNBits(fromJs);
    kernels.releaseNBits(inPlace);
  });

  it('keeps staged weights where they are (inPlace): tiles re-laid out in the file, no allocation, same results', () => {
    const r = rng(9);
    for (const [bits, B, N] of [[4, 32, 37], [4, 128, 8], [8, 32, 12], [4, 16, 6]] as const) {
      const K = 256, kb = K / B, blob = (B * bits) / 8;
      const q = Uint8Array.from({ length: N * kb * blob }, () => Math.floor(r() * 256));
      const sc = Float32Array.from({ length: N * kb }, () => r() * 0.1);
      const a = Float32Array.from({ length: 3 * K }, () => r() * 2 - 1);
      const fromJs = kernels.uploadNBits({ K, N, bits, blockSize: B, q, scales: sc }, 'js');
      const staged = kernels.stage(q.byteLength + sc.byteLength);
      staged.set(q);
      staged.set(new Uint8Array(sc.buffer), q.byteLength);
      const used = kernels.mem.usedBytes;
      const kept = kernels.uploadNBits(
        { K, N, bits, blockSize: B, q: staged.subarray(0, q.byteLength), scales: new Float32Array(staged.buffer, staged.byteOffset + q.byteLength, sc.length) },
        'kept',
        { inPlace: true },
      );
      expect(kept.allocations).toEqual([]);
      expect(kept.q).toBe(staged.byteOffset);
      expect(kernels.mem.usedBytes - used).toBeLessThanOrEqual(64 * 1024); // scratch only
      expect(kernels.matmulNBits(a, 3, kept), `bits ${bits} block ${B}`).toEqual(kernels.matmulNBits(a, 3, fromJs));
      kernels.releaseNBits(kept); // frees nothing of the file
      kernels.releaseStaging(staged);
      kernels.releaseNBits(fromJs);
    }
  });

  it.each(cases)('MatMulNBits M=%i K=%i N=%i block=%i bits=%i zp=%s matches a float reference', (M, K, N, B, bits, withZp) => {
    const r = rng(M * 1000 + K + N + B + bits);
    const kb = Math.ceil(K / B);
    const q = new Uint8Array(N * kb * ((B * bits) / 8)).map(() => Math.floor(r() * 256));
    const sc = new Float32Array(N * kb).map(() => 0.01 + r() * 0.05);
    const zp = withZp ? new Uint8Array(bits === 4 ? N * Math.ceil(kb / 2) : N * kb).map(() => Math.floor(r() * 256)) : undefined;
    const a = new Float32Array(M * K).map(() => r() * 2 - 1);
    const w = kernels.uploadNBits({ K, N, bits, blockSize: B, q, scales: sc, zeroPoints: zp }, 'w');
    try {
      const y = kernels.matmulNBits(a, M, w);
      const ref = reference(a, M, K, N, B, bits, q, sc, zp);
      // activations are quantised to int8 per block (|error| <= scale/2 per element): bound the error
      // by the sum over blocks of max|a| / 254 * sum|w|
      for (let m = 0; m < M; m++) {
        for (let n = 0; n < N; n += 7) {
          let bound = 1e-5;
          for (let b = 0; b < kb; b++) {
            let amax = 0;
            let wsum = 0;
            for (let k = b * B; k < Math.min(K, (b + 1) * B); k++) amax = Math.max(amax, Math.abs(a[m * K + k]!));
            wsum = sc[n * kb + b]! * (bits === 4 ? 15 : 255) * B;
            bound += (amax / 254) * wsum;
          }
          expect(Math.abs(y[m * N + n]! - ref[m * N + n]!)).toBeLessThanOrEqual(bound);
        }
      }
      // and typically far inside it
      let err = 0;
      let mag = 0;
      for (let i = 0; i < y.length; i++) {
        err += (y[i]! - ref[i]!) ** 2;
        mag += ref[i]! ** 2;
      }
      expect(Math.sqrt(err / mag)).toBeLessThan(0.02);
    } finally {
      kernels.releaseNBits(w);
    }
  });

  it('attention equals the reference GroupQueryAttention (prompt and decode, 2 threads; head sizes 16 and 64)', () => {
    const r = rng(7);
    const H = 8;
    const Hkv = 2;
    for (const [P, S, D] of [[0, 5, 16], [7, 1, 16], [40, 3, 16], [0, 5, 64], [37, 1, 64], [200, 2, 64]] as const) {
      const T = P + S;
      const q = new Float32Array(S * H * D).map(() => r() - 0.5);
      const k = new Float32Array(Hkv * T * D).map(() => r() - 0.5);
      const v = new Float32Array(Hkv * T * D).map(() => r() - 0.5);
      const out = kernels.attention(q, k, v, { S, T, H, Hkv, D, pastLen: P, scale: 0.25 });
      // reference op: past = first P rows of k/v, new = last S rows as [1, S, Hkv*D]
      const past = (x: Float32Array) => {
        const o = new Float32Array(Hkv * P * D);
        for (let h = 0; h < Hkv; h++) o.set(x.subarray(h * T * D, h * T * D + P * D), h * P * D);
        return o;
      };
      const fresh = (x: Float32Array) => {
        const o = new Float32Array(S * Hkv * D);
        for (let s = 0; s < S; s++) for (let h = 0; h < Hkv; h++) o.set(x.subarray((h * T + P + s) * D, (h * T + P + s + 1) * D), (s * Hkv + h) * D);
        return o;
      };
      const gqa = REFERENCE_KERNELS['com.microsoft:GroupQueryAttention']!;
      const [ref] = gqa(
        [
          { dtype: 'float32', dims: [1, S, H * D], data: q },
          { dtype: 'float32', dims: [1, S, Hkv * D], data: fresh(k) },
          { dtype: 'float32', dims: [1, S, Hkv * D], data: fresh(v) },
          { dtype: 'float32', dims: [1, Hkv, P, D], data: past(k) },
          { dtype: 'float32', dims: [1, Hkv, P, D], data: past(v) },
          { dtype: 'int32', dims: [1], data: new Int32Array([T - 1]) },
          { dtype: 'int32', dims: [], data: new Int32Array([T]) },
        ],
        { num_heads: { type: 'int', value: H }, kv_num_heads: { type: 'int', value: Hkv }, scale: { type: 'float', value: 0.25 } },
      );
      const rd = ref!.data as Float32Array;
      for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - rd[i]!)).toBeLessThan(1e-5);
    }
  });

  it.each([
    [1, 256, 200, 32, 4, false], // one row, pool path (N >= 64), tiled
    [3, 96, 70, 32, 4, true], // two-row pairs plus one row, zero points (untiled rows), ragged last chunk
    [2, 64, 20, 16, 4, false], // N < 64: the calling thread alone; block 16: the scalar dot
    [5, 128, 96, 32, 8, true], // 8-bit weights
  ] as const)('gate/up SwiGLU M=%i K=%i N=%i block=%i bits=%i zp=%s is bit-identical to two matmuls and siluMul', (M, K, N, B, bits, withZp) => {
    const r = rng(M * 31 + K + N + bits);
    const kb = Math.ceil(K / B);
    const weight = (name: string) =>
      kernels.uploadNBits(
        {
          K,
          N,
          bits,
          blockSize: B,
          q: new Uint8Array(N * kb * ((B * bits) / 8)).map(() => Math.floor(r() * 256)),
          scales: new Float32Array(N * kb).map(() => 0.01 + r() * 0.05),
          zeroPoints: withZp ? new Uint8Array(bits === 4 ? N * Math.ceil(kb / 2) : N * kb).map(() => Math.floor(r() * 256)) : undefined,
        },
        name,
      );
    const gate = weight('gate');
    const up = weight('up');
    try {
      const a = new Float32Array(M * K).map(() => (r() * 2 - 1) * 3);
      const want = kernels.siluMul(kernels.matmulNBits(a, M, gate), kernels.matmulNBits(a, M, up));
      expect(kernels.matmulSwiGlu(a, M, gate, up)).toEqual(want);
    } finally {
      kernels.releaseNBits(gate);
      kernels.releaseNBits(up);
    }
  });

  it('gate/up SwiGLU refuses weights of different shapes', () => {
    const w = (N: number) => kernels.uploadNBits({ K: 32, N, bits: 4, blockSize: 32, q: new Uint8Array(N * 16), scales: new Float32Array(N) }, `w${N}`);
    const [g, u] = [w(8), w(4)];
    try {
      expect(() => kernels.matmulSwiGlu(new Float32Array(32), 1, g, u)).toThrow(/gate \[8, 32\].*up \[4, 32\]/);
    } finally {
      kernels.releaseNBits(g);
      kernels.releaseNBits(u);
    }
  });

  it('SwiGLU equals silu(gate) * up within 1e-6 relative, over the whole float range', () => {
    const r = rng(3);
    const n = 1003; // SIMD body and scalar tail
    const gate = new Float32Array(n).map((_, i) => (i < 6 ? [-1e4, -100, -88, 88, 100, 1e4][i]! : (r() - 0.5) * 40));
    const up = new Float32Array(n).map(() => r() * 4 - 2);
    const out = kernels.siluMul(gate, up);
    for (let i = 0; i < n; i++) {
      const g = gate[i]!;
      const want = (g / (1 + Math.exp(-g))) * up[i]!;
      expect(Math.abs(out[i]! - want), `element ${i} (gate ${g})`).toBeLessThanOrEqual(1e-6 * Math.abs(want) + 1e-30);
    }
  });

  it('residual Add + RMSNorm is bit-identical to the TypeScript Add and SimplifiedLayerNormalization', () => {
    const r = rng(5);
    for (const [rows, len] of [[1, 64], [3, 70], [2, 5], [4, 2048]] as const) {
      const a = new Float32Array(rows * len).map(() => (r() - 0.5) * 2 ** Math.floor(r() * 20 - 10));
      const b = new Float32Array(rows * len).map(() => (r() - 0.5) * 8);
      const w = new Float32Array(len).map(() => r() * 2 - 0.5);
      if (rows > 1) {
        a.fill(0, len, 2 * len); // an all-zero row
        b.fill(0, len, 2 * len);
      }
      const eps = Math.fround(1e-5);
      const { sum, y, inv } = kernels.addRmsNorm(a, b, w, eps);
      const dims = [rows, len];
      const [s] = REFERENCE_KERNELS.Add!([{ dtype: 'float32', dims, data: a }, { dtype: 'float32', dims, data: b }], {});
      const [ry, rinv] = REFERENCE_KERNELS.SimplifiedLayerNormalization!([s!, { dtype: 'float32', dims: [len], data: w }], { epsilon: { type: 'float', value: eps } });
      expect(sum).toEqual(s!.data);
      expect(y).toEqual(ry!.data);
      expect(inv).toEqual(rinv!.data);
    }
    expect(() => kernels.addRmsNorm(new Float32Array(6), new Float32Array(4), new Float32Array(3), 1e-5)).toThrow(/a has 6 values, b 4/);
  });

  it('resident results equal the copied ones, chain kernel to kernel in place, and free their memory', () => {
    const r = rng(11);
    const K = 128, N = 96, B = 32, M = 3, kb = K / B;
    const weight = (name: string) =>
      kernels.uploadNBits({ K, N, bits: 4, blockSize: B, q: new Uint8Array(N * kb * 16).map(() => Math.floor(r() * 256)), scales: new Float32Array(N * kb).map(() => 0.01 + r() * 0.05) }, name);
    const [g, u] = [weight('gate'), weight('up')];
    const down = kernels.uploadNBits({ K: N, N: K, bits: 4, blockSize: B, q: new Uint8Array(K * (N / B) * 16).map(() => Math.floor(r() * 256)), scales: new Float32Array(K * (N / B)).map(() => 0.01 + r() * 0.05) }, 'down');
    const used = kernels.mem.usedBytes;
    try {
      const a = new Float32Array(M * K).map(() => r() * 2 - 1);
      const b = new Float32Array(M * K).map(() => r() * 2 - 1);
      const w = new Float32Array(K).map(() => r() + 0.5);
      const [sum, y] = kernels.addRmsNormTensors(a, b, w, 1e-5, [1, M, K]);
      const want = kernels.addRmsNorm(a, b, w, 1e-5);
      expect(sum.dims).toEqual([1, M, K]);
      expect(kernels.tensorOffset(y)).toBeDefined();
      expect(sum.data).toEqual(want.sum);
      expect(y.data).toEqual(want.y);
      // the next kernels read y where it is: same results as from a JS copy of it
      const h = kernels.matmulSwiGluTensor(y.data as Float32Array, M, g, u, [1, M, N]);
      expect(h.data).toEqual(kernels.matmulSwiGlu(want.y, M, g, u));
      const o = kernels.matmulNBitsTensor(h.data as Float32Array, M, down, [1, M, K]);
      expect(o.data).toEqual(kernels.matmulNBits((h.data as Float32Array).slice(), M, down));
      const s2 = kernels.siluMulTensor(sum.data as Float32Array, o.data as Float32Array, [M, K]);
      expect(s2.data).toEqual(kernels.siluMul(want.sum, (o.data as Float32Array).slice()));
      // a view keeps its source's memory until both are freed
      const view = kernels.viewTensor(o, [M * K]);
      const tail = kernels.viewTensor(o, [K], (M - 1) * K);
      expect(tail.data).toEqual((o.data as Float32Array).subarray((M - 1) * K));
      expect(() => kernels.viewTensor(o, [K], M * K - 1)).toThrow(/does not fit/);
      for (const t of [sum, y, h, s2, o]) kernels.freeTensor(t);
      expect(view.data).toEqual(kernels.matmulNBits((h.data as Float32Array).slice(), M, down));
      kernels.freeTensor(view);
      kernels.freeTensor(tail);
      kernels.freeTensor(tail); // idempotent
      expect(kernels.mem.usedBytes).toBeLessThanOrEqual(used + 256 * 1024); // only scratch may have grown
    } finally {
      for (const x of [g, u, down]) kernels.releaseNBits(x);
    }
  });

  it('wraps constants already in its memory without copying or owning them', () => {
    const staged = kernels.stage(64);
    const f = new Float32Array(staged.buffer, staged.byteOffset, 16).fill(2);
    const used = kernels.mem.usedBytes;
    const w = kernels.wrapTensor(f, [4, 4]);
    const v = kernels.viewTensor(w, [4], 4);
    expect(kernels.tensorOffset(w)).toBe(staged.byteOffset);
    expect(v.data).toEqual(new Float32Array(4).fill(2));
    kernels.freeTensor(w);
    kernels.freeTensor(v);
    expect(kernels.mem.usedBytes).toBe(used); // nothing allocated, nothing freed
    expect(() => kernels.wrapTensor(new Float32Array(4), [4])).toThrow(/not in the kernels/);
    expect(() => kernels.wrapTensor(f, [5])).toThrow(/16 values for shape/);
    kernels.releaseStaging(staged);
  });

  it('GroupQueryAttention in C (split, rotary, cache rows, attention) is bit-identical to the TypeScript split and rotate', () => {
    const r = rng(13);
    const H = 8, Hkv = 2, D = 32, cap = 64, half = 16;
    const cos = new Float32Array(cap * half).map(() => r() * 2 - 1);
    const sin = new Float32Array(cap * half).map(() => r() * 2 - 1);
    const cosT = kernels.uploadTensor(cos, [cap, half]);
    const sinT = kernels.uploadTensor(sin, [cap, half]);
    for (const packed of [true, false]) {
      for (const withRotary of [true, false]) {
        const kC = kernels.allocTensor([1, Hkv, cap, D]);
        const vC = kernels.allocTensor([1, Hkv, cap, D]);
        const kJ = new Float32Array(Hkv * cap * D);
        const vJ = new Float32Array(Hkv * cap * D);
        let P = 0;
        for (const S of [5, 1, 3]) {
          const T = P + S;
          const width = (H + 2 * Hkv) * D;
          const x = new Float32Array(S * width).map(() => r() * 2 - 1);
          const dims = { S, T, H, Hkv, D, pastLen: P, scale: 0.2 };
          // TypeScript: split, rotate, write the cache rows, attention from JS copies
          const { q, k, v } = splitPackedQkv(x, S, H, Hkv, D);
          if (withRotary) {
            for (let s = 0; s < S; s++) {
              rotate(q, s * H * D, H, D, half, cos, sin, P + s);
              rotate(k, s * Hkv * D, Hkv, D, half, cos, sin, P + s);
            }
          }
          for (let h = 0; h < Hkv; h++) {
            for (let s = 0; s < S; s++) {
              kJ.set(k.subarray((s * Hkv + h) * D, (s * Hkv + h + 1) * D), (h * cap + P + s) * D);
              vJ.set(v.subarray((s * Hkv + h) * D, (s * Hkv + h + 1) * D), (h * cap + P + s) * D);
            }
          }
          const rows = (c: Float32Array) => {
            const o = new Float32Array(Hkv * T * D);
            for (let h = 0; h < Hkv; h++) o.set(c.subarray(h * cap * D, (h * cap + T) * D), h * T * D);
            return o;
          };
          const want = kernels.attention(q, rows(kJ), rows(vJ), dims);
          // C, with the inputs in the kernels' memory (packed) or as JS arrays (separate)
          const split = splitPackedQkv(x, S, H, Hkv, D);
          const src = packed ? kernels.uploadTensor(x, [1, S, width]) : undefined;
          const qkv = src ? { packed: src.data as Float32Array } : split;
          const out = kernels.groupQueryAttention(qkv, kC, vC, cap, dims, withRotary ? { cos: cosT, sin: sinT, half } : undefined, [1, S, H * D]);
          expect(out.data).toEqual(want);
          expect(kC.data).toEqual(kJ);
          expect(vC.data).toEqual(vJ);
          kernels.freeTensor(out);
          if (src) kernels.freeTensor(src);
          P = T;
        }
        kernels.freeTensor(kC);
        kernels.freeTensor(vC);
      }
    }
    const kC = kernels.allocTensor([1, Hkv, 4, D]);
    expect(() => kernels.groupQueryAttention({ packed: new Float32Array(5 * (H + 2 * Hkv) * D) }, kC, kC, 4, { S: 5, T: 5, H, Hkv, D, pastLen: 0, scale: 1 }, undefined, [1, 5, H * D])).toThrow(/capacity 4/);
    expect(() => kernels.groupQueryAttention({ packed: new Float32Array(3) }, kC, kC, 4, { S: 1, T: 1, H, Hkv, D, pastLen: 0, scale: 1 }, undefined, [1, 1, H * D])).toThrow(/input has 3 values/);
    expect(() => kernels.groupQueryAttention({ packed: new Float32Array((H + 2 * Hkv) * D) }, kC, { dtype: 'float32', dims: [1, Hkv, 4, D], data: new Float32Array(Hkv * 4 * D) }, 4, { S: 1, T: 1, H, Hkv, D, pastLen: 0, scale: 1 }, undefined, [1, 1, H * D])).toThrow(/resident/);
    kernels.freeTensor(kC);
    kernels.freeTensor(cosT);
    kernels.freeTensor(sinT);
  });

  it('one row (two tiles read at once) is bit-identical to the same row among several (one tile at a time)', () => {
    const r = rng(77);
    for (const [K, N, B] of [[256, 46, 32], [256, 200, 128], [128, 2050, 64], [64, 12, 32]] as const) {
      const kb = K / B;
      const w = kernels.uploadNBits({ K, N, bits: 4, blockSize: B, q: new Uint8Array(N * kb * (B / 2)).map(() => Math.floor(r() * 256)), scales: new Float32Array(N * kb).map(() => 0.01 + r() * 0.05) }, 'w');
      try {
        const a = new Float32Array(K).map(() => r() * 2 - 1);
        const b = new Float32Array(K).map(() => r() * 2 - 1);
        const one = kernels.matmulNBits(a, 1, w); // [1, N]: pairs of tiles
        const three = kernels.matmulNBits(Float32Array.of(...a, ...b, ...a), 3, w); // rows 0-1 two rows per tile, row 2 one tile
        expect(one, `K=${K} N=${N}`).toEqual(three.subarray(0, N));
        expect(one, `K=${K} N=${N}`).toEqual(three.subarray(2 * N, 3 * N));
      } finally {
        kernels.releaseNBits(w);
      }
    }
  });

  it('allocTensor gives zeros, clearing reused memory and leaving never-used memory untouched', () => {
    const dirty = kernels.uploadTensor(new Float32Array(4096).fill(7), [4096]); // used memory, then freed
    kernels.freeTensor(dirty);
    const t = kernels.allocTensor([2, 4096]); // over the freed range and beyond the memory used so far
    try {
      expect(t.data.every((x) => x === 0)).toBe(true);
      t.data.fill(3);
    } finally {
      kernels.freeTensor(t);
    }
    const again = kernels.allocTensor([3, 4096]);
    expect(again.data.every((x) => x === 0)).toBe(true);
    kernels.freeTensor(again);
  });

  it('rejects unsupported weights with clear errors', () => {
    const q = new Uint8Array(16);
    expect(() => kernels.uploadNBits({ K: 32, N: 1, bits: 3, blockSize: 32, q, scales: new Float32Array(1) }, 'odd')).toThrow(/'odd'.*bits=3/);
    expect(() => kernels.uploadNBits({ K: 32, N: 1, bits: 4, blockSize: 24, q, scales: new Float32Array(1) }, 'blk')).toThrow(/block_size=24/);
    expect(() => kernels.uploadNBits({ K: 64, N: 1, bits: 4, blockSize: 32, q, scales: new Float32Array(2) }, 'short')).toThrow(/'short'.*B has 16 bytes, expected 32/);
  });
});

describe('staging and sha256 in the kernels memory', () => {
  it('hashes like node:crypto (empty, 1 block, padding edge cases, 1 MB)', async () => {
    const kernels = await WasmKernels.create({ threads: 1 });
    try {
      const r = rng(99);
      for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 120, 1 << 20]) {
        const bytes = new Uint8Array(n).map(() => Math.floor(r() * 256));
        const view = kernels.stage(n);
        view.set(bytes);
        expect(kernels.sha256Hex(view), `length ${n}`).toBe(createHash('sha256').update(bytes).digest('hex'));
        kernels.releaseStaging(view);
      }
    } finally {
      kernels.dispose();
    }
  });
});
