// Element-wise activations, WebAssembly SIMD128.

#include <wasm_simd128.h>

#include "exp4.h"

#define EXPORT(name) __attribute__((export_name(#name)))

// e^x for four lanes, x clamped to [-87, 88].
static inline v128_t exp4(v128_t x) {
  return exp4_unclamped(wasm_f32x4_pmax(wasm_f32x4_pmin(x, wasm_f32x4_splat(88.f)), wasm_f32x4_splat(-87.f)));
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
