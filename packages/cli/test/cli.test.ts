import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { HAS_SHARED, SHARED, TINY, cli, lastJson, tempDir } from './helpers.js';

let work: string;
let randomDir: string;

beforeAll(async () => {
  work = await tempDir('cli');
  process.env.TINYLLAMA_CACHE = join(work, 'cache');
  randomDir = join(work, 'random-tiny');
  const r = await cli(['random', '--out', randomDir, '--preset', 'tiny', '--seed', '3']);
  expect(r.code, r.err).toBe(0);
});

describe('tinyllama CLI: arguments and errors', () => {
  it('prints usage and per-command help', async () => {
    const r = await cli(['--help']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/generate/);
    expect((await cli(['generate', '--help'])).out).toMatch(/--prompt-ids/);
  });
  it('rejects unknown commands, flags and bad values with one line and exit 2', async () => {
    const a = await cli(['frobnicate']);
    expect(a.code).toBe(2);
    expect(a.err).toMatch(/^error \[E_ARGUMENT\]: unknown command 'frobnicate'/);
    const b = await cli(['generate', '--model', randomDir, '--prompt', 'x', '--bogus']);
    expect(b.code).toBe(2);
    expect(b.err).toMatch(/--bogus/);
    const c = await cli(['generate', '--model', randomDir, '--prompt', 'x', '--top-p', '2']);
    expect(c.code).toBe(2);
    expect(c.err).toMatch(/--top-p must be a number in/);
    const d = await cli(['generate', '--model', randomDir]);
    expect(d.err).toMatch(/exactly one of --prompt/);
    expect(d.err).not.toMatch(/\n\s+at /); // no stack trace without --verbose
  });
  it('explains a bad model directory', async () => {
    const r = await cli(['generate', '--model', join(work, 'nope'), '--prompt', 'x']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_NOT_FOUND.*does not exist/);
    const empty = join(work, 'empty');
    await mkdir(empty, { recursive: true });
    await writeFile(join(empty, 'config.json'), '{not json');
    const e = await cli(['inspect', '--model', empty]);
    expect(e.code).toBe(1);
    expect(e.err).toMatch(/E_CONFIG.*config.json/);
  });
  it('shows a stack trace with --verbose', async () => {
    const r = await cli(['inspect', '--model', join(work, 'nope'), '--verbose']);
    expect(r.err).toMatch(/\n\s+at /);
  });
});

