// Native 4-bit block-quantised matmuls, y[m, n] = sum_k a[m, k] * (q[n, k] - 8) * scale[n, k / B].
//
// Weight layout ("panels" of 16 output columns, made in place from onnxruntime's [N, kBlocks, B/2]):
//   q     [N/16][kBlocks][B/8][16 columns][4 bytes]: byte i of column c in vector j of block b holds
//         k = b*B + 8j + i in its low nibble and k = b*B + 8j + 4 + i in its high nibble
//   scale [N/16][kBlocks][16]
// so one 64-byte vector's low nibbles are 16 columns x 4 consecutive k (one VNNI dot product against 4
// broadcast activation bytes, or one 64-byte row of an AMX B tile), and its high nibbles the next 4 k.
// Activations are quantised per block to int8 (as onnxruntime's accuracy level 4): a ~ aq * ascale.
// A block contributes ascale * scale * (dot(aq, q) - 8 * sum(aq)), with dot(aq, q) an unsigned x signed
// integer dot product (VPDPBUSD, or AMX TDPBSUD for 16 rows at once).
#define _GNU_SOURCE
#include "q4.h"

#include <immintrin.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

// Software prefetch of the weight stream: PF bytes ahead into L1, PF2 bytes ahead into the outer caches.
// Measured over 559 MB of weights, two threads, M = 1: no prefetch 11-14 GB/s; PF 2-6 KB 17-23 GB/s;
// PF 4 KB with PF2 16 KB 22.6-25.8 GB/s against 20.1-21.3 GB/s for PF 4 KB alone in the same minutes
// (3 alternating rounds; a plain AVX512 streaming read measured 22.8-23.9 GB/s then).
#define PF 4096
#define PF2 16384
// The scales are a second stream (64 bytes per panel and block, in their own array): prefetched SPF
// blocks ahead. TinyLlama block 128, decode, 3 alternating pairs: 34.4-35.1 -> 31.2-32.3 ms per token.
#define SPF 8
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,amx-tile,amx-int8")))

static int g_cached = -1;

int q4_features(void) {
  if (g_cached >= 0) return g_cached;
  __builtin_cpu_init();
  int f = 0;
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vnni")) f |= 1;
  unsigned a, b, c, d;
  __asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
  const int amx = (d >> 24) & 1 && (d >> 25) & 1;  // AMX-TILE, AMX-INT8
  // Linux hands out the AMX tile state only on request (ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA)
  if ((f & 1) && amx && syscall(SYS_arch_prctl, 0x1023, 18) == 0) f |= 2;
  return g_cached = f;
}

int q4_repack_panels(uint8_t *q, float *scale, int kBlocks, int B, int p0, int p1) {
  const int blob = B / 2;
  const long rowBytes = (long)kBlocks * blob;
  uint8_t *tmp = malloc(Q4_PANEL * rowBytes + sizeof(float) * Q4_PANEL * kBlocks);
  if (!tmp) return -1;
  float *tmpS = (float *)(tmp + Q4_PANEL * rowBytes);
  for (int p = p0; p < p1; p++) {
    uint8_t *dst = q + (long)p * Q4_PANEL * rowBytes;
    float *ds = scale + (long)p * Q4_PANEL * kBlocks;
    memcpy(tmp, dst, Q4_PANEL * rowBytes);
    memcpy(tmpS, ds, sizeof(float) * Q4_PANEL * kBlocks);
    for (int b = 0; b < kBlocks; b++) {
      for (int c = 0; c < Q4_PANEL; c++) ds[b * Q4_PANEL + c] = tmpS[c * kBlocks + b];
      for (int j = 0; j < B / 8; j++) {
        uint8_t *v = dst + ((long)b * (B / 8) + j) * 64;
        for (int c = 0; c < Q4_PANEL; c++) {
          const uint8_t *row = tmp + c * rowBytes + (long)b * blob;  // element e: byte e/2, low nibble when even
          for (int i = 0; i < 4; i++) {
            const int k0 = 8 * j + i, k1 = k0 + 4;
            const int lo = (row[k0 >> 1] >> ((k0 & 1) * 4)) & 15;
            const int hi = (row[k1 >> 1] >> ((k1 & 1) * 4)) & 15;
            v[4 * c + i] = (uint8_t)(lo | hi << 4);
          }
        }
      }
    }
  }
  free(tmp);
  return 0;
}

