import { isTinyLlamaError } from '@tinyllama/core';
import { expect } from 'vitest';

/** Asserts that `f` throws a TinyLlamaError with code E_ARGUMENT whose message matches `pattern`. */
export function expectArgumentError(f: () => unknown, pattern: RegExp): void {
  try {
    f();
  } catch (e) {
    expect(isTinyLlamaError(e, 'E_ARGUMENT')).toBe(true);
    expect((e as Error).message).toMatch(pattern);
    return;
  }
  throw new Error('expected an E_ARGUMENT error');
}
