// Block-quantised matrix multiplication for com.microsoft.MatMulNBits, WebAssembly SIMD128.
//
// y[m, n] = sum_k a[m, k] * w[n, k], where w[n, k] = (q[n, k] - zp[n, blk]) * scale[n, blk] and
// blk = k / B (B = block size). Weights keep onnxruntime's MatMulNBits layout:
//   q      [N, kBlocks, B * bits / 8]  4-bit: byte j of a block holds elements 2j (low nibble), 2j+1 (high)
//   scale  [N, kBlocks]                float32
//   zp     [N, ceil(kBlocks / 2)]      4-bit packed, low nibble first (NULL: 8)
//          [N, kBlocks]                8-bit (NULL: 128)
// Activations are quantised per block to int8 first (onnxruntime's accuracy level 4):
//   a[m, k] ~= aq[m, k] * ascale[m, blk],  asum[m, blk] = sum of aq over the block,
// so that one block contributes  ascale * scale * (dot(aq, q) - zp * asum)  and the inner loop is an
// integer dot product. For 4-bit weights each 32-element group of aq is stored de-interleaved (16 even
// elements, then 16 odd ones) to line up with the low and high nibbles of 16 packed bytes.
//
// Built twice (see scripts/build-wasm.mjs): plain SIMD128, and with relaxed SIMD (RELAXED) where the
// 4-bit inner product is i32x4.relaxed_dot_i8x16_i7x16_add (the nibbles are 0..15, inside i7).
// Every function is a leaf without stack use, so several instances can share one memory (threads).

#include <stdint.h>
#include <wasm_simd128.h>

#define EXPORT(name) __attribute__((export_name(#name)))

#ifdef RELAXED
typedef signed char i8x16_t __attribute__((vector_size(16)));
typedef int i32x4_t __attribute__((vector_size(16)));
// i32x4.relaxed_dot_i8x16_i7x16_add_s (clang 16 has the builtin but not the wasm_simd128.h wrapper)
static inline v128_t relaxed_dot_add(v128_t a, v128_t b7, v128_t acc) {
  return (v128_t)__builtin_wasm_relaxed_dot_i8x16_i7x16_add_s_i32x4((i8x16_t)a, (i8x16_t)b7, (i32x4_t)acc);
}
#endif

static inline float absf(float x) { return x < 0 ? -x : x; }

static inline float hsum_f32x4(v128_t v) {
  return wasm_f32x4_extract_lane(v, 0) + wasm_f32x4_extract_lane(v, 1) + wasm_f32x4_extract_lane(v, 2) +
         wasm_f32x4_extract_lane(v, 3);
}

// One block of B (a multiple of 32) quantised with SIMD: the same values as the scalar loop of
// q8_quantize_rows bit for bit (x * inv in float32, then half away from zero by adding +-0.5 and
// truncating, as the scalar cast does).
static void q8_block_simd(const float *x, int B, int deint, int8_t *dst, float *scale, int32_t *sum) {
  v128_t mx = wasm_f32x4_splat(0.f);
  for (int i = 0; i < B; i += 4) mx = wasm_f32x4_max(mx, wasm_f32x4_abs(wasm_v128_load(x + i)));
  mx = wasm_f32x4_max(mx, wasm_i32x4_shuffle(mx, mx, 2, 3, 0, 1));
  mx = wasm_f32x4_max(mx, wasm_i32x4_shuffle(mx, mx, 1, 0, 3, 2));
  const float amax = wasm_f32x4_extract_lane(mx, 0);
  *scale = amax / 127.f;
  const v128_t inv = wasm_f32x4_splat(amax > 0.f ? 127.f / amax : 0.f);
  const v128_t half = wasm_f32x4_splat(0.5f), sign = wasm_i32x4_splat((int32_t)0x80000000);
  const v128_t lim = wasm_i32x4_splat(127), nlim = wasm_i32x4_splat(-127);
  v128_t acc = wasm_i32x4_splat(0);
  for (int g = 0; g < B; g += 32) {
    v128_t q8[2];
    for (int h = 0; h < 2; h++) {
      v128_t q[4];
      for (int j = 0; j < 4; j++) {
        const v128_t v = wasm_f32x4_mul(wasm_v128_load(x + g + 16 * h + 4 * j), inv);
        const v128_t r = wasm_i32x4_trunc_sat_f32x4(wasm_f32x4_add(v, wasm_v128_or(half, wasm_v128_and(v, sign))));
        q[j] = wasm_i32x4_max(wasm_i32x4_min(r, lim), nlim);
        acc = wasm_i32x4_add(acc, q[j]);
      }
      q8[h] = wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(q[0], q[1]), wasm_i16x8_narrow_i32x4(q[2], q[3]));
    }
    if (deint) {  // even elements of the group first, then the odd ones
      wasm_v128_store(dst + g, wasm_i8x16_shuffle(q8[0], q8[1], 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30));
      wasm_v128_store(dst + g + 16, wasm_i8x16_shuffle(q8[0], q8[1], 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31));
    } else {
      wasm_v128_store(dst + g, q8[0]);
      wasm_v128_store(dst + g + 16, q8[1]);
    }
  }
  *sum = wasm_i32x4_extract_lane(acc, 0) + wasm_i32x4_extract_lane(acc, 1) + wasm_i32x4_extract_lane(acc, 2) +
         wasm_i32x4_extract_lane(acc, 3);
}

