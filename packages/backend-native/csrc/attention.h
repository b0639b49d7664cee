// Causal grouped-query attention over a KV cache (batch 1), AVX512, the wasm kernels' attention_heads
// contract: q [S, H, D] (rotary applied), k / v [Hkv, capacity, D] (rows 0 .. T-1 valid), out [S, H, D];
// query s sits at position pastLen + s and sees keys 0 .. pastLen + s.
#pragma once

typedef struct {
  const float *q, *k, *v;
  float *out;
  int S, T, pastLen, H, Hkv, D, capacity;
  float scale;
} attn_job;

// Scratch floats attn_kv_head needs per thread.
long attn_scratch_floats(const attn_job *job);
// Runs the query heads of KV head `g` (all S queries) with `scratch` (attn_scratch_floats).
void attn_kv_head(const attn_job *job, int g, float *scratch);
