import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { teacherForced, top1Agreement } from '@tinyllama/core';
import { buildModelDir, loadModel } from '@tinyllama/core/node';
import { createNodeRuntime } from '../src/index.js';
import { HAS_SHARED, SHARED, TINY, tempDir } from './helpers.js';

let work: string;
beforeAll(async () => {
  work = await tempDir('quant');
  process.env.TINYLLAMA_CACHE = join(work, 'cache');
});

async function logitsStats(dir: string, ids: number[]) {
  const model = await loadModel(createNodeRuntime(), dir);
  try {
    return await teacherForced(model.generator.runner, ids);
  } finally {
    await model.release();
  }
}

describe('quantised builds of the tiny fixtures stay close to float32', () => {
  const variants = ['gqa-f32-safetensors', 'gqa-f16-bin-sharded', 'mha-f16-bin-untied'];
  for (const variant of variants) {
    it(`${variant}: int8 and int4 perplexity near float32, f16 equal`, async () => {
      const src = join(TINY, variant);
      const golden = JSON.parse(await readFile(join(src, 'golden.json'), 'utf8')) as { inputIds: number[] };
      const ids = golden.inputIds;
      const f32 = await logitsStats(src, ids);
      const rt = createNodeRuntime();
      const out: Record<string, number> = {};
      for (const dtype of ['float16', 'int8', 'int4'] as const) {
        const dir = join(work, `${variant}-${dtype}`);
        await buildModelDir(rt, src, dir, { weights: { dtype, blockSize: 32 } });
        const q = await logitsStats(dir, ids);
        out[dtype] = q.perplexity / f32.perplexity - 1;
        if (dtype === 'float16') expect(q.top1).toEqual(f32.top1);
      }
      console.info(`${variant}: perplexity change f16 ${out.float16.toFixed(5)}, int8 ${out.int8.toFixed(4)}, int4 ${out.int4.toFixed(4)}`);
      expect(Math.abs(out.float16)).toBeLessThan(0.01);
      expect(Math.abs(out.int8)).toBeLessThan(0.05);
      expect(Math.abs(out.int4)).toBeLessThan(1);
    });
  }
});

describe.skipIf(!HAS_SHARED)('quantisation quality on the trained stories260K (needs ../shared/fixtures)', () => {
  // Measured (block 32 unless said): int8 acc. level 0 block 16 +1.4% (+0.40% with a float32 embedding and
  // LM head), int8 acc. level 4 +7.4%, int4 +970% even with
  // an int8 embedding and head: this 260K-parameter model does not survive 4-bit round-to-nearest. The
  // bounds below guard these measurements against regressions; see docs/quantization.md.
  it('int8 stays within 2% of float32 perplexity; int4 figures are recorded', async () => {
    const src = join(SHARED, 'stories260k-hf');
    const ref = JSON.parse(await readFile(join(TINY, '..', 'stories260k', 'reference.json'), 'utf8')) as {
      greedyFromBos: { ids: number[] };
      perplexity: number;
    };
    const ids = [1, ...ref.greedyFromBos.ids]; // BOS + 256 tokens: 256 predictions
    const f32 = await logitsStats(src, ids);
    expect(Math.abs(f32.perplexity / ref.perplexity - 1)).toBeLessThan(1e-4); // matches PyTorch
    const rt = createNodeRuntime();
    const report: Record<string, { perplexity: number; relative: number; top1Agreement: number }> = {};
    const formats = {
      int8: { dtype: 'int8', blockSize: 16, accuracyLevel: 0 },
      // int8 linears, float32 embedding and LM head: the int8 target (within 1% of float32)
      int8Linears: { dtype: 'int8', blockSize: 16, accuracyLevel: 0, embeddingDtype: 'float32', lmHeadDtype: 'float32' },
      int4: { dtype: 'int4', blockSize: 16, accuracyLevel: 4, symmetric: false, embeddingDtype: 'int8', lmHeadDtype: 'int8' },
      // the fast path (int8 activations) with searched scales: +7.4% round to nearest, +2.6% searched
      int8Searched: { dtype: 'int8', blockSize: 32, accuracyLevel: 4, scaleSearch: true },
    } as const;
    for (const dtype of ['int8', 'int8Linears', 'int4', 'int8Searched'] as const) {
      const dir = join(work, `stories-${dtype}`);
      await buildModelDir(rt, src, dir, { weights: formats[dtype] });
      const q = await logitsStats(dir, ids);
      report[dtype] = { perplexity: q.perplexity, relative: q.perplexity / f32.perplexity - 1, top1Agreement: top1Agreement(q.top1, f32.top1) };
    }
    console.info(`stories260K perplexity: f32 ${f32.perplexity.toFixed(4)}; ${JSON.stringify(report)}`);
    expect(Math.abs(report.int8.relative)).toBeLessThan(0.02);
    expect(Math.abs(report.int8Linears.relative)).toBeLessThan(0.01); // measured +0.40%
    expect(report.int8Linears.top1Agreement).toBeGreaterThan(0.93);
    expect(Math.abs(report.int8Searched.relative)).toBeLessThan(0.04);
    expect(report.int8.top1Agreement).toBeGreaterThan(0.9);
    expect(report.int4.relative).toBeLessThan(6);
    expect(report.int4.top1Agreement).toBeGreaterThan(0.35);
  });
});
