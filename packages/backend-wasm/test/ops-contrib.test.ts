/**
 * Reference kernels of the com.microsoft contrib operators (SkipSimplifiedLayerNormalization,
 * MatMulNBits, GatherBlockQuantized, GroupQueryAttention) checked against onnxruntime-node.
 */
import { describe, expect, it } from 'vitest';
import { attr, isTinyLlamaError, type AttrValue, type HostTensor } from '@tinyllama/core';
import { gatherBlockTensors, matMulNBitsTensors, quantizeGatherBlock, quantizeMatMulNBits, type BlockSize, type QuantBits } from '@tinyllama/quantize';
import { REFERENCE_KERNELS, opKey } from '../src/ops/index.js';

import { type In, both, expectClose, check } from './support/ort-harness.js';
import { f32, i64 } from './support/tensors.js';

// ---- tests ----

const MS = 'com.microsoft';

describe('SkipSimplifiedLayerNormalization', () => {
  it('matches onnxruntime with and without bias, 3-D and 2-D skip', async () => {
    const attrs = { epsilon: attr.float(1e-6) };
    const op = 'SkipSimplifiedLayerNormalization';
    // Outputs 1 (mean) and 2 (inv_std_var) are unused by onnxruntime's simplified kernel: compare 0 and 3.
    for (const [skipDims, withBias] of [
      [[2, 3, 16], false],
      [[2, 3, 16], true],
      [[3, 16], false],
    ] as const) {
      const inputs = [f32([2, 3, 16]), f32(skipDims), { init: f32([16]) }, withBias ? { init: f32([16]) } : undefined];
      const { ours, ort } = await both({ op, domain: MS, inputs: withBias ? inputs : inputs.slice(0, 3), attrs, outputs: [0, 3] });
      expectClose(ours[0], ort[0], 'output');
      expectClose(ours[3], ort[3], 'input_skip_bias_sum');
    }
  });
});

describe('MatMulNBits', () => {
  it('4/8-bit, symmetric and with zero points, blocks 16/32, ragged K', async () => {
    const N = 8;
    for (const bits of [4, 8] as QuantBits[]) {
      for (const symmetric of [true, false]) {
        for (const [K, blockSize] of [
          [32, 16],
          [64, 32],
          [40, 16],
          [40, 32],
        ] as [number, BlockSize][]) {
          const w = f32([N, K]).data as Float32Array;
          const q = quantizeMatMulNBits(w, N, K, { bits, blockSize, symmetric });
          const t = matMulNBitsTensors(q);
          const attrs = { K: attr.int(K), N: attr.int(N), bits: attr.int(bits), block_size: attr.int(blockSize), accuracy_level: attr.int(0) };
          const inputs: In[] = [f32([2, 3, K]), { init: t.B }, { init: t.scales }];
          if (t.zeroPoints) inputs.push({ init: t.zeroPoints });
          // Dot products over K summed in another order than MLAS: allow a few ulps of the terms (|a w| <= 4).
          await check({ op: 'MatMulNBits', domain: MS, inputs, attrs }, undefined, { rtol: 1e-5, atol: 4e-6 });
        }
      }
    }
  });
  it('accepts flat scales, a 2-D A and a bias', async () => {
    const [N, K] = [6, 32];
    const q = quantizeMatMulNBits(f32([N, K]).data as Float32Array, N, K, { bits: 4, blockSize: 16, symmetric: false });
    const t = matMulNBitsTensors(q);
    const flat: HostTensor = { dtype: 'float32', dims: [N * 2], data: t.scales.data };
    const attrs = { K: attr.int(K), N: attr.int(N), bits: attr.int(4), block_size: attr.int(16), accuracy_level: attr.int(0) };
    await check({ op: 'MatMulNBits', domain: MS, inputs: [f32([5, K]), { init: t.B }, { init: flat }, { init: t.zeroPoints as HostTensor }, undefined, { init: f32([N]) }], attrs });
  });
});

