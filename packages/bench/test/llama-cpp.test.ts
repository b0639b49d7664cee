/**
 * Checks against a real llama.cpp build (packages/bench/scripts/build-llama-cpp.sh). Skipped when the
 * binaries are absent: set LLAMA_CPP_BIN_DIR, or build into ../llama-baseline/build/bin beside the repo.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run, writeRandomCheckpoint, type CliIO } from '@tinyllama/cli';
import { parseSentencePieceModel } from '@tinyllama/tokenizer-sentencepiece';
import { exportLlamaGguf } from '../src/gguf.js';
import { parseLlamaBenchOutput, summarizeLlamaBench } from '../src/llama-bench.js';
import { readGguf, type ReadGguf } from './gguf-reader.js';

const exec = promisify(execFile);
const REPO = resolve(import.meta.dirname, '../../..');
const BIN = process.env.LLAMA_CPP_BIN_DIR ?? resolve(REPO, '../llama-baseline/build/bin');
const COMPLETION = join(BIN, 'llama-completion');
const QUANTIZE = join(BIN, 'llama-quantize');
const BENCH = join(BIN, 'llama-bench');
const HAS_LLAMA = [COMPLETION, QUANTIZE, BENCH].every((f) => existsSync(f));
const STORIES = resolve(REPO, '../shared/fixtures/stories260k-hf');
const HAS_STORIES = existsSync(join(STORIES, 'pytorch_model.bin'));

let work: string;
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'tinyllama-llamacpp-'));
});
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

/** llama-completion's text for `n` greedy tokens after BOS (F32 KV cache, no flash attention). */
async function completion(gguf: string, n: number): Promise<{ stdout: string; stderr: string }> {
  const args = ['-m', gguf, '-p', '', '-n', String(n), '--temp', '0', '--ignore-eos', '-no-cnv', '--no-warmup', '-t', '2'];
  return exec(COMPLETION, [...args, '-ctk', 'f32', '-ctv', 'f32', '-fa', 'off'], { maxBuffer: 1 << 24 });
}

/** Greedy ids from llama.cpp (F32 KV cache, no flash attention), read back from its text via the vocabulary. */
async function llamaCppGreedy(gguf: string, tokenizerModel: string, n: number): Promise<number[]> {
  const { stdout } = await completion(gguf, n);
  // The fixture's vocabulary is synthetic ('▁t259' ... '▁t511' and byte pieces), so its text splits back into ids uniquely.
  const spm = parseSentencePieceModel(await readFile(tokenizerModel));
  const ids = new Map(spm.pieces.map((p, i) => [p.piece.replace(/▁/g, ' '), i]));
  const newline = spm.pieces.findIndex((p) => p.piece === '<0x0A>');
  const out: number[] = [];
  for (const m of stdout.matchAll(/ t\d+|\n/g)) {
    if (out.length === n) break;
    out.push(m[0] === '\n' ? newline : ids.get(m[0]) ?? -1);
  }
  return out;
}

async function ourGreedy(modelDir: string, n: number): Promise<number[]> {
  let out = '';
  const io: CliIO = { out: (t) => void (out += t), err: () => undefined, tty: false, stdin: new PassThrough() };
  const code = await run(['generate', '--model', modelDir, '--prompt-ids', '1', '--max-tokens', String(n), '--temperature', '0', '--ignore-eos', '--json'], io);
  expect(code).toBe(0);
  return (JSON.parse(out.trim().split('\n').pop() ?? '{}') as { ids: number[] }).ids;
}

function tensorBytes(g: ReadGguf, name: string): Uint8Array {
  const t = g.tensors.find((x) => x.name === name)!;
  const n = t.dims.reduce((a, b) => a * b, 1);
  const size = t.type === 0 ? n * 4 : t.type === 1 ? n * 2 : t.type === 2 ? (n / 32) * 18 : (n / 32) * 34;
  return g.data(name, size);
}

describe.skipIf(!HAS_LLAMA)(`llama.cpp parity (needs llama-completion, llama-quantize and llama-bench in ${BIN})`, () => {
  it('our Q4_0 and Q8_0 blocks are byte-identical to llama-quantize --pure of our F32 export', async () => {
    const model = join(work, 'q-model');
    await writeRandomCheckpoint({
      outDir: model,
      shape: { hiddenSize: 128, intermediateSize: 256, numLayers: 2, numHeads: 4, numKvHeads: 2, vocabSize: 384, maxPositions: 256, tied: false },
      seed: 9,
    });
    const f32 = join(work, 'q-f32.gguf');
    await exportLlamaGguf({ modelDir: model, outFile: f32, type: 'f32' });
    for (const [type, ggmlName] of [['q4_0', 'Q4_0'], ['q8_0', 'Q8_0']] as const) {
      const ours = join(work, `q-${type}.gguf`);
      const theirs = join(work, `q-${type}-llama-quantize.gguf`);
      await exportLlamaGguf({ modelDir: model, outFile: ours, type });
      await exec(QUANTIZE, ['--pure', f32, theirs, ggmlName, '1']);
      const a = readGguf(await readFile(ours));
      const b = readGguf(await readFile(theirs));
      // llama-quantize writes output.weight first: compare by name
      const byName = (g: ReadGguf): string[][] => g.tensors.map((t) => [t.name, String(t.type)]).sort();
      expect(byName(b)).toEqual(byName(a));
      for (const t of a.tensors) expect(tensorBytes(a, t.name), `${type} ${t.name}`).toEqual(tensorBytes(b, t.name));
    }
  });

  it('llama-bench loads and runs a Q4_0 export of a tiny random model', async () => {
    const model = join(work, 'tiny');
    await writeRandomCheckpoint({ outDir: model, shape: { hiddenSize: 64, intermediateSize: 128, numLayers: 2, numHeads: 4, numKvHeads: 2, vocabSize: 384, maxPositions: 256, tied: true }, seed: 1 });
    const gguf = join(work, 'tiny-q4_0.gguf');
    await exportLlamaGguf({ modelDir: model, outFile: gguf, type: 'q4_0' });
    // llama-bench rather than llama-completion: random weights may pick control tokens that print nothing
    const { stdout } = await exec(BENCH, ['-m', gguf, '-t', '2', '-p', '8', '-n', '8', '-r', '1', '-o', 'json']);
    const [r] = summarizeLlamaBench(parseLlamaBenchOutput(stdout));
    expect(r.modelType).toMatch(/Q4_0/);
    expect(r.promptTokensPerSecond).toBeGreaterThan(0);
    expect(r.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  describe.skipIf(!HAS_STORIES)('stories260K fixture (needs ../shared/fixtures/stories260k-hf)', () => {
    it('F32 export: llama.cpp greedy ids equal our runtime greedy ids for 50 tokens', async () => {
      const gguf = join(work, 'stories-f32.gguf');
      await exportLlamaGguf({ modelDir: STORIES, outFile: gguf, type: 'f32' });
      const theirs = await llamaCppGreedy(gguf, join(STORIES, 'tokenizer.model'), 50);
      const ours = await ourGreedy(STORIES, 50);
      expect(ours.length).toBe(50);
      expect(theirs).toEqual(ours);
    });
  });
});
