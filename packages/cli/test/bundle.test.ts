import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { cp, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecoderRunner, EmbeddingLookupSession, TextGenerator, TinyLlamaError, parseBundleManifest, type BundleManifest, type Progress, type WeightFormat } from '@tinyllama/core';
import { buildBundleDir, buildModelDir, loadBundle, loadModel, type LoadBundleOptions } from '@tinyllama/core/node';
import { createNodeRuntime } from '../src/index.js';
import { TINY, cli, lastJson, tempDir } from './helpers.js';

let work: string;
let demo: string; // random 4-layer checkpoint (untied)
const PROMPT = [1, 5, 9, 42, 7, 100];
const greedy = { maxNewTokens: 12, temperature: 0, ignoreEos: true } as const;

beforeAll(async () => {
  work = await tempDir('bundle');
  process.env.TINYLLAMA_CACHE = join(work, 'cache');
  demo = join(work, 'demo-ckpt');
  const r = await cli(['random', '--out', demo, '--preset', 'demo', '--seed', '11']);
  expect(r.code, r.err).toBe(0);
});

async function sha256(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const c of createReadStream(path)) h.update(c as Buffer);
  return h.digest('hex');
}

async function tokensOfModel(dir: string): Promise<number[]> {
  const m = await loadModel(createNodeRuntime(), dir);
  try {
    return (await m.generator.generate(PROMPT, greedy)).ids;
  } finally {
    await m.release();
  }
}

async function tokensOfBundle(source: string, options: LoadBundleOptions = {}) {
  const b = await loadBundle(createNodeRuntime(), source, options);
  try {
    const ids = (await b.generator.generate(PROMPT, greedy)).ids;
    const embed = b.runner.embed;
    const embedReads = embed instanceof EmbeddingLookupSession ? embed.reads : undefined;
    return { ids, mode: b.runner.mode, stats: { ...b.runner.stats }, embedReads };
  } finally {
    await b.release();
  }
}

const VARIANTS: { name: string; src: () => string; weights: WeightFormat; layersPerChunk: number; chunks: number }[] = [
  { name: 'demo f32, 1 layer per chunk', src: () => demo, weights: { dtype: 'float32' }, layersPerChunk: 1, chunks: 4 },
  { name: 'demo int4, 3 layers per chunk', src: () => demo, weights: { dtype: 'int4', blockSize: 32 }, layersPerChunk: 3, chunks: 2 },
  { name: 'tiny tied f32 fixture, 1 layer per chunk', src: () => join(TINY, 'gqa-f32-safetensors'), weights: { dtype: 'float32' }, layersPerChunk: 1, chunks: 2 },
];