// Quantises rows of activations to int8, per block of B (the last block zero-padded past K).
//   a      [M, K] float32
//   aq     [M, kBlocks * B] int8 (de-interleaved per 32 when `interleave4` and B % 32 == 0)
//   ascale [M, kBlocks], asum [M, kBlocks]
EXPORT(q8_quantize_rows)
void q8_quantize_rows(const float *a, int M, int K, int B, int kBlocks, int interleave4, int8_t *aq, float *ascale,
                      int32_t *asum) {
  const int deint = interleave4 && (B % 32) == 0;
  for (int m = 0; m < M; m++) {
    const float *row = a + (long)m * K;
    int8_t *qrow = aq + (long)m * kBlocks * B;
    for (int b = 0; b < kBlocks; b++) {
      const int k0 = b * B;
      const int len = K - k0 < B ? K - k0 : B;
      int8_t *dst = qrow + k0;
      if (len == B && (B % 32) == 0) {
        q8_block_simd(row + k0, B, deint, dst, ascale + m * kBlocks + b, asum + m * kBlocks + b);
        continue;
      }
      float amax = 0.f;
      for (int i = 0; i < len; i++) {
        float v = absf(row[k0 + i]);
        amax = v > amax ? v : amax;
      }
      const float scale = amax / 127.f;
      const float inv = amax > 0.f ? 127.f / amax : 0.f;
      int32_t sum = 0;
      for (int i = 0; i < B; i++) {
        int q = 0;
        if (i < len) {
          float x = row[k0 + i] * inv;
          q = (int)(x < 0 ? x - 0.5f : x + 0.5f);  // round half away from zero
          q = q > 127 ? 127 : (q < -127 ? -127 : q);
        }
        sum += q;
        // de-interleave: within each 32 group, even elements first, then odd ones
        const int pos = deint ? (i & ~31) + ((i & 31) >> 1) + ((i & 1) << 4) : i;
        dst[pos] = (int8_t)q;
      }
      ascale[m * kBlocks + b] = scale;
      asum[m * kBlocks + b] = sum;
    }
  }
}

// dot(aq, q) over one 4-bit block, B % 32 == 0: `a` de-interleaved, `w` B/2 packed bytes.
static inline v128_t dot_q4_block(const int8_t *a, const uint8_t *w, int B, v128_t acc) {
  const v128_t mask = wasm_i8x16_splat(0x0f);
  for (int g = 0; g < B; g += 32) {
    const v128_t packed = wasm_v128_load(w + g / 2);
    const v128_t lo = wasm_v128_and(packed, mask);             // elements 0, 2, ..., 30 of the group
    const v128_t hi = wasm_v128_and(wasm_u16x8_shr(packed, 4), mask);  // elements 1, 3, ..., 31
    const v128_t ae = wasm_v128_load(a + g);                   // activations 0, 2, ..., 30
    const v128_t ao = wasm_v128_load(a + g + 16);              // activations 1, 3, ..., 31
#ifdef RELAXED
    acc = relaxed_dot_add(ae, lo, acc);
    acc = relaxed_dot_add(ao, hi, acc);
#else
    // |product| <= 127 * 15, four summed per i16 lane: fits
    const v128_t s = wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(ae, lo), wasm_i16x8_extmul_high_i8x16(ae, lo)),
                                    wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(ao, hi), wasm_i16x8_extmul_high_i8x16(ao, hi)));
    acc = wasm_i32x4_add(acc, wasm_i32x4_extadd_pairwise_i16x8(s));
#endif
  }
  return acc;
}

// dot(aq, q - 128) over one 8-bit block, B % 16 == 0.
static inline v128_t dot_q8_block(const int8_t *a, const uint8_t *w, int B, v128_t acc) {
  const v128_t bias = wasm_i8x16_splat((int8_t)0x80);
  for (int g = 0; g < B; g += 16) {
    const v128_t ws = wasm_v128_xor(wasm_v128_load(w + g), bias);  // q - 128 as int8
    const v128_t av = wasm_v128_load(a + g);
    const v128_t s = wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(av, ws), wasm_i16x8_extmul_high_i8x16(av, ws));
    acc = wasm_i32x4_add(acc, wasm_i32x4_extadd_pairwise_i16x8(s));
  }
  return acc;
}

static inline int zero_point(const uint8_t *zp, int bits, int n, int kBlocks, int b) {
  if (!zp) return bits == 4 ? 8 : 128;
  if (bits == 8) return zp[n * kBlocks + b];
  const uint8_t byte = zp[n * ((kBlocks + 1) / 2) + b / 2];
  return (b & 1) ? byte >> 4 : byte & 0x0f;
}

// Scalar block dot product (any B): reference path for block sizes the SIMD loops do not take.
static int32_t dot_block_scalar(const int8_t *a, const uint8_t *w, int B, int bits, int deint) {
  int32_t s = 0;
  for (int i = 0; i < B; i++) {
    int q;
    if (bits == 4) {
      const uint8_t byte = w[i >> 1];
      q = (i & 1) ? byte >> 4 : byte & 0x0f;
    } else {
      q = w[i] - 128;
    }
    const int pos = deint ? (i & ~31) + ((i & 31) >> 1) + ((i & 1) << 4) : i;
    s += a[pos] * q;
  }
  return s;
}

#ifdef RELAXED
#define DOT4(acc, a, w7) acc = relaxed_dot_add(a, w7, acc)
#else
// |product| <= 127 * 15, two summed per i16 lane: fits
#define DOT4(acc, a, w7)                                                                                      \
  acc = wasm_i32x4_add(acc, wasm_i32x4_extadd_pairwise_i16x8(wasm_i16x8_add(wasm_i16x8_extmul_low_i8x16(a, w7), \
                                                                            wasm_i16x8_extmul_high_i8x16(a, w7))))
#endif

#ifndef RELAXED
// Lane j of the result = the sum of the four lanes of x_j (a 4x4 transpose-and-add).
static inline v128_t hsum4_i32x4(v128_t x0, v128_t x1, v128_t x2, v128_t x3) {
  const v128_t s01 = wasm_i32x4_add(wasm_i32x4_shuffle(x0, x1, 0, 4, 1, 5), wasm_i32x4_shuffle(x0, x1, 2, 6, 3, 7));
  const v128_t s23 = wasm_i32x4_add(wasm_i32x4_shuffle(x2, x3, 0, 4, 1, 5), wasm_i32x4_shuffle(x2, x3, 2, 6, 3, 7));
  return wasm_i32x4_add(wasm_i32x4_shuffle(s01, s23, 0, 1, 4, 5), wasm_i32x4_shuffle(s01, s23, 2, 3, 6, 7));
}
#endif

