import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer, { type Browser } from 'puppeteer-core';
import { tmpDir } from './tmp.js';

/** Where browser tests keep their screenshots (gitignored): test-artifacts/<name>/ at the repository root. */
export function artifactsDir(name: string): string {
  const dir = join(fileURLToPath(new URL('../..', import.meta.url)), 'test-artifacts', name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Debian's chromium, headless, driven over the DevTools protocol; its profile in a temp dir removed on close. */
export async function launchChromium(): Promise<{ browser: Browser; close(): Promise<void> }> {
  const profile = tmpDir('sp-chromium-');
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', `--user-data-dir=${profile}`],
  });
  return {
    browser,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
