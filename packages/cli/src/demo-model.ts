import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultCacheDir } from '@tinyllama/core/node';
import type { CliIO } from './io.js';
import { RANDOM_PRESETS, writeRandomCheckpoint } from './random-model.js';

/** Creates (once) and returns the directory of the demo checkpoint with random weights. */
export async function ensureDemoModel(io: CliIO): Promise<string> {
  const dir = join(defaultCacheDir(), 'demo-random-llama');
  io.err(
    'note: no --model given, so this uses a small Llama model with RANDOM weights that the project creates\n' +
      `      (${dir}); its text is gibberish. For real text, download TinyLlama/TinyLlama_v1.1 from Hugging Face\n` +
      '      (config.json, pytorch_model.bin or model.safetensors, tokenizer.model) and pass --model DIR.\n',
  );
  try {
    await stat(join(dir, 'model.safetensors'));
  } catch {
    await writeRandomCheckpoint({ outDir: dir, shape: RANDOM_PRESETS.demo, seed: 1 });
  }
  return dir;
}
