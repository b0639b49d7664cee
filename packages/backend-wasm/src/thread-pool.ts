import { TinyLlamaError } from '@tinyllama/core';
import { importRuntime, isNode } from './env.js';

/**
 * Control block layout (Int32 slots in shared memory):
 *   [0] job word: even = a job is open, odd = closed (the caller adds 2 to open the next job and 1 to
 *       close it)
 *   [1] active: workers currently inside the open job
 *   [2] quit: 1 asks workers to exit
 *   [3] error: set to 1 when a worker's kernel threw
 *   [4] counter: the work counter the kernels take chunks from (`counterOffset`)
 *   [8] export index of the job, [9..] its arguments (i32; f32 arguments as their bit pattern)
 * Every thread runs the same call; the kernels split the work themselves by taking chunks from the
 * counter (atomic fetch-add), so a worker that wakes late takes fewer chunks (or none) instead of
 * making the caller wait for its fixed share.
 */
const HEADER = 8;
const JOB = 0;
const ACTIVE = 1;
const QUIT = 2;
const ERROR = 3;
const COUNTER = 4;
/** How long {@link ThreadPool.run} waits for the workers that joined a call before it gives up. */
const WAIT_LIMIT_MS = 60_000;
/** Argument slots of a job. */
export const MAX_ARGS = 24;

/**
 * The worker's code, as a self-contained script (no imports), so the same text runs as a Node
 * `worker_threads` eval worker and as a browser Blob worker whatever the bundler. It instantiates the
 * kernels module on the shared memory, then loops: spin briefly on the job word, sleep with
 * `Atomics.wait` when idle; on a new open job, join it (count itself active, re-check the job is still
 * open), run the call, leave.
 */
const WORKER_SOURCE = `
const isNode = typeof process !== 'undefined' && process.versions && process.versions.node && typeof self === 'undefined';
const port = isNode ? require('node:worker_threads').parentPort : self;
function onMessage(fn) { if (isNode) port.on('message', fn); else port.onmessage = (e) => fn(e.data); }
onMessage(async (msg) => {
  const { module, memory, ctlOffset, exportNames, spin, floatArgs } = msg;
  const i32 = new Int32Array(1), f32 = new Float32Array(i32.buffer);
  const instance = await WebAssembly.instantiate(module, { env: { memory } });
  const fns = exportNames.map((n) => instance.exports[n]);
  const ctl = new Int32Array(memory.buffer, ctlOffset, ${HEADER} + ${MAX_ARGS} + 1);
  port.postMessage('ready');
  let handled = Atomics.load(ctl, ${JOB}) & ~1;
  for (;;) {
    let j = Atomics.load(ctl, ${JOB});
    for (let i = 0; (j & ~1) === handled && i < spin; i++) j = Atomics.load(ctl, ${JOB});
    if (Atomics.load(ctl, ${QUIT}) === 1) break;
    if ((j & ~1) === handled) { Atomics.wait(ctl, ${JOB}, j); continue; }
    handled = j & ~1;
    if (j & 1) continue; // closed before we saw it: the caller did the work
    Atomics.add(ctl, ${ACTIVE}, 1);
    if (Atomics.load(ctl, ${JOB}) === j) {
      const fn = ctl[${HEADER}];
      try {
        const args = [];
        for (let i = 0; i < ${MAX_ARGS}; i++) args.push(ctl[${HEADER} + 1 + i]);
        // float arguments travel as their bit pattern: the export's signature says which are f32
        const types = floatArgs[fn];
        if (types) for (const i of types) { i32[0] = args[i]; args[i] = f32[0]; }
        fns[fn](...args);
      } catch (e) { Atomics.store(ctl, ${ERROR}, 1); }
    }
    if (Atomics.sub(ctl, ${ACTIVE}, 1) === 1) Atomics.notify(ctl, ${ACTIVE});
  }
  if (isNode) port.close(); else self.close();
});
`;

interface WorkerLike {
  postMessage(msg: unknown): void;
  terminate(): unknown;
}

