/**
 * The trained stories260K checkpoint (shared fixture): every Linear weight of the model quantised and
 * run through ORT's MatMulNBits, and the embedding table through GatherBlockQuantized. Its intermediate
 * size 172 gives gate/up N = 172 and down_proj K = 172 (a ragged last block of 12 with block 32).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Checkpoint } from '@tinyllama/core';
import { openCheckpoint } from '@tinyllama/loader-pytorch';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dequantizeGatherBlock, dequantizeMatMulNBits, quantizeGatherBlock, quantizeMatMulNBits } from '../src/index.js';
import { runGatherBlock, runMatMulNBits } from './ort-helpers.js';
import { randomWeights, refMatMulT, relativeError } from './reference.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const DIR = path.join(path.resolve(ROOT, '../shared/fixtures'), 'stories260k-hf');
const present = existsSync(path.join(DIR, 'pytorch_model.bin'));

const PROJECTIONS = ['self_attn.q_proj', 'self_attn.k_proj', 'self_attn.v_proj', 'self_attn.o_proj', 'mlp.gate_proj', 'mlp.up_proj', 'mlp.down_proj'];

/** sqrt(sum (a - b)^2 / sum b^2). */
function relativeRms(a: Float32Array, b: Float32Array): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] ** 2;
  }
  return Math.sqrt(num / den);
}

describe.skipIf(!present)(`trained stories260K weights (skipped: ${DIR} absent)`, () => {
  let checkpoint: Checkpoint;
  beforeAll(async () => {
    checkpoint = await openCheckpoint(DIR);
  });
  afterAll(async () => {
    await checkpoint?.close();
  });

  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      it(`every Linear weight, bits=${bits} ${symmetric ? 'sym' : 'asym'} block 32: ORT MatMulNBits matches the dequantised weight`, async () => {
        for (let layer = 0; layer < 5; layer++) {
          for (const proj of PROJECTIONS) {
            const name = `model.layers.${layer}.${proj}.weight`;
            const { info, data } = await checkpoint.getFloat32(name);
            const [N, K] = info.shape;
            const q = quantizeMatMulNBits(data, N, K, { bits, blockSize: 32, symmetric, name });
            const deq = dequantizeMatMulNBits(q);
            // Quantisation error of trained weights (relative RMS): ~8-10% at 4 bits, ~0.5% at 8 bits.
            expect(relativeRms(deq, data)).toBeLessThan(bits === 4 ? 0.15 : 0.01);
            const A = randomWeights(2 * K, layer * 10 + K);
            const want = refMatMulT(A, deq, 2, N, K);
            expect(relativeError(await runMatMulNBits(q, A, 2, 0), want), name).toBeLessThan(1e-4);
            expect(relativeError(await runMatMulNBits(q, A, 2, 4), want), name).toBeLessThan(2e-2);
          }
        }
      });
    }
  }

  it('the embedding table through GatherBlockQuantized (4 and 8 bits)', async () => {
    const { info, data } = await checkpoint.getFloat32('model.embed_tokens.weight');
    const [V, E] = info.shape;
    for (const bits of [4, 8] as const) {
      const q = quantizeGatherBlock(data, V, E, { bits, blockSize: 32, symmetric: false, name: 'model.embed_tokens.weight' });
      const deq = dequantizeGatherBlock(q);
      expect(relativeRms(deq, data)).toBeLessThan(bits === 4 ? 0.15 : 0.01);
      const ids = [1, 2, 100, V - 1];
      const out = await runGatherBlock(q, ids, [1, 4]);
      expect(out.data).toEqual(Float32Array.from(ids.flatMap((id) => Array.from(deq.subarray(id * E, (id + 1) * E)))));
    }
  });
});
