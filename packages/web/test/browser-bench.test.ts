import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchPromptIds, runBrowserBench } from '../node/browser-bench.ts';
import { CHROMIUM, CHROMIUM_INSTALL } from './chromium.ts';
import { buildApp, cli, skipReason } from './demo-fixture.ts';

const skip = skipReason(CHROMIUM, CHROMIUM_INSTALL);

describe.skipIf(skip !== undefined)(`bench --backend chromium on a tiny model${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let tmp: string;
  let model: string;
  let app: string;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tinyllama-web-bench-'));
    app = join(tmp, 'app');
    model = join(tmp, 'model');
    const building = buildApp(app);
    await cli('random', '--out', join(tmp, 'ckpt'), '--preset', 'tiny');
    await cli('build', '--model', join(tmp, 'ckpt'), '--out', model, '--dtype', 'f32');
    await building;
  });

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('prints the bench --json fields', async () => {
    const { stdout } = await cli('bench', '--backend', 'chromium', '--model', model, '--app', app, '--prompt-tokens', '8', '--gen-tokens', '8', '--json');
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    expect(r).toMatchObject({ backend: 'chromium', promptTokens: 8, genTokens: 8 });
    for (const k of ['loadMs', 'ttftMs', 'decodeTokensPerSecond', 'peakMemoryMB']) {
      expect(typeof r[k], k).toBe('number');
      expect(r[k] as number, k).toBeGreaterThan(0);
    }
    expect(String(r.env)).toContain('cross-origin isolated');
  });

  it('generates the Node CLI greedy ids for the bench prompt', async () => {
    const r = await runBrowserBench({ modelDir: model, appDir: app, promptTokens: 8, genTokens: 8, executablePath: CHROMIUM });
    const prompt = benchPromptIds(8, 384, 1); // the tiny preset's vocabulary and BOS
    const { stdout } = await cli('generate', '--model', model, '--prompt-ids', prompt.join(','), '--max-tokens', '8', '--temperature', '0', '--ignore-eos', '--json');
    expect(r.ids).toEqual((JSON.parse(stdout.trim().split('\n').at(-1)!) as { ids: number[] }).ids);
  });

  it('--profile reports operator timings for the first token and per decode step', async () => {
    const { stdout } = await cli('bench', '--backend', 'chromium', '--model', model, '--app', app, '--prompt-tokens', '8', '--gen-tokens', '8', '--profile', '--json');
    const r = JSON.parse(stdout.trim().split('\n').at(-1)!) as { profile: { prefill: Record<string, number>; decode: Record<string, number>; decodeSteps: number } };
    expect(r.profile.decodeSteps).toBe(7);
    for (const part of [r.profile.prefill, r.profile.decode]) {
      expect(Object.keys(part)).toEqual(expect.arrayContaining(['Gemm']));
      for (const ms of Object.values(part)) expect(ms).toBeGreaterThanOrEqual(0);
    }
    const text = await cli('bench', '--backend', 'chromium', '--model', model, '--app', app, '--prompt-tokens', '8', '--gen-tokens', '8', '--profile');
    expect(text.stdout).toMatch(/profile, per decode step \([\d.]+ ms, 7 steps\):/);
    expect(text.stdout).toContain('(outside operators)');
  });
});
