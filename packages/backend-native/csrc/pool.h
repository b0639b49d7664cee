// A small fixed thread pool for the native kernels: the caller plus `threads - 1` pthreads. A job is
// `items` independent pieces taken with an atomic counter (a thread that wakes late takes fewer);
// idle workers spin briefly, then sleep on a futex.
#pragma once

typedef void (*pool_task)(void *ctx, int item, int thread);

// Starts the workers once (later calls only report the count). Returns the threads in use.
int pool_start(int threads);
// Runs task(ctx, i, thread) for i in [0, items) on every thread, the caller's included; returns when done.
void pool_run(pool_task task, void *ctx, int items);
int pool_threads(void);
