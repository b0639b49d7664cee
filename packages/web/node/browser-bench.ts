/**
 * Benchmarks a model in a headless browser: serves the demo's built app and a model directory (or
 * chunked bundle) on 127.0.0.1 with the cross-origin isolation headers, drives Chromium with
 * playwright-core through one warm-up and one measured greedy generation, and samples the memory of
 * the browser's process tree.
 * @packageDocumentation
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { Rng, TinyLlamaError, type GenerationProfile } from '@tinyllama/core';
import { ProcessTreeMemory } from './process-memory.js';
import { startStaticServer } from './static-server.js';

/** Debian's Chromium. */
export const DEFAULT_CHROMIUM = '/usr/bin/chromium';

/** Options of {@link runBrowserBench}. */
export interface BrowserBenchOptions {
  /** A built model directory or a chunked bundle directory. */
  readonly modelDir: string;
  readonly promptTokens: number;
  readonly genTokens: number;
  /** wasm threads (default: the demo's choice: min(4, cores) for our kernels, min(4, cores / 2) for onnxruntime-web). */
  readonly threads?: number;
  /** The page's engine: our wasm kernels (default) or onnxruntime-web. */
  readonly engine?: 'wasm-kernels' | 'ort';
  /** Bundles: stream layer chunks, at most this many loaded at once. */
  readonly maxResidentChunks?: number;
  /** The demo's built app (default `packages/web/dist/app`, built with Vite when missing or older than the sources). */
  readonly appDir?: string;
  /** Browser executable (default `/usr/bin/chromium`). */
  readonly executablePath?: string;
  /**
   * Measure a reload, as users run the demo (default true): a first visit downloads the model into
   * the Cache API (its time is `firstLoadMs`, its memory is not counted), then a new page loads it from
   * the cache and is measured. False: one visit without the Cache API (every file downloaded).
   */
  readonly cache?: boolean;
  /** More demo URL parameters (see the demo's README), e.g. `{ 'embedding-on-demand': '0' }`. */
  readonly pageParams?: Readonly<Record<string, string>>;
  /** Give up after this long (default 15 minutes). */
  readonly timeoutMs?: number;
  /** Progress lines (app build, load, runs). */
  readonly log?: (line: string) => void;
}

/** What {@link runBrowserBench} measured. */
export interface BrowserBenchResult {
  readonly browser: string;
  /** Worker time from the load request to a ready model (download or cache, verification, sessions). */
  readonly loadMs: number;
  /** With `cache`: the first visit's load (download, verification, storing, sessions). */
  readonly firstLoadMs?: number;
  readonly ttftMs: number;
  readonly decodeTokensPerSecond: number;
  /** Peak of the summed proportional set size (PSS) of the browser's processes, sampled every 500 ms. */
  readonly peakMemoryMB: number;
  /** The same peak while loading (up to the end of the warm-up generation). */
  readonly peakLoadMemoryMB: number;
  /** The same peak during the measured generation. */
  readonly peakGenerateMemoryMB: number;
  /**
   * Peak PSS of the page's own process: the largest renderer, which hosts the page, its worker and the
   * kernels' threads (the browser, GPU, network and other helper processes are not counted).
   */
  readonly peakPageMemoryMB: number;
  /** What the page saw: wasm threads, execution providers, isolation, bundle mode. */
  readonly env: string;
  /** Our wasm kernels' build the page used (`relaxed` or `simd`); absent on onnxruntime-web. */
  readonly kernels?: string;
  readonly bundleMode?: string;
  /** Bundle files whose read from the cache stalled and was retried on the measured page. */
  readonly stalledReads?: readonly string[];
  /** The measured run's generated ids. */
  readonly ids: readonly number[];
  /** With `pageParams` `{ profile: '1' }` (our kernels): the measured run's operator timings. */
  readonly profile?: GenerationProfile;
}

/** The `packages/web` directory (from the sources or from `dist/node`). */
export function webPackageDir(): string {
  let dir = import.meta.dirname;
  while (!existsSync(join(dir, 'vite.config.ts'))) {
    const up = dirname(dir);
    if (up === dir) throw new TinyLlamaError('E_NOT_FOUND', `cannot find packages/web above '${import.meta.dirname}'`);
    dir = up;
  }
  return dir;
}

/** Builds the demo app with Vite's JS API into `outDir`. */
export async function buildWebApp(outDir: string): Promise<void> {
  const root = webPackageDir();
  const { build } = await import('vite');
  await build({ configFile: join(root, 'vite.config.ts'), root, logLevel: 'error', build: { outDir, emptyOutDir: true } });
}

