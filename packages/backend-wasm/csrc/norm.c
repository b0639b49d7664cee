// Residual add + RMS normalisation, WebAssembly SIMD128, bit-identical to the TypeScript kernels
// (src/ops/binary-f32.ts and src/ops/norm.ts): the float32 sum is correctly rounded either way; the
// sum of squares is kept in float64 in four accumulators by element index mod 4, exactly as the
// TypeScript loop keeps them; the scaling x * inv * w is done in float64 and rounded once.

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// For each of `rows` rows of `len` values:
//   s = a + b
//   inv[r] = f32(1 / sqrt(f32(sum(s^2) / len) + eps))
//   y = s * inv[r] * w
// a, b, sum, y: [rows, len]; w: [len]; inv: [rows].
EXPORT(add_rmsnorm)
void add_rmsnorm(const float *a, const float *b, const float *w, int rows, int len, double eps, float *sum, float *y,
                 float *inv) {
  const int len4 = len - (len % 4);
  for (int r = 0; r < rows; r++) {
    const float *ar = a + (long)r * len;
    const float *br = b + (long)r * len;
    float *s = sum + (long)r * len;
    float *yr = y + (long)r * len;
    v128_t acc01 = wasm_f64x2_splat(0.0), acc23 = acc01;  // elements i % 4 == 0, 1 and 2, 3
    int i = 0;
    for (; i < len4; i += 4) {
      const v128_t x = wasm_f32x4_add(wasm_v128_load(ar + i), wasm_v128_load(br + i));
      wasm_v128_store(s + i, x);
      const v128_t lo = wasm_f64x2_promote_low_f32x4(x);
      const v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 2, 3));
      acc01 = wasm_f64x2_add(acc01, wasm_f64x2_mul(lo, lo));
      acc23 = wasm_f64x2_add(acc23, wasm_f64x2_mul(hi, hi));
    }
    double s0 = wasm_f64x2_extract_lane(acc01, 0);
    const double s1 = wasm_f64x2_extract_lane(acc01, 1);
    const double s2 = wasm_f64x2_extract_lane(acc23, 0), s3 = wasm_f64x2_extract_lane(acc23, 1);
    for (; i < len; i++) {
      const float x = ar[i] + br[i];
      s[i] = x;
      s0 += (double)x * (double)x;
    }
    const float mean = (float)((s0 + s1 + (s2 + s3)) / (double)len);
    const float k = (float)(1.0 / __builtin_sqrt((double)mean + eps));
    inv[r] = k;
    const v128_t kk = wasm_f64x2_splat((double)k);
    for (i = 0; i < len4; i += 4) {
      const v128_t x = wasm_v128_load(s + i), g = wasm_v128_load(w + i);
      const v128_t xl = wasm_f64x2_mul(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(x), kk), wasm_f64x2_promote_low_f32x4(g));
      const v128_t xh = wasm_f64x2_mul(wasm_f64x2_mul(wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(x, x, 2, 3, 2, 3)), kk),
                                       wasm_f64x2_promote_low_f32x4(wasm_i32x4_shuffle(g, g, 2, 3, 2, 3)));
      const v128_t l = wasm_f32x4_demote_f64x2_zero(xl), h = wasm_f32x4_demote_f64x2_zero(xh);
      wasm_v128_store(yr + i, wasm_i32x4_shuffle(l, h, 0, 1, 4, 5));
    }
    for (; i < len; i++) yr[i] = (float)((double)s[i] * (double)k * (double)w[i]);
  }
}
