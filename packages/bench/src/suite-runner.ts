/**
 * The side-by-side benchmark: `tinyllama bench --json` for each model directory (each run in its own
 * process) alternating with the baseline commands (llama.cpp's `llama-bench`), for several rounds;
 * medians per system and ratios ours / baseline.
 */
import os from 'node:os';
import { basename } from 'node:path';
import { TinyLlamaError } from '@tinyllama/core';
import { parseLlamaBenchOutput, summarizeLlamaBench } from './llama-bench.js';
import { describeCommand, runCommand, type CommandOutcome, type CommandRunner, type CommandSpec } from './process-run.js';

/** One measurement of one system. Throughputs in tokens/s; null when the system does not report it. */
export interface BenchSample {
  readonly promptTokensPerSecond: number | null;
  readonly ttftMs: number | null;
  readonly decodeTokensPerSecond: number | null;
  readonly peakMemoryMB: number | null;
  readonly loadMs: number | null;
}

/** All samples of one system (one of our model directories, or one model of one baseline command). */
export interface SystemResult {
  readonly kind: 'ours' | 'baseline';
  /** Short name for tables. */
  readonly label: string;
  /** Model directory (ours) or GGUF file as llama-bench reports it (baseline). */
  readonly model: string;
  /** The command line of the first run. */
  readonly command: string;
  readonly samples: BenchSample[];
  /** Per-metric medians over the rounds (nulls ignored). */
  readonly median: BenchSample;
  /** Settings reported by the system (tokens, threads, backend...). */
  readonly details: Record<string, unknown>;
}

/** One ours-vs-baseline comparison of medians; speeds > 1 mean ours is faster. */
export interface SuiteRatio {
  readonly ours: string;
  readonly baseline: string;
  /** ours decode tok/s ÷ baseline decode tok/s. */
  readonly decode: number | null;
  /** ours prompt tok/s ÷ baseline prompt tok/s. */
  readonly prompt: number | null;
  /** ours peak MB ÷ baseline peak MB (< 1: ours uses less). */
  readonly memory: number | null;
}

/** Where the suite ran. */
export interface SuiteEnvironment {
  readonly node: string;
  readonly platform: string;
  readonly cpuModel: string;
  readonly cpus: number;
  readonly memoryGB: number;
}