// One block of B (a multiple of 16) with AVX512: the same values as the scalar loop below.
AVX512 static void quantize_block(const float *x, int B, int8_t *dst, float *scale, int32_t *sum) {
  __m512 mx = _mm512_setzero_ps();
  for (int i = 0; i < B; i += 16) mx = _mm512_max_ps(mx, _mm512_abs_ps(_mm512_loadu_ps(x + i)));
  const float amax = _mm512_reduce_max_ps(mx);
  const __m512 inv = _mm512_set1_ps(amax > 0.f ? 127.f / amax : 0.f);
  const __m512 half = _mm512_set1_ps(0.5f);
  const __m512i lim = _mm512_set1_epi32(127), nlim = _mm512_set1_epi32(-127);
  __m512i acc = _mm512_setzero_si512();
  for (int i = 0; i < B; i += 16) {
    const __m512 t = _mm512_mul_ps(_mm512_loadu_ps(x + i), inv);
    // half away from zero: add +-0.5 (the sign of t), then truncate
    const __m512 r = _mm512_add_ps(t, _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(half), _mm512_and_si512(_mm512_castps_si512(t), _mm512_set1_epi32((int)0x80000000)))));
    __m512i v = _mm512_cvttps_epi32(r);
    v = _mm512_max_epi32(_mm512_min_epi32(v, lim), nlim);
    acc = _mm512_add_epi32(acc, v);
    _mm_storeu_si128((__m128i *)(dst + i), _mm512_cvtepi32_epi8(v));
  }
  *scale = amax / 127.f;
  *sum = _mm512_reduce_add_epi32(acc);
}

static void quantize_block_scalar(const float *x, int len, int B, int8_t *dst, float *scale, int32_t *sum) {
  float amax = 0.f;
  for (int i = 0; i < len; i++) amax = fmaxf(amax, fabsf(x[i]));
  const float inv = amax > 0.f ? 127.f / amax : 0.f;
  int32_t s = 0;
  for (int i = 0; i < B; i++) {
    int v = 0;
    if (i < len) {
      const float t = x[i] * inv;
      v = (int)(t < 0 ? t - 0.5f : t + 0.5f);  // half away from zero
      v = v > 127 ? 127 : (v < -127 ? -127 : v);
    }
    dst[i] = (int8_t)v;
    s += v;
  }
  *scale = amax / 127.f;
  *sum = s;
}

void q4_quantize_rows(const float *a, int M, int K, int B, int kBlocks, int8_t *aq, float *ascale, int32_t *asum) {
  const int simd = (q4_features() & 1) && B % 16 == 0;
  for (int m = 0; m < M; m++) {
    for (int b = 0; b < kBlocks; b++) {
      const int k0 = b * B, len = K - k0 < B ? K - k0 : B;
      const float *x = a + (long)m * K + k0;
      int8_t *dst = aq + (long)m * kBlocks * B + k0;
      if (simd && len == B) quantize_block(x, B, dst, ascale + m * kBlocks + b, asum + m * kBlocks + b);
      else quantize_block_scalar(x, len, B, dst, ascale + m * kBlocks + b, asum + m * kBlocks + b);
    }
  }
}

static inline int32_t load_i32(const int8_t *p) {
  int32_t v;
  memcpy(&v, p, 4);
  return v;
}

// What one block adds to a row's float accumulator `f` (16 columns): ascale * scale * (dot - 8 * sum(aq)),
// the 8 being the symmetric zero point the unsigned codes carry.
AVX512 static inline __m512 add_block(__m512 f, __m512i dot, __m512 scale, int32_t asum, float ascale) {
  const __m512i d = _mm512_sub_epi32(dot, _mm512_set1_epi32(8 * asum));
  return _mm512_fmadd_ps(_mm512_cvtepi32_ps(d), _mm512_mul_ps(scale, _mm512_set1_ps(ascale)), f);
}

