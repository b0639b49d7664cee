// e^x on four float lanes, WebAssembly SIMD128: 2^n * p(r) with x = n ln2 + r, |r| <= ln2 / 2 and p a
// degree-6 Taylor polynomial (relative error < 2e-7). Valid for x in [-87, 88]; callers clamp or mask.
// Lane for lane the same float operations as attention.c's scalar exp_nonpos.
#ifndef TL_EXP4_H
#define TL_EXP4_H
#include <wasm_simd128.h>

static inline v128_t exp4_unclamped(v128_t x) {
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
#endif