/** Newest modification time (ms) of the files under `dir`, recursively (0 when it does not exist). */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const path = join(dir, e.name);
    const t = e.isDirectory() ? await newestMtime(path) : ((await stat(path).catch(() => undefined))?.mtimeMs ?? 0);
    newest = Math.max(newest, t);
  }
  return newest;
}

/**
 * True when the built app is missing or older than `index.html` or any source file it bundles: the
 * demo's own `src/` and every workspace package's `src/` (the kernels, the runtime, ...).
 */
async function appIsStale(appDir: string): Promise<boolean> {
  const built = await stat(join(appDir, 'index.html')).catch(() => undefined);
  if (!built) return true;
  const root = webPackageDir();
  const packages = dirname(root);
  const page = (await stat(join(root, 'index.html')).catch(() => undefined))?.mtimeMs ?? 0;
  if (page > built.mtimeMs) return true;
  for (const name of await readdir(packages).catch(() => [] as string[])) {
    if ((await newestMtime(join(packages, name, 'src'))) > built.mtimeMs) return true;
  }
  return false;
}

/** Prompt ids like `tinyllama bench`'s: BOS then `n - 1` ids drawn from `Rng(1234)`. */
export function benchPromptIds(n: number, vocabSize: number, bosId: number): number[] {
  const rng = new Rng(1234);
  return [bosId, ...Array.from({ length: n - 1 }, () => 3 + (rng.nextU32() % (vocabSize - 3)))];
}

interface PageState {
  status?: string;
  text: string;
  env: string;
  /** Download progress of each file (`loaded/total`). */
  files?: string;
  ids?: string;
  loadMs?: string;
  ttftMs?: string;
  decodeTokensPerSecond?: string;
  bundleMode?: string;
  kernels?: string;
  stalledReads?: string;
  /** JSON of the demo's `GenerationProfile` (`profile=1`). */
  profile?: string;
}

const readState = (): PageState => {
  const out = document.getElementById('output')!;
  const files = Array.from(document.querySelectorAll('#files .file'), (row) => row.textContent ?? '');
  return { ...out.dataset, text: out.textContent ?? '', env: document.getElementById('env')?.textContent ?? '', files: files.join('; ') };
};

/**
 * Runs the benchmark in a fresh browser profile: a first visit fills the Cache API (see
 * {@link BrowserBenchOptions.cache}), then the measured page loads the model, runs a 2-token warm-up
 * with the prompt and the measured greedy generation of `genTokens` tokens (EOS ignored).
 * @throws `E_NOT_FOUND` when the browser or the model's config is missing, `E_BACKEND` when the page
 * reports an error or times out.
 */