// One panel, activation rows [m0, m0 + MR), VNNI: acc lanes are the 16 columns.
#define VNNI_ROWS(MR)                                                                                         \
  AVX512 static void panel_vnni_##MR(const q4_job *J, const uint8_t *W, const float *S, int m0, float *out, int ldo) { \
    const int B = J->B, kb = J->kBlocks, Kp = kb * B, V = B / 8;                                               \
    const __m512i mask = _mm512_set1_epi8(0x0f);                                                              \
    __m512 f[MR];                                                                                             \
    for (int r = 0; r < MR; r++) f[r] = _mm512_setzero_ps();                                                  \
    for (int b = 0; b < kb; b++) {                                                                            \
      __m512i acc[MR], acc2[MR];                                                                              \
      for (int r = 0; r < MR; r++) acc[r] = acc2[r] = _mm512_setzero_si512();                                \
      const uint8_t *wb = W + (long)b * V * 64;                                                               \
      const int8_t *ab = J->aq + (long)m0 * Kp + (long)b * B;                                                 \
      for (int j = 0; j < V; j++) {                                                                           \
        if (PF) _mm_prefetch((const char *)(wb + j * 64 + PF), _MM_HINT_T0);                                  \
        if (PF2) _mm_prefetch((const char *)(wb + j * 64 + PF2), _MM_HINT_T2);                                \
        const __m512i w = _mm512_loadu_si512(wb + j * 64);                                                    \
        const __m512i lo = _mm512_and_si512(w, mask);                                                         \
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(w, 4), mask);                                  \
        for (int r = 0; r < MR; r++) {                                                                        \
          acc[r] = _mm512_dpbusd_epi32(acc[r], lo, _mm512_set1_epi32(load_i32(ab + (long)r * Kp + 8 * j)));   \
          acc2[r] = _mm512_dpbusd_epi32(acc2[r], hi, _mm512_set1_epi32(load_i32(ab + (long)r * Kp + 8 * j + 4))); \
        }                                                                                                     \
      }                                                                                                       \
      if (SPF) _mm_prefetch((const char *)(S + (b + SPF) * Q4_PANEL), _MM_HINT_T0);                          \
      const __m512 sv = _mm512_loadu_ps(S + b * Q4_PANEL);                                                    \
      for (int r = 0; r < MR; r++)                                                                            \
        f[r] = add_block(f[r], _mm512_add_epi32(acc[r], acc2[r]), sv, J->asum[(m0 + r) * kb + b], J->ascale[(m0 + r) * kb + b]); \
    }                                                                                                         \
    for (int r = 0; r < MR; r++) _mm512_storeu_ps(out + (long)r * ldo, f[r]);                                 \
  }
VNNI_ROWS(1)
VNNI_ROWS(2)
VNNI_ROWS(4)
VNNI_ROWS(8)

AVX512 static void panel_vnni(const q4_job *J, const uint8_t *W, const float *S, float *out, int ldo) {
  int m = 0;
  for (; m + 8 <= J->M; m += 8) panel_vnni_8(J, W, S, m, out + (long)m * ldo, ldo);
  for (; m + 4 <= J->M; m += 4) panel_vnni_4(J, W, S, m, out + (long)m * ldo, ldo);
  for (; m + 2 <= J->M; m += 2) panel_vnni_2(J, W, S, m, out + (long)m * ldo, ldo);
  for (; m < J->M; m++) panel_vnni_1(J, W, S, m, out + (long)m * ldo, ldo);
}

typedef struct {
  uint8_t palette, start;
  uint8_t reserved[14];
  uint16_t colsb[16];
  uint8_t rows[16];
} tile_config;

// One panel, all M rows, AMX. Software-pipelined so that no tile load waits on the vector stores just
// before it, nor vector loads on a tile store: block b's 64-k chunks are unpacked into B tiles
// (bt[b % 2]), then block b-1's int32 sums (ct[(b-1) % 2], one [16, 16] tile per group of 16 rows)
// are scaled into the float accumulators `out` [M, ldo] (zeroed here), then every row group runs
// TDPBSUD over block b and stores its sums to ct[b % 2].
AMX static void scale_block(const q4_job *J, const float *S, int b, const int32_t *ct, float *out, int ldo) {
  const int kb = J->kBlocks;
  const __m512 sv = _mm512_loadu_ps(S + b * Q4_PANEL);
  for (int m = 0; m < J->M; m++) {
    float *o = out + (long)m * ldo;
    _mm512_storeu_ps(o, add_block(_mm512_loadu_ps(o), _mm512_load_si512(ct + m * 16), sv, J->asum[m * kb + b], J->ascale[m * kb + b]));
  }
}

AMX static void panel_amx(const q4_job *J, const uint8_t *W, const float *S, float *out, int ldo, uint8_t *bt, int32_t *ct) {
  const int B = J->B, kb = J->kBlocks, Kp = kb * B, V = B / 8, chunks = B / 64, M = J->M;
  const long btBytes = (long)V * 128, ctInts = (long)((M + 15) & ~15) * 16;
  const __m512i mask = _mm512_set1_epi8(0x0f);
  for (int m = 0; m < M; m++) _mm512_storeu_ps(out + (long)m * ldo, _mm512_setzero_ps());
  for (int b = 0; b < kb; b++) {
    const uint8_t *wb = W + (long)b * V * 64;
    uint8_t *bb = bt + (b & 1) * btBytes;
    for (int j = 0; j < V; j++) {  // B tile rows 2j, 2j+1 of the block: k quads 2j (low nibbles), 2j+1 (high)
      if (PF) _mm_prefetch((const char *)(wb + j * 64 + PF), _MM_HINT_T0);
      const __m512i w = _mm512_loadu_si512(wb + j * 64);
      _mm512_store_si512(bb + (2 * j) * 64, _mm512_and_si512(w, mask));
      _mm512_store_si512(bb + (2 * j + 1) * 64, _mm512_and_si512(_mm512_srli_epi16(w, 4), mask));
    }
    if (b > 0) scale_block(J, S, b - 1, ct + ((b - 1) & 1) * ctInts, out, ldo);
    int32_t *cb = ct + (b & 1) * ctInts;
    for (int m0 = 0; m0 < M; m0 += 16) {
      // tiles 0/1: C and A of a full group of 16 rows; 3/4: of the last, shorter group; 2: B
      // (tile numbers are immediates, hence the macro)
#define ROW_GROUP(C, A)                                                      \
  {                                                                          \
    _tile_zero(C);                                                           \
    for (int c = 0; c < chunks; c++) {                                       \
      _tile_loadd(A, J->aq + (long)m0 * Kp + (long)b * B + c * 64, Kp);      \
      _tile_loadd(2, bb + c * 1024, 64);                                     \
      _tile_dpbsud(C, A, 2);                                                 \
    }                                                                        \
    _tile_stored(C, cb + m0 * 16, 64);                                       \
  }
      if (M - m0 < 16) ROW_GROUP(3, 4)
      else ROW_GROUP(0, 1)
#undef ROW_GROUP
    }
  }
  scale_block(J, S, kb - 1, ct + ((kb - 1) & 1) * ctInts, out, ldo);
}

