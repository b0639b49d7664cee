import { checkTinyLlamaPreset, type LlamaConfig } from '@tinyllama/arch-llama2';
import { numel, shapeToString } from '@tinyllama/core';
import { listModelDir, readConfigJson } from '@tinyllama/core/node';
import { parseCommand, required } from '../args.js';
import { createNodeRuntime } from '../compose.js';
import type { CliIO } from '../io.js';

export const INSPECT_HELP = `tinyllama inspect --model DIR [--json]

Prints the normalised config, the parameter count, and every tensor with dtype and shape.
`;

/** `tinyllama inspect`. */
export async function inspectCommand(argv: string[], io: CliIO): Promise<number> {
  const { values: v } = parseCommand('inspect', { args: argv, options: { model: { type: 'string' }, json: { type: 'boolean' }, verbose: { type: 'boolean' } } });
  const dir = required('inspect', 'model', v.model);
  const rt = createNodeRuntime();
  const files = await listModelDir(dir);
  const raw = await readConfigJson(dir);
  const arch = rt.findArchitecture(raw);
  const config = arch.normalizeConfig(raw);
  const checkpoint = await rt.findLoader(files).open(dir);
  try {
    const tensors = checkpoint.names().map((n) => checkpoint.info(n));
    const parameters = tensors.reduce((s, t) => s + numel(t.shape), 0);
    const presetDiffs = arch.name === 'llama2' ? checkTinyLlamaPreset(config as LlamaConfig) : [];
    let weightsOk = 'ok';
    try {
      arch.validateWeights(checkpoint, config);
    } catch (e) {
      weightsOk = (e as Error).message;
    }
    if (v.json) {
      io.out(
        `${JSON.stringify({
          architecture: arch.name,
          format: checkpoint.format,
          config,
          parameters,
          weights: weightsOk,
          tinyllamaPresetDifferences: presetDiffs,
          tensors: tensors.map((t) => ({ name: t.name, dtype: t.dtype, shape: t.shape })),
        })}\n`,
      );
      return 0;
    }
    io.out(`model:        ${dir}\n`);
    io.out(`architecture: ${arch.name}\nformat:       ${checkpoint.format}\n`);
    io.out(`parameters:   ${parameters.toLocaleString('en-US')} (${(parameters / 1e9).toFixed(3)} B)\n`);
    io.out(`weights:      ${weightsOk}\n`);
    io.out(`TinyLlama-1.1B preset: ${presetDiffs.length === 0 ? 'matches' : `differs in ${presetDiffs.map((d) => `${d.field} ${d.actual} (expected ${d.expected})`).join('; ')}`}\n`);
    io.out('config:\n');
    for (const [k, val] of Object.entries(config)) io.out(`  ${k.padEnd(24)} ${JSON.stringify(val)}\n`);
    io.out(`tensors (${tensors.length}):\n`);
    for (const t of tensors) io.out(`  ${t.name.padEnd(52)} ${t.dtype.padEnd(9)} ${shapeToString(t.shape)}\n`);
    return 0;
  } finally {
    await checkpoint.close();
  }
}