// zp[n + j] * asum for the four columns n .. n+3 of block b (zp NULL: 8), the integer to subtract from
// the block's dot(aq, q) for dot(aq, q - zp): every 4-bit kernel's block result is this exact integer
// times (weight scale * activation scale), so the SIMD128 and relaxed builds and their layouts agree
// bit for bit.
static inline v128_t zp_times_sum(const uint8_t *zp, int n, int kBlocks, int b, int32_t asum) {
  if (!zp) return wasm_i32x4_splat(8 * asum);
  return wasm_i32x4_mul(wasm_i32x4_make(zero_point(zp, 4, n, kBlocks, b), zero_point(zp, 4, n + 1, kBlocks, b), zero_point(zp, 4, n + 2, kBlocks, b),
                                        zero_point(zp, 4, n + 3, kBlocks, b)),
                        wasm_i32x4_splat(asum));
}

#ifndef RELAXED  // the SIMD128 build's tile kernels (the relaxed build's are the q4l_ ones below)
// One group of 32 elements of a tiled 4-bit weight row `w` against the de-interleaved activations
// `ae`/`ao` of the group starting at `g` (names in scope), accumulated into `acc`.
#define COL1(w, acc)                                                 \
  {                                                                  \
    const v128_t p_ = wasm_v128_load((w) + g / 2);                   \
    DOT4(acc, ae, wasm_v128_and(p_, mask));                          \
    DOT4(acc, ao, wasm_v128_and(wasm_u16x8_shr(p_, 4), mask));       \
  }

// Four output columns of one activation row, 4-bit weights, B % 32 == 0, on a tile of four weight rows
// stored block-interleaved (see repack_q4_tiles): the kernel reads one sequential stream, which the
// hardware prefetcher follows (four interleaved 1 KB row streams per page were not prefetched well).
// Four columns share each activation load and give four independent dependency chains.
static void q4_tile(const int8_t *arow, const float *as, const int32_t *am, int kBlocks, int B, const uint8_t *wt,
                    const float *st, const uint8_t *zp, int n, float *out) {
  const int blob = B / 2;
  const v128_t mask = wasm_i8x16_splat(0x0f);
  v128_t f = wasm_f32x4_splat(0.f);  // lanes = columns
  for (int b = 0; b < kBlocks; b++) {
    v128_t i0 = wasm_i32x4_splat(0), i1 = i0, i2 = i0, i3 = i0;
    const int8_t *ab = arow + (long)b * B;
    const uint8_t *w0 = wt + (long)b * 4 * blob, *w1 = w0 + blob, *w2 = w1 + blob, *w3 = w2 + blob;
    for (int g = 0; g < B; g += 32) {
      const v128_t ae = wasm_v128_load(ab + g);
      const v128_t ao = wasm_v128_load(ab + g + 16);
      COL1(w0, i0)
      COL1(w1, i1)
      COL1(w2, i2)
      COL1(w3, i3)
    }
    // lanes = columns 0..3: the block's exact integer dot(aq, q - zp), times (weight scale * activation scale)
    const v128_t t = wasm_f32x4_mul(wasm_v128_load(st + (long)b * 4), wasm_f32x4_splat(as[b]));
    f = wasm_f32x4_add(f, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(hsum4_i32x4(i0, i1, i2, i3), zp_times_sum(zp, n, kBlocks, b, am[b]))), t));
  }
  wasm_v128_store(out, f);
}

// q4_tile on two tiles at once (zp 8), `wa` and `wb` usually far apart: one activation row, eight
// columns. Reading two sequential streams instead of one lets the memory reads of one overlap the
// arithmetic on the other: a separate wasm benchmark over 320 MB of tiles read 35-45% more bytes per
// second this way, near a plain streaming read of the same memory. Per column the arithmetic is
// q4_tile's, bit for bit.
static void q4_tile_x2(const int8_t *arow, const float *as, const int32_t *am, int kBlocks, int B, const uint8_t *wa,
                       const float *sa, const uint8_t *wb, const float *sb, float *outa, float *outb) {
  const int blob = B / 2;
  const v128_t mask = wasm_i8x16_splat(0x0f);
  v128_t fa = wasm_f32x4_splat(0.f), fb = fa;  // lanes = columns 0..3 of each tile
  for (int b = 0; b < kBlocks; b++) {
    v128_t i0 = wasm_i32x4_splat(0), i1 = i0, i2 = i0, i3 = i0, j0 = i0, j1 = i0, j2 = i0, j3 = i0;
    const int8_t *ab = arow + (long)b * B;
    const uint8_t *x = wa + (long)b * 4 * blob, *z = wb + (long)b * 4 * blob;
    for (int g = 0; g < B; g += 32) {
      const v128_t ae = wasm_v128_load(ab + g);
      const v128_t ao = wasm_v128_load(ab + g + 16);
      COL1(x, i0) COL1(z, j0) COL1(x + blob, i1) COL1(z + blob, j1)
      COL1(x + 2 * blob, i2) COL1(z + 2 * blob, j2) COL1(x + 3 * blob, i3) COL1(z + 3 * blob, j3)
    }
    const v128_t s = wasm_f32x4_splat(as[b]), m8 = wasm_i32x4_splat(8 * am[b]);
    const v128_t ta = wasm_f32x4_mul(wasm_v128_load(sa + (long)b * 4), s);
    const v128_t tb = wasm_f32x4_mul(wasm_v128_load(sb + (long)b * 4), s);
    fa = wasm_f32x4_add(fa, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(hsum4_i32x4(i0, i1, i2, i3), m8)), ta));
    fb = wasm_f32x4_add(fb, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(hsum4_i32x4(j0, j1, j2, j3), m8)), tb));
  }
  wasm_v128_store(outa, fa);
  wasm_v128_store(outb, fb);
}