AMX static void amx_release(void) { _tile_release(); }

// Loads the tile configuration of panel_amx for M rows.
AMX static void amx_config(int M) {
  tile_config cfg;
  memset(&cfg, 0, sizeof cfg);
  cfg.palette = 1;
  const int rest = M % 16 ? M % 16 : 16;
  cfg.rows[0] = 16, cfg.colsb[0] = 64;    // C [16, 16] int32
  cfg.rows[1] = 16, cfg.colsb[1] = 64;    // A [16, 64] int8
  cfg.rows[2] = 16, cfg.colsb[2] = 64;    // B [16 quads, 16 columns x 4]
  cfg.rows[3] = rest, cfg.colsb[3] = 64;  // C of the last group
  cfg.rows[4] = rest, cfg.colsb[4] = 64;  // A of the last group
  // (GCC 12's _tile_loadconfig tells the compiler it reads 8 bytes, so the other stores were dropped)
  __asm__ volatile("ldtilecfg %0" : : "m"(cfg) : "memory");
}

// Panel p of weight (q, scale) for all rows into out [M, ldo]: AMX tiles or VNNI.
AMX static void panel(const q4_job *J, int amx, const uint8_t *q, const float *scale, int p, float *out, int ldo, uint8_t *bt, int32_t *ct) {
  const uint8_t *W = q + (long)p * J->kBlocks * J->B / 2 * Q4_PANEL;
  const float *S = scale + (long)p * J->kBlocks * Q4_PANEL;
  if (amx) panel_amx(J, W, S, out, ldo, bt, ct);
  else panel_vnni(J, W, S, out, ldo);
}

long q4_scratch_bytes(const q4_job *J) {
  // gate outputs of a SwiGLU panel [M, 16] | up outputs [M, 16] | B tiles of two blocks | C tiles of two blocks
  return 2L * J->M * Q4_PANEL * 4 + 2L * J->B / 8 * 128 + 2L * ((J->M + 15) & ~15) * 16 * 4;
}

static inline float silu(float x) { return x / (1.f + expf(-x)); }

AVX512 void q4_panels(const q4_job *J, int p0, int p1, void *scratch) {
  const int B = J->B, M = J->M, N = J->N;
  float *g = (float *)scratch;
  float *u = g + (long)M * Q4_PANEL;
  uint8_t *bt = (uint8_t *)(u + (long)M * Q4_PANEL);
  int32_t *ct = (int32_t *)(bt + 2L * B / 8 * 128);
  const int amx = J->amx && B % 64 == 0;
  if (amx) amx_config(M);
  for (int p = p0; p < p1; p++) {
    const long n = (long)p * Q4_PANEL;
    if (!J->qu) {
      float *dst = J->y + n;  // straight into y [M, N]
      panel(J, amx, J->q, J->scale, p, dst, N, bt, ct);
      if (J->bias) {
        const __m512 bv = _mm512_loadu_ps(J->bias + n);
        for (int m = 0; m < M; m++) _mm512_storeu_ps(dst + (long)m * N, _mm512_add_ps(_mm512_loadu_ps(dst + (long)m * N), bv));
      }
      continue;
    }
    panel(J, amx, J->q, J->scale, p, g, Q4_PANEL, bt, ct);
    panel(J, amx, J->qu, J->scaleu, p, u, Q4_PANEL, bt, ct);
    for (int m = 0; m < M; m++)
      for (int c = 0; c < Q4_PANEL; c++) J->y[(long)m * N + n + c] = silu(g[m * Q4_PANEL + c]) * u[m * Q4_PANEL + c];
  }
  if (amx) amx_release();
}
