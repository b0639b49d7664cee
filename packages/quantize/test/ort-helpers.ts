/** Tiny one-node ORT graphs over the packed initializers (test helpers). */
import { GraphBuilder } from '@tinyllama/onnx';
import * as ort from 'onnxruntime-node';
import {
  gatherBlockAttributes,
  gatherBlockTensors,
  matMulNBitsAttributes,
  matMulNBitsTensors,
  type AccuracyLevel,
  type GatherBlockWeight,
  type MatMulNBitsWeight,
} from '../src/index.js';

export const MS = 'com.microsoft';

/** A single-threaded CPU session over the graph, serialized to bytes. */
export async function session(g: GraphBuilder): Promise<ort.InferenceSession> {
  return ort.InferenceSession.create(await g.build().toBytes(), { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
}

/** Runs Y = MatMulNBits(A, q) for A [M, K]; `patchB` may replace the B bytes (padding experiments). */
export async function runMatMulNBits(
  q: MatMulNBitsWeight,
  A: Float32Array,
  M: number,
  level: AccuracyLevel,
  patchB?: (B: Uint8Array) => Uint8Array,
): Promise<Float32Array> {
  const g = new GraphBuilder({ name: 'matmulnbits' });
  g.useOpset(MS, 1);
  const a = g.input('A', 'float32', ['M', q.K]);
  const t = matMulNBitsTensors(q);
  const inputs = [a, g.initializer('B', patchB ? { ...t.B, data: patchB(q.B) } : t.B), g.initializer('scales', t.scales)];
  if (t.zeroPoints) inputs.push(g.initializer('zero_points', t.zeroPoints));
  g.node('MatMulNBits', inputs, { domain: MS, attrs: matMulNBitsAttributes(q, level), outputs: ['Y'] });
  g.output('Y', 'float32', ['M', q.N]);
  const s = await session(g);
  try {
    const out = await s.run({ A: new ort.Tensor('float32', A, [M, q.K]) });
    if (out.Y.dims.join() !== `${M},${q.N}`) throw new Error(`unexpected output dims ${out.Y.dims.join(', ')}`);
    return out.Y.data as Float32Array;
  } finally {
    await s.release();
  }
}

/** Runs GatherBlockQuantized(q, ids) for int64 ids of shape [B, S]; returns the data and dims. */
export async function runGatherBlock(q: GatherBlockWeight, ids: readonly number[], dims: readonly [number, number]) {
  const g = new GraphBuilder({ name: 'gather' });
  g.useOpset(MS, 1);
  const input = g.input('input_ids', 'int64', ['B', 'S']);
  const t = gatherBlockTensors(q);
  const inputs = [g.initializer('data', t.data), input, g.initializer('scales', t.scales)];
  if (t.zeroPoints) inputs.push(g.initializer('zero_points', t.zeroPoints));
  g.node('GatherBlockQuantized', inputs, { domain: MS, attrs: gatherBlockAttributes(q), outputs: ['embeds'] });
  g.output('embeds', 'float32', ['B', 'S', q.E]);
  const s = await session(g);
  try {
    const out = await s.run({ input_ids: new ort.Tensor('int64', BigInt64Array.from(ids, BigInt), [...dims]) });
    return { data: out.embeds.data as Float32Array, dims: out.embeds.dims };
  } finally {
    await s.release();
  }
}
