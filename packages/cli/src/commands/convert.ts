import { convertToSafetensors } from '@tinyllama/loader-pytorch';
import { intFlag, parseCommand, required } from '../args.js';
import { progressPrinter, type CliIO } from '../io.js';

export const CONVERT_HELP = `tinyllama convert --in DIR --out DIR [--max-shard-mb N] [--overwrite]

Converts a PyTorch checkpoint (pytorch_model.bin, sharded or not) to safetensors, tensor by tensor
(bounded memory), sharding above --max-shard-mb (default 2048) with model.safetensors.index.json.
Atomic: the output appears only when complete. Tokenizer and config files are copied.
`;

/** `tinyllama convert`. */
export async function convertCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v } = parseCommand('convert', { args: argv, options: {
    in: { type: 'string' },
    out: { type: 'string' },
    'max-shard-mb': { type: 'string' },
    overwrite: { type: 'boolean' },
    verbose: { type: 'boolean' },
  } });
  const inDir = required('convert', 'in', v.in);
  const outDir = required('convert', 'out', v.out);
  const maxShardBytes = intFlag('max-shard-mb', v['max-shard-mb'], 2048, 1) * 1024 * 1024;
  const t0 = performance.now();
  await convertToSafetensors({ inDir, outDir, maxShardBytes, overwrite: v.overwrite ?? false, onProgress: progressPrinter(io) });
  io.err(`converted ${inDir} -> ${outDir} in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
  return 0;
}
