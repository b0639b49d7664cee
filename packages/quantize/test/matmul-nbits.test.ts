import { describe, expect, it } from 'vitest';
import {
  BLOCK_SIZES,
  dequantizeMatMulNBits,
  matMulNBitsAttributes,
  matMulNBitsTensors,
  quantizeMatMulNBits,
  type BlockSize,
} from '../src/index.js';
import { randomWeights, refDequantize, refMatMulNBitsB, refQuantize, refZeroPoints } from './reference.js';
import { expectArgumentError } from './expect-error.js';

const MODES = [
  { bits: 4, symmetric: true },
  { bits: 4, symmetric: false },
  { bits: 8, symmetric: true },
  { bits: 8, symmetric: false },
] as const;

describe('quantizeMatMulNBits: layout against the plain reference', () => {
  for (const { bits, symmetric } of MODES) {
    for (const [N, K, blockSize] of [
      [8, 128, 32],
      [172, 64, 32], // gate/up of the trained fixture: N = 172
      [64, 172, 32], // down_proj: K = 172, 6 blocks, the last one has 12 values
      [5, 33, 16], // odd K: the last block holds one value
      [3, 300, 256],
    ] as const) {
      it(`bits=${bits} ${symmetric ? 'symmetric' : 'asymmetric'} N=${N} K=${K} block=${blockSize}`, () => {
        const w = randomWeights(N * K, N * 1000 + K, 0.2);
        const q = quantizeMatMulNBits(w, N, K, { bits, blockSize, symmetric });
        const nb = Math.ceil(K / blockSize);
        const blob = (blockSize * bits) / 8;
        expect(q.blocksPerCol).toBe(nb);
        expect(q.blobSize).toBe(blob);
        expect(q.dims.B).toEqual([N, nb, blob]);
        expect(q.dims.scales).toEqual([N, nb]);
        expect(q.B.length).toBe(N * nb * blob);

        const ref = refQuantize(w, N, K, bits, blockSize, symmetric);
        expect(Array.from(q.B)).toEqual(refMatMulNBitsB(ref, K, bits, blockSize));
        expect(Array.from(q.scales)).toEqual(ref.scales.flat());
        if (symmetric) {
          expect(q.zeroPoints).toBeUndefined();
          expect(q.dims.zeroPoints).toBeUndefined();
        } else {
          expect(q.dims.zeroPoints).toEqual([N, Math.ceil((nb * bits) / 8)]);
          expect(Array.from(q.zeroPoints!)).toEqual(refZeroPoints(ref, bits));
        }
        expect(Array.from(dequantizeMatMulNBits(q))).toEqual(Array.from(refDequantize(ref, N, K, blockSize)));
      });
    }
  }

  it('packs 4-bit codes low nibble first (hand-checked bytes)', () => {
    // One row, one block of 16: values -8..7 times 0.5 -> symmetric scale -(-4)/8 = 0.5, codes 0..15.
    const w = Float32Array.from({ length: 16 }, (_, i) => (i - 8) * 0.5);
    const q = quantizeMatMulNBits(w, 1, 16, { bits: 4, blockSize: 16, symmetric: true });
    expect(q.scales[0]).toBe(0.5);
    expect(Array.from(q.B)).toEqual([0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe]);
  });

  it('pads the ragged last blob of K = 172 with the zero point (dequantises to 0)', () => {
    const w = randomWeights(64 * 172, 5, 0.5);
    for (const symmetric of [true, false]) {
      const q = quantizeMatMulNBits(w, 64, 172, { bits: 4, blockSize: 32, symmetric });
      const zps = refQuantize(w, 64, 172, 4, 32, symmetric).zps;
      for (let n = 0; n < 64; n++) {
        const tail = q.B.subarray(n * 6 * 16 + 5 * 16 + 6, (n + 1) * 6 * 16); // 12 values = 6 bytes used
        expect(tail.length).toBe(10);
        const zp = zps[n][5];
        for (const byte of tail) expect(byte).toBe(zp | (zp << 4));
      }
    }
  });
});

