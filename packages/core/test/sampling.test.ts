import { describe, expect, it } from 'vitest';
import { Rng, argmax, sampleToken, validateSampling } from '@tinyllama/core';

describe('Rng', () => {
  it('is deterministic per seed and roughly uniform', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const xs = Array.from({ length: 1000 }, () => a.next());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b.next()));
    expect(new Rng(43).next()).not.toBe(xs[0]);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
  });
});

describe('sampleToken', () => {
  const logits = Float32Array.from([1, 3, 2, 3, -1]);
  it('greedy picks the first maximum', () => {
    expect(argmax(logits)).toBe(1);
    expect(sampleToken(logits, { temperature: 0 }, new Rng(1))).toBe(1);
  });
  it('top-k 1 is greedy at any temperature', () => {
    for (let s = 0; s < 20; s++) expect(sampleToken(logits, { temperature: 5, topK: 1 }, new Rng(s))).toBe(1);
  });
  it('top-k restricts the support', () => {
    const seen = new Set<number>();
    const rng = new Rng(7);
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, { temperature: 10, topK: 3 }, rng));
    expect([...seen].sort()).toEqual([1, 2, 3]);
  });
  it('top-p keeps the nucleus', () => {
    // probs at T=1: [e^1, e^3, e^2, e^3, e^-1] / Z ≈ [.05, .40, .15, .40, .01]
    const seen = new Set<number>();
    const rng = new Rng(9);
    for (let i = 0; i < 2000; i++) seen.add(sampleToken(logits, { temperature: 1, topP: 0.75 }, rng));
    expect([...seen].sort()).toEqual([1, 3]);
  });
  it('matches the softmax distribution', () => {
    const l = Float32Array.from([0, Math.log(3)]); // p = [0.25, 0.75]
    const rng = new Rng(123);
    let ones = 0;
    const n = 20000;
    for (let i = 0; i < n; i++) ones += sampleToken(l, { temperature: 1 }, rng);
    expect(ones / n).toBeGreaterThan(0.73);
    expect(ones / n).toBeLessThan(0.77);
  });
  it('validates options', () => {
    expect(() => validateSampling({ temperature: -1 })).toThrow(/temperature/);
    expect(() => validateSampling({ topK: 1.5 })).toThrow(/topK/);
    expect(() => validateSampling({ topP: 0 })).toThrow(/topP/);
    expect(() => validateSampling({ temperature: 0.7, topK: 40, topP: 0.9 })).not.toThrow();
  });
});
