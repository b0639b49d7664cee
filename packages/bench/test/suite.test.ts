import { describe, expect, it } from 'vitest';
import { parseLlamaBenchOutput, summarizeLlamaBench } from '../src/llama-bench.js';
import type { CommandRunner, CommandSpec } from '../src/process-run.js';
import { formatSuiteMarkdown } from '../src/report.js';
import { baselineBuildName, median, parseOurBench, runSuite } from '../src/suite-runner.js';

/** A trimmed `llama-bench -o json` record (the real one has ~45 fields). */
function record(model: string, nPrompt: number, nGen: number, samples: number[]): Record<string, unknown> {
  return {
    build_commit: 'de3ff81',
    model_filename: model,
    model_type: model.includes('q4') ? 'llama 1B Q4_0' : 'llama 1B all F32',
    n_threads: 2,
    type_k: 'f16',
    n_prompt: nPrompt,
    n_gen: nGen,
    n_depth: 0,
    avg_ts: samples.reduce((a, b) => a + b, 0) / samples.length,
    samples_ts: samples,
  };
}

const JSON_OUT = JSON.stringify([
  record('/m/x-f32.gguf', 16, 0, [40, 50, 45]),
  record('/m/x-f32.gguf', 0, 128, [4, 5, 6]),
  record('/m/x-q4_0.gguf', 16, 0, [90]),
  record('/m/x-q4_0.gguf', 0, 128, [20]),
], null, 2);

const MD_OUT = `| model                          |       size |     params | backend    | threads |            test |                  t/s |
| ------------------------------ | ---------: | ---------: | ---------- | ------: | --------------: | -------------------: |
| llama 1B all F32               |   4.10 GiB |     1.10 B | CPU        |       2 |            pp16 |         42.50 ± 1.20 |
| llama 1B all F32               |   4.10 GiB |     1.10 B | CPU        |       2 |           tg128 |          4.75 ± 0.02 |

build: de3ff81 (1)
`;

describe('llama-bench output', () => {
  it('parses -o json (median of the repetitions) and groups pp/tg per model', () => {
    const s = summarizeLlamaBench(parseLlamaBenchOutput(JSON_OUT));
    expect(s).toEqual([
      { model: '/m/x-f32.gguf', modelType: 'llama 1B all F32', threads: 2, buildCommit: 'de3ff81', nPrompt: 16, nGen: 128, promptTokensPerSecond: 45, decodeTokensPerSecond: 5 },
      { model: '/m/x-q4_0.gguf', modelType: 'llama 1B Q4_0', threads: 2, buildCommit: 'de3ff81', nPrompt: 16, nGen: 128, promptTokensPerSecond: 90, decodeTokensPerSecond: 20 },
    ]);
  });

  it('parses -o jsonl and the markdown table', () => {
    const jsonl = [record('/a.gguf', 16, 0, [10]), record('/a.gguf', 0, 64, [2])].map((r) => JSON.stringify(r)).join('\n');
    expect(summarizeLlamaBench(parseLlamaBenchOutput(jsonl))[0]).toMatchObject({ promptTokensPerSecond: 10, decodeTokensPerSecond: 2, nGen: 64 });
    expect(summarizeLlamaBench(parseLlamaBenchOutput(MD_OUT))).toEqual([
      { model: 'llama 1B all F32', modelType: '', threads: 2, buildCommit: '', nPrompt: 16, nGen: 128, promptTokensPerSecond: 42.5, decodeTokensPerSecond: 4.75 },
    ]);
  });

  it('rejects output without results', () => {
    expect(() => parseLlamaBenchOutput('error: failed to load model')).toThrow(/no llama-bench results/);
  });
});

