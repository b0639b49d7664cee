// Native 4-bit block-quantised matmuls (com.microsoft.MatMulNBits, symmetric, zero point 8) on x86-64
// with AVX512-VNNI, and AMX-INT8 for several activation rows. See q4.c for the weight layout.
#pragma once
#include <stdint.h>

enum { Q4_PANEL = 16 };  // output columns per panel

// CPU features found at run time: bit 0 AVX512-VNNI (required), bit 1 AMX-INT8 usable by this process.
int q4_features(void);
// Re-lays out panels [p0, p1) (16 rows each) of q [N, kBlocks, B/2] and scale [N, kBlocks] in place
// (N % 16 == 0, B % 8 == 0). Returns 0, or -1 when out of memory.
int q4_repack_panels(uint8_t *q, float *scale, int kBlocks, int B, int p0, int p1);
// Quantises rows of a [M, K] to int8 per block of B (zero-padded to kBlocks * B): aq [M, kBlocks*B],
// ascale [M, kBlocks], asum [M, kBlocks].
void q4_quantize_rows(const float *a, int M, int K, int B, int kBlocks, int8_t *aq, float *ascale, int32_t *asum);

typedef struct {
  const int8_t *aq;
  const float *ascale;
  const int32_t *asum;
  int M, kBlocks, B;
  const uint8_t *q;  // panels
  const float *scale;
  const float *bias;  // [N] or NULL
  float *y;           // [M, N]
  int N;
  // SwiGLU: a second weight (up); y = silu(a Wq^T) * (a Wu^T)
  const uint8_t *qu;
  const float *scaleu;
  int amx;  // use AMX for this call
} q4_job;

// Computes panels [p0, p1) of the job (all M rows). `scratch` is 64-byte aligned, q4_scratch_bytes(job).
void q4_panels(const q4_job *job, int p0, int p1, void *scratch);
long q4_scratch_bytes(const q4_job *job);
