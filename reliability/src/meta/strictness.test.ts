import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * Proves that this package's test runs are strict: a test that passes its assertions but leaves an
 * unhandled rejection, an unhandled 'error' event, or an unhandled pool problem (a contained failure
 * reported as an ERR_POOL_* warning because nobody listens to the pool's 'error') still fails the run.
 * Each fixture runs in a vitest of its own with this package's settings.
 */

const root = fileURLToPath(new URL('../..', import.meta.url));
const vitest = createRequire(import.meta.url).resolve('vitest/vitest.mjs');
const config = fileURLToPath(new URL('./fixtures/vitest.config.ts', import.meta.url));

function runFixture(name: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [vitest, 'run', '--config', config, `src/meta/fixtures/${name}.fixture.ts`],
      { cwd: root, env: { ...process.env, CI: 'true', NO_COLOR: '1' }, timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, output: `${stdout}\n${stderr}` });
      },
    );
  });
}

describe('strict test runs', () => {
  it('fail on an unhandled rejection, an unhandled error event and an unhandled pool problem; pass when clean', async () => {
    const [rejection, errorEvent, poolWarning, clean] = await Promise.all(
      ['unhandled-rejection', 'error-event', 'pool-warning', 'clean'].map(runFixture),
    );
    expect(clean?.code, clean?.output).toBe(0);
    expect(rejection?.code, rejection?.output).not.toBe(0);
    expect(rejection?.output).toContain('nobody handles this rejection');
    expect(errorEvent?.code, errorEvent?.output).not.toBe(0);
    expect(errorEvent?.output).toContain('nobody listens to this error event');
    expect(poolWarning?.code, poolWarning?.output).not.toBe(0);
    expect(poolWarning?.output).toContain('ERR_POOL_FACTORY');
  }, 120_000);
});
