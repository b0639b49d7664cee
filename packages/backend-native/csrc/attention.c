// Causal grouped-query attention, AVX512 (see attention.h). The query heads that share a KV head are
// one work item, so each key and value row is read once per group of heads. Softmax in float32 with
// the maximum subtracted and the wasm kernels' exponential (a degree-6 polynomial, relative error
// < 2e-7), vectorised.
#include "attention.h"

#include <immintrin.h>

// Query heads per KV head handled jointly (TinyLlama: 32 / 4 = 8); larger groups go head by head.
#define GMAX 8

#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512dq")))

// e^x for x <= 0, 16 lanes: 2^n * p(r), x = n ln2 + r.
AVX512 static inline __m512 exp_nonpos16(__m512 x) {
  const __m512 n = _mm512_roundscale_ps(_mm512_fmadd_ps(x, _mm512_set1_ps(1.44269504f), _mm512_set1_ps(0.5f)), _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC);
  const __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(1.42860677e-6f), _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693145752f), x));
  __m512 p = _mm512_set1_ps(1.f / 720.f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 120.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 24.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f / 6.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.f));
  const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
  const __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_set1_ps(-87.f), _CMP_LT_OQ), y, _mm512_setzero_ps());
}

// dot(a, b) over D (a multiple of 16).
AVX512 static inline float dot16(const float *a, const float *b, int D) {
  __m512 acc = _mm512_mul_ps(_mm512_loadu_ps(a), _mm512_loadu_ps(b));
  for (int d = 16; d < D; d += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + d), _mm512_loadu_ps(b + d), acc);
  return _mm512_reduce_add_ps(acc);
}

static inline float dot_scalar(const float *a, const float *b, int D) {
  float s = 0.f;
  for (int d = 0; d < D; d++) s += a[d] * b[d];
  return s;
}

// Scratch: scores [group][T16] | keys transposed [D][T16] | 1 / softmax sums [group].
long attn_scratch_floats(const attn_job *J) {
  const long T16 = (J->T + 15) & ~15, group = J->H / J->Hkv;
  return group * T16 + (long)J->D * T16 + group;
}

// Whether the group's heads share each key and value load (16-wide rows, at most GMAX heads).
static int joint(const attn_job *J) { return J->D % 16 == 0 && J->H / J->Hkv <= GMAX; }

// Whether a call transposes its keys first (only the joint path reads them): worth it from 16 queries
// on (a prompt), where the transposition (T x D copies) is shared by S * group query rows.
static int transposes(const attn_job *J) { return joint(J) && J->S * (J->H / J->Hkv) >= 16; }

// Lanes [0, n) of 16 (all for n >= 16).
static inline __mmask16 tail_mask(int n) { return (__mmask16)(n >= 16 ? 0xffff : (1u << n) - 1); }

AVX512 void attn_kv_head(const attn_job *J, int g, float *scoresAll) {
  const int group = J->H / J->Hkv, D = J->D, simd = D % 16 == 0;
  const long T16 = (J->T + 15) & ~15;
  const float *kh = J->k + (long)g * J->capacity * D;
  const float *vh = J->v + (long)g * J->capacity * D;
  // keys transposed, kt [D][T16] (zero past T): 16 scores of one query are then D fused multiply-adds
  float *kt = transposes(J) ? scoresAll + (long)group * T16 : 0;
  if (kt) {
    for (long j = 0; j < J->T; j++)
      for (int d = 0; d < D; d++) kt[d * T16 + j] = kh[j * D + d];
    for (long j = J->T; j < T16; j++)
      for (int d = 0; d < D; d++) kt[d * T16 + j] = 0.f;
  }
  const int shared = joint(J);
  float *inv = scoresAll + (long)group * T16 + (long)D * T16;  // [group]
  const __m512 scale = _mm512_set1_ps(J->scale);
  for (int s = 0; s < J->S; s++) {
    int n = J->pastLen + s + 1;
    if (n > J->T) n = J->T;
    const float *qg = J->q + ((long)s * J->H + (long)g * group) * D;  // the group's queries [group, D]
    float *og = J->out + ((long)s * J->H + (long)g * group) * D;
    // scores [group][T16]
    if (kt) {
      for (int j0 = 0; j0 < n; j0 += 16) {
        __m512 acc[GMAX];
        for (int i = 0; i < GMAX; i++) acc[i] = _mm512_setzero_ps();
        for (int d = 0; d < D; d++) {
          const __m512 kv = _mm512_loadu_ps(kt + d * T16 + j0);
          for (int i = 0; i < GMAX; i++)
            if (i < group) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(qg[(long)i * D + d]), kv, acc[i]);
        }
        for (int i = 0; i < GMAX; i++)
          if (i < group) _mm512_storeu_ps(scoresAll + i * T16 + j0, _mm512_mul_ps(acc[i], scale));
      }
    } else {
      for (int i = 0; i < group; i++) {
        const float *qs = qg + (long)i * D;
        float *sc = scoresAll + i * T16;
        for (int j = 0; j < n; j++) sc[j] = (simd ? dot16(qs, kh + (long)j * D, D) : dot_scalar(qs, kh + (long)j * D, D)) * J->scale;
      }
    }
    // softmax of each head's n scores: e^(x - max) left in place, 1 / sum in inv[i]
    for (int i = 0; i < group; i++) {
      float *sc = scoresAll + i * T16;
      __m512 mx = _mm512_set1_ps(-3.4e38f);
      // (lanes past n read as -3.4e38, not 0: a zero would be the maximum of all-negative scores)
      for (int j = 0; j < n; j += 16) mx = _mm512_max_ps(mx, _mm512_mask_loadu_ps(_mm512_set1_ps(-3.4e38f), tail_mask(n - j), sc + j));
      const __m512 max = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
      __m512 sum = _mm512_setzero_ps();
      for (int j = 0; j < n; j += 16) {
        const __mmask16 m = tail_mask(n - j);
        const __m512 e = _mm512_maskz_mov_ps(m, exp_nonpos16(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, sc + j), max)));
        _mm512_mask_storeu_ps(sc + j, m, e);
        sum = _mm512_add_ps(sum, e);
      }
      inv[i] = 1.f / _mm512_reduce_add_ps(sum);
    }
    // out = softmax . V
    if (shared) {
      for (int d = 0; d < D; d += 16) {
        __m512 acc[GMAX];
        for (int i = 0; i < GMAX; i++) acc[i] = _mm512_setzero_ps();
        for (int j = 0; j < n; j++) {
          const __m512 vv = _mm512_loadu_ps(vh + (long)j * D + d);
          for (int i = 0; i < GMAX; i++)
            if (i < group) acc[i] = _mm512_fmadd_ps(_mm512_set1_ps(scoresAll[i * T16 + j]), vv, acc[i]);
        }
        for (int i = 0; i < GMAX; i++)
          if (i < group) _mm512_storeu_ps(og + (long)i * D + d, _mm512_mul_ps(acc[i], _mm512_set1_ps(inv[i])));
      }
    } else {
      for (int i = 0; i < group; i++) {
        const float *sc = scoresAll + i * T16;
        float *os = og + (long)i * D;
        const float iv = inv[i];
        for (int d = 0; d < D; d++) {
          float a = 0.f;
          for (int j = 0; j < n; j++) a += sc[j] * vh[(long)j * D + d];
          os[d] = a * iv;
        }
      }
    }
  }
}
