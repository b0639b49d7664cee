import { describe, expect, it } from 'vitest';
import { StopStringFilter } from '@tinyllama/core';

describe('StopStringFilter', () => {
  it('holds back possible prefixes and cuts at the stop string', () => {
    const f = new StopStringFilter(['\n\nUser:']);
    expect(f.push('Hello')).toBe('Hello');
    expect(f.push(' there\n')).toBe(' there');
    expect(f.push('\nUs')).toBe('');
    expect(f.push('er: hi')).toBe('');
    expect(f.stopped).toBe(true);
    expect(f.flush()).toBe('');
  });
  it('releases held text when it stops matching, and at the end', () => {
    const f = new StopStringFilter(['END']);
    expect(f.push('the E')).toBe('the ');
    expect(f.push('ND')).toBe('');
    const g = new StopStringFilter(['END']);
    expect(g.push('an EN')).toBe('an ');
    expect(g.push('d')).toBe('ENd');
    expect(g.push('E')).toBe('');
    expect(g.flush()).toBe('E');
  });
  it('picks the earliest of several', () => {
    const f = new StopStringFilter(['bb', 'a']);
    expect(f.push('xxbba')).toBe('xx');
  });
});
