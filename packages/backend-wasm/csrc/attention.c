// Causal grouped-query attention over a KV cache, WebAssembly SIMD128 (com.microsoft.GroupQueryAttention
// after rotary, batch 1). Every thread of a job runs the same call and takes heads from a shared counter.
//
//   q      [S, H, D]     new queries (rotary applied)
//   k, v   [Hkv, capacity, D]   keys / values of the whole context (past then new) in the first T rows,
//                               un-repeated KV heads
//   out    [S, H, D]
// Query s sits at position pastLen + s and sees keys 0 .. pastLen + s; head h reads KV head
// h / (H / Hkv). Softmax in float32 with the maximum subtracted.

#include <stdint.h>
#include <wasm_simd128.h>

#include "exp4.h"

#pragma STDC FP_CONTRACT OFF
#define EXPORT(name) __attribute__((export_name(#name)))

// e^x for x <= 0 (softmax arguments after the maximum is subtracted): 2^n * p(r) with
// x = n ln2 + r, |r| <= ln2 / 2, p a degree-6 Taylor polynomial (relative error < 2e-7).
static inline float exp_nonpos(float x) {
  if (x < -87.f) return 0.f;
  const float n = __builtin_floorf(x * 1.44269504f + 0.5f);
  const float r = x - n * 0.693145752f - n * 1.42860677e-6f;
  float p = 1.f / 720.f;
  p = p * r + 1.f / 120.f;
  p = p * r + 1.f / 24.f;
  p = p * r + 1.f / 6.f;
  p = p * r + 0.5f;
  p = p * r + 1.f;
  p = p * r + 1.f;
  union {
    uint32_t i;
    float f;
  } u;
  u.i = (uint32_t)((int32_t)n + 127) << 23;
  return p * u.f;
}

// exp_nonpos on four lanes, lane for lane the same float operations (so the same bits).
static inline v128_t exp4_nonpos(v128_t x) {
  // below -87 the result is 0 (and 2^n would not be a float)
  return wasm_v128_andnot(exp4_unclamped(x), wasm_f32x4_lt(x, wasm_f32x4_splat(-87.f)));
}

static inline float dot(const float *a, const float *b, int D) {
  v128_t acc0 = wasm_f32x4_splat(0.f), acc1 = acc0;
  int d = 0;
  for (; d + 8 <= D; d += 8) {
    acc0 = wasm_f32x4_add(acc0, wasm_f32x4_mul(wasm_v128_load(a + d), wasm_v128_load(b + d)));
    acc1 = wasm_f32x4_add(acc1, wasm_f32x4_mul(wasm_v128_load(a + d + 4), wasm_v128_load(b + d + 4)));
  }
  acc0 = wasm_f32x4_add(acc0, acc1);
  float s = wasm_f32x4_extract_lane(acc0, 0) + wasm_f32x4_extract_lane(acc0, 1) + wasm_f32x4_extract_lane(acc0, 2) +
            wasm_f32x4_extract_lane(acc0, 3);
  for (; d < D; d++) s += a[d] * b[d];
  return s;
}

