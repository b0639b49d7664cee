import { Session } from 'node:inspector/promises';
import { loadModel, loadBundle } from '@tinyllama/core/node';
import { createNodeRuntime } from '../dist/index.js';
const dir = process.argv[2];
const bundle = process.argv[3] === 'bundle';
const m = bundle ? await loadBundle(createNodeRuntime(), dir, { backend: 'wasm-kernels', threads: 2 }) : await loadModel(createNodeRuntime(), dir, { backend: 'wasm-kernels', threads: 2 });
const runner = m.generator.runner;
await runner.forward([1, 2, 3, 4, 5, 6, 7, 8]);
for (let i = 0; i < 5; i++) await runner.forward([10 + i]);
const s = new Session(); s.connect();
await s.post('HeapProfiler.enable');
await s.post('HeapProfiler.startSampling', { samplingInterval: 256, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
const N = 20;
for (let i = 0; i < N; i++) await runner.forward([20 + i]);
const { profile } = await s.post('HeapProfiler.stopSampling');
const agg = new Map();
let total = 0;
const walk = (n, stack) => {
  const fr = n.callFrame; const name = `${fr.functionName || '(anon)'} ${fr.url.split('/').slice(-2).join('/')}:${fr.lineNumber + 1}`;
  if (n.selfSize) { agg.set(name, (agg.get(name) ?? 0) + n.selfSize); total += n.selfSize; }
  for (const c of n.children) walk(c, stack);
};
walk(profile.head, []);
console.log('KB per token', (total / N / 1024).toFixed(0));
for (const [k, v] of [...agg.entries()].sort((a, b) => b[1] - a[1]).slice(0, 25)) console.log((v / N / 1024).toFixed(1).padStart(7), k);
await m.release();
process.exit(0);
