/**
 * Per-operator time of the wasm-kernels backend on a built model directory (not a test: run by hand,
 * `pnpm exec tsx packages/backend-wasm/test/bench/decode-profile.bench.ts MODEL_DIR [THREADS]`).
 * Runs a 16-token prompt, then 8 decode steps, and prints milliseconds per operator type for the
 * prompt and per decode token. BACKEND=/path/to/index.(ts|js) profiles another copy of the backend.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DecoderRunner, argmax, type DecoderShape } from '@tinyllama/core';
import * as local from '../../src/index.js';

const [dir, threadsArg] = process.argv.slice(2);
if (!dir) throw new Error('usage: decode-profile.bench.ts MODEL_DIR [THREADS]');
const mod = (process.env.BACKEND ? await import(process.env.BACKEND) : local) as typeof local;
const raw = JSON.parse(await readFile(join(dir, 'config.json'), 'utf8')) as Record<string, number>;
const shape: DecoderShape = {
  numLayers: raw.num_hidden_layers,
  numKeyValueHeads: raw.num_key_value_heads ?? raw.num_attention_heads,
  headDim: raw.hidden_size / raw.num_attention_heads,
  vocabSize: raw.vocab_size,
  maxPositionEmbeddings: raw.max_position_embeddings,
};
const backend = mod.createWasmKernelsBackend({ threads: Number(threadsArg ?? 2) });
await backend.init();
const session = (await backend.createSession({ kind: 'path', path: join(dir, 'model.onnx') })) as local.WasmKernelsSession;
const runner = new DecoderRunner(session, shape);
const prompt = Array.from({ length: 16 }, (_, i) => 100 + 37 * i);
const show = (label: string, p: Map<string, number>, div: number) => {
  const rows = [...p].sort((a, b) => b[1] - a[1]);
  const total = rows.reduce((a, [, v]) => a + v, 0);
  console.log(`${label}: total ${(total / div).toFixed(1)} ms`);
  for (const [op, ms] of rows) console.log(`  ${op.padEnd(36)} ${(ms / div).toFixed(2).padStart(9)} ms`);
};
await runner.forward(prompt.slice(0, 4)); // warm-up
runner.reset();
const pp = new Map<string, number>();
session.profile = pp;
let logits = await runner.forward(prompt);
show('prompt (16 tokens)', pp, 1);
const dp = new Map<string, number>();
session.profile = dp;
const steps = 8;
for (let i = 0; i < steps; i++) logits = await runner.forward([argmax(logits)]);
show(`decode (per token, mean of ${steps})`, dp, steps);
await session.release();
process.exit(0);