// q4_tile on four tiles at once (zp 8): four streams. 16 accumulators exceed the 16 SIMD registers
// of x86-64 and some spill, and it is still faster: the same benchmark read 10-15% more per second
// than with two streams. Written without arrays so that every value is a wasm local: an array would
// live on the C stack in the shared memory, which the threads' instances share. Per column the
// arithmetic is q4_tile's, bit for bit.
static void q4_tile_x4(const int8_t *arow, const float *as, const int32_t *am, int kBlocks, int B, const uint8_t *wa,
                       const uint8_t *wb, const uint8_t *wc, const uint8_t *wd, const float *sa, const float *sb,
                       const float *sc, const float *sd, float *oa, float *ob, float *oc, float *od) {
  const int blob = B / 2;
  const v128_t mask = wasm_i8x16_splat(0x0f);
  v128_t fa = wasm_f32x4_splat(0.f), fb = fa, fc = fa, fd = fa;
  for (int b = 0; b < kBlocks; b++) {
    const v128_t z = wasm_i32x4_splat(0);
    v128_t a0 = z, a1 = z, a2 = z, a3 = z, b0 = z, b1 = z, b2 = z, b3 = z;  // [tile][column]
    v128_t c0 = z, c1 = z, c2 = z, c3 = z, d0 = z, d1 = z, d2 = z, d3 = z;
    const int8_t *ab = arow + (long)b * B;
    const long o = (long)b * 4 * blob;
    for (int g = 0; g < B; g += 32) {
      const v128_t ae = wasm_v128_load(ab + g);
      const v128_t ao = wasm_v128_load(ab + g + 16);
#define ROW(j, xa, xb, xc, xd) \
  COL1(wa + o + (j) * blob, xa) COL1(wb + o + (j) * blob, xb) COL1(wc + o + (j) * blob, xc) COL1(wd + o + (j) * blob, xd)
      ROW(0, a0, b0, c0, d0)
      ROW(1, a1, b1, c1, d1)
      ROW(2, a2, b2, c2, d2)
      ROW(3, a3, b3, c3, d3)
#undef ROW
    }
    const v128_t sv = wasm_f32x4_splat(as[b]), m8 = wasm_i32x4_splat(8 * am[b]);
#define FINISH(f, st, x0, x1, x2, x3)                                                                                         \
  {                                                                                                                          \
    const v128_t t = wasm_f32x4_mul(wasm_v128_load((st) + (long)b * 4), sv);                                                 \
    f = wasm_f32x4_add(f, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(hsum4_i32x4(x0, x1, x2, x3), m8)), t)); \
  }
    FINISH(fa, sa, a0, a1, a2, a3)
    FINISH(fb, sb, b0, b1, b2, b3)
    FINISH(fc, sc, c0, c1, c2, c3)
    FINISH(fd, sd, d0, d1, d2, d3)
#undef FINISH
  }
  wasm_v128_store(oa, fa);
  wasm_v128_store(ob, fb);
  wasm_v128_store(oc, fc);
  wasm_v128_store(od, fd);
}

// Two activation rows against one tile of four weight rows (prompt processing): each unpacked weight
// vector feeds two rows, halving the unpacking work per multiply-add. Symmetric weights only (zp 8).
static void q4_tile_r2(const int8_t *a0row, const int8_t *a1row, const float *as0, const float *as1, const int32_t *am0,
                       const int32_t *am1, int kBlocks, int B, const uint8_t *wt, const float *st, float *out0,
                       float *out1) {
  const int blob = B / 2;
  const v128_t mask = wasm_i8x16_splat(0x0f);
  v128_t f0 = wasm_f32x4_splat(0.f), f1 = f0;  // lanes = columns 0..3 of rows 0 and 1
  for (int b = 0; b < kBlocks; b++) {
    v128_t i00 = wasm_i32x4_splat(0), i01 = i00, i02 = i00, i03 = i00;
    v128_t i10 = i00, i11 = i00, i12 = i00, i13 = i00;
    const int8_t *ab0 = a0row + (long)b * B;
    const int8_t *ab1 = a1row + (long)b * B;
    const uint8_t *w0 = wt + (long)b * 4 * blob;
    for (int g = 0; g < B; g += 32) {
      const v128_t ae0 = wasm_v128_load(ab0 + g), ao0 = wasm_v128_load(ab0 + g + 16);
      const v128_t ae1 = wasm_v128_load(ab1 + g), ao1 = wasm_v128_load(ab1 + g + 16);
      v128_t p, lo, hi;
#define COL(j, ia, ib)                                            \
  p = wasm_v128_load(w0 + (j) * blob + g / 2);                    \
  lo = wasm_v128_and(p, mask);                                    \
  hi = wasm_v128_and(wasm_u16x8_shr(p, 4), mask);                 \
  DOT4(ia, ae0, lo);                                              \
  DOT4(ia, ao0, hi);                                              \
  DOT4(ib, ae1, lo);                                              \
  DOT4(ib, ao1, hi);
      COL(0, i00, i10)
      COL(1, i01, i11)
      COL(2, i02, i12)
      COL(3, i03, i13)
#undef COL
    }
    const v128_t sw = wasm_v128_load(st + (long)b * 4);  // scales of columns 0..3
    const v128_t t0 = wasm_f32x4_mul(sw, wasm_f32x4_splat(as0[b]));
    const v128_t t1 = wasm_f32x4_mul(sw, wasm_f32x4_splat(as1[b]));
    f0 = wasm_f32x4_add(f0, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(hsum4_i32x4(i00, i01, i02, i03), wasm_i32x4_splat(8 * am0[b]))), t0));
    f1 = wasm_f32x4_add(f1, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(wasm_i32x4_sub(hsum4_i32x4(i10, i11, i12, i13), wasm_i32x4_splat(8 * am1[b]))), t1));
  }
  wasm_v128_store(out0, f0);
  wasm_v128_store(out1, f1);
}

