import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_TOKENS, setUpDemo, skipReason, type DemoFixture } from './demo-fixture.ts';

/** The demo's state as mirrored on `#output` (see src/main.ts). */
export interface OutputState {
  status?: string;
  ids?: string;
  finishReason?: string;
  cachedFiles?: string;
  cacheFailures?: string;
  bundleMode?: string;
  embedding?: string;
  modelMemory?: string;
  kvCache?: string;
  kernels?: string;
  text: string;
  env: string;
  isolated: boolean;
}

/** What the suite needs of a browser page, whichever driver opened it. */
export interface DemoPage {
  goto(url: string): Promise<void>;
  /** Runs `fn` in the page and returns its (serialisable) result. */
  evaluate<T>(fn: () => T): Promise<T>;
  click(selector: string): Promise<void>;
  /** Uncaught page errors so far. */
  readonly errors: string[];
}

/** A launched browser with one page. */
export interface LaunchedBrowser {
  readonly page: DemoPage;
  close(): Promise<void>;
}

const readState = (): OutputState => {
  const out = document.getElementById('output')!;
  return { ...out.dataset, text: out.textContent ?? '', env: document.getElementById('env')?.textContent ?? '', isolated: globalThis.crossOriginIsolated };
};

/** Polls the page until its status is one of `statuses`. */
export async function waitForStatus(page: DemoPage, statuses: readonly string[], timeoutMs = 30_000): Promise<OutputState> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = await page.evaluate(readState);
    if (statuses.includes(s.status ?? '')) return s;
    if (Date.now() > end) throw new Error(`the demo did not reach ${statuses.join('/')} in ${timeoutMs} ms (status ${s.status}: ${s.text})`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** The generated ids mirrored on `#output`. */
export const ids = (s: OutputState): number[] => (s.ids ? s.ids.split(',').map(Number) : []);

/**
 * The end-to-end suite of the demo in one browser: greedy ids equal the Node CLI's, the Cache API
 * serves a reload, 2 wasm threads agree, and Stop aborts.
 */
export function describeDemo(browserName: string, executablePath: string, install: string, launch: () => Promise<LaunchedBrowser>): void {
  const skip = skipReason(executablePath, install);
  describe.skipIf(skip !== undefined)(`web demo in ${browserName}${skip ? ` (SKIPPED: ${skip})` : ''}`, () => {
    let demo: DemoFixture;
    let browser: LaunchedBrowser;

    beforeAll(async () => {
      demo = await setUpDemo();
      browser = await launch();
    });

    afterAll(async () => {
      await browser?.close();
      await demo?.dispose();
    });

    it('generates the same greedy ids as the Node CLI, cross-origin isolated', async () => {
      await browser.page.goto(demo.greedyUrl);
      const s = await waitForStatus(browser.page, ['done', 'error']);
      expect(s.status, s.text).toBe('done');
      expect(s.kvCache).toBe('shared'); // our kernels: the cache lives in their memory
      // Chromium's relaxed SIMD passes the kernels' exactness check (Node 20's does not)
      if (browserName.includes('Chromium')) expect(s.kernels).toBe('relaxed');
      else expect(s.kernels).toMatch(/^(relaxed|simd)$/);
      expect(s.isolated).toBe(true);
      expect(s.finishReason).toBe('length');
      expect(ids(s)).toEqual(demo.referenceIds);
      expect(ids(s)).toHaveLength(MAX_TOKENS);
      expect(s.cachedFiles).toBe('');
      expect(s.cacheFailures).toBe('');
      expect(browser.page.errors).toEqual([]);
    });

    it('reads the model from the Cache API on reload; 2 wasm threads give the same ids', async () => {
      await browser.page.goto(`${demo.greedyUrl}&threads=2`);
      const s = await waitForStatus(browser.page, ['done', 'error']);
      expect(s.status, s.text).toBe('done');
      expect(s.cachedFiles?.split(',').sort()).toEqual(['config.json', 'model.onnx', 'model.onnx.data', 'tokenizer.model']);
      expect(demo.server.hits.get('/model/model.onnx.data')).toBe(1);
      expect(demo.server.hits.get('/model/model.onnx')).toBe(1);
      expect(s.env).toContain('2 threads');
      expect(ids(s)).toEqual(demo.referenceIds);
      expect(browser.page.errors).toEqual([]);
    });

    it('on onnxruntime-web too (its KV cache takes back only each step\'s rows): the same greedy ids', async () => {
      await browser.page.goto(`${demo.greedyUrl}&backend=ort`);
      const s = await waitForStatus(browser.page, ['done', 'error']);
      expect(s.status, s.text).toBe('done');
      expect(s.env).toMatch(/onnxruntime-web/);
      expect(s.kvCache).toBe('rows');
      expect(s.kernels).toBeUndefined();
      expect(ids(s)).toEqual(demo.referenceIds);
      expect(browser.page.errors).toEqual([]);
    });

    it('Stop aborts a running generation', async () => {
      // The tiny model generates 250 tokens in well under a second: on a loaded machine the click can
      // land after the end, so a generation that finished first is tried again (up to 5 times).
      let s: OutputState | undefined;
      for (let attempt = 0; attempt < 5 && s?.finishReason !== 'aborted'; attempt++) {
        await browser.page.goto(demo.greedyUrl.replace(`max-tokens=${MAX_TOKENS}`, 'max-tokens=250'));
        const started = await waitForStatus(browser.page, ['generating', 'done', 'error']);
        // a DOM click, not the driver's: the driver waits for the button to be enabled, and it is
        // disabled again once a generation ends before the click lands
        if (started.status === 'generating') await browser.page.evaluate(() => document.getElementById('stop')!.click());
        s = await waitForStatus(browser.page, ['done', 'error']);
        expect(s.status, s.text).toBe('done');
      }
      s = s!;
      expect(s.finishReason).toBe('aborted');
      expect(ids(s).length).toBeLessThan(250);
      // greedy: whatever was generated before the stop starts like the reference
      expect(ids(s).slice(0, MAX_TOKENS)).toEqual(demo.referenceIds.slice(0, Math.min(ids(s).length, MAX_TOKENS)));
      expect(browser.page.errors).toEqual([]);
    });
  });
}
