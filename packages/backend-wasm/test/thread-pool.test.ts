import { Worker as NodeWorker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { WasmKernels } from '../src/kernels.ts';

describe('wasm kernels thread pool in Node', () => {
  it('starts its workers with worker_threads even when a global Worker exists (onnxruntime-web sets one)', async () => {
    const g = globalThis as { Worker?: unknown };
    const before = g.Worker;
    g.Worker = NodeWorker; // what Emscripten's Node pthread support installs: cannot load blob URLs
    try {
      const k = await WasmKernels.create({ threads: 2 });
      try {
        expect(k.threads).toBe(2);
      } finally {
        k.dispose();
      }
    } finally {
      if (before === undefined) delete g.Worker;
      else g.Worker = before;
    }
  });
});
