#!/usr/bin/env node
/**
 * `node packages/bench/dist/suite.js` (`pnpm bench`): our runtime vs llama.cpp, side by side.
 * Flags the suite does not know are passed to `tinyllama bench`.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTinyLlamaError } from '@tinyllama/core';
import { formatSuiteMarkdown } from './report.js';
import { runSuite } from './suite-runner.js';

const REPO_ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const DEFAULT_MODELS = [resolve(REPO_ROOT, '../models/tinyllama-1.1b-random-f32')];

const HELP = `pnpm bench [--models DIR,DIR] [--baseline "CMD"]... [--rounds R] [--json] [--cli PATH]
           [tinyllama bench flags: --threads N --prompt-tokens N --gen-tokens N --backend ...]

Runs 'tinyllama bench --json' for each model directory (each in its own process) and, with --baseline,
the baseline command line (e.g. llama.cpp's 'llama-bench -m model.gguf -t 2 -p 16 -n 128 -r 1 -o json')
alternately, for R rounds (default 3), then prints a markdown table of medians and ratios ours / baseline.
--baseline may be repeated (one command per GGUF gives a per-model peak memory).
Default models: $TINYLLAMA_BENCH_MODELS (comma-separated) or ${DEFAULT_MODELS.join(', ')}.
--json prints one JSON object last.
`;

interface SuiteArgs {
  models: string[];
  baselines: string[];
  rounds: number;
  json: boolean;
  cli: string;
  passThrough: string[];
  help: boolean;
}

function parse(argv: readonly string[]): SuiteArgs {
  const a: SuiteArgs = {
    models: (process.env.TINYLLAMA_BENCH_MODELS?.split(',').filter(Boolean) ?? DEFAULT_MODELS).map((m) => resolve(m)),
    baselines: [],
    rounds: 3,
    json: false,
    cli: resolve(REPO_ROOT, 'packages/cli/dist/bin.js'),
    passThrough: [],
    help: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const [flag, inline] = arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    switch (flag) {
      case '--models': a.models = value().split(',').filter(Boolean).map((m) => resolve(m)); break;
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
  return a;
}

async function main(argv: readonly string[]): Promise<number> {
  const a = parse(argv);
  if (a.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (a.models.length > 0 && !existsSync(a.cli)) {
    process.stderr.write(`error: ${a.cli} not found: build first (pnpm build)\n`);
    return 2;
  }
  for (const m of a.models) {
    if (!existsSync(m)) {
      process.stderr.write(`error: model directory ${m} not found (write one with: node packages/cli/dist/bin.js random --out ${m} --preset tinyllama-1.1b)\n`);
      return 2;
    }
  }
  const result = await runSuite({
    models: a.models,
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
