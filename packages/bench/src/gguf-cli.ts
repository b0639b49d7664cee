#!/usr/bin/env node
/**
 * `node packages/bench/dist/gguf-cli.js --model DIR --out FILE.gguf [--type f32|f16|q8_0|q4_0] [--name NAME]`:
 * exports a Hugging Face Llama checkpoint to GGUF for llama.cpp.
 */
import { parseArgs } from 'node:util';
import { isTinyLlamaError } from '@tinyllama/core';
import { GGUF_EXPORT_TYPES, exportLlamaGguf, type GgufExportType } from './gguf.js';

const HELP = `tinyllama-gguf --model DIR --out FILE.gguf [--type f32|f16|q8_0|q4_0] [--name NAME] [--quiet]

Exports a Hugging Face Llama checkpoint (config.json, safetensors or pytorch_model.bin, tokenizer.model)
to a GGUF v3 file that llama.cpp loads. Norms stay F32; with q8_0/q4_0 a matrix whose rows are not a
multiple of 32 is written as F16. The output head is omitted when the embeddings are tied.
`;

async function main(argv: string[]): Promise<number> {
  const { values: v } = parseArgs({
    args: argv,
    options: {
      model: { type: 'string' },
      out: { type: 'string' },
      type: { type: 'string', default: 'f32' },
      name: { type: 'string' },
      quiet: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (v.help) {
    process.stdout.write(HELP);
    return 0;
  }
  if (!v.model || !v.out) {
    process.stderr.write(`error: --model and --out are required\n\n${HELP}`);
    return 2;
  }
  const type = v.type.toLowerCase() as GgufExportType;
  if (!GGUF_EXPORT_TYPES.includes(type)) {
    process.stderr.write(`error: --type must be one of ${GGUF_EXPORT_TYPES.join(', ')}, got '${v.type}'\n`);
    return 2;
  }
  const t0 = performance.now();
  let lastPct = -1;
  const res = await exportLlamaGguf({
    modelDir: v.model,
    outFile: v.out,
    type,
    ...(v.name ? { name: v.name } : {}),
    onProgress: v.quiet
      ? undefined
      : (p) => {
          const pct = Math.floor((100 * p.done) / Math.max(1, p.total));
          if (pct !== lastPct) {
            lastPct = pct;
            process.stderr.write(`\rgguf ${pct}% ${p.item ?? ''}`.padEnd(60));
          }
        },
  });
  if (!v.quiet) process.stderr.write('\n');
  for (const f of res.fallbacks) process.stderr.write(`note: ${f}\n`);
  const secs = (performance.now() - t0) / 1000;
  process.stdout.write(`${JSON.stringify({ file: res.file, type, bytes: res.bytes, tensors: res.tensorCount, seconds: Math.round(secs * 10) / 10 })}\n`);
  return 0;
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (e) {
  process.stderr.write(`error${isTinyLlamaError(e) ? ` [${e.code}]` : ''}: ${e instanceof Error ? e.message : String(e)}\n`);
  if (e instanceof Error && e.cause) process.stderr.write(`  cause: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}\n`);
  process.exitCode = 1;
}
