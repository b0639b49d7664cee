// Node-API bindings of the native kernels. Every pointer argument is a byte offset into one memory
// given as a Uint8Array (the wasm executor's linear memory): the kernels read and write it in place.
#include <node_api.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "attention.h"
#include "pool.h"
#include "q4.h"

#define CHECK(call)                                                   \
  do {                                                                \
    if ((call) != napi_ok) {                                          \
      napi_throw_error(env, "E_BACKEND", "native kernels: bad call"); \
      return NULL;                                                    \
    }                                                                 \
  } while (0)

#define MAX_ARGS 20

// Reads `n` arguments: argv[0] the memory view (its base pointer and length returned), the rest uint32
// into out[1 .. n-1]. `argv` (MAX_ARGS values, may be NULL) receives every argument given.
static int args(napi_env env, napi_callback_info info, size_t n, uint8_t **base, size_t *len, uint32_t *out, napi_value *argvOut) {
  napi_value own[MAX_ARGS];
  napi_value *argv = argvOut ? argvOut : own;
  size_t argc = MAX_ARGS;
  if (napi_get_cb_info(env, info, &argc, argv, NULL, NULL) != napi_ok || argc < n) {
    napi_throw_type_error(env, "E_ARGUMENT", "native kernels: too few arguments");
    return 0;
  }
  napi_typedarray_type type;
  size_t length, offset;
  void *data;
  napi_value buffer;
  if (napi_get_typedarray_info(env, argv[0], &type, &length, &data, &buffer, &offset) != napi_ok || type != napi_uint8_array) {
    napi_throw_type_error(env, "E_ARGUMENT", "native kernels: the first argument must be a Uint8Array over the memory");
    return 0;
  }
  *base = data;
  *len = length;
  for (size_t i = 1; i < n; i++) {
    if (napi_get_value_uint32(env, argv[i], &out[i]) != napi_ok) {
      napi_throw_type_error(env, "E_ARGUMENT", "native kernels: offsets and sizes must be numbers");
      return 0;
    }
  }
  return 1;
}

static int in_range(napi_env env, size_t len, uint64_t off, uint64_t bytes, const char *what) {
  if (off + bytes > len) {
    char msg[160];
    snprintf(msg, sizeof msg, "native kernels: %s (%llu bytes at %llu) is outside the memory (%zu bytes)", what,
             (unsigned long long)bytes, (unsigned long long)off, len);
    napi_throw_range_error(env, "E_SHAPE", msg);
    return 0;
  }
  return 1;
}

static napi_value features(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  CHECK(napi_create_int32(env, q4_features(), &v));
  return v;
}

// start(threads) -> threads in use
static napi_value start(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  size_t argc = 1;
  uint32_t t = 1;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc > 0) CHECK(napi_get_value_uint32(env, argv[0], &t));
  napi_value v;
  CHECK(napi_create_int32(env, pool_start((int)t), &v));
  return v;
}

// Work items of `per` panels out of `total`: how many, and item i's range [*p0, *p1).
static int items_of(int total, int per) { return (total + per - 1) / per; }
static void item_range(int i, int per, int total, int *p0, int *p1) {
  *p0 = i * per;
  *p1 = *p0 + per < total ? *p0 + per : total;
}

typedef struct {
  uint8_t *q;
  float *scale;
  int N, kb, B, perItem;
  _Atomic int failed;
} repack_ctx;

static void repack_task(void *p, int item, int thread) {
  (void)thread;
  repack_ctx *c = p;
  int p0, p1;
  item_range(item, c->perItem, c->N / Q4_PANEL, &p0, &p1);
  if (q4_repack_panels(c->q, c->scale, c->kb, c->B, p0, p1) != 0) c->failed = 1;
}

// repack(mem, q, scale, N, kBlocks, B)
static napi_value repack(napi_env env, napi_callback_info info) {
  uint8_t *base;
  size_t len;
  uint32_t a[6];
  if (!args(env, info, 6, &base, &len, a, NULL)) return NULL;
  const uint32_t q = a[1], s = a[2], N = a[3], kb = a[4], B = a[5];
  if (N % Q4_PANEL || B % 8 || B < 16 || s % 4) {
    napi_throw_range_error(env, "E_UNSUPPORTED", "native kernels: repack needs N % 16 == 0, B % 8 == 0 and aligned scales");
    return NULL;
  }
  if (!in_range(env, len, q, (uint64_t)N * kb * B / 2, "weights") || !in_range(env, len, s, (uint64_t)N * kb * 4, "scales")) return NULL;
  repack_ctx c = {base + q, (float *)(base + s), (int)N, (int)kb, (int)B, 16, 0};
  pool_run(repack_task, &c, items_of((int)(N / Q4_PANEL), c.perItem));
  if (c.failed) {
    napi_throw_error(env, "E_BACKEND", "native kernels: out of memory while repacking");
    return NULL;
  }
  return NULL;
}