describe('quantizeMatMulNBits: round trips', () => {
  for (const { bits, symmetric } of MODES) {
    it(`error <= scale/2 per element (bits=${bits}, ${symmetric ? 'symmetric' : 'asymmetric'}, K = 172)`, () => {
      const N = 32;
      const K = 172;
      const w = randomWeights(N * K, 77, 3);
      const q = quantizeMatMulNBits(w, N, K, { bits, blockSize: 32, symmetric });
      const d = dequantizeMatMulNBits(q);
      const mid = 2 ** (bits - 1);
      let clamped = 0;
      let worst = 0; // largest error in units of its bound
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) {
          const scale = q.scales[n * q.blocksPerCol + Math.floor(k / 32)];
          const s = Math.abs(scale);
          const x = w[n * K + k];
          const err = Math.abs(d[n * K + k] - x);
          // Symmetric: the largest magnitude maps to code 0 = -mid steps; opposite-sign values beyond
          // mid - 0.5 steps clamp to the top code, mid - 1 steps: an error of at most one step.
          const beyond = symmetric && x / scale > mid - 0.5;
          if (beyond) clamped++;
          worst = Math.max(worst, err / ((beyond ? s : s / 2) * (1 + 1e-5) + Math.abs(x) * 2 ** -23));
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
      if (!symmetric) expect(clamped).toBe(0);
      else expect(clamped).toBeGreaterThan(0); // the random data does exercise the clamp
    });

    it(`is exact for values already on the grid (bits=${bits}, ${symmetric ? 'symmetric' : 'asymmetric'})`, () => {
      const N = 6;
      const K = 80; // blocks of 16: five per row
      const qmax = 2 ** bits - 1;
      const codes = randomWeights(N * K, 3).map((r) => Math.floor(((r + 1) / 2) * (qmax + 1)));
      const w = new Float32Array(N * K);
      for (let n = 0; n < N; n++) {
        for (let b = 0; b < 5; b++) {
          const scale = (1 + ((n + b) % 8) / 8) * 2 ** -(3 + b); // few mantissa bits: 15 * scale is exact
          const zp = symmetric ? 2 ** (bits - 1) : (n * 7 + b * 3) % (qmax + 1);
          const base = n * K + b * 16;
          codes[base] = 0; // each block spans the full code range, so the quantiser finds the same grid
          codes[base + 1] = qmax;
          for (let j = 0; j < 16; j++) w[base + j] = (codes[base + j] - zp) * scale;
        }
      }
      const q = quantizeMatMulNBits(w, N, K, { bits, blockSize: 16, symmetric });
      expect(Array.from(dequantizeMatMulNBits(q))).toEqual(Array.from(w));
    });
  }

  it('quantises an all-zero block to scale 0 and zero-point codes, and tiny (subnormal-scale) blocks to 0', () => {
    const w = new Float32Array(64);
    w.fill(1e-40, 32, 64); // scale would be subnormal: treated as an all-zero block
    for (const symmetric of [true, false]) {
      const q = quantizeMatMulNBits(w, 1, 64, { bits: 4, blockSize: 32, symmetric });
      expect(Array.from(q.scales)).toEqual([0, 0]);
      expect(Array.from(dequantizeMatMulNBits(q))).toEqual(new Array(64).fill(0));
      expect(q.B.every((b) => b === (symmetric ? 0x88 : 0))).toBe(true);
    }
  });

  it('symmetric: picks the extreme of largest magnitude with its sign, the negative one on a tie (as MLAS)', () => {
    const w = new Float32Array(48);
    w.set([0.5, -2, 1.5, -0], 0); // block 0: -2 is the largest magnitude -> scale = 2/8
    w.set([3, -1, 0.25], 16); // block 1: +3 -> scale = -3/8 (negative)
    w.set([4, -4, 1], 32); // block 2: tie -> the negative one -> scale = 4/8; +4 clamps to 7 steps
    const q = quantizeMatMulNBits(w, 1, 48, { bits: 4, blockSize: 16, symmetric: true });
    expect(Array.from(q.scales)).toEqual([0.25, -0.375, 0.5]);
    const d = dequantizeMatMulNBits(q);
    expect([d[0], d[1], d[2], d[3]]).toEqual([0.5, -2, 1.5, 0]);
    expect([d[16], d[17]]).toEqual([3, Math.fround(-0.375 * 3)]);
    expect([d[32], d[33], d[34]]).toEqual([3.5, -4, 1]);
  });

  it('reads a Float32Array view at a byte offset like a copy', () => {
    const backing = randomWeights(16 + 4 * 96, 17);
    const view = backing.subarray(16);
    for (const symmetric of [true, false]) {
      const a = quantizeMatMulNBits(view, 4, 96, { bits: 4, blockSize: 32, symmetric });
      const b = quantizeMatMulNBits(view.slice(), 4, 96, { bits: 4, blockSize: 32, symmetric });
      expect(a).toEqual(b);
    }
  });

  it('accepts every block size', () => {
    const w = randomWeights(4 * 512, 11);
    for (const blockSize of BLOCK_SIZES) {
      const q = quantizeMatMulNBits(w, 4, 512, { bits: 4, blockSize, symmetric: true });
      expect(q.dims.B).toEqual([4, 512 / blockSize, blockSize / 2]);
    }
  });
});