#endif

#ifdef RELAXED
// The relaxed build's 4-bit kernels read tiles in the lane layout: in each block, 16-byte vectors that
// hold 4 packed bytes (8 consecutive elements) of each of the tile's four rows, so that one
// i32x4.relaxed_dot_i8x16_i7x16_add against the splat of 4 activation bytes leaves column j's partial
// dot product in lane j. A tile then needs one accumulator instead of four and no horizontal sum per
// block: the decoding kernel reads eight weight streams at once (more memory reads in flight; wasm
// has no prefetch instruction) in 14 SIMD registers. The activations keep their de-interleaved
// layout: vector m of a block covers elements 8m .. 8m+7, whose low nibbles meet the even ones
// (aq[32 (m / 4) + 4 (m % 4) ..], four bytes) and high nibbles the odd ones (16 bytes further).
// Per column the result is q4_tile's bit for bit: the same exact integer per block, the same float
// operations in the same order.

// y[0..3] += (the block's integer) * (weight scales of the tile's block * activation scale)
#define LANE_ADD(yp, acc, st, sa)                                                                              \
  wasm_v128_store((yp), wasm_f32x4_add(wasm_v128_load(yp), wasm_f32x4_mul(wasm_f32x4_convert_i32x4(acc),     \
                                                                          wasm_f32x4_mul(wasm_v128_load(st), wasm_f32x4_splat(sa)))))

// One activation row against `ns` (1, 4 or 8) tiles `step` tiles apart, the first at column n (zero
// points `zp`, NULL: 8): `ns` sequential streams. The running sums live in y (four floats per tile),
// the block's integers in registers: inlined with a constant `ns`, the loops unroll and the
// accumulators become plain wasm locals, never the C stack (which the threads' instances share).
static inline __attribute__((always_inline)) void q4l_streams(const int8_t *arow, const float *as, const int32_t *am,
                                                              int kBlocks, int B, const uint8_t *w, const float *st,
                                                              const uint8_t *zp, int n, long step, float *y,
                                                              const int ns) {
  const int blob = B / 2;
  const long o = step * (long)kBlocks * 4 * blob;  // bytes between the streams
  const long so = step * (long)kBlocks * 4;        // scales between the streams
  const v128_t mask = wasm_i8x16_splat(0x0f);
  v128_t acc[8];
#pragma clang loop unroll(full)
  for (int i = 0; i < ns; i++) wasm_v128_store(y + 4 * step * i, wasm_f32x4_splat(0.f));
  for (int b = 0; b < kBlocks; b++) {
#pragma clang loop unroll(full)
    for (int i = 0; i < ns; i++) acc[i] = wasm_i32x4_neg(zp_times_sum(zp, n + 4 * (int)step * i, kBlocks, b, am[b]));
    const int8_t *ab = arow + (long)b * B;
    const uint8_t *wb = w + (long)b * 4 * blob;
    for (int m = 0; m < blob / 4; m++) {
      const int8_t *ap = ab + 32 * (m >> 2) + 4 * (m & 3);
      const v128_t ae = wasm_v128_load32_splat(ap), ao = wasm_v128_load32_splat(ap + 16);
      const uint8_t *wm = wb + 16 * m;
#pragma clang loop unroll(full)
      for (int i = 0; i < ns; i++) {
        const v128_t p = wasm_v128_load(wm + i * o);
        acc[i] = relaxed_dot_add(ae, wasm_v128_and(p, mask), acc[i]);
        acc[i] = relaxed_dot_add(ao, wasm_v128_and(wasm_u16x8_shr(p, 4), mask), acc[i]);
      }
    }
    const float sa = as[b];
    const float *sb = st + (long)b * 4;
#pragma clang loop unroll(full)
    for (int i = 0; i < ns; i++) LANE_ADD(y + 4 * step * i, acc[i], sb + i * so, sa);
  }
}

// Eight streams: more memory reads in flight than four, in 14 SIMD registers.
static void q4l_x8(const int8_t *arow, const float *as, const int32_t *am, int kBlocks, int B, const uint8_t *w,
                   const float *st, long step, float *y) {
  q4l_streams(arow, as, am, kBlocks, B, w, st, 0, 0, step, y, 8);
}

// Four streams, for chunks of 4..7 tiles left after the groups of eight.
static void q4l_x4(const int8_t *arow, const float *as, const int32_t *am, int kBlocks, int B, const uint8_t *w,
                   const float *st, long step, float *y) {
  q4l_streams(arow, as, am, kBlocks, B, w, st, 0, 0, step, y, 4);
}

// One activation row against one tile (any zero points): four columns into y[0..3].
static void q4l_x1(const int8_t *arow, const float *as, const int32_t *am, int kBlocks, int B, const uint8_t *w,
                   const float *st, const uint8_t *zp, int n, float *y) {
  q4l_streams(arow, as, am, kBlocks, B, w, st, zp, n, 1, y, 1);
}

