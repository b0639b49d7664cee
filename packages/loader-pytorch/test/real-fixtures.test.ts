import { existsSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DTYPE_BYTES, numel, type DType } from '@tinyllama/core';
import { convertToSafetensors, openCheckpoint } from '../src/index.js';
import { REPO_ROOT, SHARED, cleanup, hex, tempDir } from './helpers.js';

const ALL = Object.keys(DTYPE_BYTES) as DType[];
const TINY = path.join(REPO_ROOT, 'fixtures/tiny');
const variants = existsSync(TINY)
  ? readdirSync(TINY, { withFileTypes: true })
      .filter((d) => d.isDirectory() && existsSync(path.join(TINY, d.name, 'config.json')))
      .map((d) => d.name)
      .sort()
  : [];
const STORIES = path.join(SHARED, 'stories260k-hf');

let tmp: string;
beforeAll(async () => {
  tmp = await tempDir();
});
afterAll(async () => {
  await cleanup(tmp);
});

/** Lists `name dtype [shape]` for every tensor and checks each one reads with the advertised size. */
async function listAndRead(dir: string): Promise<{ format: string; listing: string[]; bytes: Map<string, string> }> {
  const ckpt = await openCheckpoint(dir);
  try {
    const listing: string[] = [];
    const bytes = new Map<string, string>();
    for (const name of ckpt.names()) {
      const info = ckpt.info(name);
      expect(info.byteLength).toBe(numel(info.shape) * DTYPE_BYTES[info.dtype]);
      const t = await ckpt.get(name, { dtypes: ALL });
      expect(t.bytes.byteLength).toBe(info.byteLength);
      listing.push(`${name} ${info.dtype} [${info.shape.join(', ')}]`);
      bytes.set(name, hex(t.bytes));
    }
    return { format: ckpt.format, listing, bytes };
  } finally {
    await ckpt.close();
  }
}

describe.skipIf(variants.length === 0)(`tiny HF checkpoints in fixtures/tiny (skips when ${TINY} has no variants)`, () => {
  for (const variant of variants) {
    it(`${variant}: opens, lists every tensor with dtype/shape, reads each, converts losslessly`, async () => {
      const dir = path.join(TINY, variant);
      const config = JSON.parse(await readFile(path.join(dir, 'config.json'), 'utf8')) as Record<string, unknown>;
      const { format, listing, bytes } = await listAndRead(dir);
      const sharded = readdirSync(dir).some((f) => f.endsWith('.index.json'));
      expect(format).toMatch(sharded ? /\(\d+ shards\)$/ : /^(safetensors|pytorch-zip)$/);
      const embed = listing.find((l) => l.startsWith('model.embed_tokens.weight '));
      expect(embed).toBe(`model.embed_tokens.weight ${String(config.torch_dtype)} [${String(config.vocab_size)}, ${String(config.hidden_size)}]`);
      expect(listing.length).toBeGreaterThanOrEqual(2 + 9 * Number(config.num_hidden_layers));

      const out = path.join(tmp, variant);
      await convertToSafetensors({ inDir: dir, outDir: out, maxShardBytes: 150_000 });
      const converted = await listAndRead(out);
      expect(converted.listing).toEqual(listing);
      expect(converted.bytes).toEqual(bytes);
    });
  }
});

describe.skipIf(!existsSync(STORIES))(`shared stories260k-hf (skips when ${STORIES} is absent)`, () => {
  it('reads the torch 1.13 pytorch_model.bin and converts it losslessly', async () => {
    const { format, listing, bytes } = await listAndRead(STORIES);
    expect(format).toBe('pytorch-zip');
    expect(listing).toContain('model.embed_tokens.weight float32 [512, 64]');
    expect(listing).toContain('model.layers.4.mlp.down_proj.weight float32 [64, 172]');
    expect(listing).not.toContain('lm_head.weight float32 [512, 64]'); // tied: not stored
    const out = path.join(tmp, 'stories');
    await convertToSafetensors({ inDir: STORIES, outDir: out });
    const converted = await listAndRead(out);
    expect(converted.format).toBe('safetensors');
    expect(converted.bytes).toEqual(bytes);
    expect(existsSync(path.join(out, 'tokenizer.model'))).toBe(true);
  });
});