describe('chunked bundles: build, manifest and identical tokens in every mode', () => {
  for (const v of VARIANTS) {
    it(v.name, async () => {
      const rt = createNodeRuntime();
      const single = join(work, `${v.name}-single`.replace(/\W+/g, '-'));
      const bundle = join(work, `${v.name}-bundle`.replace(/\W+/g, '-'));
      await buildModelDir(rt, v.src(), single, { weights: v.weights });
      const built = await buildBundleDir(rt, v.src(), bundle, { weights: v.weights, layersPerChunk: v.layersPerChunk });
      const m = built.manifest;

      // Manifest: the seed's fields, every file with its size and sha256, nothing unlisted.
      for (const k of ['name', 'version', 'architecture', 'parameters', 'quantization', 'bundle_size_mb', 'tokenizer', 'streaming', 'performance', 'features', 'files']) {
        expect(m).toHaveProperty(k);
      }
      expect(m.streaming).toMatchObject({ enabled: true, total_chunks: v.chunks, layers_per_chunk: v.layersPerChunk });
      expect(m.streaming.chunk_size_mb).toBeGreaterThan(0);
      expect(m.streaming.preload_chunks).toBeGreaterThanOrEqual(1);
      const onDisk = (await readdir(bundle)).sort();
      expect([...m.files.map((f) => f.path), 'model_manifest.json'].sort()).toEqual(onDisk);
      for (const f of m.files) {
        expect((await stat(join(bundle, f.path))).size).toBe(f.size);
        expect(await sha256(join(bundle, f.path))).toBe(f.sha256);
      }
      expect(m.files.filter((f) => f.role === 'chunk')).toHaveLength(v.chunks);
      expect(parseBundleManifest(await readFile(join(bundle, 'model_manifest.json'), 'utf8'), 'x')).toEqual(m);
      const dirs = await readdir(work);
      expect(dirs.filter((d) => d.includes('.partial-'))).toEqual([]);

      // Tokens: single graph = resident = streaming (count- and memory-bounded).
      const reference = await tokensOfModel(single);
      const resident = await tokensOfBundle(bundle);
      expect(resident.mode).toBe('resident');
      expect(resident.ids).toEqual(reference);
      // the embedding rows were read from the file on demand: one data + one scales read per distinct
      // id of each step when quantised, one read per id for float32
      expect(resident.embedReads).toBeGreaterThanOrEqual(new Set(PROMPT).size + greedy.maxNewTokens - 1);
      const loaded = await tokensOfBundle(bundle, { embeddingOnDemand: false });
      expect(loaded.embedReads).toBeUndefined(); // the embed graph ran
      expect(loaded.ids).toEqual(reference);
      const one = await tokensOfBundle(bundle, { maxResidentChunks: 1 });
      expect(one.mode).toBe('streaming');
      expect(one.ids).toEqual(reference);
      expect(one.stats.peakResident).toBe(1);
      expect(one.stats.loads).toBeGreaterThan(v.chunks); // chunks were evicted and reloaded
      const chunkMB = Math.max(...m.graphs.chunks.map((c) => c.bytes)) / 2 ** 20;
      const fixedMB = m.graphs.head.bytes / 2 ** 20; // the embedding is read on demand: not counted
      const fit = Math.min(2, v.chunks - 1); // chunks that fit the limit: fewer than all
      const limited = await tokensOfBundle(bundle, { memoryLimitMB: fixedMB + (fit + 0.01) * chunkMB });
      expect(limited.mode).toBe('streaming');
      expect(limited.ids).toEqual(reference);
      expect(limited.stats.peakResident).toBe(fit); // the embedding read on demand takes none of the budget
    });
  }

  it('rejects a memory limit below the resident graphs + one chunk, and bad layer counts', async () => {
    const bundle = join(work, 'demo-f32-1-layer-per-chunk-bundle');
    await expect(loadBundle(createNodeRuntime(), bundle, { memoryLimitMB: 1 })).rejects.toMatchObject({ code: 'E_ARGUMENT', message: /below the resident graphs \(head, and embed unless read on demand\) plus one chunk/ });
    await expect(buildBundleDir(createNodeRuntime(), demo, join(work, 'x'), { layersPerChunk: 0 })).rejects.toMatchObject({ code: 'E_ARGUMENT' });
  });
});

describe('chunked bundles: atomic build', () => {
  it('an interrupted build leaves no bundle and no temporary directory; an existing output is kept', async () => {
    const out = join(work, 'interrupted');
    const onProgress = (p: Progress) => {
      if (p.phase === 'checksum' && p.done === 2) throw new Error('interrupted');
    };
    await expect(buildBundleDir(createNodeRuntime(), demo, out, { layersPerChunk: 2, onProgress })).rejects.toThrow('interrupted');
    await expect(stat(out)).rejects.toThrow();
    expect((await readdir(work)).filter((d) => d.includes('.partial-'))).toEqual([]);
    const existing = join(work, 'demo-f32-1-layer-per-chunk-bundle');
    await expect(buildBundleDir(createNodeRuntime(), demo, existing)).rejects.toMatchObject({ code: 'E_ARGUMENT', message: /already exists/ });
  });
});