// Four activation rows against two tiles (zp 8; prompts): each unpacked weight vector feeds four rows.
// y0 is row 0's output for the first tile's columns; rows are `ys` floats apart, the second tile's
// columns 4 floats on; its weights `wstep` bytes and its scales `sstep` floats further.
static void q4l_r4x2(const int8_t *a0, long astride, const float *as, const int32_t *am, int kBlocks, int B,
                     const uint8_t *w, long wstep, const float *st, long sstep, float *y0, long ys) {
  const int blob = B / 2;
  const v128_t mask = wasm_i8x16_splat(0x0f);
  for (int r = 0; r < 4; r++) {
    wasm_v128_store(y0 + r * ys, wasm_f32x4_splat(0.f));
    wasm_v128_store(y0 + r * ys + 4, wasm_f32x4_splat(0.f));
  }
  for (int b = 0; b < kBlocks; b++) {
    v128_t c00 = wasm_i32x4_splat(-8 * am[b]), c01 = c00;  // [row][tile]
    v128_t c10 = wasm_i32x4_splat(-8 * am[kBlocks + b]), c11 = c10;
    v128_t c20 = wasm_i32x4_splat(-8 * am[2 * kBlocks + b]), c21 = c20;
    v128_t c30 = wasm_i32x4_splat(-8 * am[3 * kBlocks + b]), c31 = c30;
    const int8_t *ab = a0 + (long)b * B;
    const uint8_t *wb = w + (long)b * 4 * blob;
    for (int m = 0; m < blob / 4; m++) {
      const long ao = 32 * (m >> 2) + 4 * (m & 3);
      const v128_t p0 = wasm_v128_load(wb + 16 * m), p1 = wasm_v128_load(wb + wstep + 16 * m);
      const v128_t l0 = wasm_v128_and(p0, mask), h0 = wasm_v128_and(wasm_u16x8_shr(p0, 4), mask);
      const v128_t l1 = wasm_v128_and(p1, mask), h1 = wasm_v128_and(wasm_u16x8_shr(p1, 4), mask);
#define ROW(r, x0, x1)                                                            \
  {                                                                               \
    const v128_t e = wasm_v128_load32_splat(ab + (r) * astride + ao);             \
    const v128_t d = wasm_v128_load32_splat(ab + (r) * astride + ao + 16);        \
    x0 = relaxed_dot_add(d, h0, relaxed_dot_add(e, l0, x0));                      \
    x1 = relaxed_dot_add(d, h1, relaxed_dot_add(e, l1, x1));                      \
  }
      ROW(0, c00, c01) ROW(1, c10, c11) ROW(2, c20, c21) ROW(3, c30, c31)
#undef ROW
    }
    const float *sb = st + (long)b * 4;
    LANE_ADD(y0, c00, sb, as[b]);
    LANE_ADD(y0 + 4, c01, sb + sstep, as[b]);
    LANE_ADD(y0 + ys, c10, sb, as[kBlocks + b]);
    LANE_ADD(y0 + ys + 4, c11, sb + sstep, as[kBlocks + b]);
    LANE_ADD(y0 + 2 * ys, c20, sb, as[2 * kBlocks + b]);
    LANE_ADD(y0 + 2 * ys + 4, c21, sb + sstep, as[2 * kBlocks + b]);
    LANE_ADD(y0 + 3 * ys, c30, sb, as[3 * kBlocks + b]);
    LANE_ADD(y0 + 3 * ys + 4, c31, sb + sstep, as[3 * kBlocks + b]);
  }
}

// The tiles of columns [n, n1) (n and n1 multiples of 4) for all M rows, lane layout. y is [M, N].
static void q4l_columns(const int8_t *aq, const float *ascale, const int32_t *asum, int M, int kBlocks, int B,
                        const uint8_t *q, const float *scale, const uint8_t *zp, float *y, int N, long n, long n1) {
  const int blob = B / 2;
  const long tb = (long)kBlocks * 4 * blob, ts = (long)kBlocks * 4;
  const long Kp = (long)kBlocks * B;
  long tiles = (n1 - n) / 4;
  if (M == 1 && !zp) {
    // decoding: the tiles in eight parts read together (each part a sequential stream), then what is
    // left in four parts, then one tile at a time below
    for (int ns = 8; ns >= 4; ns -= 4) {
      const long e = tiles / ns;
      for (long t = 0; t < e; t++) {
        const long na = n + 4 * t;
        (ns == 8 ? q4l_x8 : q4l_x4)(aq, ascale, asum, kBlocks, B, q + (na / 4) * tb, scale + (na / 4) * ts, e, y + na);
      }
      n += 4 * ns * e;
      tiles -= ns * e;
    }
  }
  long m = 0;
  if (!zp) {
    for (; m + 4 <= M; m += 4) {
      long nn = n;
      for (; nn + 8 <= n1; nn += 8)
        q4l_r4x2(aq + m * Kp, Kp, ascale + m * kBlocks, asum + m * kBlocks, kBlocks, B, q + (nn / 4) * tb, tb,
                 scale + (nn / 4) * ts, ts, y + m * N + nn, N);
      for (; nn < n1; nn += 4)
        for (long r = m; r < m + 4; r++)
          q4l_x1(aq + r * Kp, ascale + r * kBlocks, asum + r * kBlocks, kBlocks, B, q + (nn / 4) * tb, scale + (nn / 4) * ts, 0, (int)nn, y + r * N + nn);
    }
  }
  for (; m < M; m++)
    for (long nn = n; nn < n1; nn += 4)
      q4l_x1(aq + m * Kp, ascale + m * kBlocks, asum + m * kBlocks, kBlocks, B, q + (nn / 4) * tb, scale + (nn / 4) * ts, zp, (int)nn, y + m * N + nn);
}
#endif

// True when matmul_nbits expects the tiled layout of repack_q4_tiles.
static inline int tiled(int bits, int B) { return bits == 4 && (B % 32) == 0; }

