import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { LogHistogram } from './histogram.js';
import { formatSoakReport, runSoak, type SoakReport, soakFailures } from './soak.js';

/**
 * The CI soak: 60 seconds of multi-tenant load with random faults (SimulatedFactory behind
 * withFaults, PartitionManager with a PriorityWaitQueue per partition, chaos every ~2 s). It fails on
 * any loss, leak, double hand-out, hang or non-PoolError. `SOAK_CI_MS` shortens or lengthens it.
 */

const CI_SOAK_MS = Number(process.env.SOAK_CI_MS ?? 60_000);

describe('soak', () => {
  it(
    `runs ${CI_SOAK_MS / 1000} s of multi-tenant load with random faults and loses, leaks and double-hands nothing`,
    async () => {
      const report = await runSoak({ durationMs: CI_SOAK_MS, seed: 1 });
      console.log(formatSoakReport(report));
      expect(soakFailures(report)).toEqual([]);
      expect(report.served).toBeGreaterThan(1_000);
      // The faults really happened: the run proves something only if the pool was stressed.
      expect(Object.values(report.injectedFaults).reduce((a, b) => a + b, 0)).toBeGreaterThan(0);
      expect(Object.keys(report.chaos).length).toBeGreaterThan(0);
    },
    CI_SOAK_MS + 60_000,
  );

  it('fails against a pool whose acquires stop settling: loss counted by the callers, windows that stall, a report all the same', async () => {
    const report = await runSoak({
      durationMs: 5_000,
      windowMs: 500,
      settleGraceMs: 2_000,
      concurrency: 8,
      wedge: { atMs: 1_500, how: 'never-settles' },
    });
    console.log(formatSoakReport(report));
    const failures = soakFailures(report);
    expect(report.wedged).toBe('never-settles at 1500 ms');
    expect(report.windows[0]).toBeGreaterThan(0);
    expect(report.lost).toBeGreaterThan(0);
    expect(report.callsStarted - report.callsSettled).toBe(report.lost);
    expect(failures.some((f) => f.startsWith('lost = '))).toBe(true);
    expect(failures.some((f) => f.startsWith('stuck: callers'))).toBe(true);
    expect(stalledWindows(report)).not.toEqual([]);
    expect(formatSoakReport(report)).toContain('result            FAIL');
  }, 60_000);

  it('fails against a pool that stops serving but settles every call (suspended for good): the windows catch it', async () => {
    const report = await runSoak({ durationMs: 5_000, windowMs: 500, concurrency: 8, wedge: { atMs: 1_500, how: 'suspended' } });
    const failures = soakFailures(report);
    expect(report.lost).toBe(0);
    expect(report.callsSettled).toBe(report.callsStarted);
    expect(stalledWindows(report)).not.toEqual([]);
    expect(failures.every((f) => /^window \d+ \(.+\) served \d+, below 10% of the first window's \d+$/.test(f))).toBe(true);
  }, 60_000);

  it('the command reports a wedged run and exits 1 (never 13, never silently)', async () => {
    const { code, stdout } = await soakCommand([
      '--duration',
      '3s',
      '--window',
      '500ms',
      '--settle-grace',
      '1s',
      '--concurrency',
      '4',
      '--wedge',
      'never-settles@1s',
    ]);
    expect(stdout).toContain('soak report (simulated, seed 1, 3 s, wedged: never-settles at 1000 ms)');
    expect(stdout).toMatch(/result {12}FAIL: lost = \d+/);
    expect(code).toBe(1);
  }, 60_000);

  it('the command says why it ends when it is stopped before its report', async () => {
    const { code, stderr } = await soakCommand(['--duration', '60s'], (child, stdout) => {
      if (stdout.includes('Ctrl-C aborts')) child.kill('SIGTERM');
    });
    expect(stderr).toContain('soak: interrupted by SIGTERM; last progress: ');
    expect(stderr).toContain('soak: exiting with code 143 before its report');
    expect(code).toBe(143);
  }, 60_000);

  it('soakFailures names every kind of loss and leak', () => {
    const clean: SoakReport = {
      backend: 'simulated',
      seed: 1,
      durationMs: 1,
      operations: 1,
      served: 1,
      acquireErrors: {},
      queryErrors: {},
      waitP50Ms: 0,
      waitP99Ms: 0,
      waitMaxMs: 0,
      hungAcquires: 0,
      nonPoolErrors: 0,
      doubleHandOuts: 0,
      lost: 0,
      callsStarted: 1,
      callsSettled: 1,
      settledTwice: 0,
      returnedTwice: 0,
      poolOutstanding: 0,
      windows: [10, 10],
      windowMs: 5_000,
      minWindowFraction: 0.1,
      stuckPhase: null,
      wedged: null,
      wedgedAtMs: null,
      leaked: 0,
      openAfterClose: 0,
      connectionsCreated: 1,
      connectionsDestroyed: 1,
      destroyedByReason: {},
      chaos: {},
      injectedFaults: {},
      closeMs: 0,
      heapStartBytes: 0,
      heapEndBytes: 0,
    };
    expect(soakFailures(clean)).toEqual([]);
    for (const [field, value] of [
      ['lost', 1],
      ['leaked', 1],
      ['openAfterClose', 1],
      ['doubleHandOuts', 1],
      ['hungAcquires', 1],
      ['nonPoolErrors', 1],
      ['connectionsDestroyed', 0],
      ['served', 0],
      ['settledTwice', 1],
      ['returnedTwice', 1],
      ['poolOutstanding', 1],
      ['stuckPhase', 'close'],
      ['windows', [10, 0]],
    ] as const) {
      const failures = soakFailures({ ...clean, [field]: value });
      expect(failures, field).toHaveLength(1);
    }
    expect(formatSoakReport({ ...clean, leaked: 2 })).toContain('FAIL: leaked = 2');
  });

  it('LogHistogram reports percentiles within one 2% bucket', () => {
    const h = new LogHistogram();
    for (let i = 1; i <= 1_000; i++) h.record(i);
    expect(h.count).toBe(1_000);
    expect(h.percentileMs(50)).toBeGreaterThanOrEqual(500);
    expect(h.percentileMs(50)).toBeLessThanOrEqual(510);
    expect(h.percentileMs(99)).toBeGreaterThanOrEqual(990);
    expect(h.percentileMs(99)).toBeLessThanOrEqual(1_000);
    expect(h.percentileMs(100)).toBe(1_000);
    expect(new LogHistogram().percentileMs(99)).toBe(0);
  });
});

const reliabilityDir = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Runs `pnpm soak`'s command (cli.ts, through tsx) in a child process; `onOutput` sees stdout as it grows. */
function soakCommand(
  args: string[],
  onOutput?: (child: ReturnType<typeof spawn>, stdout: string) => void,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // node itself (not tsx's wrapper scripts), so that a signal reaches the soak's own process.
  const child = spawn(process.execPath, ['--import', 'tsx', '--conditions=@pool/source', 'src/soak/cli.ts', ...args], {
    cwd: reliabilityDir,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    onOutput?.(child, stdout);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

/**
 * The windows that began after the wedge really took effect (its timer may fire late on a busy
 * machine), each of which must be named a stall; returns them, and fails if one is not.
 */
function stalledWindows(report: SoakReport): number[] {
  const wedgedAt = report.wedgedAtMs as number;
  const after: number[] = [];
  for (let i = 0; i < report.windows.length; i++) if (i * report.windowMs >= wedgedAt) after.push(i + 1);
  const failures = soakFailures(report);
  for (const n of after)
    expect(
      failures.some((f) => f.startsWith(`window ${n} `)),
      `window ${n} is named a stall`,
    ).toBe(true);
  return after;
}
