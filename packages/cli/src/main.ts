import { TinyLlamaError, isTinyLlamaError } from '@tinyllama/core';
import { BENCH_HELP, benchCommand } from './commands/bench.js';
import { BUILD_HELP, buildCommand } from './commands/build.js';
import { CONVERT_HELP, convertCommand } from './commands/convert.js';
import { GENERATE_HELP, generateCommand } from './commands/generate.js';
import { INSPECT_HELP, inspectCommand } from './commands/inspect.js';
import { RANDOM_HELP, randomCommand } from './commands/random.js';
import { TOKENIZE_HELP, tokenizeCommand } from './commands/tokenize.js';
import type { CliIO } from './io.js';

type Command = { run: (argv: string[], io: CliIO) => Promise<number>; help: string; summary: string };

const COMMANDS: Record<string, Command> = {
  generate: { run: generateCommand, help: GENERATE_HELP, summary: 'generate text from a prompt (streams tokens)' },
  demo: {
    run: (argv, io) => generateCommand(['--prompt', 'Once upon a time', '--max-tokens', '48', '--seed', '1', ...argv], io),
    help: `tinyllama demo [generate options]\n\nRuns generate with a demo prompt (and, without --model, a small random-weight model).\n`,
    summary: 'generate with a demo prompt (random-weight model unless --model)',
  },
  tokenize: { run: tokenizeCommand, help: TOKENIZE_HELP, summary: 'print token ids of text' },
  convert: { run: convertCommand, help: CONVERT_HELP, summary: 'convert a PyTorch checkpoint to safetensors' },
  inspect: { run: inspectCommand, help: INSPECT_HELP, summary: 'show config, parameter count and tensors' },
  build: { run: buildCommand, help: BUILD_HELP, summary: 'build a checkpoint into a (quantised) ONNX model directory' },
  bench: { run: benchCommand, help: BENCH_HELP, summary: 'measure load time, first-token latency, decode speed and memory' },
  random: { run: randomCommand, help: RANDOM_HELP, summary: 'write a checkpoint with random weights (tests, benchmarks)' },
};

/** Top-level help text. */
export function usage(): string {
  const lines = Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(10)} ${c.summary}`);
  return `usage: tinyllama <command> [options]   (tinyllama <command> --help for details)\n\n${lines.join('\n')}\n\nAdd --verbose for stack traces on errors.\n`;
}

/**
 * Runs the CLI: returns the exit code (0 ok, 1 failure, 2 bad arguments). Errors are printed as one
 * line (`error [CODE]: message`), with the stack and causes only under `--verbose`.
 */
export async function run(argv: string[], io: CliIO): Promise<number> {
  const [name, ...rest] = argv;
  const verbose = rest.includes('--verbose');
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    io.out(usage());
    return name === undefined ? 2 : 0;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    io.err(`error [E_ARGUMENT]: unknown command '${name}'\n\n${usage()}`);
    return 2;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    io.out(cmd.help);
    return 0;
  }
  try {
    return await cmd.run(rest, io);
  } catch (e) {
    const code = isTinyLlamaError(e) ? e.code : 'E_INTERNAL';
    const message = e instanceof Error ? e.message : String(e);
    io.err(`error [${code}]: ${message}\n`);
    if (verbose) {
      let cur: unknown = e;
      while (cur instanceof Error) {
        io.err(`${cur.stack ?? cur.message}\n`);
        cur = cur.cause;
        if (cur) io.err('caused by: ');
      }
    } else if (!(e instanceof TinyLlamaError)) {
      io.err('(this looks like a bug; rerun with --verbose for the stack trace)\n');
    }
    return isTinyLlamaError(e, 'E_ARGUMENT') ? 2 : 1;
  }
}