// Reorders 4-bit weights and their scales into tiles of four rows, block-interleaved:
//   q [N, kBlocks, blob] -> [N / 4][kBlocks][4][blob] then the N % 4 last rows unchanged
//   (relaxed build: [N / 4][kBlocks][blob / 4][4][4], the lane layout of the q4l_ kernels)
//   scale [N, kBlocks]   -> [N / 4][kBlocks][4]       then the N % 4 last rows unchanged
// (a last row keeps its original offset, so the tail loop indexes both layouts the same way).
EXPORT(repack_q4_tiles)
void repack_q4_tiles(const uint8_t *q, const float *scale, uint8_t *qt, float *st, int N, int kBlocks, int blob) {
  const int tiles = N / 4;
  const long rowBytes = (long)kBlocks * blob;
  for (int t = 0; t < tiles; t++) {
    for (int r = 0; r < 4; r++) {
      const uint8_t *src = q + (long)(4 * t + r) * rowBytes;
      const float *ss = scale + (long)(4 * t + r) * kBlocks;
      for (int b = 0; b < kBlocks; b++) {
#ifdef RELAXED
        // lanes: 4-byte words of the four rows interleaved, [b][blob / 4][row][4 bytes]
        uint8_t *dst = qt + (long)t * 4 * rowBytes + (long)b * 4 * blob + 4 * r;
        for (int m = 0; m < blob / 4; m++)
          for (int i = 0; i < 4; i++) dst[16 * m + i] = src[(long)b * blob + 4 * m + i];
#else
        uint8_t *dst = qt + (long)t * 4 * rowBytes + ((long)b * 4 + r) * blob;
        for (int i = 0; i < blob; i++) dst[i] = src[(long)b * blob + i];
#endif
        st[(long)t * 4 * kBlocks + b * 4 + r] = ss[b];
      }
    }
  }
  for (long i = (long)tiles * 4 * rowBytes; i < (long)N * rowBytes; i++) qt[i] = q[i];
  for (long i = (long)tiles * 4 * kBlocks; i < (long)N * kBlocks; i++) st[i] = scale[i];
}

// repack_q4_tiles in place: each tile of four rows only permutes its own bytes (and its rows' scales),
// so it is copied to `tmp` (4 * kBlocks * blob bytes, then 4 * kBlocks floats) and repacked back.
// Lets weights stay where a file was staged, with no second copy.
EXPORT(repack_q4_tiles_inplace)
void repack_q4_tiles_inplace(uint8_t *q, float *scale, int N, int kBlocks, int blob, uint8_t *tmp) {
  const long rowBytes = (long)kBlocks * blob;
  float *tmpScale = (float *)(tmp + 4 * rowBytes);  // 4 * rowBytes is a multiple of 4
  for (int t = 0; t < N / 4; t++) {
    uint8_t *qt = q + (long)t * 4 * rowBytes;
    float *st = scale + (long)t * 4 * kBlocks;
    __builtin_memcpy(tmp, qt, 4 * rowBytes);
    __builtin_memcpy(tmpScale, st, 4 * (long)kBlocks * sizeof(float));
    repack_q4_tiles(tmp, tmpScale, qt, st, 4, kBlocks, blob);
  }
}

#ifndef RELAXED
// Adds bias[n .. n+3], when there is a bias, to the outputs y[n .. n+3] a multi-tile kernel wrote.
static inline void add_bias4(float *y, const float *bias, long n) {
  if (bias)
    for (int j = 0; j < 4; j++) y[n + j] += bias[n + j];
}
#endif