describe('suite', () => {
  it('medians ignore nulls and average the middle pair', () => {
    expect(median([3, null, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([null])).toBeNull();
  });

  it('reads the last JSON line of tinyllama bench', () => {
    const r = parseOurBench('noise\n{"model":"m","promptTokens":16,"loadMs":900,"ttftMs":400,"decodeTokensPerSecond":5.5,"peakMemoryMB":5000}\n');
    expect(r.sample).toEqual({ promptTokensPerSecond: 40, ttftMs: 400, decodeTokensPerSecond: 5.5, peakMemoryMB: 5000, loadMs: 900 });
    expect(r.details).toEqual({ model: 'm', promptTokens: 16 });
  });

  it('alternates ours and the baseline per round, in separate processes, and reports medians and ratios', async () => {
    const calls: CommandSpec[] = [];
    let ourRun = 0;
    const runner: CommandRunner = async (spec) => {
      calls.push(spec);
      if (spec.shell) return { code: 0, stdout: JSON_OUT, stderr: '', wallMs: 1, peakRssMB: 2500 };
      ourRun++;
      const o = { promptTokens: 16, loadMs: 1000, ttftMs: [400, 200, 300][ourRun - 1], decodeTokensPerSecond: [9, 10, 11][ourRun - 1], peakMemoryMB: 5000 };
      return { code: 0, stdout: `${JSON.stringify(o)}\n`, stderr: '', wallMs: 1, peakRssMB: 5000 };
    };
    const res = await runSuite({ models: ['/models/tl'], baselines: ['llama-bench -m x -o json'], rounds: 3, cliPath: '/cli/bin.js', passThrough: ['--threads', '2'], node: 'node', runner });
    expect(calls.map((c) => (c.shell ? 'base' : 'ours'))).toEqual(['ours', 'base', 'ours', 'base', 'ours', 'base']);
    expect(calls[0]).toEqual({ file: 'node', args: ['--max-semi-space-size=2', '/cli/bin.js', 'bench', '--model', '/models/tl', '--json', '--threads', '2'] });
    const ours = res.systems.find((s) => s.kind === 'ours')!;
    expect(ours.median).toEqual({ promptTokensPerSecond: 16000 / 300, ttftMs: 300, decodeTokensPerSecond: 10, peakMemoryMB: 5000, loadMs: 1000 });
    const bases = res.systems.filter((s) => s.kind === 'baseline');
    expect(bases.map((b) => b.label)).toEqual(['llama.cpp x-f32.gguf (llama 1B all F32)', 'llama.cpp x-q4_0.gguf (llama 1B Q4_0)']);
    expect(bases[0].median.ttftMs).toBeCloseTo((16 * 1000) / 45, 9);
    expect(res.ratios[0]).toMatchObject({ decode: 2, memory: 2 });
    expect(res.ratios[1].decode).toBe(0.5);
    const md = formatSuiteMarkdown(res);
    expect(md).toMatch(/^Medians of 3 rounds, .*\nMachine: \d+ × .*; Node v\d+.*; llama\.cpp de3ff81\.\n/);
    expect(md).toMatch(/\| tinyllama tl \| 53\.3 \| 300 \| 10\.00 \| 5000 \| 1000 \|/);
    expect(md).toMatch(/\| tinyllama tl \| llama\.cpp x-q4_0\.gguf \(llama 1B Q4_0\) \| 0\.50× \| 0\.59× \| 2\.00× \|/);
  });

  it('runs each model once per backend of --backends, and names several baselines by their build directory', async () => {
    const calls: CommandSpec[] = [];
    const runner: CommandRunner = async (spec) => {
      calls.push(spec);
      if (spec.shell) return { code: 0, stdout: JSON_OUT, stderr: '', wallMs: 1, peakRssMB: 2500 };
      const o = { promptTokens: 16, loadMs: 1, ttftMs: 100, decodeTokensPerSecond: 30, peakMemoryMB: 600 };
      return { code: 0, stdout: `${JSON.stringify(o)}\n`, stderr: '', wallMs: 1, peakRssMB: 600 };
    };
    const res = await runSuite({
      models: ['/models/a', '/models/b'],
      backends: ['native-kernels', 'node'],
      baselines: ['/w/build-amx/bin/llama-bench -m x -o json', '/w/build/bin/llama-bench -m x -o json'],
      rounds: 1,
      cliPath: '/cli/bin.js',
      node: 'node',
      runner,
    });
    // four of ours and two baselines alternate: ours, base, ours, base, ours, ours
    expect(calls.map((c) => (c.shell ? 'base' : c.args![6] === '--backend' ? `${c.args![4]} ${c.args![7]}` : '?'))).toEqual([
      '/models/a native-kernels',
      'base',
      '/models/a node',
      'base',
      '/models/b native-kernels',
      '/models/b node',
    ]);
    expect(res.systems.filter((s) => s.kind === 'ours').map((s) => s.label)).toEqual([
      'tinyllama a (native-kernels)',
      'tinyllama a (node)',
      'tinyllama b (native-kernels)',
      'tinyllama b (node)',
    ]);
    expect(res.systems.filter((s) => s.kind === 'baseline').map((s) => s.label)).toContain('llama.cpp x-q4_0.gguf (llama 1B Q4_0) [build-amx]');
    expect(res.systems.filter((s) => s.kind === 'baseline').map((s) => s.label)).toContain('llama.cpp x-q4_0.gguf (llama 1B Q4_0) [build]');
    expect(baselineBuildName('  /x/llama.cpp/build-clang/bin/llama-bench -m m.gguf')).toBe('build-clang');
    expect(baselineBuildName('./llama-bench -m m.gguf')).toBe('.');
  });

  it('names the failing command and its stderr', async () => {
    const runner: CommandRunner = async () => ({ code: 3, stdout: '', stderr: 'model not found', wallMs: 1, peakRssMB: null });
    await expect(runSuite({ models: ['/m'], baselines: [], rounds: 1, cliPath: '/cli.js', runner })).rejects.toThrow(/exit code 3.*\/m[\s\S]*model not found/);
  });
});
