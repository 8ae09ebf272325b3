import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { type Browser, type Page, chromium } from 'playwright-core';

/** Where the browser tests leave their screenshots (ignored by git, kept by CI as artifacts). */
export const SCREENSHOT_DIR = path.resolve('test-results/dashboard');

/** Debian's chromium (bin/flashsale setup installs it); CHROMIUM_BIN names another. */
export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_BIN, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => Boolean(p));
  const found = candidates.find((candidate) => existsSync(candidate));
  if (!found) throw new Error(`No Chromium found (looked at ${candidates.join(', ')}): run bin/flashsale setup, or set CHROMIUM_BIN`);
  return found;
}

export async function launchBrowser(): Promise<Browser> {
  // Root in a container has no user namespaces for Chromium's sandbox.
  return chromium.launch({ executablePath: chromiumPath(), args: ['--no-sandbox', '--disable-dev-shm-usage'] });
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const file = path.join(SCREENSHOT_DIR, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

/** Everything the page logged as an error or threw, collected from now on. */
export function collectPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') errors.push(message.text());
  });
  page.on('pageerror', (error) => errors.push(error.message));
  return errors;
}