// Heads taken one at a time from the shared `counter` by every thread of a job (threads that start late
// take fewer). k and v hold `capacity` rows per KV head (capacity >= T: the rows past T are not read).
// scores: scratch of H * capacity floats (head h uses its own capacity floats).
EXPORT(attention_heads)
void attention_heads(const float *q, const float *k, const float *v, float *out, float *scoresAll, int S, int T,
                     int pastLen, int H, int Hkv, int D, float scale, int capacity, int *counter) {
  const int group = H / Hkv;
  for (;;) {
    const int h = __atomic_fetch_add(counter, 1, __ATOMIC_RELAXED);
    if (h >= H) return;
    const int kvh = h / group;
    const float *kh = k + (long)kvh * capacity * D;
    const float *vh = v + (long)kvh * capacity * D;
    float *scores = scoresAll + (long)h * capacity;
    for (int s = 0; s < S; s++) {
      const float *qs = q + ((long)s * H + h) * D;
      float *os = out + ((long)s * H + h) * D;
      int n = pastLen + s + 1;
      if (n > T) n = T;
      float max = -3.4e38f;
      for (int j = 0; j < n; j++) {
        const float sc = dot(qs, kh + (long)j * D, D) * scale;
        scores[j] = sc;
        max = sc > max ? sc : max;
      }
      int j = 0;
      for (const v128_t vmax = wasm_f32x4_splat(max); j + 4 <= n; j += 4)
        wasm_v128_store(scores + j, exp4_nonpos(wasm_f32x4_sub(wasm_v128_load(scores + j), vmax)));
      for (; j < n; j++) scores[j] = exp_nonpos(scores[j] - max);
      float sum = 0.f;
      for (j = 0; j < n; j++) sum += scores[j];
      const float inv = 1.f / sum;
      if ((D & 31) == 0) {
        // 32 output dims at a time in registers (no load and store of the output per key); per element
        // the same sums in the same order as the loop below
        for (int d0 = 0; d0 < D; d0 += 32) {
          v128_t o0 = wasm_f32x4_splat(0.f), o1 = o0, o2 = o0, o3 = o0, o4 = o0, o5 = o0, o6 = o0, o7 = o0;
          for (j = 0; j < n; j++) {
            const v128_t p = wasm_f32x4_splat(scores[j] * inv);
            const float *vj = vh + (long)j * D + d0;
            o0 = wasm_f32x4_add(o0, wasm_f32x4_mul(p, wasm_v128_load(vj)));
            o1 = wasm_f32x4_add(o1, wasm_f32x4_mul(p, wasm_v128_load(vj + 4)));
            o2 = wasm_f32x4_add(o2, wasm_f32x4_mul(p, wasm_v128_load(vj + 8)));
            o3 = wasm_f32x4_add(o3, wasm_f32x4_mul(p, wasm_v128_load(vj + 12)));
            o4 = wasm_f32x4_add(o4, wasm_f32x4_mul(p, wasm_v128_load(vj + 16)));
            o5 = wasm_f32x4_add(o5, wasm_f32x4_mul(p, wasm_v128_load(vj + 20)));
            o6 = wasm_f32x4_add(o6, wasm_f32x4_mul(p, wasm_v128_load(vj + 24)));
            o7 = wasm_f32x4_add(o7, wasm_f32x4_mul(p, wasm_v128_load(vj + 28)));
          }
          float *od = os + d0;
          wasm_v128_store(od, o0);
          wasm_v128_store(od + 4, o1);
          wasm_v128_store(od + 8, o2);
          wasm_v128_store(od + 12, o3);
          wasm_v128_store(od + 16, o4);
          wasm_v128_store(od + 20, o5);
          wasm_v128_store(od + 24, o6);
          wasm_v128_store(od + 28, o7);
        }
        continue;
      }
      for (int d = 0; d < D; d++) os[d] = 0.f;
      for (j = 0; j < n; j++) {
        const v128_t p = wasm_f32x4_splat(scores[j] * inv);
        const float *vj = vh + (long)j * D;
        int d = 0;
        for (; d + 4 <= D; d += 4) wasm_v128_store(os + d, wasm_f32x4_add(wasm_v128_load(os + d), wasm_f32x4_mul(p, wasm_v128_load(vj + d))));
        for (; d < D; d++) os[d] += scores[j] * inv * vj[d];
      }
    }
  }
}

// GroupQueryAttention's input side for one step (batch 1), before attention_heads: copies the new
// queries into `qOut` [S, H, D] and the new keys / values into rows P .. P+S-1 of the cache
// `kCache` / `vCache` [Hkv, capacity, D], applying rotary to queries and keys when `cos` is not null.
//   q   token s's queries at q + s * qStride ([H, D]); k, v: its keys / values at + s * kvStride ([Hkv, D])
//       (packed QKV: three views of one [S, (H + 2 Hkv) * D] tensor, both strides its row width)
//   cos, sin  [maxPos, half]: rotate_half over the first 2 * half dims of each head, at position P + s
// The rotation is computed in double and rounded once to float, exactly as the TypeScript reference
// (`rotate` in src/ops/attention.ts) does with JavaScript numbers.
static void rotate_row(float *x, const float *cs, const float *sn, int half) {
  for (int i = 0; i < half; i++) {
    const double x1 = x[i], x2 = x[half + i], c = cs[i], s = sn[i];
    const double a = x1 * c, b = x2 * s, e = x2 * c, f = x1 * s;  // exact products of floats
    x[i] = (float)(a - b);
    x[half + i] = (float)(e + f);
  }
}

static void copy_row(float *dst, const float *src, int D) {
  int d = 0;
  for (; d + 4 <= D; d += 4) wasm_v128_store(dst + d, wasm_v128_load(src + d));
  for (; d < D; d++) dst[d] = src[d];
}

EXPORT(gqa_prepare)
void gqa_prepare(const float *q, const float *k, const float *v, int qStride, int kvStride, int S, int H, int Hkv,
                 int D, const float *cos, const float *sin, int half, int P, float *qOut, float *kCache,
                 float *vCache, int capacity) {
  for (int s = 0; s < S; s++) {
    const long pos = P + s;
    const float *cs = cos ? cos + pos * half : 0;
    const float *sn = cos ? sin + pos * half : 0;
    for (int h = 0; h < H; h++) {
      float *dst = qOut + ((long)s * H + h) * D;
      copy_row(dst, q + (long)s * qStride + (long)h * D, D);
      if (cs) rotate_row(dst, cs, sn, half);
    }
    for (int h = 0; h < Hkv; h++) {
      float *kd = kCache + ((long)h * capacity + pos) * D;
      copy_row(kd, k + (long)s * kvStride + (long)h * D, D);
      if (cs) rotate_row(kd, cs, sn, half);
      copy_row(vCache + ((long)h * capacity + pos) * D, v + (long)s * kvStride + (long)h * D, D);
    }
  }
}