describe('chunked bundles: integrity', () => {
  let manifest: BundleManifest;
  const original = () => join(work, 'demo-f32-1-layer-per-chunk-bundle');
  beforeAll(async () => {
    manifest = JSON.parse(await readFile(join(original(), 'model_manifest.json'), 'utf8')) as BundleManifest;
  });

  async function copyBundle(name: string): Promise<string> {
    const dir = join(work, name);
    await cp(original(), dir, { recursive: true });
    return dir;
  }

  it('a flipped byte in a chunk is E_CORRUPT naming the file, before any session is used', async () => {
    const dir = await copyBundle('corrupt-flip');
    const target = manifest.graphs.chunks[2].files[1]; // chunk_02.onnx.data
    const p = join(dir, target);
    const bytes = await readFile(p);
    bytes[bytes.length >> 1] ^= 0xff;
    await writeFile(p, bytes);
    const err = await loadBundle(createNodeRuntime(), dir).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TinyLlamaError);
    expect(err).toMatchObject({ code: 'E_CORRUPT' });
    expect((err as Error).message).toContain(`'${target}'`);
    expect((err as Error).message).toMatch(/checksum failed/);
  });

  it('a truncated chunk found while streaming fails the step and leaves the KV cache untouched', async () => {
    const dir = await copyBundle('corrupt-truncated');
    const target = manifest.graphs.chunks[3].files[0]; // chunk_03.onnx
    await truncate(join(dir, target), 100);
    const b = await loadBundle(createNodeRuntime(), dir, { maxResidentChunks: 2 }); // preloads chunk 0 only
    try {
      const err = await b.runner.forward([1, 2, 3]).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'E_CORRUPT' });
      expect((err as Error).message).toMatch(new RegExp(`'${target}': checksum failed .*truncated`));
      expect(b.runner.length).toBe(0);
      await expect(b.runner.forward([1, 2, 3])).rejects.toMatchObject({ code: 'E_CORRUPT' }); // never cached
    } finally {
      await b.release();
    }
  });

  it('a manifest entry that does not match (edited sha256) is E_CORRUPT', async () => {
    const dir = await copyBundle('corrupt-manifest');
    const m = JSON.parse(await readFile(join(dir, 'model_manifest.json'), 'utf8')) as { files: { path: string; sha256: string }[] };
    const f = m.files.find((x) => x.path === 'head.onnx.data');
    if (!f) throw new Error('no head data file');
    f.sha256 = '0'.repeat(64);
    await writeFile(join(dir, 'model_manifest.json'), JSON.stringify(m));
    await expect(loadBundle(createNodeRuntime(), dir)).rejects.toMatchObject({ code: 'E_CORRUPT', message: /'head.onnx.data': checksum failed/ });
  });
});

