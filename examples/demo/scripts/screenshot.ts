/**
 * Takes the dashboard screenshot shown in docs/monitoring.md and the @pool/management README: runs the
 * demo (simulated database) with a one-minute history sampled every second, lets the traffic swell
 * through a burst of the standard tier until the charts are full, then photographs the page in
 * headless Chromium.
 *
 *   pnpm --filter @pool/demo screenshot
 *
 * Reads CHROMIUM_PATH (default /usr/bin/chromium). Writes docs/images/dashboard.png and
 * packages/management/docs/dashboard.png.
 */
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { startDemo } from '../src/demo.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const RUN_MS = Number(process.env.SCREENSHOT_AFTER_MS ?? 62_000);

const quiet = new Writable({ write: (_chunk, _encoding, done) => done() }) as unknown as NodeJS.WriteStream;
const demo = await startDemo({
  healthIntervalMs: 5_000,
  warmupMs: 3_000,
  leakEveryMs: 10_000,
  leakThresholdMs: 3_000,
  historyWindowMs: 60_000,
  historyIntervalMs: 1_000,
  port: 0,
  out: quiet,
  err: quiet,
});
const profile = mkdtempSync(join(tmpdir(), 'pool-screenshot-'));
try {
  // Long enough for the charts to fill and for bursts (20 s to 24 s into each 30 s) to show.
  await new Promise((resolve) => setTimeout(resolve, RUN_MS));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
    ],
    viewport: { width: 1280, height: 1000 },
  });
  try {
    const page = context.pages()[0] ?? (await context.newPage());
    await page.goto(demo.dashboardUrl);
    await page.waitForSelector('#main:not([hidden])[data-timestamp]');
    await page.waitForFunction(
      () =>
        Number(
          (
            globalThis as unknown as { document: { getElementById(id: string): { getAttribute(n: string): string | null } | null } }
          ).document
            .getElementById('size-chart')
            ?.getAttribute('data-points'),
        ) > 10,
    );
    const out = join(root, 'docs', 'images', 'dashboard.png');
    mkdirSync(dirname(out), { recursive: true });
    await page.screenshot({ path: out, fullPage: true });
    copyFileSync(out, join(root, 'packages', 'management', 'docs', 'dashboard.png'));
    console.log(`wrote ${out}`);
  } finally {
    await context.close();
  }
} finally {
  rmSync(profile, { recursive: true, force: true });
  const report = await demo.stop();
  console.log(report.line);
}
