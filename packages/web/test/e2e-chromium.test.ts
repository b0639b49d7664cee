import { chromium } from 'playwright-core';
import { describeDemo, type LaunchedBrowser } from './demo-suite.ts';

const CHROMIUM = '/usr/bin/chromium';

/** Debian's Chromium, driven by playwright-core over CDP (no downloaded browser). */
async function launchChromium(): Promise<LaunchedBrowser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update'],
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  return {
    page: {
      errors,
      goto: async (url) => void (await page.goto(url)),
      evaluate: (fn) => page.evaluate(fn),
      click: (selector) => page.click(selector),
    },
    close: () => browser.close(),
  };
}

describeDemo('headless Chromium', CHROMIUM, 'apt-get install -y chromium', launchChromium);
