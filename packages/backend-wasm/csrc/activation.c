// Element-wise activations, WebAssembly SIMD128.

#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

// e^x for four lanes, x clamped to [-87, 88]: 2^n * p(r), x = n ln2 + r, |r| <= ln2 / 2, p of degree 6.
static inline v128_t exp4(v128_t x) {
  x = wasm_f32x4_pmax(wasm_f32x4_pmin(x, wasm_f32x4_splat(88.f)), wasm_f32x4_splat(-87.f));
  const v128_t n = wasm_f32x4_floor(wasm_f32x4_add(wasm_f32x4_mul(x, wasm_f32x4_splat(1.44269504f)), wasm_f32x4_splat(0.5f)));
  const v128_t r = wasm_f32x4_sub(wasm_f32x4_sub(x, wasm_f32x4_mul(n, wasm_f32x4_splat(0.693145752f))), wasm_f32x4_mul(n, wasm_f32x4_splat(1.42860677e-6f)));
  v128_t p = wasm_f32x4_splat(1.f / 720.f);
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 120.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 24.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f / 6.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(0.5f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f));
  p = wasm_f32x4_add(wasm_f32x4_mul(p, r), wasm_f32x4_splat(1.f));
  const v128_t pow2n = wasm_i32x4_shl(wasm_i32x4_add(wasm_i32x4_trunc_sat_f32x4(n), wasm_i32x4_splat(127)), 23);
  return wasm_f32x4_mul(p, pow2n);
}

// SwiGLU: out = silu(gate) * up = gate / (1 + e^-gate) * up, n values (any n).
EXPORT(silu_mul)
void silu_mul(const float *gate, const float *up, float *out, int n) {
  const v128_t one = wasm_f32x4_splat(1.f);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    const v128_t g = wasm_v128_load(gate + i);
    const v128_t e = exp4(wasm_f32x4_neg(g));
    wasm_v128_store(out + i, wasm_f32x4_mul(wasm_f32x4_div(g, wasm_f32x4_add(one, e)), wasm_v128_load(up + i)));
  }
  for (; i < n; i++) {
    const v128_t g = wasm_f32x4_splat(gate[i]);
    const v128_t e = exp4(wasm_f32x4_neg(g));
    out[i] = wasm_f32x4_extract_lane(wasm_f32x4_mul(wasm_f32x4_div(g, wasm_f32x4_add(one, e)), wasm_f32x4_splat(up[i])), 0);
  }
}
