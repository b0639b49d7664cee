import { spawnSync } from 'node:child_process';

/** glibc malloc settings under which freed session memory goes back to the OS (see docs/bundles.md). */
export const STREAMING_MALLOC_ENV: Readonly<Record<string, string>> = {
  // Allocations of 1 MB and more (weights) get their own mapping, unmapped on free; without this glibc
  // raises its mmap threshold after the first frees and keeps the memory of evicted chunk sessions
  // (TinyLlama-1.1B int4, --memory-limit 300: peak RSS ~650 MB instead of ~400 MB).
  MALLOC_MMAP_THRESHOLD_: '1048576',
  MALLOC_ARENA_MAX: '2',
};

const STREAMING_FLAGS = ['--memory-limit', '--max-resident-chunks'];

/**
 * For the `tinyllama` executable only: when a streaming flag is given on Linux and the malloc settings
 * are not in the environment yet, runs the same command again in a child process with
 * {@link STREAMING_MALLOC_ENV} (glibc reads them at start-up) and returns its exit code; otherwise
 * returns undefined. `TINYLLAMA_MALLOC_TUNING=0` turns this off.
 */
export function rerunWithStreamingMalloc(argv: readonly string[]): number | undefined {
  if (process.platform !== 'linux' || process.env.TINYLLAMA_MALLOC_TUNING === '0') return undefined;
  if (!argv.some((a) => STREAMING_FLAGS.some((f) => a === f || a.startsWith(`${f}=`)))) return undefined;
  if (Object.keys(STREAMING_MALLOC_ENV).every((k) => process.env[k] !== undefined)) return undefined;
  const script = process.argv[1];
  if (!script) return undefined;
  const r = spawnSync(process.execPath, [...process.execArgv, script, ...argv], {
    stdio: 'inherit',
    env: { ...STREAMING_MALLOC_ENV, ...process.env },
  });
  return r.status ?? 1;
}
