import { describe, expect, it } from 'vitest';
import { chooseThreads, DEFAULT_MODEL_URL, parseDemoParams } from '../src/params.ts';

describe('parseDemoParams', () => {
  it('defaults: ./model/, no autorun, wasm, cache on', () => {
    const p = parseDemoParams('');
    expect(p.model).toBe(DEFAULT_MODEL_URL);
    expect(p.autorun).toBe(false);
    expect(p.promptIds).toBeUndefined();
    expect(p.executionProviders).toEqual(['wasm']);
    expect(p.useCache).toBe(true);
    expect(p.settings).toMatchObject({ maxNewTokens: 64, temperature: 0.8, topK: 40, topP: 0.95, ignoreEos: false });
  });

  it('reads a greedy id request and normalises the model URL', () => {
    const p = parseDemoParams('?model=https://h/m&prompt-ids=1,%205,6&max-tokens=16&temperature=0&ignore-eos=1&seed=7&threads=2&cache=0&ep=webgpu,wasm');
    expect(p.model).toBe('https://h/m/');
    expect(p.promptIds).toEqual([1, 5, 6]);
    expect(p.autorun).toBe(true);
    expect(p.settings).toMatchObject({ maxNewTokens: 16, temperature: 0, ignoreEos: true, seed: 7 });
    expect(p.threads).toBe(2);
    expect(p.useCache).toBe(false);
    expect(p.executionProviders).toEqual(['webgpu', 'wasm']);
  });

  it('max-resident-chunks streams a bundle; absent keeps it resident', () => {
    expect(parseDemoParams('?max-resident-chunks=2').maxResidentChunks).toBe(2);
    expect(parseDemoParams('').maxResidentChunks).toBeUndefined();
  });

  it('profile=1 asks for operator timings; off by default', () => {
    expect(parseDemoParams('?profile=1').profile).toBe(true);
    expect(parseDemoParams('').profile).toBe(false);
  });

  it('a text prompt autoruns too', () => {
    expect(parseDemoParams('?prompt=Hello').autorun).toBe(true);
  });

  it.each(['?max-tokens=1.5', '?max-tokens=-1', '?temperature=x', '?top-p=2', '?prompt-ids=1,,2', '?prompt-ids=1,-3', '?threads=0', '?max-resident-chunks=0'])(
    'rejects %s naming the parameter',
    (q) => {
      const name = q.slice(1).split('=')[0];
      expect(() => parseDemoParams(q)).toThrow(name);
    },
  );
});

describe('chooseThreads', () => {
  it('is 1 without cross-origin isolation whatever was asked', () => {
    expect(chooseThreads(8, false, 16)).toBe(1);
  });
  it('honours a request, else min(4, ceil(cores / 2))', () => {
    expect(chooseThreads(3, true, 2)).toBe(3);
    expect(chooseThreads(undefined, true, 2)).toBe(1);
    expect(chooseThreads(undefined, true, 6)).toBe(3);
    expect(chooseThreads(undefined, true, 32)).toBe(4);
  });
});