// y[m, n] for n in [n0, n1), all M rows. y is [M, N] (row stride N); bias (may be NULL) is [N].
// Loop order n -> m -> blocks: the weight rows (kBlocks * B * bits / 8 bytes each, 1 KB for K = 2048 at
// 4 bits) stay in L1 while every activation row passes over them.
EXPORT(matmul_nbits)
void matmul_nbits(const int8_t *aq, const float *ascale, const int32_t *asum, int M, int kBlocks, int B, int bits,
                  const uint8_t *q, const float *scale, const uint8_t *zp, const float *bias, float *y, int N, int n0,
                  int n1) {
  const int blob = B * bits / 8;
  const int simd = bits == 4 ? (B % 32) == 0 : (B % 16) == 0;
  const int Kp = kBlocks * B;
  int n = n0;
#ifdef RELAXED
  if (tiled(bits, B)) {
    const int n4 = n0 + (n1 - n0) / 4 * 4;  // n0 is a multiple of 4
    q4l_columns(aq, ascale, asum, M, kBlocks, B, q, scale, zp, y, N, n0, n4);
    if (bias)
      for (int m = 0; m < M; m++)
        for (int j = n0; j < n4; j++) y[(long)m * N + j] += bias[j];
    n = n4;
  }
#else
  if (tiled(bits, B)) {
    float out[4], out1[4];
    if (M == 1 && !zp) {
      // One row (decoding): several sequential streams per thread. The tiles of [n0, n1) in four
      // quarters read together, then what is left (at most three tiles) in pairs; an odd last tile
      // is left to the loop below.
      const int qtr = (n1 - n0) / 16;
      for (int t = 0; t < qtr; t++) {
        const long na = n0 + 4 * t, nb = na + 4 * qtr, nc = nb + 4 * qtr, nd = nc + 4 * qtr;
        q4_tile_x4(aq, ascale, asum, kBlocks, B, q + na * kBlocks * blob, q + nb * kBlocks * blob, q + nc * kBlocks * blob,
                   q + nd * kBlocks * blob, scale + na * kBlocks, scale + nb * kBlocks, scale + nc * kBlocks,
                   scale + nd * kBlocks, y + na, y + nb, y + nc, y + nd);
        add_bias4(y, bias, na);
        add_bias4(y, bias, nb);
        add_bias4(y, bias, nc);
        add_bias4(y, bias, nd);
      }
      n = n0 + 16 * qtr;
      const int half = (n1 - n) / 8;
      for (int t = 0; t < half; t++) {
        const long na = n + 4 * t, nb = na + 4 * half;
        q4_tile_x2(aq, ascale, asum, kBlocks, B, q + na * kBlocks * blob, scale + na * kBlocks, q + nb * kBlocks * blob,
                   scale + nb * kBlocks, y + na, y + nb);
        add_bias4(y, bias, na);
        add_bias4(y, bias, nb);
      }
      n += 8 * half;
    }
    for (; n + 4 <= n1; n += 4) {  // n0 is a multiple of 4
      const uint8_t *wt = q + (long)n * kBlocks * blob;
      const float *st = scale + (long)n * kBlocks;
      int m = 0;
      if (!zp) {
        for (; m + 2 <= M; m += 2) {
          q4_tile_r2(aq + (long)m * Kp, aq + (long)(m + 1) * Kp, ascale + (long)m * kBlocks, ascale + (long)(m + 1) * kBlocks,
                     asum + (long)m * kBlocks, asum + (long)(m + 1) * kBlocks, kBlocks, B, wt, st, out, out1);
          float *y0 = y + (long)m * N + n, *y1 = y0 + N;
          for (int j = 0; j < 4; j++) {
            y0[j] = out[j] + (bias ? bias[n + j] : 0.f);
            y1[j] = out1[j] + (bias ? bias[n + j] : 0.f);
          }
        }
      }
      for (; m < M; m++) {
        q4_tile(aq + (long)m * Kp, ascale + (long)m * kBlocks, asum + (long)m * kBlocks, kBlocks, B,
                q + (long)n * kBlocks * blob, scale + (long)n * kBlocks, zp, n, out);
        float *yr = y + (long)m * N + n;
        for (int j = 0; j < 4; j++) yr[j] = out[j] + (bias ? bias[n + j] : 0.f);
      }
    }
  }
#endif
  for (; n < n1; n++) {
    const uint8_t *wrow = q + (long)n * kBlocks * blob;
    const float *srow = scale + (long)n * kBlocks;
    const float b0 = bias ? bias[n] : 0.f;
    for (int m = 0; m < M; m++) {
      const int8_t *arow = aq + (long)m * Kp;
      const float *as = ascale + (long)m * kBlocks;
      const int32_t *am = asum + (long)m * kBlocks;
      v128_t accf = wasm_f32x4_splat(0.f);
      float corr = 0.f;
      for (int b = 0; b < kBlocks; b++) {
        const uint8_t *wb = wrow + (long)b * blob;
        const int8_t *ab = arow + (long)b * B;
        const float s = srow[b] * as[b];
        // the dot uses q (4-bit) or q - 128 (8-bit): subtract zp (4-bit) or zp - 128 (8-bit) times sum(aq)
        const int zc = bits == 4 ? zero_point(zp, 4, n, kBlocks, b) : zero_point(zp, 8, n, kBlocks, b) - 128;
        if (simd) {
          const v128_t d = bits == 4 ? dot_q4_block(ab, wb, B, wasm_i32x4_splat(0)) : dot_q8_block(ab, wb, B, wasm_i32x4_splat(0));
          accf = wasm_f32x4_add(accf, wasm_f32x4_mul(wasm_f32x4_convert_i32x4(d), wasm_f32x4_splat(s)));
        } else {
          corr -= s * (float)dot_block_scalar(ab, wb, B, bits, 0);
        }
        if (zc != 0) corr += s * (float)zc * (float)am[b];
      }
      y[(long)m * N + n] = hsum_f32x4(accf) - corr + b0;
    }
  }
}

// matmul_nbits over all N columns, shared by every thread of a job: each caller takes chunks of `chunk`
// columns (a multiple of 4) from the shared counter until none are left, so threads that start late or
// run slower simply take fewer chunks and all finish within one chunk of each other.
EXPORT(matmul_nbits_chunked)
void matmul_nbits_chunked(const int8_t *aq, const float *ascale, const int32_t *asum, int M, int kBlocks, int B, int bits,
                          const uint8_t *q, const float *scale, const uint8_t *zp, const float *bias, float *y, int N,
                          int *counter, int chunk) {
  for (;;) {
    const long n0 = (long)__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED) * chunk;
    if (n0 >= N) return;
    const long n1 = n0 + chunk < N ? n0 + chunk : N;
    matmul_nbits(aq, ascale, asum, M, kBlocks, B, bits, q, scale, zp, bias, y, N, (int)n0, (int)n1);
  }
}

void silu_mul(const float *gate, const float *up, float *out, int n);  // activation.c

// SwiGLU of two matmuls on the same activations (the gate and up projections of an MLP), shared by
// every thread of a job like matmul_nbits_chunked: each chunk of `chunk` columns computes the gate and
// up columns [n0, n1) for all M rows, then h = silu(gate) * up over them, written in place of the gate
// output. One dispatch instead of two plus a third pass for the activation, and the SwiGLU runs on
// every thread. Per column the arithmetic is that of matmul_nbits then silu_mul, bit for bit.
//   yg [M, N]: gate output, then h;  yu [M, N]: up output (scratch)
EXPORT(matmul_nbits_swiglu_chunked)
void matmul_nbits_swiglu_chunked(const int8_t *aq, const float *ascale, const int32_t *asum, int M, int kBlocks, int B,
                                 int bits, const uint8_t *qg, const float *sg, const uint8_t *zg, const uint8_t *qu,
                                 const float *su, const uint8_t *zu, float *yg, float *yu, int N, int *counter,
                                 int chunk) {
  for (;;) {
    const long n0 = (long)__atomic_fetch_add(counter, 1, __ATOMIC_RELAXED) * chunk;
    if (n0 >= N) return;
    const long n1 = n0 + chunk < N ? n0 + chunk : N;
    matmul_nbits(aq, ascale, asum, M, kBlocks, B, bits, qg, sg, zg, 0, yg, N, (int)n0, (int)n1);
    matmul_nbits(aq, ascale, asum, M, kBlocks, B, bits, qu, su, zu, 0, yu, N, (int)n0, (int)n1);
    for (int m = 0; m < M; m++) {
      float *g = yg + (long)m * N + n0;
      silu_mul(g, yu + (long)m * N + n0, g, (int)(n1 - n0));
    }
  }
}