describe('quantizeMatMulNBits: helpers and errors', () => {
  it('exposes the initializers as host tensors and the node attributes', () => {
    const w = randomWeights(8 * 64, 1);
    const q = quantizeMatMulNBits(w, 8, 64, { bits: 4, blockSize: 32, symmetric: false });
    const t = matMulNBitsTensors(q);
    expect(t.B).toMatchObject({ dtype: 'uint8', dims: [8, 2, 16] });
    expect(t.scales).toMatchObject({ dtype: 'float32', dims: [8, 2] });
    expect(t.zeroPoints).toMatchObject({ dtype: 'uint8', dims: [8, 1] });
    expect(matMulNBitsTensors(quantizeMatMulNBits(w, 8, 64, { bits: 8, blockSize: 32, symmetric: true })).zeroPoints).toBeUndefined();
    expect(matMulNBitsAttributes(q, 0)).toEqual({
      K: { type: 'int', value: 64 },
      N: { type: 'int', value: 8 },
      bits: { type: 'int', value: 4 },
      block_size: { type: 'int', value: 32 },
      accuracy_level: { type: 'int', value: 0 },
    });
    expect(matMulNBitsAttributes(q).accuracy_level).toEqual({ type: 'int', value: 4 });
    expectArgumentError(() => matMulNBitsAttributes(q, 5 as never), /accuracyLevel must be .* got 5/);
  });

  it('rejects bad bits, block sizes, dims and lengths with E_ARGUMENT naming the value', () => {
    const w = new Float32Array(64);
    const opts = { bits: 4, blockSize: 32, symmetric: true, name: 'layers.0.mlp.down_proj.weight' } as const;
    expectArgumentError(() => quantizeMatMulNBits(w, 2, 32, { ...opts, bits: 3 as never }), /down_proj.*bits must be 4 or 8, got 3/);
    expectArgumentError(() => quantizeMatMulNBits(w, 2, 32, { ...opts, blockSize: 48 as BlockSize }), /blockSize must be one of .*got 48/);
    expectArgumentError(() => quantizeMatMulNBits(w, 2, 32, { ...opts, blockSize: 8 as BlockSize }), /got 8/);
    expectArgumentError(() => quantizeMatMulNBits(w, 2, 32, { ...opts, blockSize: 512 as BlockSize }), /got 512/);
    expectArgumentError(() => quantizeMatMulNBits(w, 0, 32, opts), /N must be a positive integer, got 0/);
    expectArgumentError(() => quantizeMatMulNBits(w, 2, 31.5, opts), /K must be a positive integer, got 31.5/);
    expectArgumentError(() => quantizeMatMulNBits(w, 3, 32, opts), /weight has 64 elements, expected 96 for \[N=3, K=32\]/);
    expectArgumentError(() => quantizeMatMulNBits(new Float64Array(64) as never, 2, 32, opts), /must be a Float32Array, got Float64Array/);
    const q = quantizeMatMulNBits(w, 2, 32, opts);
    expectArgumentError(() => dequantizeMatMulNBits({ ...q, scales: new Float32Array(3) }), /scales has 3 elements, expected 2/);
    expectArgumentError(() => dequantizeMatMulNBits({ ...q, B: q.B.subarray(1) }), /B has 31 elements, expected 32/);
  });

  it('rejects NaN and infinite weights, naming the row and block', () => {
    for (const bad of [NaN, Infinity, -Infinity]) {
      const w = randomWeights(4 * 96, 2);
      w[2 * 96 + 40] = bad;
      expectArgumentError(
        () => quantizeMatMulNBits(w, 4, 96, { bits: 4, blockSize: 32, symmetric: false, name: 'q_proj' }),
        /q_proj.*non-finite weight.*row 2, elements 32\.\.63/,
      );
      expectArgumentError(() => quantizeMatMulNBits(w, 4, 96, { bits: 8, blockSize: 32, symmetric: true }), /row 2/);
    }
  });
});