describe('quantized op errors', () => {
  it('MatMulNBits: unsupported bits, wrong B shape', () => {
    const k = REFERENCE_KERNELS[opKey(MS, 'MatMulNBits')];
    const q = quantizeMatMulNBits(f32([4, 32]).data as Float32Array, 4, 32, { bits: 4, blockSize: 16, symmetric: true });
    const t = matMulNBitsTensors(q);
    const attrs = { K: attr.int(32), N: attr.int(4), bits: attr.int(4), block_size: attr.int(16) };
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e;
      }
      return undefined;
    };
    const e1 = err(() => k([f32([1, 32]), t.B, t.scales], { ...attrs, bits: attr.int(3) }));
    expect(isTinyLlamaError(e1, 'E_UNSUPPORTED') && /MatMulNBits: attribute bits=3/.test((e1 as Error).message)).toBe(true);
    const e2 = err(() => k([f32([1, 32]), t.B, t.scales], { ...attrs, N: attr.int(5) }));
    expect(isTinyLlamaError(e2, 'E_SHAPE') && /MatMulNBits: B/.test((e2 as Error).message)).toBe(true);
    const e3 = err(() => k([f32([1, 30]), t.B, t.scales], attrs));
    expect(isTinyLlamaError(e3, 'E_SHAPE')).toBe(true);
  });
});

describe('GatherBlockQuantized', () => {
  it('4/8-bit, symmetric and with zero points, blocks 16/32', async () => {
    for (const bits of [4, 8] as QuantBits[]) {
      for (const symmetric of [true, false]) {
        for (const [V, E, blockSize] of [
          [10, 64, 16],
          [7, 64, 32],
          [5, 96, 32],
          [6, 40, 16], // ragged last block (tight rows)
        ] as [number, number, BlockSize][]) {
          const q = quantizeGatherBlock(f32([V, E]).data as Float32Array, V, E, { bits, blockSize, symmetric });
          const t = gatherBlockTensors(q);
          const attrs = { gather_axis: attr.int(0), quantize_axis: attr.int(1), block_size: attr.int(blockSize), bits: attr.int(bits) };
          const inputs: In[] = [{ init: t.data }, i64([2, 3], [0, V - 1, 3, 1, 1, 2]), { init: t.scales }];
          if (t.zeroPoints) inputs.push({ init: t.zeroPoints });
          await check({ op: 'GatherBlockQuantized', domain: MS, inputs, attrs });
        }
      }
    }
  });
  it('rejects unsupported axes', () => {
    const q = quantizeGatherBlock(f32([4, 32]).data as Float32Array, 4, 32, { bits: 4, blockSize: 16, symmetric: true });
    const t = gatherBlockTensors(q);
    const k = REFERENCE_KERNELS[opKey(MS, 'GatherBlockQuantized')];
    const e = (() => {
      try {
        k([t.data, i64([1], [0]), t.scales], { gather_axis: attr.int(1), bits: attr.int(4), block_size: attr.int(16) });
      } catch (err) {
        return err;
      }
    })();
    expect(isTinyLlamaError(e, 'E_UNSUPPORTED') && /gather_axis/.test((e as Error).message)).toBe(true);
  });
});

