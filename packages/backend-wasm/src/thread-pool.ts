import { TinyLlamaError } from '@tinyllama/core';
import { importRuntime, isNode } from './env.js';

/**
 * Control block layout (Int32 slots in shared memory):
 *   [0] generation: bumped by the caller to start a job
 *   [1] done: workers increment it when their part is finished
 *   [2] quit: 1 asks workers to exit
 *   [3] error: set to 1 when a worker's kernel threw
 *   [8 + w * ARGS_STRIDE + 0]   export index for worker w
 *   [8 + w * ARGS_STRIDE + 1..] its arguments (i32; f32 arguments as their bit pattern)
 *   an export index of -1 means "no job for this worker"
 */
const HEADER = 8;
/** Slots per worker: export index + up to 19 arguments. */
export const ARGS_STRIDE = 20;

/**
 * The worker's code, as a self-contained script (no imports), so the same text runs as a Node
 * `worker_threads` eval worker and as a browser Blob worker whatever the bundler. It instantiates the
 * kernels module on the shared memory, then loops: spin briefly on the generation slot, sleep with
 * `Atomics.wait` when idle, run its slice, count itself done.
 */
const WORKER_SOURCE = `
const isNode = typeof process !== 'undefined' && process.versions && process.versions.node && typeof self === 'undefined';
const port = isNode ? require('node:worker_threads').parentPort : self;
function onMessage(fn) { if (isNode) port.on('message', fn); else port.onmessage = (e) => fn(e.data); }
onMessage(async (msg) => {
  const { module, memory, ctlOffset, index, exportNames, spin, floatArgs } = msg;
  const i32 = new Int32Array(1), f32 = new Float32Array(i32.buffer);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const fns = exportNames.map((n) => instance.exports[n]);
  const ctl = new Int32Array(memory.buffer, ctlOffset, ${HEADER} + 64 * ${ARGS_STRIDE});
  const base = ${HEADER} + index * ${ARGS_STRIDE};
  port.postMessage('ready');
  let seen = Atomics.load(ctl, 0);
  for (;;) {
    let g = Atomics.load(ctl, 0);
    for (let i = 0; g === seen && i < spin; i++) g = Atomics.load(ctl, 0);
    if (g === seen) { Atomics.wait(ctl, 0, seen); continue; }
    seen = g;
    if (Atomics.load(ctl, 2) === 1) break;
    const fn = Atomics.load(ctl, base);
    if (fn >= 0) {
      try {
        const args = [];
        for (let i = 1; i < ${ARGS_STRIDE}; i++) args.push(ctl[base + i]);
        // float arguments travel as their bit pattern: the export's signature says which are f32
        const types = floatArgs[fn];
        if (types) for (const i of types) { i32[0] = args[i]; args[i] = f32[0]; }
        fns[fn](...args);
      } catch (e) { Atomics.store(ctl, 3, 1); }
    }
    Atomics.add(ctl, 1, 1);
    Atomics.notify(ctl, 1);
  }
  if (isNode) port.close(); else self.close();
});
`;

interface WorkerLike {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

async function spawnWorker(): Promise<{ worker: WorkerLike; ready: Promise<void> }> {
  if (isNode() && typeof (globalThis as { Worker?: unknown }).Worker === 'undefined') {
    const wt = (await importRuntime('node:worker_threads')) as typeof import('node:worker_threads');
    const worker = new wt.Worker(WORKER_SOURCE, { eval: true });
    worker.unref();
    const ready = new Promise<void>((resolve, reject) => {
      worker.once('message', () => resolve());
      worker.once('error', reject);
    });
    return { worker, ready };
  }
  const url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
  const worker = new Worker(url);
  const ready = new Promise<void>((resolve, reject) => {
    worker.onmessage = () => resolve();
    worker.onerror = (e) => reject(new Error(e.message));
  });
  return { worker, ready };
}

/**
 * Worker threads sharing the kernels' memory. `run` hands each worker its own argument list, runs
 * the caller's part on the calling thread, and returns when all parts are done. The caller must be
 * allowed to block (`Atomics.wait`): Node's main thread or a Web Worker, not a browser's main thread.
 */
export class ThreadPool {
  readonly #ctl: Int32Array;
  readonly #workers: WorkerLike[];

  private constructor(ctl: Int32Array, workers: WorkerLike[]) {
    this.#ctl = ctl;
    this.#workers = workers;
  }

  /**
   * Starts `count` workers (threads besides the caller's) on `module` and `memory`.
   * @param ctlOffset a free region of `controlBytes(count)` bytes in `memory`
   */
  static async start(
    module: WebAssembly.Module,
    memory: WebAssembly.Memory,
    ctlOffset: number,
    count: number,
    exportNames: readonly string[],
    floatArgs: Readonly<Record<number, readonly number[]>> = {},
    spin = 50000,
  ): Promise<ThreadPool> {
    const ctl = new Int32Array(memory.buffer, ctlOffset, HEADER + 64 * ARGS_STRIDE);
    ctl.fill(0);
    const workers: WorkerLike[] = [];
    try {
      for (let index = 0; index < count; index++) {
        const { worker, ready } = await spawnWorker();
        workers.push(worker);
        worker.postMessage({ module, memory, ctlOffset, index, exportNames: [...exportNames], spin, floatArgs });
        await ready;
      }
    } catch (e) {
      for (const w of workers) void w.terminate();
      throw new TinyLlamaError('E_BACKEND', `wasm kernels: could not start worker threads: ${(e as Error).message}`, { cause: e });
    }
    return new ThreadPool(ctl, workers);
  }

  /** Bytes of the control block for `count` workers. */
  static controlBytes(count: number): number {
    return (HEADER + Math.max(64, count) * ARGS_STRIDE) * 4;
  }

  /** Number of worker threads (not counting the caller). */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Runs job `w` (export index and i32 arguments, or `undefined` for none) on each worker `w`, and
   * `own()` on the calling thread meanwhile.
   */
  run(jobs: readonly ({ fn: number; args: readonly number[] } | undefined)[], own: () => void): void {
    const ctl = this.#ctl;
    const n = this.#workers.length;
    for (let w = 0; w < n; w++) {
      const base = HEADER + w * ARGS_STRIDE;
      const job = jobs[w];
      ctl[base] = job ? job.fn : -1;
      if (job) for (let i = 0; i < job.args.length; i++) ctl[base + 1 + i] = job.args[i]!;
    }
    Atomics.store(ctl, 1, 0);
    Atomics.add(ctl, 0, 1);
    Atomics.notify(ctl, 0);
    try {
      own();
    } finally {
      // Spin only briefly before sleeping: a long spin here starves other threads of the process
      // (V8's background compilation, GC) on small machines and measured 2-8x slower in Node.
      let done = Atomics.load(ctl, 1);
      for (let i = 0; done < n && i < 2000; i++) done = Atomics.load(ctl, 1);
      while (done < n) {
        Atomics.wait(ctl, 1, done, 1000);
        done = Atomics.load(ctl, 1);
      }
    }
    if (Atomics.load(ctl, 3) !== 0) {
      Atomics.store(ctl, 3, 0);
      throw new TinyLlamaError('E_BACKEND', 'wasm kernels: a worker thread failed');
    }
  }

  /** Stops the workers. */
  stop(): void {
    Atomics.store(this.#ctl, 2, 1);
    Atomics.add(this.#ctl, 0, 1);
    Atomics.notify(this.#ctl, 0);
    for (const w of this.#workers) void w.terminate();
    this.#workers.length = 0;
  }
}