// quantize(mem, a, M, K, B, kBlocks, aq, ascale, asum)
static napi_value quantize(napi_env env, napi_callback_info info) {
  uint8_t *base;
  size_t len;
  uint32_t a[9];
  if (!args(env, info, 9, &base, &len, a, NULL)) return NULL;
  const uint32_t M = a[2], K = a[3], B = a[4], kb = a[5];
  if (!in_range(env, len, a[1], (uint64_t)M * K * 4, "activations") || !in_range(env, len, a[6], (uint64_t)M * kb * B, "quantised activations") ||
      !in_range(env, len, a[7], (uint64_t)M * kb * 4, "activation scales") || !in_range(env, len, a[8], (uint64_t)M * kb * 4, "activation sums"))
    return NULL;
  q4_quantize_rows((const float *)(base + a[1]), (int)M, (int)K, (int)B, (int)kb, (int8_t *)(base + a[6]), (float *)(base + a[7]),
                   (int32_t *)(base + a[8]));
  return NULL;
}

static __thread void *t_scratch;
static __thread long t_scratchBytes;

// This thread's scratch of at least `bytes` (64-byte aligned), or NULL when out of memory.
static void *scratch(long bytes) {
  if (t_scratchBytes < bytes) {
    free(t_scratch);
    t_scratchBytes = (bytes + 63) & ~63L;
    t_scratch = aligned_alloc(64, t_scratchBytes);
    if (!t_scratch) t_scratchBytes = 0;
  }
  return t_scratch;
}

typedef struct {
  q4_job job;
  int perItem, panels;
  long scratch;
} task_ctx;

static void task(void *p, int item, int thread) {
  (void)thread;
  task_ctx *c = p;
  void *buf = scratch(c->scratch);
  if (!buf) return;  // left as is; cannot happen short of memory exhaustion
  int p0, p1;
  item_range(item, c->perItem, c->panels, &p0, &p1);
  q4_panels(&c->job, p0, p1, buf);
}

static void attn_task(void *p, int item, int thread) {
  (void)thread;
  const attn_job *j = p;
  float *sc = scratch(attn_scratch_floats(j) * 4);
  if (sc) attn_kv_head(j, item, sc);
}

// attention(mem, q, k, v, out, S, T, pastLen, H, Hkv, D, capacity, scale)
static napi_value attention(napi_env env, napi_callback_info info) {
  uint8_t *base;
  size_t len;
  uint32_t a[13];
  napi_value argv[MAX_ARGS];
  if (!args(env, info, 13, &base, &len, a, argv)) return NULL;  // a[12] unused: the scale is a double
  double scale;
  if (napi_get_value_double(env, argv[12], &scale) != napi_ok) {
    napi_throw_type_error(env, "E_ARGUMENT", "native kernels: attention needs a numeric scale");
    return NULL;
  }
  const uint32_t S = a[5], T = a[6], past = a[7], H = a[8], Hkv = a[9], D = a[10], cap = a[11];
  if (Hkv == 0 || H % Hkv || T > cap || past + S != T || S == 0) {
    napi_throw_range_error(env, "E_SHAPE", "native kernels: attention needs H % Hkv == 0, pastLen + S == T <= capacity");
    return NULL;
  }
  const uint64_t cache = (uint64_t)Hkv * cap * D * 4, qBytes = (uint64_t)S * H * D * 4;
  if (!in_range(env, len, a[1], qBytes, "queries") || !in_range(env, len, a[2], cache, "key cache") || !in_range(env, len, a[3], cache, "value cache") ||
      !in_range(env, len, a[4], qBytes, "attention output"))
    return NULL;
  attn_job j = {(const float *)(base + a[1]), (const float *)(base + a[2]), (const float *)(base + a[3]), (float *)(base + a[4]),
                (int)S, (int)T, (int)past, (int)H, (int)Hkv, (int)D, (int)cap, (float)scale};
  pool_run(attn_task, &j, (int)Hkv);
  return NULL;
}