describe('tinyllama CLI: commands on a random tiny checkpoint', () => {
  it('inspects', async () => {
    const r = await cli(['inspect', '--model', randomDir, '--json']);
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out) as { parameters: number; tensors: unknown[]; weights: string; config: { numKeyValueHeads: number } };
    expect(j.weights).toBe('ok');
    expect(j.config.numKeyValueHeads).toBe(2);
    expect(j.tensors.length).toBe(1 + 2 * 9 + 1);
    expect(j.parameters).toBeGreaterThan(0);
    const text = await cli(['inspect', '--model', randomDir]);
    expect(text.out).toMatch(/TinyLlama-1.1B preset: differs in/);
  });
  it('tokenizes text, with BOS, and JSON lines', async () => {
    const a = await cli(['tokenize', '--model', randomDir, 'the dog']);
    const ids = JSON.parse(a.out) as number[];
    expect(ids.length).toBeGreaterThan(0);
    const b = await cli(['tokenize', '--model', randomDir, '--bos', 'the dog']);
    expect(JSON.parse(b.out)).toEqual([1, ...ids]);
    const c = await cli(['tokenize', '--tokenizer', join(randomDir, 'tokenizer.model'), '--jsonl'], '"the dog"\n"a"\n');
    const lines = c.out.trim().split('\n').map((l) => JSON.parse(l) as number[]);
    expect(lines[0]).toEqual(ids);
    expect(lines).toHaveLength(2);
  });
  it('generates greedily and reproducibly with both attention strategies', async () => {
    const args = ['generate', '--model', randomDir, '--prompt', 'Once upon a time', '--max-tokens', '12', '--temperature', '0', '--ignore-eos', '--json'];
    const g = lastJson((await cli([...args, '--attention', 'gqa'])).out);
    const p = lastJson((await cli([...args, '--attention', 'portable'])).out);
    expect(g.ids).toEqual(p.ids);
    expect((g.ids as number[]).length).toBe(12);
    expect((g.promptIds as number[])[0]).toBe(1);
    const t = g.timings as Record<string, number>;
    expect(t.loadMs).toBeGreaterThan(0);
    expect(t.ttftMs).toBeGreaterThan(0);
    expect(t.decodeTokensPerSecond).toBeGreaterThan(0);
  });
  it('gives the same greedy ids on onnxruntime-web (wasm) as on onnxruntime-node', async () => {
    const args = ['generate', '--model', randomDir, '--prompt-ids', '1,7,9,11', '--max-tokens', '10', '--temperature', '0', '--ignore-eos', '--json'];
    const n = lastJson((await cli([...args, '--backend', 'node'])).out);
    const w = lastJson((await cli([...args, '--backend', 'wasm'])).out);
    expect(w.backend).toBe('wasm');
    expect(w.ids).toEqual(n.ids);
  });
  it('benchmarks with the documented JSON fields', async () => {
    const r = await cli(['bench', '--model', randomDir, '--gen-tokens', '8', '--context', '64', '--json']);
    expect(r.code, r.err).toBe(0);
    const j = lastJson(r.out);
    for (const k of ['loadMs', 'ttftMs', 'decodeTokensPerSecond', 'peakMemoryMB', 'contextDecodeTokensPerSecond']) {
      expect(typeof j[k], k).toBe('number');
      expect(j[k] as number, k).toBeGreaterThan(0);
    }
  });
  it('bench --profile times our executor\'s operators, split at the first token', async () => {
    const r = await cli(['bench', '--model', randomDir, '--backend', 'wasm-kernels', '--gen-tokens', '8', '--profile', '--json']);
    expect(r.code, r.err).toBe(0);
    const p = lastJson(r.out).profile as { prefill: Record<string, number>; decode: Record<string, number>; decodeSteps: number };
    expect(p.decodeSteps).toBe(7);
    for (const part of [p.prefill, p.decode]) {
      expect(Object.keys(part)).toContain('Gemm');
      for (const ms of Object.values(part)) expect(ms).toBeGreaterThanOrEqual(0);
    }
    const text = await cli(['bench', '--model', randomDir, '--backend', 'wasm-kernels', '--gen-tokens', '8', '--profile']);
    expect(text.out).toMatch(/profile, per decode step \([\d.]+ ms, 7 steps\):/);
    const ort = await cli(['bench', '--model', randomDir, '--backend', 'node', '--gen-tokens', '8', '--profile']);
    expect(ort.out).toContain('profile          none: node does not time operators');
  });
  it('gives the same ids with the shared (in-place) and the concat KV cache', async () => {
    const args = ['generate', '--model', randomDir, '--prompt', 'the cat and the dog', '--max-tokens', '20', '--temperature', '0', '--ignore-eos', '--json'];
    const shared = lastJson((await cli([...args, '--kv-cache', 'shared'])).out);
    const concat = lastJson((await cli([...args, '--kv-cache', 'concat'])).out);
    expect(shared.kvCache).toBe('shared'); // explicit: auto is rows here
    expect(concat.kvCache).toBe('concat');
    expect(shared.ids).toEqual(concat.ids);
    const bad = await cli([...args, '--kv-cache', 'shared', '--attention', 'portable']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/E_UNSUPPORTED.*shared KV cache/);
  });
  it('gives the same ids with the rows KV cache (the default on onnxruntime-node and -web) as with concat', async () => {
    const args = ['generate', '--model', randomDir, '--prompt', 'the cat and the dog', '--max-tokens', '20', '--temperature', '0', '--ignore-eos', '--json'];
    const auto = lastJson((await cli(args)).out);
    const concat = lastJson((await cli([...args, '--kv-cache', 'concat'])).out);
    const web = lastJson((await cli([...args, '--backend', 'wasm'])).out);
    expect(auto.kvCache).toBe('rows');
    expect(web.kvCache).toBe('rows');
    expect(auto.ids).toEqual(concat.ids);
    expect(web.ids).toEqual(concat.ids);
    const bad = await cli([...args, '--kv-cache', 'rows', '--attention', 'portable']);
    expect(bad.code).toBe(1);
    expect(bad.err).toMatch(/E_UNSUPPORTED.*rows KV cache.*present_rows/);
    const flag = await cli([...args, '--kv-cache', 'rowz']);
    expect(flag.err).toMatch(/E_ARGUMENT.*auto, shared, rows or concat/);
  });
  it('gives the same ids when the prompt runs in prefill chunks, on onnxruntime-node and -web, with either attention', async () => {
    const prompt = Array.from({ length: 23 }, (_, i) => 1 + ((i * 37) % 300)).join(',');
    const args = ['generate', '--model', randomDir, '--prompt-ids', prompt, '--max-tokens', '6', '--temperature', '0', '--ignore-eos', '--json'];
    for (const extra of [[], ['--backend', 'wasm'], ['--attention', 'portable']]) {
      const whole = await cli([...args, ...extra, '--prefill-chunk', '0']);
      const chunked = await cli([...args, ...extra, '--prefill-chunk', '5']);
      expect(chunked.code, chunked.err).toBe(0);
      expect(lastJson(chunked.out).ids, extra.join(' ')).toEqual(lastJson(whole.out).ids);
    }
    expect((await cli([...args, '--prefill-chunk', '-1'])).err).toMatch(/E_ARGUMENT.*--prefill-chunk/);
  });
  it('samples reproducibly for a seed', async () => {
    const args = ['generate', '--model', randomDir, '--prompt-ids', '1,5,6', '--max-tokens', '16', '--temperature', '1.2', '--top-k', '50', '--top-p', '0.9', '--ignore-eos', '--json'];
    const a = lastJson((await cli([...args, '--seed', '7'])).out);
    const b = lastJson((await cli([...args, '--seed', '7'])).out);
    const c = lastJson((await cli([...args, '--seed', '8'])).out);
    expect(a.ids).toEqual(b.ids);
    expect(a.ids).not.toEqual(c.ids);
  });
  it('refuses to pass the context limit unless asked to truncate', async () => {
    const ids = Array.from({ length: 250 }, () => 5).join(',');
    const r = await cli(['generate', '--model', randomDir, '--prompt-ids', ids, '--max-tokens', '10']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_CONTEXT.*context limit of 256/);
    const t = await cli(['generate', '--model', randomDir, '--prompt-ids', ids, '--max-tokens', '10', '--truncate', '--json', '--ignore-eos', '--temperature', '0']);
    expect(t.code, t.err).toBe(0);
    expect((lastJson(t.out).promptIds as number[]).length).toBe(246);
  });
});