export async function runBrowserBench(options: BrowserBenchOptions): Promise<BrowserBenchResult> {
  const log = options.log ?? (() => undefined);
  const executablePath = options.executablePath ?? DEFAULT_CHROMIUM;
  if (!existsSync(executablePath)) throw new TinyLlamaError('E_NOT_FOUND', `browser '${executablePath}' not found (apt-get install -y chromium)`);
  const modelDir = resolve(options.modelDir);
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(join(modelDir, 'config.json'), 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new TinyLlamaError('E_NOT_FOUND', `cannot read '${join(modelDir, 'config.json')}': is it a built model directory or bundle?`, { cause: e });
  }
  const vocabSize = Number(raw.vocab_size);
  const bosId = typeof raw.bos_token_id === 'number' ? raw.bos_token_id : 1;
  const appDir = options.appDir ?? join(webPackageDir(), 'dist', 'app');
  if (options.appDir === undefined ? await appIsStale(appDir) : !existsSync(join(appDir, 'index.html'))) {
    log(`building the web demo into ${appDir}\n`);
    await buildWebApp(appDir);
  }
  const warmIds = benchPromptIds(options.promptTokens, vocabSize, bosId);
  const ids = benchPromptIds(options.promptTokens, vocabSize, bosId);
  const timeoutMs = options.timeoutMs ?? 15 * 60_000;

  const server = await startStaticServer({ '/': appDir, '/model/': modelDir });
  const { chromium } = await import('playwright-core');
  // A persistent context on a temporary profile: Cache API storage on disk, as in a user's browser
  // (Playwright's default contexts are off the record and keep cached files in memory).
  const profile = await mkdtemp(join(tmpdir(), 'tinyllama-bench-profile-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const browserVersion = context.browser()?.version() ?? 'unknown';
  let peak = 0;
  let pagePeak = 0;
  // 'prime': the first visit that fills the cache (not counted)
  let phase: 'prime' | 'load' | 'generate' = options.cache === false ? 'load' : 'prime';
  const phasePeak = { load: 0, generate: 0 };
  let sampling = true;
  const tree = new ProcessTreeMemory(process.pid);
  const sample = (): void => {
    if (phase === 'prime') return;
    const { total: m, renderer } = tree.sample();
    peak = Math.max(peak, m);
    pagePeak = Math.max(pagePeak, renderer);
    phasePeak[phase] = Math.max(phasePeak[phase], m);
  };
  let wake: (() => void) | undefined; // ends the sampler's wait early
  const sampler = (async () => {
    while (sampling) {
      sample();
      // This process shares the cores with the threads it measures: a sample costs ~20 ms of CPU (the
      // kernel walks the page tables of a 1 GB browser). Every 500 ms while loading (transient
      // peaks); every 3 s while generating, where memory only grows with the KV cache, plus one
      // sample at the end. (Async reads and a /proc rescan every 500 ms took ~8% of a core, and the
      // page's two threads ran at ~85% of a core instead of ~93%.)
      await new Promise<void>((r) => {
        const timer = setTimeout(r, phase === 'load' ? 500 : 3000);
        wake = () => (clearTimeout(timer), r());
      });
    }
  })();
  try {
    let page = context.pages()[0] ?? (await context.newPage());
    const waitFor = async (statuses: readonly string[]): Promise<PageState> => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const s = await page.evaluate(readState);
        if (s.status === 'error') throw new TinyLlamaError('E_BACKEND', `the browser demo failed: ${s.text}`);
        if (statuses.includes(s.status ?? '')) return s;
        if (Date.now() > end) throw new TinyLlamaError('E_BACKEND', `the browser demo did not finish in ${timeoutMs} ms (status ${s.status}; files ${s.files})`);
        // the figures come from the worker's own clock: poll sparingly (each poll is a CDP round
        // trip that takes CPU from the measured run)
        await new Promise((r) => setTimeout(r, 500));
      }
    };
    // Each launch has a fresh profile: with the cache, a first visit downloads and stores the model
    // and a second page (a reload) is measured; without, the one visit downloads every file.
    const useCache = options.cache !== false;
    const query = new URLSearchParams({ 'measure-memory': '0', model: './model/', cache: useCache ? '1' : '0', 'prompt-ids': warmIds.join(','), 'max-tokens': '2', temperature: '0', 'ignore-eos': '1' });
    if (options.threads !== undefined) query.set('threads', String(options.threads));
    query.set('backend', options.engine ?? 'wasm-kernels');
    if (options.maxResidentChunks !== undefined) query.set('max-resident-chunks', String(options.maxResidentChunks));
    for (const [k, v] of Object.entries(options.pageParams ?? {})) query.set(k, v);
    let firstLoadMs: number | undefined;
    if (useCache) {
      log(`first visit: downloading ${modelDir} into the cache of ${executablePath}\n`);
      await page.goto(`${server.url}?${query}`);
      firstLoadMs = Number((await waitFor(['done'])).loadMs);
      // leave the page first: its worker ends and releases its files (an OPFS access handle is exclusive)
      await page.goto('about:blank');
      await page.close();
      page = await context.newPage();
      phase = 'load';
    }
    log(`loading ${modelDir}${useCache ? ' from the cache' : ''} in ${executablePath}\n`);
    await page.goto(`${server.url}?${query}`);
    const warm = await waitFor(['done']);
    phase = 'generate';
    log(`loaded in ${Number(warm.loadMs).toFixed(0)} ms; generating ${options.genTokens} tokens\n`);
    await page.fill('#prompt', ids.join(','));
    await page.fill('#max-tokens', String(options.genTokens));
    await page.evaluate(() => {
      const out = document.getElementById('output')!;
      out.dataset.status = 'measuring';
    });
    await page.click('#generate');
    const s = await waitFor(['done']);
    sample(); // the KV cache at its largest
    return {
      browser: `chromium ${browserVersion}`,
      loadMs: Number(warm.loadMs),
      firstLoadMs,
      ttftMs: Number(s.ttftMs),
      decodeTokensPerSecond: Number(s.decodeTokensPerSecond),
      peakMemoryMB: peak / 1024 / 1024,
      peakLoadMemoryMB: phasePeak.load / 1024 / 1024,
      peakGenerateMemoryMB: phasePeak.generate / 1024 / 1024,
      peakPageMemoryMB: pagePeak / 1024 / 1024,
      env: s.env,
      kernels: s.kernels,
      bundleMode: s.bundleMode,
      stalledReads: s.stalledReads ? s.stalledReads.split(',') : undefined,
      ids: s.ids ? s.ids.split(',').map(Number) : [],
      profile: s.profile ? (JSON.parse(s.profile) as GenerationProfile) : undefined,
    };
  } finally {
    sampling = false;
    wake?.();
    await sampler;
    await context.close();
    await rm(profile, { recursive: true, force: true });
    await server.close();
  }
}
