import { chromium } from 'playwright-core';
import type { LaunchedBrowser } from './demo-suite.ts';

/** Debian's Chromium. */
export const CHROMIUM = '/usr/bin/chromium';
/** How to install it. */
export const CHROMIUM_INSTALL = 'apt-get install -y chromium';

/** Debian's Chromium, driven by playwright-core over CDP (no downloaded browser). */
export async function launchChromium(): Promise<LaunchedBrowser> {
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
