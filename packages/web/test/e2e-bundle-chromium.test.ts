import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_INSTALL, launchChromium } from './chromium.ts';
import { buildApp, cli, MAX_TOKENS, PROMPT_IDS, referenceIds, skipReason } from './demo-fixture.ts';
import { ids, waitForStatus, type LaunchedBrowser } from './demo-suite.ts';
import { startStaticServer, type StaticServer } from './static-server.ts';

const skip = skipReason(CHROMIUM, CHROMIUM_INSTALL);

/** The file of chunk 1 that the corrupted copy changes (its external weights, else its graph). */
async function corruptChunk(bundle: string): Promise<string> {
  const manifest = JSON.parse(await readFile(join(bundle, 'model_manifest.json'), 'utf8')) as { graphs: { chunks: { files: string[] }[] } };
  const files = manifest.graphs.chunks[1].files;
  const name = files.at(-1)!;
  const bytes = await readFile(join(bundle, name));
  bytes[bytes.length >> 1] ^= 0x5a; // same size, different sha256
  await writeFile(join(bundle, name), bytes);
  return name;
}

describe.skipIf(skip !== undefined)(`web demo with a chunked bundle in headless Chromium${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
  let tmp: string;
  let server: StaticServer;
  let browser: LaunchedBrowser;
  let reference: number[];
  let corrupted: string;
  const greedy = (model: string): string => `${server.url}?model=${model}&prompt-ids=${PROMPT_IDS.join(',')}&max-tokens=${MAX_TOKENS}&temperature=0&ignore-eos=1`;

  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'tinyllama-web-bundle-'));
    const ckpt = join(tmp, 'ckpt');
    const bundle = join(tmp, 'bundle');
    const bad = join(tmp, 'bad');
    const app = join(tmp, 'app');
    const building = buildApp(app);
    await cli('random', '--out', ckpt, '--preset', 'tiny');
    await cli('build', '--model', ckpt, '--out', bundle, '--dtype', 'f32', '--layers-per-chunk', '1');
    reference = await referenceIds(bundle);
    await cp(bundle, bad, { recursive: true });
    corrupted = await corruptChunk(bad);
    await building;
    server = await startStaticServer({ '/': app, '/bundle/': bundle, '/bad/': bad });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it('a 2-chunk bundle, resident, gives the Node CLI greedy ids', async () => {
    await browser.page.goto(greedy('./bundle/'));
    const s = await waitForStatus(browser.page, ['done', 'error']);
    expect(s.status, s.text).toBe('done');
    expect(s.bundleMode).toBe('resident');
    expect(ids(s)).toHaveLength(MAX_TOKENS);
    expect(ids(s)).toEqual(reference);
    expect(s.cachedFiles).toBe('');
    // the embedding table was written to the origin private file system and its rows are read there
    expect(s.embedding).toBe('opfs');
    // the page shows the model's memory: the wasm kernels' linear memory, weights and KV cache included
    expect(Number(s.modelMemory)).toBeGreaterThan(0);
    expect(browser.page.errors).toEqual([]);
  });

  it('streaming one chunk at a time gives the same ids, reading chunks from the cache', async () => {
    await browser.page.goto(`${greedy('./bundle/')}&max-resident-chunks=1`);
    // reopens a chunk from the cache for every token: seconds alone, but once over 30 s in a full CI run
    // on 2 busy cores (tokens still coming), so it gets most of the test's 90 s
    const s = await waitForStatus(browser.page, ['done', 'error'], 80_000);
    expect(s.status, s.text).toBe('done');
    expect(s.bundleMode).toBe('streaming');
    expect(s.embedding).toBe('opfs');
    expect(ids(s)).toEqual(reference);
    // read at load: config, tokenizer, embed, head and the preloaded chunk 0
    expect(s.cachedFiles?.split(',')).toEqual(expect.arrayContaining(['config.json', 'tokenizer.model', 'embed.onnx', 'head.onnx', 'chunk_00.onnx']));
    // chunk 1 was opened again for every token (one resident chunk), from the cache, never downloaded again
    expect(server.hits.get(`/bundle/${corrupted}`)).toBe(1);
    expect(server.hits.get('/bundle/chunk_00.onnx')).toBe(1);
    expect(browser.page.errors).toEqual([]);
  });

  it('without the Cache API the embed graph is loaded instead, with the same ids', async () => {
    await browser.page.goto(`${greedy('./bundle/')}&cache=0`);
    const s = await waitForStatus(browser.page, ['done', 'error']);
    expect(s.status, s.text).toBe('done');
    expect(s.embedding).toBe('loaded');
    expect(ids(s)).toEqual(reference);
    expect(browser.page.errors).toEqual([]);
  });

  it('a corrupted chunk file shows a checksum error naming it', async () => {
    await browser.page.goto(`${greedy('./bad/')}&cache=0`);
    const s = await waitForStatus(browser.page, ['done', 'error']);
    expect(s.status).toBe('error');
    expect(s.text).toContain(`'${corrupted}'`);
    expect(s.text).toContain('checksum failed');
    expect(s.text).toContain('E_CORRUPT');
  });
});
