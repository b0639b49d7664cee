import { describe, expect, it } from 'vitest';
import { GenerationProfiler } from '../src/profile.ts';

describe('GenerationProfiler', () => {
  it('splits timings at the first token and forgets what came before start', () => {
    const timings = new Map([['Load', 99]]);
    const p = new GenerationProfiler(timings);
    p.start();
    timings.set('MatMul', 10);
    p.token(); // first token: prefill closed
    timings.set('MatMul', (timings.get('MatMul') ?? 0) + 2);
    p.token();
    timings.set('MatMul', (timings.get('MatMul') ?? 0) + 3);
    timings.set('Add', 1);
    p.token();
    expect(p.result(3)).toEqual({ prefill: { MatMul: 10 }, decode: { MatMul: 5, Add: 1 }, decodeSteps: 2 });
  });

  it('is undefined without a token or without any timing', () => {
    const p = new GenerationProfiler(new Map());
    p.start();
    expect(p.result(0)).toBeUndefined();
    p.token();
    expect(p.result(1)).toBeUndefined(); // a backend that times nothing
  });
});
