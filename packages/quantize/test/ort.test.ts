/**
 * ORT agreement: tiny graphs holding the packed initializers, run by onnxruntime-node 1.30 (CPU), must
 * match float math on the dequantised weights. This is what pins the layouts to the real kernels.
 */
import { GraphBuilder } from '@tinyllama/onnx';
import * as ort from 'onnxruntime-node';
import { describe, expect, it } from 'vitest';
import {
  dequantizeGatherBlock,
  dequantizeMatMulNBits,
  dequantizePerChannelInt8,
  perChannelInt8Tensors,
  quantizeGatherBlock,
  quantizeMatMulNBits,
  quantizePerChannelInt8,
  type BlockSize,
} from '../src/index.js';
import { MS, runGatherBlock, runMatMulNBits, session } from './ort-helpers.js';
import { randomWeights, refMatMulT, relativeError } from './reference.js';

describe('MatMulNBits in onnxruntime-node 1.30 (CPU)', () => {
  const cases: { bits: 4 | 8; symmetric: boolean; N: number; K: number; blockSize: BlockSize }[] = [];
  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      cases.push({ bits, symmetric, N: 48, K: 256, blockSize: 32 });
      cases.push({ bits, symmetric, N: 64, K: 172, blockSize: 32 }); // ragged: the fixture's down_proj
      cases.push({ bits, symmetric, N: 172, K: 64, blockSize: 32 }); // the fixture's gate/up
      cases.push({ bits, symmetric, N: 9, K: 33, blockSize: 16 }); // odd K: one value in the last block
    }
  }
  for (const blockSize of [16, 64, 128, 256] as const) cases.push({ bits: 4, symmetric: false, N: 24, K: 512, blockSize });
  cases.push({ bits: 8, symmetric: true, N: 24, K: 384, blockSize: 128 });

  for (const c of cases) {
    const label = `bits=${c.bits} ${c.symmetric ? 'sym' : 'asym'} N=${c.N} K=${c.K} block=${c.blockSize}`;
    it(`${label}: accuracy_level 0 matches float math on the dequantised weight (1e-4), level 4 within 2e-2`, async () => {
      const M = 3;
      const w = randomWeights(c.N * c.K, c.N * 31 + c.K, 0.5);
      const A = randomWeights(M * c.K, c.K * 7 + 1);
      const q = quantizeMatMulNBits(w, c.N, c.K, c);
      const want = refMatMulT(A, dequantizeMatMulNBits(q), M, c.N, c.K);
      expect(relativeError(await runMatMulNBits(q, A, M, 0), want)).toBeLessThan(1e-4);
      // Level 4 quantises A to int8 per block inside the kernel: measured 2.8e-3 .. 6.2e-3 here.
      expect(relativeError(await runMatMulNBits(q, A, M, 4), want)).toBeLessThan(2e-2);
    });
  }

  it('never reads the padding of a ragged last block (K = 172: any padding bytes give identical output)', async () => {
    const N = 16;
    const K = 172;
    const A = randomWeights(2 * K, 3);
    for (const bits of [4, 8] as const) {
      const q = quantizeMatMulNBits(randomWeights(N * K, 8), N, K, { bits, blockSize: 32, symmetric: false });
      const used = Math.ceil(((K % 32) * bits) / 8); // bytes of the last blob that hold real codes
      const garbage = (B: Uint8Array) => {
        const copy = B.slice();
        for (let n = 0; n < N; n++) copy.fill(0xa5, n * q.blocksPerCol * q.blobSize + 5 * q.blobSize + used, (n + 1) * q.blocksPerCol * q.blobSize);
        return copy;
      };
      for (const level of [0, 4] as const) {
        expect(await runMatMulNBits(q, A, 2, level, garbage)).toEqual(await runMatMulNBits(q, A, 2, level));
      }
    }
  });

  it('matches a second, independent orientation check: Y = A @ W^T with W the Hugging Face [out, in] weight', async () => {
    // W = identity-like on the grid: every weight row n has a single 1.0 at column n (exact in any mode).
    const N = 8;
    const K = 32;
    const w = new Float32Array(N * K);
    for (let n = 0; n < N; n++) w[n * K + n] = 1;
    const A = Float32Array.from({ length: K }, (_, k) => k + 1);
    for (const bits of [4, 8] as const) {
      const q = quantizeMatMulNBits(w, N, K, { bits, blockSize: 32, symmetric: true });
      expect(Array.from(await runMatMulNBits(q, A, 1, 0))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    }
  });
});

describe('GatherBlockQuantized in onnxruntime-node 1.30 (CPU, uint8 container)', () => {
  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      for (const [V, E, blockSize] of [
        [50, 256, 32],
        [37, 200, 32], // ragged last block along E
        [512, 64, 16],
      ] as const) {
        it(`bits=${bits} ${symmetric ? 'sym' : 'asym'} V=${V} E=${E} block=${blockSize}: gathered rows equal the dequantised table exactly`, async () => {
          const table = randomWeights(V * E, V * 3 + E, 0.05);
          const q = quantizeGatherBlock(table, V, E, { bits, blockSize, symmetric });
          const tokens = [0, V - 1, 5, 5, 1, V - 2];
          const out = await runGatherBlock(q, tokens, [2, 3]);
          expect(out.dims).toEqual([2, 3, E]);
          const deq = dequantizeGatherBlock(q);
          const want = new Float32Array(tokens.length * E);
          tokens.forEach((id, r) => want.set(deq.subarray(id * E, (id + 1) * E), r * E));
          expect(out.data).toEqual(want);
        });
      }
    }
  }
});

describe('DynamicQuantizeMatMul in onnxruntime-node 1.30 (CPU, per-channel int8)', () => {
  for (const symmetric of [true, false]) {
    for (const reduceRange of [false, true]) {
      it(`${symmetric ? 'sym' : 'asym'}${reduceRange ? ' reduceRange' : ''}: matches float math on the dequantised weight within A's uint8 quantisation error`, async () => {
        const M = 4;
        const N = 172;
        const K = 64;
        const w = randomWeights(N * K, 12, 0.4);
        const A = randomWeights(M * K, 13);
        const q = quantizePerChannelInt8(w, N, K, { symmetric, reduceRange });
        const g = new GraphBuilder({ name: 'dqmm' });
        g.useOpset(MS, 1);
        const a = g.input('A', 'float32', ['M', K]);
        const t = perChannelInt8Tensors(q);
        const inputs = [a, g.initializer('B', t.B), g.initializer('b_scale', t.scales)];
        if (t.zeroPoints) inputs.push(g.initializer('b_zero_point', t.zeroPoints));
        g.node('DynamicQuantizeMatMul', inputs, { domain: MS, outputs: ['Y'] });
        g.output('Y', 'float32', ['M', N]);
        const s = await session(g);
        const out = await s.run({ A: new ort.Tensor('float32', A, [M, K]) });
        await s.release();
        const want = refMatMulT(A, dequantizePerChannelInt8(q), M, N, K);
        // A is quantised to uint8 over its whole range (step 2/255): ~0.4% of the output scale.
        expect(relativeError(out.Y.data as Float32Array, want)).toBeLessThan(1e-2);
      });
    }
  }
});
