import type { Progress } from '@tinyllama/core';

/** Where a command writes: stdout for results, stderr for progress and notices. */
export interface CliIO {
  out(text: string): void;
  err(text: string): void;
  /** True when stderr is a terminal (progress bars redraw in place). */
  readonly tty: boolean;
  readonly stdin: NodeJS.ReadableStream;
}

/** The process's real streams. */
export function processIO(): CliIO {
  return {
    out: (t) => process.stdout.write(t),
    err: (t) => process.stderr.write(t),
    tty: Boolean(process.stderr.isTTY),
    stdin: process.stdin,
  };
}

const MB = 1024 * 1024;

/** A progress reporter that redraws one line on a TTY and prints at most every 10% otherwise. */
export function progressPrinter(io: CliIO): (p: Progress) => void {
  let lastPct = -10;
  let lastPhase = '';
  let lastDraw = 0;
  return (p) => {
    if (p.unit === 'bytes' ? p.total < 64 * MB : p.total < 10) return; // small work: no progress noise
    const pct = p.total > 0 ? Math.floor((p.done / p.total) * 100) : 0;
    const amount =
      p.unit === 'bytes' ? `${(p.done / MB).toFixed(0)}/${(p.total / MB).toFixed(0)} MB` : `${p.done}/${p.total} ${p.unit}`;
    const line = `${p.phase}: ${pct}% (${amount})${p.item ? ` ${p.item}` : ''}`;
    if (p.phase !== lastPhase) {
      lastPct = -10;
      lastPhase = p.phase;
    }
    const finished = p.done >= p.total;
    if (io.tty) {
      const t = Date.now();
      if (!finished && t - lastDraw < 100) return;
      lastDraw = t;
      io.err(`\r\x1b[2K${line.slice(0, 120)}${finished ? '\n' : ''}`);
    } else if (pct >= lastPct + 10 || finished) {
      if (finished && lastPct >= 100) return;
      lastPct = finished ? 100 : pct - (pct % 10);
      io.err(`${line}\n`);
    }
  };
}
