import { readFile } from 'node:fs/promises';
import { TinyLlamaError } from '@tinyllama/core';
import { intFlag, parseCommand, required } from '../args.js';
import { progressPrinter, type CliIO } from '../io.js';
import { RANDOM_PRESETS, writeRandomCheckpoint } from '../random-model.js';

export const RANDOM_HELP = `tinyllama random --out DIR [--preset tiny|demo|tinyllama-1.1b] [--dtype f32|f16|bf16] [--seed N]
                 [--tokenizer FILE]

Writes a Llama checkpoint with RANDOM weights in the Hugging Face layout (config.json,
model.safetensors, tokenizer.model) for tests and benchmarks. The tinyllama-1.1b preset has
TinyLlama_v1.1's exact shapes (4.4 GB in f32). Without --tokenizer a synthetic SentencePiece model of
the right vocabulary size is written.
`;

const DTYPES = { f32: 'float32', f16: 'float16', bf16: 'bfloat16' } as const;

/** `tinyllama random`. */
export async function randomCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v } = parseCommand('random', { args: argv, options: {
    out: { type: 'string' },
    preset: { type: 'string' },
    dtype: { type: 'string' },
    seed: { type: 'string' },
    tokenizer: { type: 'string' },
    verbose: { type: 'boolean' },
  } });
  const outDir = required('random', 'out', v.out);
  const presetName = v.preset ?? 'tiny';
  const shape = RANDOM_PRESETS[presetName];
  if (!shape) throw new TinyLlamaError('E_ARGUMENT', `random: unknown --preset '${presetName}' (known: ${Object.keys(RANDOM_PRESETS).join(', ')})`);
  const dtypeFlag = (v.dtype ?? 'f32') as keyof typeof DTYPES;
  const dtype = DTYPES[dtypeFlag];
  if (!dtype) throw new TinyLlamaError('E_ARGUMENT', `random: --dtype must be f32, f16 or bf16, got '${v.dtype}'`);
  let tokenizer: Uint8Array | undefined;
  if (v.tokenizer !== undefined) {
    try {
      tokenizer = await readFile(v.tokenizer);
    } catch (e) {
      throw new TinyLlamaError('E_NOT_FOUND', `random: tokenizer file '${v.tokenizer}' cannot be read`, { cause: e });
    }
  }
  const t0 = performance.now();
  await writeRandomCheckpoint({ outDir, shape, dtype, seed: intFlag('seed', v.seed, 0, 0), tokenizer, onProgress: progressPrinter(io) });
  io.err(`wrote ${presetName} checkpoint with RANDOM weights (${dtype}) to ${outDir} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}
