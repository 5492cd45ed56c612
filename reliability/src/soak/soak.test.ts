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