async function spawnWorker(): Promise<{ worker: WorkerLike; ready: Promise<void> }> {
  // Node: worker_threads even where a global `Worker` exists (onnxruntime-web's Emscripten code sets
  // one to worker_threads' Worker, which cannot load the blob URL below)
  if (isNode()) {
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
 * Worker threads sharing the kernels' memory. `run` publishes one call (export index and arguments),
 * runs it on the calling thread too, then closes the job and waits for the workers that joined it. The
 * kernels split the work through the counter at {@link ThreadPool.counterOffset}. The caller must be
 * allowed to block (`Atomics.wait`): Node's main thread or a Web Worker, not a browser's main thread.
 */
export class ThreadPool {
  readonly #ctl: Int32Array;
  readonly #workers: WorkerLike[];
  /** Byte offset of the work counter in the memory. */
  readonly counterOffset: number;
  #job = 0;

  private constructor(ctl: Int32Array, ctlOffset: number, workers: WorkerLike[]) {
    this.#ctl = ctl;
    this.#workers = workers;
    this.counterOffset = ctlOffset + COUNTER * 4;
  }

  /**
   * Starts `count` workers (threads besides the caller's) on `module` and `memory`.
   * @param ctlOffset a free region of {@link ThreadPool.controlBytes} bytes in `memory`
   * @param floatArgs per export index, the argument positions that are f32
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
    const ctl = new Int32Array(memory.buffer, ctlOffset, HEADER + MAX_ARGS + 1);
    ctl.fill(0);
    const workers: WorkerLike[] = [];
    try {
      for (let index = 0; index < count; index++) {
        const { worker, ready } = await spawnWorker();
        workers.push(worker);
        worker.postMessage({ module, memory, ctlOffset, exportNames: [...exportNames], spin, floatArgs });
        await ready;
      }
    } catch (e) {
      for (const w of workers) void w.terminate();
      throw new TinyLlamaError('E_BACKEND', `wasm kernels: could not start worker threads: ${(e as Error).message}`, { cause: e });
    }
    return new ThreadPool(ctl, ctlOffset, workers);
  }

  /** Bytes of the control block. */
  static controlBytes(): number {
    return (HEADER + MAX_ARGS + 1) * 4;
  }

  /** Number of worker threads (not counting the caller). */
  get size(): number {
    return this.#workers.length;
  }

  /**
   * Runs export `fn` with `args` (i32 values; f32 ones as their bit pattern) on every worker that joins,
   * and `own()` (the same call) on the calling thread; the work counter starts at 0.
   */
  run(fn: number, args: readonly number[], own: () => void): void {
    const ctl = this.#ctl;
    if (args.length > MAX_ARGS) throw new TinyLlamaError('E_ARGUMENT', `thread pool: ${args.length} arguments (at most ${MAX_ARGS})`);
    ctl[HEADER] = fn;
    for (let i = 0; i < args.length; i++) ctl[HEADER + 1 + i] = args[i]!;
    Atomics.store(ctl, COUNTER, 0);
    this.#job += 2;
    Atomics.store(ctl, JOB, this.#job);
    Atomics.notify(ctl, JOB);
    try {
      own();
    } finally {
      Atomics.store(ctl, JOB, this.#job + 1); // closed: late workers leave without running
      // Workers that joined are on their last chunk: spin briefly, then sleep (a long spin here starves
      // other threads of the process, V8's background compilation and GC, on small machines).
      let active = Atomics.load(ctl, ACTIVE);
      for (let i = 0; active !== 0 && i < 20000; i++) active = Atomics.load(ctl, ACTIVE);
      // a kernel call takes milliseconds: a worker still inside it after a minute is stuck, and
      // blocking this thread for ever would hang the page without a word
      const deadline = active !== 0 ? performance.now() + WAIT_LIMIT_MS : 0;
      while (active !== 0) {
        if (performance.now() > deadline) {
          throw new TinyLlamaError('E_BACKEND', `wasm kernels: ${active} worker thread(s) did not finish call ${fn} (job ${this.#job}) in ${WAIT_LIMIT_MS / 1000} s`);
        }
        Atomics.wait(ctl, ACTIVE, active, 1000);
        active = Atomics.load(ctl, ACTIVE);
      }
    }
    if (Atomics.load(ctl, ERROR) !== 0) {
      Atomics.store(ctl, ERROR, 0);
      throw new TinyLlamaError('E_BACKEND', 'wasm kernels: a worker thread failed');
    }
  }

  /** Stops the workers. */
  stop(): void {
    Atomics.store(this.#ctl, QUIT, 1);
    Atomics.add(this.#ctl, JOB, 2);
    Atomics.notify(this.#ctl, JOB);
    for (const w of this.#workers) void w.terminate();
    this.#workers.length = 0;
  }
}
