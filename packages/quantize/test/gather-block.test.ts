import { describe, expect, it } from 'vitest';
import {
  dequantizeGatherBlock,
  gatherBlockAttributes,
  gatherBlockTensors,
  quantizeGatherBlock,
  quantizeMatMulNBits,
  type BlockSize,
} from '../src/index.js';
import { randomWeights, refDequantize, refPack, refQuantize, refZeroPoints } from './reference.js';
import { expectArgumentError } from './expect-error.js';

describe('quantizeGatherBlock', () => {
  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      for (const [V, E, blockSize] of [
        [10, 64, 32],
        [7, 200, 32], // ragged last block along E (8 values), tight rows
        [512, 64, 16], // the trained fixture's table
      ] as const) {
        it(`bits=${bits} ${symmetric ? 'symmetric' : 'asymmetric'} V=${V} E=${E} block=${blockSize}: layout and round trip`, () => {
          const t = randomWeights(V * E, V + E, 0.1);
          const q = quantizeGatherBlock(t, V, E, { bits, blockSize, symmetric });
          const nb = Math.ceil(E / blockSize);
          expect(q.blocksPerRow).toBe(nb);
          expect(q.dims.data).toEqual([V, (E * bits) / 8]);
          expect(q.dims.scales).toEqual([V, nb]);
          const ref = refQuantize(t, V, E, bits, blockSize, symmetric);
          // Tight rows: each row's codes packed in order, no padding between or after blocks.
          expect(Array.from(q.data)).toEqual(ref.codes.flatMap((row) => refPack(row, bits)));
          expect(Array.from(q.scales)).toEqual(ref.scales.flat());
          if (symmetric) expect(q.zeroPoints).toBeUndefined();
          else {
            expect(q.dims.zeroPoints).toEqual([V, Math.ceil((nb * bits) / 8)]);
            expect(Array.from(q.zeroPoints!)).toEqual(refZeroPoints(ref, bits));
          }
          const d = dequantizeGatherBlock(q);
          expect(Array.from(d)).toEqual(Array.from(refDequantize(ref, V, E, blockSize)));
          // Error within one step (symmetric clamps the opposite side), within half a step otherwise.
          let worst = 0; // largest error in units of the bound
          for (let i = 0; i < t.length; i++) {
            const s = Math.abs(q.scales[Math.floor(i / E) * nb + Math.floor((i % E) / blockSize)]);
            const bound = (symmetric ? s : s / 2) * (1 + 1e-5) + Math.abs(t[i]) * 2 ** -23;
            worst = Math.max(worst, Math.abs(d[i] - t[i]) / bound);
          }
          expect(worst).toBeLessThanOrEqual(1);
        });
      }
    }
  }

  it('produces the same bytes as MatMulNBits B when E is a multiple of the block size', () => {
    const t = randomWeights(16 * 128, 9);
    for (const bits of [4, 8] as const) {
      const g = quantizeGatherBlock(t, 16, 128, { bits, blockSize: 32, symmetric: false });
      const m = quantizeMatMulNBits(t, 16, 128, { bits, blockSize: 32, symmetric: false });
      expect(g.data).toEqual(m.B);
      expect(g.scales).toEqual(m.scales);
      expect(g.zeroPoints).toEqual(m.zeroPoints);
    }
  });

  it('exposes host tensors and attributes', () => {
    const q = quantizeGatherBlock(randomWeights(4 * 64, 1), 4, 64, { bits: 4, blockSize: 16, symmetric: false });
    const t = gatherBlockTensors(q);
    expect(t.data).toMatchObject({ dtype: 'uint8', dims: [4, 32] });
    expect(t.scales).toMatchObject({ dtype: 'float32', dims: [4, 4] });
    expect(t.zeroPoints).toMatchObject({ dtype: 'uint8', dims: [4, 2] });
    expect(gatherBlockAttributes(q)).toEqual({
      gather_axis: { type: 'int', value: 0 },
      quantize_axis: { type: 'int', value: 1 },
      block_size: { type: 'int', value: 16 },
      bits: { type: 'int', value: 4 },
    });
  });

  it('rejects bad arguments with E_ARGUMENT naming the value', () => {
    const t = new Float32Array(2 * 64);
    const opts = { bits: 4, blockSize: 32, symmetric: true, name: 'model.embed_tokens.weight' } as const;
    expectArgumentError(() => quantizeGatherBlock(t, 2, 64, { ...opts, bits: 2 as never }), /embed_tokens.*bits must be 4 or 8, got 2/);
    expectArgumentError(() => quantizeGatherBlock(t, 2, 64, { ...opts, blockSize: 24 as BlockSize }), /blockSize .* got 24/);
    expectArgumentError(() => quantizeGatherBlock(new Float32Array(2 * 63), 2, 63, opts), /E must be even .* got 63/);
    expectArgumentError(() => quantizeGatherBlock(t, 3, 64, opts), /table has 128 elements, expected 192 for \[V=3, E=64\]/);
    expectArgumentError(() => quantizeGatherBlock(t, -1, 64, opts), /V must be a positive integer, got -1/);
    const bad = randomWeights(2 * 64, 4);
    bad[70] = NaN;
    expectArgumentError(() => quantizeGatherBlock(bad, 2, 64, opts), /non-finite .* row 1, elements 0\.\.31/);
    const q = quantizeGatherBlock(t, 2, 64, opts);
    expectArgumentError(() => dequantizeGatherBlock({ ...q, data: new Uint8Array(10) }), /data has 10 elements, expected 64/);
    // 8 bits allow an odd E.
    expect(quantizeGatherBlock(new Float32Array(2 * 63), 2, 63, { ...opts, bits: 8 }).dims.data).toEqual([2, 63]);
  });
});
