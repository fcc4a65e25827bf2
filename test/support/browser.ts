// A real headless browser for the console's tests: Debian's Chromium (hack/browser.sh installs it)
// driven by playwright-core. Screenshots go to .cluster/test-artifacts/ (LATHE_ARTIFACTS_DIR), kept
// after the run so a reader can see what the test saw.
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import * as path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from './cluster.js';

export const ARTIFACTS_DIR = process.env.LATHE_ARTIFACTS_DIR ?? path.join(repoRoot, '.cluster', 'test-artifacts');

export async function launchBrowser(): Promise<Browser> {
  const found = spawnSync(path.join(repoRoot, 'hack', 'browser.sh'), ['path'], { encoding: 'utf8' });
  if (found.status !== 0) throw new Error(`no Chromium for the console tests: ${found.stderr.trim()}`);
  // --no-sandbox: the tests run as root, where Chromium's sandbox refuses to start.
  return chromium.launch({ executablePath: found.stdout.trim(), args: ['--no-sandbox'] });
}

/** Saves a full-page screenshot as <suite>/<name>.png under ARTIFACTS_DIR and returns its path. */
export async function screenshot(page: Page, suite: string, name: string): Promise<string> {
  const dir = path.join(ARTIFACTS_DIR, suite);
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  process.stdout.write(`[${suite}] screenshot ${path.relative(repoRoot, file)}\n`);
  return file;
}
