/**
 * The same layouts in onnxruntime-web 1.30 (its wasm CPU backend, run in Node): the contrib kernels
 * are compiled from the same sources, so the browser path accepts the same initializers.
 */
import { GraphBuilder } from '@tinyllama/onnx';
import * as ortWeb from 'onnxruntime-web';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  dequantizeGatherBlock,
  dequantizeMatMulNBits,
  gatherBlockAttributes,
  gatherBlockTensors,
  matMulNBitsAttributes,
  matMulNBitsTensors,
  quantizeGatherBlock,
  quantizeMatMulNBits,
} from '../src/index.js';
import { randomWeights, refMatMulT, relativeError } from './reference.js';

const MS = 'com.microsoft';

async function create(g: GraphBuilder): Promise<ortWeb.InferenceSession> {
  return ortWeb.InferenceSession.create(await g.build().toBytes(), { executionProviders: ['wasm'] });
}

describe('onnxruntime-web 1.30 (wasm backend)', () => {
  beforeAll(() => {
    ortWeb.env.wasm.numThreads = 1;
  });

  for (const bits of [4, 8] as const) {
    for (const symmetric of [true, false]) {
      it(`MatMulNBits bits=${bits} ${symmetric ? 'sym' : 'asym'} K=172: matches float math on the dequantised weight`, async () => {
        const N = 64;
        const K = 172;
        const q = quantizeMatMulNBits(randomWeights(N * K, 41), N, K, { bits, blockSize: 32, symmetric });
        const g = new GraphBuilder({ name: 'web_matmulnbits' });
        g.useOpset(MS, 1);
        const a = g.input('A', 'float32', ['M', K]);
        const t = matMulNBitsTensors(q);
        const inputs = [a, g.initializer('B', t.B), g.initializer('scales', t.scales)];
        if (t.zeroPoints) inputs.push(g.initializer('zero_points', t.zeroPoints));
        g.node('MatMulNBits', inputs, { domain: MS, attrs: matMulNBitsAttributes(q, 4), outputs: ['Y'] });
        g.output('Y', 'float32', ['M', N]);
        const s = await create(g);
        const A = randomWeights(2 * K, 42);
        const out = await s.run({ A: new ortWeb.Tensor('float32', A, [2, K]) });
        await s.release();
        expect(relativeError(out.Y.data as Float32Array, refMatMulT(A, dequantizeMatMulNBits(q), 2, N, K))).toBeLessThan(2e-2);
      });

      it(`GatherBlockQuantized bits=${bits} ${symmetric ? 'sym' : 'asym'} E=200: rows equal the dequantised table`, async () => {
        const V = 40;
        const E = 200;
        const q = quantizeGatherBlock(randomWeights(V * E, 43), V, E, { bits, blockSize: 32, symmetric });
        const g = new GraphBuilder({ name: 'web_gather' });
        g.useOpset(MS, 1);
        const ids = g.input('ids', 'int64', [3]);
        const t = gatherBlockTensors(q);
        const inputs = [g.initializer('data', t.data), ids, g.initializer('scales', t.scales)];
        if (t.zeroPoints) inputs.push(g.initializer('zero_points', t.zeroPoints));
        g.node('GatherBlockQuantized', inputs, { domain: MS, attrs: gatherBlockAttributes(q), outputs: ['Y'] });
        g.output('Y', 'float32', [3, E]);
        const s = await create(g);
        const out = await s.run({ ids: new ortWeb.Tensor('int64', BigInt64Array.of(0n, 39n, 7n), [3]) });
        await s.release();
        const d = dequantizeGatherBlock(q);
        const want = new Float32Array(3 * E);
        [0, 39, 7].forEach((id, r) => want.set(d.subarray(id * E, (id + 1) * E), r * E));
        expect(out.Y.data).toEqual(want);
      });
    }
  }
});
