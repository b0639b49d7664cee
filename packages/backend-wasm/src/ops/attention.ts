/**
 * `com.microsoft.GroupQueryAttention`: causal multi-head attention with grouped KV heads, a KV cache
 * in the concat layout, and optional fused rotary embedding (Hugging Face `rotate_half` layout).
 */
import { shapeToString, type HostTensor } from '@tinyllama/core';
import type { OpKernel } from './types.js';
import { dtypeError, floatAttr, input, intAttr, intValues, requireFloat32, shapeError, tensor, unsupported } from './util.js';

const OP = 'com.microsoft:GroupQueryAttention';

/**
 * Rotates `heads` vectors of one token in place (`x[off + h * D ..]`), rotate_half layout over the
 * first `2 * half` dims: `x1' = x1 cos - x2 sin`, `x2' = x2 cos + x1 sin`.
 */
export function rotate(x: Float32Array, off: number, heads: number, D: number, half: number, cos: Float32Array, sin: Float32Array, pos: number): void {
  const c0 = pos * half;
  for (let h = 0; h < heads; h++) {
    const o = off + h * D;
    for (let i = 0; i < half; i++) {
      const x1 = x[o + i];
      const x2 = x[o + half + i];
      const c = cos[c0 + i];
      const s = sin[c0 + i];
      x[o + i] = Math.fround(x1 * c - x2 * s);
      x[o + half + i] = Math.fround(x2 * c + x1 * s);
    }
  }
}

/**
 * Splits packed QKV `[tokens, (H + 2 Hkv) * D]` into fresh Q `[tokens, H*D]`, K and V `[tokens, Hkv*D]`.
 */
export function splitPackedQkv(packed: Float32Array, tokens: number, H: number, Hkv: number, D: number): { q: Float32Array; k: Float32Array; v: Float32Array } {
  const qw = H * D;
  const kw = Hkv * D;
  const width = qw + 2 * kw;
  const q = new Float32Array(tokens * qw);
  const k = new Float32Array(tokens * kw);
  const v = new Float32Array(tokens * kw);
  for (let t = 0; t < tokens; t++) {
    const o = t * width;
    q.set(packed.subarray(o, o + qw), t * qw);
    k.set(packed.subarray(o + qw, o + qw + kw), t * kw);
    v.set(packed.subarray(o + qw + kw, o + width), t * kw);
  }
  return { q, k, v };
}

/**
 * Inputs: query `[B, S, H*D]` (or packed QKV `[B, S, (H + 2 Hkv) * D]` with key/value omitted), key and
 * value `[B, S, Hkv*D]`, past_key/past_value `[B, Hkv, P, D]` (P may be 0, or omitted), seqlens_k int32
 * `[B]` (valid total length - 1), total_sequence_length int32 scalar, cos_cache/sin_cache
 * `[maxPos, rotaryDim / 2]` (required with `do_rotary = 1`).
 * Outputs: output `[B, S, H*D]`, present_key/present_value `[B, Hkv, max(P, T), D]` (past rows then the
 * new ones, zero beyond each batch's valid length).
 * Positions of the new tokens: `0..S-1` for a first prompt (S = T), else `seqlens_k + 1 - S ..
 * seqlens_k`; a new token at position p attends to keys `0..min(p, seqlens_k)` (padding queries of a
 * right-padded first prompt see only the valid keys, as onnxruntime's CPU kernel does).
 * Supported attributes: num_heads, kv_num_heads, scale (0 = 1/sqrt(D)), do_rotary, softcap,
 * rotary_interleaved = 0 and local_window_size = -1 only.
 */
