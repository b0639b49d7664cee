/**
 * The guard against reads from storage that never settle (Cache API bodies and lookups, OPFS copies).
 * @packageDocumentation
 */
import { TinyLlamaError } from '@tinyllama/core';

/**
 * How long a read from storage may go without progress before it counts as stalled (a guard: about 1 in
 * 10 loads of a 560 MB bundle from the Cache API in headless Chromium once waited for ever, at a step
 * not yet pinned down).
 */
export const STALL_MS = 20_000;

/** The `E_IO` error of a read that stalled (see {@link untilStalled}): readers retry once on it. */
export class StallError extends TinyLlamaError {
  constructor(message: string) {
    super('E_IO', message);
    this.name = 'StallError';
  }
}

/**
 * `p`, or a {@link StallError} when it has not settled after `ms` (default {@link STALL_MS});
 * `onStall` then cancels what `p` waits for.
 */
export async function untilStalled<T>(p: Promise<T>, what: string, onStall?: () => void, ms = STALL_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stalled = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new StallError(`${what}: no data for ${ms / 1000} s`));
      onStall?.(); // after the rejection: cancelling settles `p`, which must not win the race
    }, ms);
  });
  try {
    return await Promise.race([p, stalled]);
  } finally {
    clearTimeout(timer);
  }
}
