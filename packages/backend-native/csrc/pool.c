#define _GNU_SOURCE
#include "pool.h"

#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#define MAX_THREADS 64
#define SPIN 200000

static struct {
  int threads;
  pthread_t th[MAX_THREADS];
  _Atomic int gen;       // bumped to publish a job
  _Atomic int next;      // next item to take
  _Atomic int finished;  // workers done with the current job
  _Atomic int sleepers;  // workers inside futex wait
  int items;
  pool_task task;
  void *ctx;
} P;

static long futex(_Atomic int *addr, int op, int val) { return syscall(SYS_futex, (int *)addr, op, val, NULL, NULL, 0); }

static void work(int thread) {
  int i;
  while ((i = atomic_fetch_add_explicit(&P.next, 1, memory_order_relaxed)) < P.items) P.task(P.ctx, i, thread);
}

static void *worker(void *arg) {
  const int thread = (int)(long)arg;
  int seen = atomic_load(&P.gen);
  for (;;) {
    int g = seen;
    for (int s = 0; s < SPIN && (g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen; s++) __builtin_ia32_pause();
    if (g == seen) {
      atomic_fetch_add(&P.sleepers, 1);
      if (atomic_load(&P.gen) == seen) futex(&P.gen, FUTEX_WAIT_PRIVATE, seen);
      atomic_fetch_sub(&P.sleepers, 1);
      continue;
    }
    seen = g;
    work(thread);
    atomic_fetch_add_explicit(&P.finished, 1, memory_order_release);
  }
  return NULL;
}

int pool_start(int threads) {
  if (P.threads > 0) return P.threads;
  if (threads < 1) threads = 1;
  if (threads > MAX_THREADS) threads = MAX_THREADS;
  P.threads = 1;
  for (int t = 1; t < threads; t++) {
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    const int rc = pthread_create(&P.th[t], &attr, worker, (void *)(long)t);
    pthread_attr_destroy(&attr);
    if (rc != 0) break;
    P.threads++;
  }
  return P.threads;
}

int pool_threads(void) { return P.threads > 0 ? P.threads : 1; }

void pool_run(pool_task task, void *ctx, int items) {
  if (P.threads <= 1 || items <= 1) {
    for (int i = 0; i < items; i++) task(ctx, i, 0);
    return;
  }
  P.task = task;
  P.ctx = ctx;
  P.items = items;
  atomic_store_explicit(&P.next, 0, memory_order_relaxed);
  atomic_store_explicit(&P.finished, 0, memory_order_relaxed);
  atomic_fetch_add_explicit(&P.gen, 1, memory_order_release);
  if (atomic_load(&P.sleepers) > 0) futex(&P.gen, FUTEX_WAKE_PRIVATE, INT_MAX);
  work(0);
  while (atomic_load_explicit(&P.finished, memory_order_acquire) < P.threads - 1) __builtin_ia32_pause();
}
