import { describe, expect, it } from 'vitest';
import { BackendRegistry, modelFacts, Registry, TinyLlamaError, type Backend } from '@tinyllama/core';

describe('Registry', () => {
  it('orders by priority then registration', () => {
    const r = new Registry<number>('thing').register('a', 1, 0).register('b', 2, 5).register('c', 3, 0);
    expect(r.names()).toEqual(['b', 'a', 'c']);
    expect(r.get('b')).toBe(2);
    expect(() => r.get('zzz')).toThrow(/unknown thing 'zzz' \(known: b, a, c\)/);
  });
});

describe('BackendRegistry', () => {
  const mk = (name: string, fail: boolean, counter: { n: number }): Backend => ({
    name,
    supportedDomains: [''],
    async init() {
      counter.n++;
      if (fail) throw new Error(`${name} broke`);
    },
    async createSession() {
      throw new Error('unused');
    },
  });
  it('initialises lazily once and falls back by priority', async () => {
    const c = { n: 0 };
    const reg = new BackendRegistry().register(mk('bad', true, c), 10).register(mk('good', false, c), 1);
    const [a, b] = await Promise.all([reg.resolve(), reg.resolve()]);
    expect(a.name).toBe('good');
    expect(b).toBe(a);
    expect(c.n).toBe(2);
  });
  it('skips unnamed backends that do not suit the model; named ones run anything', async () => {
    const c = { n: 0 };
    const picky: Backend = { ...mk('picky', false, c), suits: (m) => m.weightDtype === 'int4' && m.symmetric !== false };
    const reg = new BackendRegistry().register(picky, 10).register(mk('any', false, c), 1);
    expect((await reg.resolve([], modelFacts({ dtype: 'int4', symmetric: true }))).name).toBe('picky');
    expect((await reg.resolve([], modelFacts({ dtype: 'int4', symmetric: false }))).name).toBe('any');
    expect((await reg.resolve([], modelFacts(undefined))).name).toBe('any');
    expect((await reg.resolve(['picky'], modelFacts({ dtype: 'f32' }))).name).toBe('picky');
    // fields of another type count as unknown
    expect(modelFacts({ dtype: 4, symmetric: 'yes' })).toEqual({ weightDtype: undefined, symmetric: undefined });
  });
  it('throws one combined error', async () => {
    const reg = new BackendRegistry().register(mk('x', true, { n: 0 }));
    await expect(reg.resolve(['x', 'y'])).rejects.toThrow(/x: x broke; y: not registered/);
    await expect(reg.resolve(['y'])).rejects.toBeInstanceOf(TinyLlamaError);
  });
});