describe('chunked bundles over HTTP', () => {
  let server: Server;
  let base: string;
  let served: string;
  const corrupt = new Set<string>();
  beforeAll(async () => {
    served = join(work, 'demo-int4-3-layers-per-chunk-bundle');
    server = createServer((req, res) => {
      const name = decodeURIComponent((req.url ?? '/').split('/').pop() ?? '');
      readFile(join(served, name)).then(
        (data) => {
          if (corrupt.has(name)) data = data.subarray(0, data.length - 1);
          res.writeHead(200, { 'content-length': data.length });
          res.end(data);
        },
        () => {
          res.writeHead(404);
          res.end();
        },
      );
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/bundle/`;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('loads from a base URL with download progress and generates the directory bundle tokens', async () => {
    const events: Progress[] = [];
    const fromDir = await tokensOfBundle(served);
    const fromUrl = await tokensOfBundle(base, { cacheDir: join(work, 'http-cache'), onProgress: (p) => events.push(p), maxResidentChunks: 1 });
    expect(fromUrl.ids).toEqual(fromDir.ids);
    const downloads = events.filter((e) => e.phase === 'download');
    expect(new Set(downloads.map((e) => e.item))).toContain('chunk_01.onnx.data');
    const last = downloads.filter((e) => e.item === 'chunk_01.onnx.data').pop();
    expect(last && last.done === last.total).toBe(true);
  });

  it('a truncated download is E_CORRUPT and never lands in the cache', async () => {
    corrupt.add('chunk_00.onnx.data');
    try {
      const cacheDir = join(work, 'http-cache-bad');
      await expect(loadBundle(createNodeRuntime(), base, { cacheDir })).rejects.toMatchObject({ code: 'E_CORRUPT', message: /'chunk_00.onnx.data': checksum failed/ });
      const cached = await readdir(cacheDir);
      expect(cached).not.toContain('chunk_00.onnx.data');
      expect(cached.filter((f) => f.includes('.part-'))).toEqual([]);
    } finally {
      corrupt.clear();
    }
  });
});

describe('chunked bundles in the CLI', () => {
  it('build --layers-per-chunk, then generate and bench in resident and streaming modes', async () => {
    const out = join(work, 'cli-bundle');
    const b = await cli(['build', '--model', demo, '--out', out, '--dtype', 'int8', '--layers-per-chunk', '1']);
    expect(b.code, b.err).toBe(0);
    expect(b.err).toMatch(/built bundle .*4 chunks of 1 layers/);
    const gen = async (...extra: string[]) => {
      const r = await cli(['generate', '--model', out, '--prompt-ids', PROMPT.join(','), '--max-tokens', '8', '--temperature', '0', '--ignore-eos', '--json', ...extra]);
      expect(r.code, r.err).toBe(0);
      return lastJson(r.out) as { ids: number[]; bundle: { mode: string } };
    };
    const resident = await gen();
    expect(resident.bundle.mode).toBe('resident');
    const streaming = await gen('--max-resident-chunks', '2');
    expect(streaming.bundle.mode).toBe('streaming');
    expect(streaming.ids).toEqual(resident.ids);
    const bench = await cli(['bench', '--model', out, '--gen-tokens', '4', '--prompt-tokens', '4', '--memory-limit', '64', '--json']);
    expect(bench.code, bench.err).toBe(0);
    const j = lastJson(bench.out) as { peakMemoryMB: number; bundle: { mode: string } };
    expect(j.peakMemoryMB).toBeGreaterThan(0);
    const bad = await cli(['generate', '--model', demo, '--prompt-ids', '1', '--memory-limit', '100']);
    expect(bad.code).toBe(2);
    expect(bad.err).toMatch(/need a chunked bundle/);
  });
});

describe('shared (in-place) KV cache on onnxruntime-node', () => {
  it('generate of a bundle with --kv-cache shared gives the concat ids, also when the cache grows past 256 rows', async () => {
    const bundle = join(work, 'demo-f32-1-layer-per-chunk-bundle');
    const long = Array.from({ length: 250 }, (_, i) => 1 + ((i * 37) % 2000)); // 250 + 12 tokens: capacity 256 → 512 (of 2048)
    for (const prompt of [PROMPT, long]) {
      const gen = async (mode: string) => {
        const args = ['generate', '--model', bundle, '--prompt-ids', prompt.join(','), '--max-tokens', '12', '--temperature', '0', '--ignore-eos', '--json'];
        const r = await cli([...args, '--kv-cache', mode]);
        expect(r.code, r.err).toBe(0);
        return lastJson(r.out) as { ids: number[]; kvCache: string };
      };
      const shared = await gen('shared');
      const concat = await gen('concat');
      expect(shared.kvCache).toBe('shared');
      expect(concat.kvCache).toBe('concat');
      expect(shared.ids).toEqual(concat.ids);
    }
  });

  it('DecoderRunner: a cache smaller than the context limit, grown step by step, gives the concat ids', async () => {
    const m = await loadModel(createNodeRuntime(), join(work, 'demo-f32-1-layer-per-chunk-single'));
    try {
      const shared = new DecoderRunner(m.session, m.config, { kvCache: 'shared', initialCapacity: 4 }); // [1, Hkv, 4 → 8 → 16 → 32, D] of 2048
      const concat = new DecoderRunner(m.session, m.config, { kvCache: 'concat' });
      const a = await new TextGenerator(shared, m.tokenizer, m.config.eosTokenIds).generate(PROMPT, { ...greedy, maxNewTokens: 20 });
      const b = await new TextGenerator(concat, m.tokenizer, m.config.eosTokenIds).generate(PROMPT, { ...greedy, maxNewTokens: 20 });
      expect(a.ids).toEqual(b.ids);
      shared.release();
    } finally {
      await m.release();
    }
  });
});