describe('quantizeMatMulNBits: searched scales', () => {
  /** Sum of squared errors per block of a dequantised weight. */
  function blockErrors(w: Float32Array, q: ReturnType<typeof quantizeMatMulNBits>): number[] {
    const d = dequantizeMatMulNBits(q);
    const { N, K, blockSize } = q;
    const nb = Math.ceil(K / blockSize);
    const out = new Array<number>(N * nb).fill(0);
    for (let r = 0; r < N; r++) for (let k = 0; k < K; k++) out[r * nb + Math.floor(k / blockSize)] += (w[r * K + k] - d[r * K + k]) ** 2;
    return out;
  }

  it('never does worse than round to nearest on any block, and does better overall (4 and 8 bits, ragged K)', () => {
    // heavy-tailed weights (a few outliers per block), where clipping pays
    const base = randomWeights(24 * 172, 11);
    const w = base.map((x, i) => (i % 37 === 0 ? x * 6 : x));
    for (const bits of [4, 8] as const) {
      for (const blockSize of [16, 32, 64] as const) {
        const rtn = quantizeMatMulNBits(w, 24, 172, { bits, blockSize, symmetric: true });
        const searched = quantizeMatMulNBits(w, 24, 172, { bits, blockSize, symmetric: true, scaleSearch: true });
        expect(searched.B.length).toBe(rtn.B.length);
        expect(searched.zeroPoints).toBeUndefined();
        const a = blockErrors(w, rtn);
        const b = blockErrors(w, searched);
        for (let i = 0; i < a.length; i++) expect(b[i], `block ${i}`).toBeLessThanOrEqual(a[i] * (1 + 1e-6) + 1e-12);
        expect(b.reduce((x, y) => x + y, 0), `${bits} bits, block ${blockSize}`).toBeLessThan(0.97 * a.reduce((x, y) => x + y, 0));
        // padding of the ragged last blob holds the zero point, like round to nearest
        const blob = (blockSize * bits) / 8;
        const nb = Math.ceil(172 / blockSize);
        const used = ((172 - (nb - 1) * blockSize) * bits) / 8;
        const zp = bits === 4 ? 0x88 : 128;
        for (let r = 0; r < 24; r++) {
          const last = (r * nb + nb - 1) * blob;
          for (let j = Math.ceil(used); j < blob; j++) expect(searched.B[last + j]).toBe(zp);
        }
      }
    }
  });

  it('keeps an all-zero block at scale 0 and refuses asymmetric quantisation', () => {
    const w = new Float32Array(2 * 32);
    w.fill(0.5, 32);
    const q = quantizeMatMulNBits(w, 2, 32, { bits: 4, blockSize: 32, symmetric: true, scaleSearch: true });
    expect(q.scales[0]).toBe(0);
    expect([...q.B.subarray(0, 16)].every((b) => b === 0x88)).toBe(true);
    expect(Array.from(dequantizeMatMulNBits(q).subarray(32))).toEqual(new Array(32).fill(0.5));
    expect(() => quantizeMatMulNBits(w, 2, 32, { bits: 4, blockSize: 32, symmetric: false, scaleSearch: true })).toThrow(
      expect.objectContaining({ code: 'E_UNSUPPORTED' }),
    );
  });
});
