#!/usr/bin/env node
/**
 * `node packages/bench/dist/suite.js` (`pnpm bench`): our runtime vs llama.cpp, side by side.
 * Flags the suite does not know are passed to `tinyllama bench`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTinyLlamaError } from '@tinyllama/core';
import { formatSuiteMarkdown } from './report.js';
import { runSuite } from './suite-runner.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEFAULT_MODELS = [resolve(REPO_ROOT, '../models/tinyllama-1.1b-random-f32')];

const HELP = `pnpm bench [--models DIR,DIR] [--backends NAME,NAME] [--baseline "CMD"]... [--rounds R] [--json] [--cli PATH]
           [--checkpoint DIR --dtypes int4,int8,f16,f32 [--block-size N] [--build-dir DIR]]
           [tinyllama bench flags: --threads N --prompt-tokens N --gen-tokens N --backend ...]

With --checkpoint, each dtype of --dtypes is built once with 'tinyllama build' into
--build-dir (default ../models/bench-builds beside the repository) and added to the models.

Runs 'tinyllama bench --json' for each model directory (each in its own process), once per backend of
--backends (e.g. native-kernels,node; default: the CLI's choice), and, with --baseline, the baseline
command line (e.g. llama.cpp's 'llama-bench -m model.gguf -t 2 -p 16 -n 128 -r 1 -o json')
alternately, for R rounds (default 3), then prints a markdown table of medians and ratios ours / baseline.
--baseline may be repeated (one command per GGUF gives a per-model peak memory).
Default models: $TINYLLAMA_BENCH_MODELS (comma-separated) or ${DEFAULT_MODELS.join(', ')}.
--json prints one JSON object last.
`;

interface SuiteArgs {
  models: string[];
  backends: string[];
  baselines: string[];
  rounds: number;
  json: boolean;
  cli: string;
  passThrough: string[];
  help: boolean;
  checkpoint?: string;
  dtypes: string[];
  blockSize: number;
  buildDir: string;
}

function parse(argv: readonly string[]): SuiteArgs {
  const a: SuiteArgs = {
    models: (process.env.TINYLLAMA_BENCH_MODELS?.split(',').filter(Boolean) ?? DEFAULT_MODELS).map((m) => resolve(m)),
    backends: [],
    baselines: [],
    rounds: 3,
    json: false,
    cli: resolve(REPO_ROOT, 'packages/cli/dist/bin.js'),
    passThrough: [],
    help: false,
    dtypes: [],
    blockSize: 128,
    buildDir: resolve(REPO_ROOT, '../models/bench-builds'),
  };
  let modelsGiven = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--models': a.models = value().split(',').filter(Boolean).map((m) => resolve(m)); modelsGiven = true; break;
      case '--backends': a.backends = value().split(',').filter(Boolean); break;
      case '--checkpoint': a.checkpoint = resolve(value()); break;
      case '--dtypes': a.dtypes = value().split(',').filter(Boolean); break;
      case '--block-size': a.blockSize = Number(value()); break;
      case '--build-dir': a.buildDir = resolve(value()); break;
      case '--baseline': a.baselines.push(value()); break;
      case '--rounds': a.rounds = Number(value()); break;
      case '--cli': a.cli = resolve(value()); break;
      case '--json': a.json = true; break;
      case '--help': case '-h': a.help = true; break;
      default:
        a.passThrough.push(arg);
        // a flag's value travels with it
        if (arg.startsWith('--') && inline === undefined && argv[i + 1] !== undefined && !argv[i + 1].startsWith('--')) a.passThrough.push(argv[++i]);
    }
  }
  if (a.checkpoint && !modelsGiven) a.models = [];
  return a;
}

/** Builds (once) one model directory per dtype from the checkpoint; returns their paths. */
function buildDtypes(a: SuiteArgs): string[] {
  const out: string[] = [];
  for (const dtype of a.dtypes) {
    const quantised = dtype === 'int4' || dtype === 'int8';
    const dir = resolve(a.buildDir, `${basename(a.checkpoint as string)}-${dtype}${quantised ? `-b${a.blockSize}` : ''}`);
    if (!existsSync(resolve(dir, 'model.onnx'))) {
      process.stderr.write(`building ${dir}\n`);
      const args = [a.cli, 'build', '--model', a.checkpoint as string, '--out', dir, '--dtype', dtype];
      if (quantised) args.push('--block-size', String(a.blockSize));
      const r = spawnSync(process.execPath, args, { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) throw new Error(`tinyllama build --dtype ${dtype} failed (exit ${r.status})`);
    }
    out.push(dir);
  }
  return out;
}

async function main(argv: readonly string[]): Promise<number> {
  const a = parse(argv);
  if (a.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if ((a.models.length > 0 || a.checkpoint) && !existsSync(a.cli)) {
    process.stderr.write(`error: ${a.cli} not found: build first (pnpm build)\n`);
    return 2;
  }
  if (a.checkpoint) a.models.push(...buildDtypes(a));
  for (const m of a.models) {
    if (!existsSync(m)) {
      process.stderr.write(`error: model directory ${m} not found (write one with: node packages/cli/dist/bin.js random --out ${m} --preset tinyllama-1.1b)\n`);
      return 2;
    }
  }
  const result = await runSuite({
    models: a.models,
    backends: a.backends,
    baselines: a.baselines,
    rounds: a.rounds,
    cliPath: a.cli,
    passThrough: a.passThrough,
    cwd: REPO_ROOT,
    onLog: (line) => process.stderr.write(`${line}\n`),
  });
  process.stdout.write(formatSuiteMarkdown(result));
  if (a.json) process.stdout.write(`${JSON.stringify(result)}\n`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`error${isTinyLlamaError(e) ? ` [${e.code}]` : ''}: ${e instanceof Error ? e.message : String(e)}\n`);
  if (e instanceof Error && e.cause instanceof Error) process.stderr.write(`  cause: ${e.cause.message}\n`);
  process.exitCode = 1;
}