// matmul(mem, aq, ascale, asum, M, kBlocks, B, q, scale, bias, y, N, qUp, scaleUp, amx)
// (bias, qUp, scaleUp: 0 when absent; with qUp, y = silu(a q^T) * (a qUp^T))
static napi_value matmul(napi_env env, napi_callback_info info) {
  uint8_t *base;
  size_t len;
  uint32_t a[16];
  if (!args(env, info, 15, &base, &len, a, NULL)) return NULL;
  const uint32_t M = a[4], kb = a[5], B = a[6], N = a[11];
  if (!(q4_features() & 1) || N % Q4_PANEL || B % 8 || M == 0) {
    napi_throw_range_error(env, "E_UNSUPPORTED", "native kernels: matmul needs AVX512-VNNI, N % 16 == 0 and B % 8 == 0");
    return NULL;
  }
  const uint64_t wBytes = (uint64_t)N * kb * B / 2, sBytes = (uint64_t)N * kb * 4;
  if (!in_range(env, len, a[1], (uint64_t)M * kb * B, "quantised activations") || !in_range(env, len, a[2], (uint64_t)M * kb * 4, "activation scales") ||
      !in_range(env, len, a[3], (uint64_t)M * kb * 4, "activation sums") || !in_range(env, len, a[7], wBytes, "weights") ||
      !in_range(env, len, a[8], sBytes, "scales") || !in_range(env, len, a[10], (uint64_t)M * N * 4, "output") ||
      (a[9] && !in_range(env, len, a[9], (uint64_t)N * 4, "bias")) || (a[12] && !in_range(env, len, a[12], wBytes, "up weights")) ||
      (a[13] && !in_range(env, len, a[13], sBytes, "up scales")))
    return NULL;
  task_ctx c;
  memset(&c, 0, sizeof c);
  c.job.aq = (const int8_t *)(base + a[1]);
  c.job.ascale = (const float *)(base + a[2]);
  c.job.asum = (const int32_t *)(base + a[3]);
  c.job.M = (int)M;
  c.job.kBlocks = (int)kb;
  c.job.B = (int)B;
  c.job.q = base + a[7];
  c.job.scale = (const float *)(base + a[8]);
  c.job.bias = a[9] ? (const float *)(base + a[9]) : NULL;
  c.job.y = (float *)(base + a[10]);
  c.job.N = (int)N;
  c.job.qu = a[12] ? base + a[12] : NULL;
  c.job.scaleu = a[13] ? (const float *)(base + a[13]) : NULL;
  c.job.amx = a[14] && (q4_features() & 2);
  c.panels = (int)(N / Q4_PANEL);
  const int threads = pool_threads();
  // ~8 pieces per thread, taken dynamically
  c.perItem = items_of(c.panels, 8 * threads);
  c.scratch = q4_scratch_bytes(&c.job);
  pool_run(task, &c, items_of(c.panels, c.perItem));
  return NULL;
}

#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif

// hugepages(mem, off, len) -> 2 MB pages made. Backs the weights just loaded at [off, off + len) with
// transparent huge pages: MADV_HUGEPAGE, then MADV_COLLAPSE (Linux 6.1+) over the 2 MB-aligned range
// from the end of the previous call's (or from the start of the 2 MB page holding `off`, which holds
// earlier weights) to the last whole 2 MB page. Weights load one after another, so the model ends up
// in 2 MB pages while memory allocated later (KV cache, scratch) keeps 4 KB pages and is resident only
// where touched. Streaming the weights then costs one TLB entry per 2 MB. Failure is not an error
// (THP off, old kernel): the pages stay as they are.
static uintptr_t g_hugeEnd;

static napi_value hugepages(napi_env env, napi_callback_info info) {
  uint8_t *base;
  size_t len;
  uint32_t a[3];
  if (!args(env, info, 3, &base, &len, a, NULL)) return NULL;
  if (!in_range(env, len, a[1], a[2], "huge page range")) return NULL;
  const uintptr_t huge = 2u << 20;
  uintptr_t p0 = (uintptr_t)(base + a[1]) & ~(huge - 1);
  const uintptr_t p1 = ((uintptr_t)(base + a[1]) + a[2]) & ~(huge - 1);
  if (p0 < g_hugeEnd && g_hugeEnd <= p1) p0 = g_hugeEnd;
  int32_t pages = 0;
  if (p1 > p0) {
    madvise((void *)p0, p1 - p0, MADV_HUGEPAGE);
    if (madvise((void *)p0, p1 - p0, MADV_COLLAPSE) == 0) pages = (int32_t)((p1 - p0) / huge);
    if (p1 > g_hugeEnd) g_hugeEnd = p1;
  }
  napi_value v;
  CHECK(napi_create_int32(env, pages, &v));
  return v;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"features", NULL, features, NULL, NULL, NULL, napi_default, NULL},
      {"start", NULL, start, NULL, NULL, NULL, napi_default, NULL},
      {"repack", NULL, repack, NULL, NULL, NULL, napi_default, NULL},
      {"quantize", NULL, quantize, NULL, NULL, NULL, napi_default, NULL},
      {"matmul", NULL, matmul, NULL, NULL, NULL, napi_default, NULL},
      {"attention", NULL, attention, NULL, NULL, NULL, napi_default, NULL},
      {"hugepages", NULL, hugepages, NULL, NULL, NULL, napi_default, NULL},
  };
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
