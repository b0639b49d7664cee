/**
 * Runs one benchmark command in its own process and captures its output, wall time and (on Linux)
 * the peak resident memory of its process tree, sampled from `/proc/<pid>/status` (`VmHWM`).
 */
import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { TinyLlamaError } from '@tinyllama/core';

/** A command to run: an executable with arguments, or a shell command line. */
export type CommandSpec =
  | { readonly file: string; readonly args: readonly string[]; readonly shell?: false }
  | { readonly command: string; readonly shell: true };

/** What a finished command produced. */
export interface CommandOutcome {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly wallMs: number;
  /** Largest `VmHWM` over the process and its descendants (MB), null when /proc is unavailable. */
  readonly peakRssMB: number | null;
}

/** Runs a {@link CommandSpec}; injectable so the suite can be tested without processes. */
export type CommandRunner = (spec: CommandSpec, options?: { readonly cwd?: string; readonly env?: NodeJS.ProcessEnv }) => Promise<CommandOutcome>;

async function vmHwmKB(pid: number): Promise<number | null> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const m = /^VmHWM:\s+(\d+)\s+kB/m.exec(status);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

async function childrenOf(pid: number): Promise<number[]> {
  try {
    const text = await readFile(`/proc/${pid}/task/${pid}/children`, 'utf8');
    return text.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

/** Polls the peak RSS of a process tree until {@link PeakRssWatcher.stop}. */
class PeakRssWatcher {
  private peakKB: number | null = null;
  private timer: NodeJS.Timeout | undefined;
  private busy = false;

  constructor(private readonly pid: number, intervalMs: number) {
    this.timer = setInterval(() => void this.sample(), intervalMs);
    void this.sample();
  }

  private async sample(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      const queue = [this.pid];
      for (let i = 0; i < queue.length && i < 64; i++) {
        const kb = await vmHwmKB(queue[i]);
        if (kb !== null) this.peakKB = Math.max(this.peakKB ?? 0, kb);
        queue.push(...(await childrenOf(queue[i])));
      }
    } finally {
      this.busy = false;
    }
  }

  stop(): number | null {
    clearInterval(this.timer);
    return this.peakKB === null ? null : Math.round((this.peakKB / 1024) * 10) / 10;
  }
}

/** The default {@link CommandRunner}: `child_process.spawn`, output collected, memory sampled every 50 ms. */
export const runCommand: CommandRunner = (spec, options = {}) =>
  new Promise((resolvePromise, reject) => {
    const t0 = performance.now();
    const child = spec.shell
      ? spawn(spec.command, { shell: true, cwd: options.cwd, env: options.env ?? process.env })
      : spawn(spec.file, [...spec.args], { cwd: options.cwd, env: options.env ?? process.env });
    const watcher = child.pid !== undefined ? new PeakRssWatcher(child.pid, 50) : undefined;
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      watcher?.stop();
      reject(new TinyLlamaError('E_IO', `cannot start '${describeCommand(spec)}'`, { cause: e }));
    });
    child.on('close', (code, signal) => {
      const peakRssMB = watcher?.stop() ?? null;
      resolvePromise({
        code: code ?? (signal ? 128 : 1),
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        wallMs: performance.now() - t0,
        peakRssMB,
      });
    });
  });

/** A one-line rendering of a command for messages. */
export function describeCommand(spec: CommandSpec): string {
  return spec.shell ? spec.command : [spec.file, ...spec.args].join(' ');
}