/** The machine this process runs on. */
export function suiteEnvironment(): SuiteEnvironment {
  const cpus = os.cpus();
  return {
    node: process.version,
    platform: `${os.platform()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpus: os.availableParallelism?.() ?? cpus.length,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
  };
}

/** The whole suite's outcome. */
export interface SuiteResult {
  readonly date: string;
  readonly environment: SuiteEnvironment;
  readonly rounds: number;
  readonly systems: readonly SystemResult[];
  readonly ratios: readonly SuiteRatio[];
}

/** Options of {@link runSuite}. */
export interface SuiteOptions {
  /** Hugging Face model directories benchmarked by our CLI. */
  readonly models: readonly string[];
  /** Shell command lines of the baseline (e.g. `llama-bench -m x.gguf -t 2 -p 16 -n 128 -o json`). */
  readonly baselines: readonly string[];
  readonly rounds: number;
  /** Path of `packages/cli/dist/bin.js`. */
  readonly cliPath: string;
  /** Extra flags for `tinyllama bench` (e.g. `--threads 2 --gen-tokens 128`). */
  readonly passThrough?: readonly string[];
  /** Backends each model runs on (`--backend NAME`, one system per model and backend); default: the CLI's choice. */
  readonly backends?: readonly string[];
  /** Node executable (default: this one). */
  readonly node?: string;
  readonly cwd?: string;
  /** Progress lines (one per run). */
  readonly onLog?: (line: string) => void;
  readonly runner?: CommandRunner;
}

/** Median of the non-null values (mean of the middle two for an even count); null when none. */
export function median(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (xs.length === 0) return null;
  const mid = xs.length >> 1;
  return xs.length % 2 === 1 ? xs[mid] : (xs[mid - 1] + xs[mid]) / 2;
}

function medianSample(samples: readonly BenchSample[]): BenchSample {
  const m = (k: keyof BenchSample): number | null => median(samples.map((s) => s[k]));
  return {
    promptTokensPerSecond: m('promptTokensPerSecond'),
    ttftMs: m('ttftMs'),
    decodeTokensPerSecond: m('decodeTokensPerSecond'),
    peakMemoryMB: m('peakMemoryMB'),
    loadMs: m('loadMs'),
  };
}

function failure(spec: CommandSpec, o: CommandOutcome, why: string): TinyLlamaError {
  const tail = (o.stderr.trim() || o.stdout.trim()).split('\n').slice(-8).join('\n');
  return new TinyLlamaError('E_BACKEND', `benchmark command failed (${why}): ${describeCommand(spec)}\n${tail}`);
}

/** Parses the last stdout line of `tinyllama bench --json`. */
export function parseOurBench(stdout: string): { sample: BenchSample; details: Record<string, unknown> } {
  const last = stdout.trim().split('\n').pop() ?? '';
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(last) as Record<string, unknown>;
  } catch (e) {
    throw new TinyLlamaError('E_CORRUPT', `tinyllama bench --json: the last output line is not JSON: ${last.slice(0, 200)}`, { cause: e });
  }
  const n = (k: string): number | null => (typeof o[k] === 'number' && Number.isFinite(o[k]) ? (o[k] as number) : null);
  const ttft = n('ttftMs');
  const promptTokens = n('promptTokens');
  const { loadMs: _l, ttftMs: _t, decodeTokensPerSecond: _d, peakMemoryMB: _p, ...details } = o;
  return {
    sample: {
      promptTokensPerSecond: ttft && promptTokens ? (promptTokens * 1000) / ttft : null,
      ttftMs: ttft,
      decodeTokensPerSecond: n('decodeTokensPerSecond'),
      peakMemoryMB: n('peakMemoryMB'),
      loadMs: n('loadMs'),
    },
    details,
  };
}

interface Acc {
  kind: 'ours' | 'baseline';
  label: string;
  model: string;
  command: string;
  samples: BenchSample[];
  details: Record<string, unknown>;
}

/**
 * Runs the suite: per round, our model runs and baseline commands alternate (ours[0], baseline[0],
 * ours[1], baseline[1], ...), each in its own process.
 * @throws `E_ARGUMENT` for an empty model list or rounds < 1; `E_BACKEND` when a command fails.
 */
export async function runSuite(o: SuiteOptions): Promise<SuiteResult> {
  if (o.models.length === 0 && o.baselines.length === 0) throw new TinyLlamaError('E_ARGUMENT', 'nothing to benchmark: no models and no baseline');
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new TinyLlamaError('E_ARGUMENT', `--rounds must be a positive integer, got ${o.rounds}`);
  const run = o.runner ?? runCommand;
  const log = o.onLog ?? (() => undefined);
  const systems = new Map<string, Acc>();
  const backends: readonly (string | undefined)[] = o.backends && o.backends.length > 0 ? o.backends : [undefined];
  const ours = o.models.flatMap((dir) => backends.map((backend) => ({ dir, backend })));
  const steps = Math.max(ours.length, o.baselines.length);

  const runOurs = async ({ dir, backend }: { dir: string; backend: string | undefined }, round: number): Promise<void> => {
    // the V8 flag of the tinyllama executable's shebang (packages/cli/src/bin.ts)
    const args = ['--max-semi-space-size=2', o.cliPath, 'bench', '--model', dir, '--json', ...(backend ? ['--backend', backend] : []), ...(o.passThrough ?? [])];
    const spec: CommandSpec = { file: o.node ?? process.execPath, args };
    const res = await run(spec, { cwd: o.cwd });
    if (res.code !== 0) throw failure(spec, res, `exit code ${res.code}`);
    const { sample, details } = parseOurBench(res.stdout);
    const key = `ours\u0000${dir}\u0000${backend ?? ''}`;
    const label = `tinyllama ${basename(dir)}${backend ? ` (${backend})` : ''}`;
    const acc = systems.get(key) ?? { kind: 'ours', label, model: dir, command: describeCommand(spec), samples: [], details };
    acc.samples.push(sample);
    systems.set(key, acc);
    log(`round ${round}: ${acc.label}: ${fmt(sample.ttftMs)} ms first token, ${fmt(sample.decodeTokensPerSecond)} tok/s decode`);
  };

  const runBaseline = async (command: string, index: number, round: number): Promise<void> => {
    const spec: CommandSpec = { command, shell: true };
    const res = await run(spec, { cwd: o.cwd });
    if (res.code !== 0) throw failure(spec, res, `exit code ${res.code}`);
    let models;
    try {
      models = summarizeLlamaBench(parseLlamaBenchOutput(res.stdout));
    } catch (e) {
      throw new TinyLlamaError('E_CORRUPT', `baseline ${index + 1} output could not be parsed: ${command}`, { cause: e });
    }
    for (const m of models) {
      const key = `baseline\u0000${index}\u0000${m.model}`;
      // several baseline commands on one model (e.g. two llama.cpp builds): named by their binary's build directory
      const build = o.baselines.length > 1 ? ` [${baselineBuildName(command)}]` : '';
      const label = `llama.cpp ${basename(m.model)}${m.modelType ? ` (${m.modelType})` : ''}${build}`;
      const acc = systems.get(key) ?? { kind: 'baseline', label, model: m.model, command, samples: [], details: { threads: m.threads, promptTokens: m.nPrompt, genTokens: m.nGen, buildCommit: m.buildCommit } };
      const sample: BenchSample = {
        promptTokensPerSecond: m.promptTokensPerSecond,
        ttftMs: m.promptTokensPerSecond && m.nPrompt ? (m.nPrompt * 1000) / m.promptTokensPerSecond : null,
        decodeTokensPerSecond: m.decodeTokensPerSecond,
        // process-wide peak: shared by every model of one llama-bench invocation
        peakMemoryMB: res.peakRssMB,
        loadMs: null,
      };
      acc.samples.push(sample);
      systems.set(key, acc);
      log(`round ${round}: ${label}: ${fmt(sample.promptTokensPerSecond)} tok/s prompt, ${fmt(sample.decodeTokensPerSecond)} tok/s decode`);
    }
  };

  for (let r = 1; r <= o.rounds; r++) {
    for (let i = 0; i < steps; i++) {
      if (i < ours.length) await runOurs(ours[i]!, r);
      if (i < o.baselines.length) await runBaseline(o.baselines[i], i, r);
    }
  }

  const results: SystemResult[] = [...systems.values()].map((a) => ({ ...a, median: medianSample(a.samples) }));
  const ratio = (a: number | null, b: number | null): number | null => (a !== null && b !== null && b !== 0 ? a / b : null);
  const ratios: SuiteRatio[] = [];
  for (const ours of results.filter((s) => s.kind === 'ours')) {
    for (const base of results.filter((s) => s.kind === 'baseline')) {
      ratios.push({
        ours: ours.label,
        baseline: base.label,
        decode: ratio(ours.median.decodeTokensPerSecond, base.median.decodeTokensPerSecond),
        prompt: ratio(ours.median.promptTokensPerSecond, base.median.promptTokensPerSecond),
        memory: ratio(ours.median.peakMemoryMB, base.median.peakMemoryMB),
      });
    }
  }
  return { date: new Date().toISOString(), environment: suiteEnvironment(), rounds: o.rounds, systems: results, ratios };
}

/** The directory a baseline's binary was built in: `.../build-amx/bin/llama-bench` → `build-amx`. */
export function baselineBuildName(command: string): string {
  const bin = command.trim().split(/\s+/)[0] ?? '';
  const parts = bin.split('/').filter(Boolean);
  const dir = parts.length >= 2 && parts[parts.length - 2] === 'bin' ? parts[parts.length - 3] : parts[parts.length - 2];
  return dir ?? bin;
}

function fmt(x: number | null): string {
  return x === null ? '—' : x.toFixed(x >= 100 ? 0 : 2);
}
