/**
 * Memory of a process tree (the browser a benchmark launched), read from Linux `/proc` with little CPU:
 * the benchmark shares the machine's cores with the generation it measures, so a sample must cost
 * far less than the work it watches.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** One reading: summed PSS (else RSS) of the tree in bytes, and the largest renderer's. */
export interface TreeMemory {
  readonly total: number;
  readonly renderer: number;
}

function read(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined; // the process exited, or this is not Linux
  }
}

/**
 * Samples the PSS of every descendant of `root`. The tree (one `/proc/<pid>/stat` read per process on
 * the machine) is scanned again only every `rescanMs` or when a known process is gone; each sample then
 * reads one `smaps_rollup` per process of the tree, synchronously (no thread-pool hops), and each
 * process's command line once.
 */
export class ProcessTreeMemory {
  #pids: number[] = [];
  #renderer = new Map<number, boolean>();
  #scannedAt = -Infinity;

  constructor(
    readonly root: number,
    readonly rescanMs = 2000,
  ) {}

  /** Reads the tree's memory now. */
  sample(): TreeMemory {
    if (performance.now() - this.#scannedAt > this.rescanMs) this.#scan();
    let total = 0;
    let renderer = 0;
    let gone = false;
    for (const pid of this.#pids) {
      const text = read(`/proc/${pid}/smaps_rollup`);
      const kb = text?.match(/^Pss:\s+(\d+) kB/m) ?? text?.match(/^Rss:\s+(\d+) kB/m);
      if (!kb) {
        gone = true;
        continue;
      }
      const bytes = Number(kb[1]) * 1024;
      total += bytes;
      if (this.#isRenderer(pid)) renderer = Math.max(renderer, bytes);
    }
    if (gone) this.#scannedAt = -Infinity; // rescan next time
    return { total, renderer };
  }

  #isRenderer(pid: number): boolean {
    let r = this.#renderer.get(pid);
    if (r === undefined) {
      r = (read(`/proc/${pid}/cmdline`) ?? '').includes('--type=renderer');
      this.#renderer.set(pid, r);
    }
    return r;
  }

  #scan(): void {
    this.#scannedAt = performance.now();
    const children = new Map<number, number[]>();
    let names: string[] = [];
    try {
      names = readdirSync('/proc');
    } catch {
      // not Linux: no readings
    }
    for (const name of names) {
      if (!/^\d+$/.test(name)) continue;
      const stat = read(`/proc/${name}/stat`);
      if (!stat) continue;
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(name));
      children.set(ppid, list);
    }
    const out: number[] = [];
    const queue = [this.root];
    while (queue.length) for (const c of children.get(queue.pop()!) ?? []) out.push(c), queue.push(c);
    this.#pids = out;
    for (const pid of this.#renderer.keys()) if (!out.includes(pid)) this.#renderer.delete(pid);
  }
}