describe('tinyllama CLI: demo (no --model)', () => {
  it('creates the random-weight demo model once, says so, and generates', async () => {
    const r = await cli(['demo', '--max-tokens', '8', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toMatch(/RANDOM weights/);
    expect(r.err).toMatch(/TinyLlama_v1.1/);
    expect((lastJson(r.out).ids as number[]).length).toBeGreaterThan(0);
  });
});

describe('tinyllama CLI: build', () => {
  it('keeps the embedding and LM head in their own dtype when asked, and rejects a bad one', async () => {
    const out = join(work, 'built-int8-f32eh');
    const b = await cli(['build', '--model', randomDir, '--out', out, '--dtype', 'int8', '--block-size', '16', '--embedding-dtype', 'f32', '--lm-head-dtype', 'f32']);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/int8 \(block 16.*embedding float32, LM head float32/);
    const info = JSON.parse(await readFile(join(out, 'tinyllama-build.json'), 'utf8')) as { weights: Record<string, unknown> };
    expect(info.weights).toMatchObject({ dtype: 'int8', blockSize: 16, embeddingDtype: 'float32', lmHeadDtype: 'float32' });
    const g = await cli(['generate', '--model', out, '--prompt-ids', '1,20,30', '--max-tokens', '4', '--temperature', '0', '--json']);
    expect(g.code, g.err).toBe(0);
    const bad = await cli(['build', '--model', randomDir, '--out', join(work, 'bad'), '--lm-head-dtype', 'int3']);
    expect(bad.err).toMatch(/E_ARGUMENT.*--lm-head-dtype must be int4, int8, f16 or f32, got 'int3'/);
  });
  it('searches block scales when asked (symmetric only)', async () => {
    const out = join(work, 'built-int4-searched');
    const b = await cli(['build', '--model', randomDir, '--out', out, '--dtype', 'int4', '--scale-search']);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/int4 \(block 32, accuracy level 4, symmetric, searched scales\)/);
    const info = JSON.parse(await readFile(join(out, 'tinyllama-build.json'), 'utf8')) as { weights: Record<string, unknown> };
    expect(info.weights).toMatchObject({ dtype: 'int4', scaleSearch: true });
    const g = await cli(['generate', '--model', out, '--prompt-ids', '1,20,30', '--max-tokens', '4', '--temperature', '0', '--json']);
    expect(g.code, g.err).toBe(0);
    const asym = await cli(['build', '--model', randomDir, '--out', join(work, 'bad2'), '--scale-search', '--asymmetric']);
    expect(asym.err).toMatch(/E_UNSUPPORTED.*symmetric/);
  });
});

describe('tinyllama CLI: convert', () => {
  it('converts a sharded .bin to safetensors and generates the same tokens', async () => {
    const src = join(TINY, 'gqa-f16-bin-sharded');
    const out = join(work, 'converted');
    const c = await cli(['convert', '--in', src, '--out', out]);
    expect(c.code, c.err).toBe(0);
    const args = ['--prompt-ids', '1,20,30', '--max-tokens', '8', '--temperature', '0', '--ignore-eos', '--json'];
    const a = lastJson((await cli(['generate', '--model', src, ...args])).out);
    const b = lastJson((await cli(['generate', '--model', out, ...args])).out);
    expect(b.ids).toEqual(a.ids);
    const again = await cli(['convert', '--in', src, '--out', out]);
    expect(again.code).not.toBe(0); // refuses to overwrite without --overwrite
    expect(again.err).toMatch(/overwrite/);
  });
  it('refuses a malicious pickle, naming the global', async () => {
    const bad = join(work, 'malicious');
    await mkdir(bad, { recursive: true });
    await copyFile(join(TINY, 'gqa-f32-bin', 'config.json'), join(bad, 'config.json'));
    await copyFile(join(TINY, 'tokenizer.model'), join(bad, 'tokenizer.model'));
    const evil = await readFile(join(import.meta.dirname, '../../loader-pytorch/test/fixtures/evil-os-system.bin'));
    await writeFile(join(bad, 'pytorch_model.bin'), evil);
    const r = await cli(['generate', '--model', bad, '--prompt', 'x']);
    expect(r.code).toBe(1);
    expect(r.err).toMatch(/E_UNSAFE_PICKLE.*system/);
  });
});

describe.skipIf(!HAS_SHARED)('tinyllama CLI: stories260K (needs ../shared/fixtures)', () => {
  it('greedy from BOS matches the PyTorch reference for 200 tokens', async () => {
    const ref = JSON.parse(await readFile(join(TINY, '..', 'stories260k', 'reference.json'), 'utf8')) as {
      greedyFromBos: { ids: number[] };
    };
    const r = await cli(['generate', '--model', join(SHARED, 'stories260k-hf'), '--prompt-ids', '1', '--max-tokens', '200', '--temperature', '0', '--ignore-eos', '--json']);
    expect(r.code, r.err).toBe(0);
    expect(lastJson(r.out).ids).toEqual(ref.greedyFromBos.ids.slice(0, 200));
  });
});