export const groupQueryAttention: OpKernel = (inputs, attrs) => {
  const H = intAttr(attrs, 'num_heads', 0);
  const Hkv = intAttr(attrs, 'kv_num_heads', 0);
  if (H <= 0 || Hkv <= 0 || H % Hkv !== 0) shapeError(OP, `num_heads=${H} must be a positive multiple of kv_num_heads=${Hkv}`);
  const doRotary = intAttr(attrs, 'do_rotary', 0) !== 0;
  if (intAttr(attrs, 'rotary_interleaved', 0) !== 0) unsupported(OP, `attribute rotary_interleaved=${intAttr(attrs, 'rotary_interleaved', 0)} (only 0)`);
  const window = intAttr(attrs, 'local_window_size', -1);
  if (window !== -1) unsupported(OP, `attribute local_window_size=${window} (only -1)`);
  if (intAttr(attrs, 'smooth_softmax', 0) !== 0) unsupported(OP, 'attribute smooth_softmax=1');
  const softcap = floatAttr(attrs, 'softcap', 0);
  for (let i = 9; i < inputs.length; i++) if (inputs[i] !== undefined) unsupported(OP, `optional input ${i} (position_ids / attention_bias / head_sink)`);

  const Q = input(OP, inputs, 0, 'query');
  const q = requireFloat32(OP, Q, 'query');
  if (Q.dims.length !== 3) shapeError(OP, `query ${shapeToString(Q.dims)} must be [B, S, hidden]`);
  const [B, S, width] = Q.dims;
  const packed = inputs[1] === undefined;
  const D = packed ? width / (H + 2 * Hkv) : width / H;
  if (!Number.isInteger(D) || D <= 0) shapeError(OP, `query width ${width} does not split into ${packed ? `${H}+2*${Hkv}` : H} heads`);
  const scale = floatAttr(attrs, 'scale', 0) || 1 / Math.sqrt(D);

  // New Q/K/V as [B, S, heads*D], copied (rotary rewrites them).
  let qN: Float32Array; // [B, S, H*D]
  let kN: Float32Array; // [B, S, Hkv*D]
  let vN: Float32Array; // [B, S, Hkv*D]
  if (packed) {
    if (inputs[2] !== undefined) shapeError(OP, 'value given without key');
    ({ q: qN, k: kN, v: vN } = splitPackedQkv(q, B * S, H, Hkv, D));
  } else {
    qN = q.slice();
    kN = new Float32Array(B * S * Hkv * D);
    vN = new Float32Array(B * S * Hkv * D);
    const Kt = input(OP, inputs, 1, 'key');
    const Vt = input(OP, inputs, 2, 'value');
    for (const [t, name] of [[Kt, 'key'], [Vt, 'value']] as const) {
      if (t.dims.length !== 3 || t.dims[0] !== B || t.dims[1] !== S || t.dims[2] !== Hkv * D) {
        shapeError(OP, `${name} ${shapeToString(t.dims)} should be [${B}, ${S}, ${Hkv * D}]`);
      }
    }
    kN.set(requireFloat32(OP, Kt, 'key'));
    vN.set(requireFloat32(OP, Vt, 'value'));
  }

  // Past cache [B, Hkv, P, D].
  const pk = inputs[3];
  const pv = inputs[4];
  const P = pk === undefined ? 0 : pk.dims[2];
  for (const [t, name] of [[pk, 'past_key'], [pv, 'past_value']] as const) {
    if (t === undefined) continue;
    if (t.dims.length !== 4 || t.dims[0] !== B || t.dims[1] !== Hkv || t.dims[2] !== P || t.dims[3] !== D) {
      shapeError(OP, `${name} ${shapeToString(t.dims)} should be [${B}, ${Hkv}, ${P}, ${D}]`);
    }
    requireFloat32(OP, t, name);
  }
  if ((pk === undefined) !== (pv === undefined)) shapeError(OP, 'past_key and past_value must be given together');

  const seqT = input(OP, inputs, 5, 'seqlens_k');
  const totT = input(OP, inputs, 6, 'total_sequence_length');
  if (seqT.dtype !== 'int32' || totT.dtype !== 'int32') dtypeError(OP, 'seqlens_k and total_sequence_length must be int32');
  const seqlens = intValues(OP, seqT, 'seqlens_k');
  if (seqlens.length !== B) shapeError(OP, `seqlens_k ${shapeToString(seqT.dims)} should be [${B}]`);
  const T = intValues(OP, totT, 'total_sequence_length')[0];
  const firstPrompt = S === T;
  const L = Math.max(P, T); // present length
  if (P + S < T) shapeError(OP, `total_sequence_length ${T} exceeds past ${P} + new ${S}`);

  let cos: Float32Array | undefined;
  let sin: Float32Array | undefined;
  let half = 0;
  let maxPos = 0;
  if (doRotary) {
    const C = input(OP, inputs, 7, 'cos_cache');
    const Sn = input(OP, inputs, 8, 'sin_cache');
    cos = requireFloat32(OP, C, 'cos_cache');
    sin = requireFloat32(OP, Sn, 'sin_cache');
    if (C.dims.length !== 2 || Sn.dims.length !== 2 || C.dims[0] !== Sn.dims[0] || C.dims[1] !== Sn.dims[1]) {
      shapeError(OP, `cos_cache ${shapeToString(C.dims)} and sin_cache ${shapeToString(Sn.dims)} should be equal [maxPos, rotaryDim / 2]`);
    }
    [maxPos, half] = C.dims;
    if (2 * half > D) shapeError(OP, `rotary dim ${2 * half} exceeds head size ${D}`);
  }

  const present = (past: HostTensor | undefined, fresh: Float32Array): Float32Array => {
    const out = new Float32Array(B * Hkv * L * D); // [B, Hkv, L, D]
    const pd = past?.data as Float32Array | undefined;
    for (let b = 0; b < B; b++) {
      const pastLen = firstPrompt ? 0 : seqlens[b] + 1 - S;
      if (pastLen < 0 || pastLen > P || pastLen + S > L) shapeError(OP, `seqlens_k[${b}]=${seqlens[b]} is inconsistent with past ${P} and ${S} new tokens`);
      for (let h = 0; h < Hkv; h++) {
        const o = ((b * Hkv + h) * L) * D;
        if (pd !== undefined) out.set(pd.subarray(((b * Hkv + h) * P) * D, ((b * Hkv + h) * P + pastLen) * D), o);
        for (let s = 0; s < S; s++) {
          const src = ((b * S + s) * Hkv + h) * D;
          out.set(fresh.subarray(src, src + D), o + (pastLen + s) * D);
        }
      }
    }
    return out;
  };

  if (doRotary && cos !== undefined && sin !== undefined) {
    for (let b = 0; b < B; b++) {
      const pastLen = firstPrompt ? 0 : seqlens[b] + 1 - S;
      for (let s = 0; s < S; s++) {
        const pos = pastLen + s;
        if (pos < 0 || pos >= maxPos) shapeError(OP, `position ${pos} outside the cos/sin cache of ${maxPos} rows`);
        rotate(qN, (b * S + s) * H * D, H, D, half, cos, sin, pos);
        rotate(kN, (b * S + s) * Hkv * D, Hkv, D, half, cos, sin, pos);
      }
    }
  }
  const presentK = present(pk, kN); // [B, Hkv, L, D]
  const presentV = present(pv, vN); // [B, Hkv, L, D]

  const out = new Float32Array(B * S * H * D); // [B, S, H*D]
  const scores = new Float32Array(L);
  const group = H / Hkv;
  for (let b = 0; b < B; b++) {
    const pastLen = firstPrompt ? 0 : seqlens[b] + 1 - S;
    for (let h = 0; h < H; h++) {
      const kvh = Math.floor(h / group);
      const kBase = (b * Hkv + kvh) * L * D;
      for (let s = 0; s < S; s++) {
        const qo = ((b * S + s) * H + h) * D;
        const n = Math.min(pastLen + s + 1, seqlens[b] + 1, L); // keys 0..p, within the valid length
        let max = -Infinity;
        for (let j = 0; j < n; j++) {
          const ko = kBase + j * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += qN[qo + d] * presentK[ko + d];
          let sc = Math.fround(dot * scale);
          if (softcap > 0) sc = Math.fround(softcap * Math.tanh(sc / softcap));
          scores[j] = sc;
          if (sc > max) max = sc;
        }
        let sum = 0;
        for (let j = 0; j < n; j++) {
          const e = Math.fround(Math.exp(scores[j] - max));
          scores[j] = e;
          sum += e;
        }
        const inv = 1 / sum;
        const oo = qo; // output has the query's [B, S, H*D] layout
        for (let j = 0; j < n; j++) {
          const p = scores[j] * inv;
          const vo = kBase + j * D;
          for (let d = 0; d < D; d++) out[oo + d] += p * presentV[vo + d];
        }
      }
    }
  }
  return [tensor('float32', [B, S, H * D], out), tensor('float32', [B, Hkv, L, D], presentK), tensor('float32', [B, Hkv, L, D], presentV)];
};
