import { spawn, type ChildProcess } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import { ProcessTreeMemory } from '../node/process-memory.ts';

const linux = process.platform === 'linux';

describe.skipIf(!linux)(`ProcessTreeMemory${linux ? '' : ' (SKIPPED: needs Linux /proc)'}`, () => {
  const children: ChildProcess[] = [];
  afterEach(() => {
    for (const c of children.splice(0)) c.kill();
  });
  const child = async (): Promise<ChildProcess> => {
    // a Node child holding ~64 MB it has written to (resident), alive until killed
    const c = spawn(process.execPath, ['-e', 'globalThis.b = Buffer.alloc(64 << 20, 1); console.log("ready"); setInterval(() => {}, 1000)'], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(c);
    await new Promise<void>((resolve) => c.stdout!.once('data', () => resolve()));
    return c;
  };

  it('sums the descendants of the root (not the root itself) and finds them again after a change', async () => {
    const tree = new ProcessTreeMemory(process.pid, 0); // rescan on every sample
    const before = tree.sample().total;
    await child();
    const one = tree.sample();
    expect(one.total - before).toBeGreaterThan(60 << 20);
    expect(one.renderer).toBe(0); // no Chromium renderer in the tree
    children.splice(0).forEach((c) => c.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 200));
    expect(tree.sample().total).toBeLessThan(one.total - (60 << 20));
  });

  it('notices a process that exited without waiting for the next rescan', async () => {
    const tree = new ProcessTreeMemory(process.pid, 60_000);
    await child();
    const one = tree.sample(); // scans
    children.splice(0).forEach((c) => c.kill('SIGKILL'));
    await new Promise((r) => setTimeout(r, 200));
    expect(tree.sample().total).toBeLessThan(one.total - (60 << 20)); // its readings are gone
    await child();
    expect(tree.sample().total).toBeGreaterThan(one.total - (8 << 20)); // rescanned: the new child counts
  });

  it('gives zeros for a root without descendants', () => {
    expect(new ProcessTreeMemory(2 ** 22 + 1).sample()).toEqual({ total: 0, renderer: 0 });
  });
});
