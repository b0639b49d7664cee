import type { HostTensor } from '@tinyllama/core';
import type { NodeDef } from '@tinyllama/onnx';
import type { WasmKernels } from './kernels.js';
import { rotate, splitPackedQkv } from './ops/attention.js';
import type { RunContext } from './executor.js';
import type { OpKernel } from './ops/types.js';
import { floatAttr, intAttr } from './ops/util.js';

/**
 * `com.microsoft.GroupQueryAttention` with the attention itself on the wasm kernels, for the case the
 * decoder runs: batch 1, no padding (`seqlens_k + 1 == total_sequence_length`), rotary with cos/sin
 * caches or none, no softcap or local window. Anything else goes to `fallback` (the reference kernel).
 * Two KV layouts:
 * - concat: past `[1, Hkv, P, D]` with `P + S == T`; present is built as `[1, Hkv, T, D]`;
 * - shared buffer: past `[1, Hkv, capacity, D]` with `capacity >= T` (the valid length from
 *   `seqlens_k`); the new rows are written at `P .. T-1`, in the past tensor itself when the caller
 *   passed it as the in-place present output (else in a copy). With a cache in the kernels' memory
 *   (`WasmKernels.allocTensor`) written in place, the whole step runs in C
 *   (`WasmKernels.groupQueryAttention`), with no copy of the cache at all:
 *   the new Q/K/V are read where the previous kernel left them, the rotary tables are the
 *   executor's resident copies (`resident`), and the output stays in the kernels' memory.
 */
