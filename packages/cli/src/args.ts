import { parseArgs, type ParseArgsConfig } from 'node:util';
import { TinyLlamaError } from '@tinyllama/core';

/** Parses a command's arguments strictly; unknown flags and missing values are `E_ARGUMENT` errors. */
export function parseCommand<T extends ParseArgsConfig>(command: string, config: T): ReturnType<typeof parseArgs<T>> {
  try {
    return parseArgs(config); // strict by default: unknown flags throw
  } catch (e) {
    throw new TinyLlamaError('E_ARGUMENT', `${command}: ${(e as Error).message}`, { cause: e });
  }
}

/** Parses an integer flag within bounds. */
export function intFlag(name: string, value: string | undefined, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new TinyLlamaError('E_ARGUMENT', `--${name} must be an integer in [${min}, ${max}], got '${value}'`);
  }
  return n;
}

/** Parses a number flag within bounds. */
export function numFlag(name: string, value: string | undefined, dflt: number, min: number, max: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new TinyLlamaError('E_ARGUMENT', `--${name} must be a number in [${min}, ${max}], got '${value}'`);
  }
  return n;
}

/** Parses a comma-separated id list such as `1,2,3`. */
export function idsFlag(name: string, value: string): number[] {
  const parts = value.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const ids = parts.map(Number);
  if (ids.length === 0 || ids.some((n) => !Number.isInteger(n) || n < 0)) {
    throw new TinyLlamaError('E_ARGUMENT', `--${name} must be a comma-separated list of non-negative integers, got '${value}'`);
  }
  return ids;
}

/** Throws `E_ARGUMENT` when a required flag is missing. */
export function required<T>(command: string, name: string, value: T | undefined): T {
  if (value === undefined || value === '') throw new TinyLlamaError('E_ARGUMENT', `${command}: --${name} is required`);
  return value;
}

/** Parses `--kv-cache auto|shared|rows|concat`. */
export function kvCacheFlag(value: string | undefined): 'auto' | 'shared' | 'rows' | 'concat' {
  if (value === undefined) return 'auto';
  if (value === 'auto' || value === 'shared' || value === 'rows' || value === 'concat') return value;
  throw new TinyLlamaError('E_ARGUMENT', `--kv-cache must be auto, shared, rows or concat, got '${value}'`);
}

/** Parses `--prefill-chunk N` (tokens per prefill step, 0 = the whole prompt at once; absent: the runner's default). */
export function prefillChunkFlag(value: string | undefined): number | undefined {
  return value === undefined ? undefined : intFlag('prefill-chunk', value, 0, 0);
}