describe('GroupQueryAttention', () => {
  const [H, Hkv, D, maxPos] = [4, 2, 16, 32];
  const cosSin = () => {
    const cos = new Float32Array(maxPos * (D / 2));
    const sin = new Float32Array(maxPos * (D / 2));
    for (let p = 0; p < maxPos; p++) {
      for (let i = 0; i < D / 2; i++) {
        const a = p / 10000 ** ((2 * i) / D);
        cos[p * (D / 2) + i] = Math.cos(a);
        sin[p * (D / 2) + i] = Math.sin(a);
      }
    }
    return [
      { dtype: 'float32', dims: [maxPos, D / 2], data: cos },
      { dtype: 'float32', dims: [maxPos, D / 2], data: sin },
    ] as HostTensor[];
  };
  const i32 = (dims: number[], v: number[]): HostTensor => ({ dtype: 'int32', dims, data: Int32Array.from(v) });

  /** One GQA call (past = the given cache, else random `[B, Hkv, P, D]`); returns our outputs. */
  async function step(
    B: number,
    S: number,
    P: number,
    packed: boolean,
    rotary: boolean,
    seqlens?: number[],
    past?: HostTensor[],
    extra: Record<string, AttrValue> = {},
  ): Promise<HostTensor[]> {
    const T = P + S;
    const attrs = {
      ...extra,
      num_heads: attr.int(H),
      kv_num_heads: attr.int(Hkv),
      scale: attr.float(1 / Math.sqrt(D)),
      do_rotary: attr.int(rotary ? 1 : 0),
      rotary_interleaved: attr.int(0),
    };
    const [cos, sin] = cosSin();
    const inputs: In[] = packed
      ? [f32([B, S, (H + 2 * Hkv) * D]), undefined, undefined]
      : [f32([B, S, H * D]), f32([B, S, Hkv * D]), f32([B, S, Hkv * D])];
    inputs.push(past?.[0] ?? f32([B, Hkv, P, D]), past?.[1] ?? f32([B, Hkv, P, D]), i32([B], seqlens ?? Array(B).fill(T - 1)), i32([], [T]));
    if (rotary) inputs.push({ init: cos }, { init: sin });
    // Softmax-weighted sums of values in [-2, 2]: allow a few ulps of the terms.
    return check({ op: 'GroupQueryAttention', domain: MS, inputs, attrs }, undefined, { rtol: 1e-5, atol: 2e-6 });
  }

  for (const packed of [false, true]) {
    for (const rotary of [false, true]) {
      it(`prompt then decode (${packed ? 'packed' : 'separate'} QKV, do_rotary=${rotary ? 1 : 0})`, async () => {
        const [, presentK, presentV] = await step(1, 5, 0, packed, rotary); // prompt, empty past
        const [, k2, v2] = await step(1, 1, 5, packed, rotary, undefined, [presentK, presentV]); // decode on the prompt's cache
        await step(1, 2, 6, packed, rotary, undefined, [k2, v2]); // two more tokens at once
        await step(2, 1, 7, packed, rotary); // batch of two
        await step(2, 3, 0, packed, rotary);
      });
    }
  }

  it('right-padded batches (per-batch seqlens_k)', async () => {
    for (const rotary of [false, true]) {
      await step(2, 1, 6, false, rotary, [6, 4]); // decode: batch 1 has 4 valid past tokens
      await step(2, 4, 0, true, rotary, [3, 1]); // prompt: batch 1 has 2 valid tokens
    }
  });

  it('softcap', async () => {
    await step(1, 4, 3, false, true, undefined, undefined, { softcap: attr.float(0.5) });
  });

  it('rejects local_window_size', () => {
    const k = REFERENCE_KERNELS[opKey(MS, 'GroupQueryAttention')];
    const args = [f32([1, 1, H * D]), f32([1, 1, Hkv * D]), f32([1, 1, Hkv * D]), undefined, undefined, i32([1], [0]), i32([], [1])];
    expect(() => k(args, { num_heads: attr.int(H), kv_num_heads: attr.int(Hkv), local_window_size: attr.int(4) })).toThrow(/local_window_size/);
    expect(() => k(args, { num_heads: attr.int(H), kv_num_heads: attr.int(3) })).toThrow(/GroupQueryAttention: num_heads/);
  });

  it('rejects rotary_interleaved=1', () => {
    const k = REFERENCE_KERNELS[opKey(MS, 'GroupQueryAttention')];
    expect(() =>
      k([f32([1, 1, H * D]), f32([1, 1, Hkv * D]), f32([1, 1, Hkv * D]), undefined, undefined, i32([1], [0]), i32([], [1])], {
        num_heads: attr.int(H),
        kv_num_heads: attr.int(Hkv),
        rotary_interleaved: attr.int(1),
      }),
    ).toThrow(/GroupQueryAttention: attribute rotary_interleaved/);
  });
});