export function wasmGroupQueryAttention(
  kernels: WasmKernels,
  node: NodeDef,
  fallback: OpKernel,
  resident: (t: HostTensor) => HostTensor,
): (inputs: readonly (HostTensor | undefined)[], ctx: RunContext) => HostTensor[] {
  const H = intAttr(node.attrs, 'num_heads', 0);
  const Hkv = intAttr(node.attrs, 'kv_num_heads', 0);
  const doRotary = intAttr(node.attrs, 'do_rotary', 0) === 1;
  const eligibleAttrs =
    H > 0 && Hkv > 0 && H % Hkv === 0 && intAttr(node.attrs, 'rotary_interleaved', 0) === 0 && floatAttr(node.attrs, 'softcap', 0) === 0 && intAttr(node.attrs, 'local_window_size', -1) === -1 && intAttr(node.attrs, 'smooth_softmax', 0) === 0;
  const slow = (inputs: readonly (HostTensor | undefined)[]) => fallback(inputs, node.attrs);
  if (!eligibleAttrs || node.inputs.length > 9) return slow;

  return (inputs, ctx) => {
    const [q, k, v, pk, pv, seqlensT, totalT, cosT, sinT] = inputs;
    if (!q || q.dtype !== 'float32' || q.dims.length !== 3 || q.dims[0] !== 1) return slow(inputs);
    if (!seqlensT || !totalT || seqlensT.dtype !== 'int32' || totalT.dtype !== 'int32') return slow(inputs);
    const S = q.dims[1]!;
    const width = q.dims[2]!;
    const packed = !k && !v;
    const D = packed ? width / (H + 2 * Hkv) : width / H;
    if (!Number.isInteger(D) || D % 4 !== 0) return slow(inputs);
    const T = (totalT.data as Int32Array)[0]!;
    const seqlen = (seqlensT.data as Int32Array)[0]!;
    const cap = pk ? pk.dims[2]! : 0; // rows per KV head in the past tensors
    const shared = cap >= T; // a shared buffer (concat: cap == P == T - S)
    const P = T - S;
    if (!pk !== !pv) return slow(inputs);
    if (seqlen + 1 !== T || P < 0 || (!shared && cap !== P)) return slow(inputs);
    if ((pk && (pk.dtype !== 'float32' || pk.dims[1] !== Hkv || pk.dims[3] !== D)) || (pv && (pv.dtype !== 'float32' || pv.dims.some((d, i) => d !== pk!.dims[i])))) return slow(inputs);
    if (!packed && (!k || !v || k.dtype !== 'float32' || v.dtype !== 'float32')) return slow(inputs);
    if (doRotary && (!cosT || !sinT || cosT.dtype !== 'float32' || cosT.dims[0]! < T)) return slow(inputs);

    const scale = floatAttr(node.attrs, 'scale', 0) || 1 / Math.sqrt(D);
    const dims = { S, T, H, Hkv, D, pastLen: P, scale };
    if (shared && ctx.inPlace.has(pk!) && ctx.inPlace.has(pv!) && kernels.tensorOffset(pk!) !== undefined && kernels.tensorOffset(pv!) !== undefined) {
      // everything in the kernels' memory: split, rotary, cache rows and attention in C, output resident
      const rotary = doRotary ? { cos: resident(cosT!), sin: resident(sinT!), half: cosT!.dims[1]! } : undefined;
      const qkv = packed ? { packed: q.data as Float32Array } : { q: q.data as Float32Array, k: k!.data as Float32Array, v: v!.data as Float32Array };
      return [kernels.groupQueryAttention(qkv, pk!, pv!, cap, dims, rotary, [1, S, H * D]), pk!, pv!];
    }
    // new Q [S, H, D], K/V [S, Hkv, D]
    const qd = q.data as Float32Array;
    let qN: Float32Array;
    let kN: Float32Array;
    let vN: Float32Array;
    if (packed) {
      ({ q: qN, k: kN, v: vN } = splitPackedQkv(qd, S, H, Hkv, D));
    } else {
      qN = qd.slice();
      kN = (k!.data as Float32Array).slice();
      vN = v!.data as Float32Array;
    }
    if (doRotary) {
      const cos = cosT!.data as Float32Array;
      const sin = sinT!.data as Float32Array;
      const half = cosT!.dims[1]!;
      for (let s = 0; s < S; s++) {
        rotate(qN, s * H * D, H, D, half, cos, sin, P + s);
        rotate(kN, s * Hkv * D, Hkv, D, half, cos, sin, P + s);
      }
    }
    if (shared) {
      // new rows at P .. T-1 of each head: in the caller's buffers when in place, else in copies
      // (an in-place cache in the kernels' memory took the C path above)
      const inPlace = ctx.inPlace.has(pk!) && ctx.inPlace.has(pv!);
      const kData = inPlace ? (pk!.data as Float32Array) : (pk!.data as Float32Array).slice(); // [1, Hkv, cap, D]
      const vData = inPlace ? (pv!.data as Float32Array) : (pv!.data as Float32Array).slice();
      for (let h = 0; h < Hkv; h++) {
        for (let s = 0; s < S; s++) {
          const src = (s * Hkv + h) * D;
          const dst = (h * cap + P + s) * D;
          kData.set(kN.subarray(src, src + D), dst);
          vData.set(vN.subarray(src, src + D), dst);
        }
      }
      // JS buffers: the valid rows [Hkv, T, D] go through the kernels' scratch
      const rows = (d: Float32Array) => {
        const c = new Float32Array(Hkv * T * D);
        for (let h = 0; h < Hkv; h++) c.set(d.subarray(h * cap * D, (h * cap + T) * D), h * T * D);
        return c;
      };
      const out = kernels.attention(qN, rows(kData), rows(vData), dims); // [S, H, D]
      return [
        { dtype: 'float32', dims: [1, S, H * D], data: out },
        inPlace ? pk! : { dtype: 'float32', dims: [...pk!.dims], data: kData },
        inPlace ? pv! : { dtype: 'float32', dims: [...pv!.dims], data: vData },
      ];
    }
    // present [1, Hkv, T, D]: past rows then the new ones
    const present = (past: HostTensor | undefined, fresh: Float32Array): Float32Array => {
      const out = new Float32Array(Hkv * T * D);
      const pd = past?.data as Float32Array | undefined;
      for (let h = 0; h < Hkv; h++) {
        const o = h * T * D;
        if (pd && P > 0) out.set(pd.subarray(h * P * D, (h + 1) * P * D), o);
        for (let s = 0; s < S; s++) out.set(fresh.subarray((s * Hkv + h) * D, (s * Hkv + h + 1) * D), o + (P + s) * D);
      }
      return out;
    };
    const presentK = present(pk, kN);
    const presentV = present(pv, vN);
    const out = kernels.attention(qN, presentK, presentV, dims); // [S, H, D]
    return [
      { dtype: 'float32', dims: [1, S, H * D], data: out },
      { dtype: 'float32', dims: [1, Hkv, T, D], data: presentK },
      { dtype: 'float32', dims: [1, Hkv, T, D], data: presentV },
    ];
  };
}
