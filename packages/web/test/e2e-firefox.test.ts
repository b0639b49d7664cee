import puppeteer from 'puppeteer-core';
import { describeDemo, type LaunchedBrowser } from './demo-suite.ts';

const FIREFOX = '/usr/bin/firefox-esr';

/** Debian's Firefox ESR, driven by puppeteer-core over WebDriver BiDi (no downloaded browser). */
async function launchFirefox(): Promise<LaunchedBrowser> {
  const browser = await puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX,
    headless: true,
    protocol: 'webDriverBiDi',
  });
  const page = await browser.newPage();
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e instanceof Error ? e.message : String(e)));
  return {
    page: {
      errors,
      goto: async (url) => void (await page.goto(url)),
      evaluate: (fn) => page.evaluate(fn) as never,
      click: (selector) => page.click(selector),
    },
    close: () => browser.close(),
  };
}

describeDemo('headless Firefox ESR', FIREFOX, 'apt-get install -y firefox-esr', launchFirefox);
