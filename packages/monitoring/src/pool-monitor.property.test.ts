import { ConnectionPool } from '@pool/core';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PoolMonitor } from './pool-monitor.js';
import { FakeFactory } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function nearestRank(sorted: number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number;
}

describe('PoolMonitor window (property)', () => {
  it('reports exactly the acquisitions since the window start: count, max and mean exact, percentiles within 1%', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 6_000 }), waitMs: fc.integer({ min: 1, max: 400 }) }), {
          minLength: 1,
          maxLength: 25,
        }),
        async (steps) => {
          const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
          const monitor = new PoolMonitor(pool, { windowMs: 10_000, windowSlots: 5 });
          const t0 = performance.now();
          const log: { at: number; waitMs: number }[] = [];
          for (const { gapMs, waitMs } of steps) {
            await vi.advanceTimersByTimeAsync(gapMs);
            const held = await pool.acquire(); // served at once
            log.push({ at: performance.now() - t0, waitMs: 0 });
            const next = pool.acquire();
            await vi.advanceTimersByTimeAsync(waitMs);
            held.release();
            const conn = await next;
            log.push({ at: performance.now() - t0, waitMs });
            conn.release();
          }
          const stats = monitor.statistics();
          const start = performance.now() - t0 - stats.windowSpanMs;
          const inWindow = log.filter((e) => e.at >= start).map((e) => e.waitMs);
          const sorted = [...inWindow].sort((a, b) => a - b);
          const h = stats.waitTimeHistogram;
          expect(h.count).toBe(inWindow.length);
          expect(stats.windowAcquisitions).toBe(inWindow.length);
          expect(h.maxMs).toBe(sorted.length === 0 ? 0 : (sorted.at(-1) as number));
          if (sorted.length > 0) {
            expect(h.meanMs).toBeCloseTo(inWindow.reduce((a, b) => a + b, 0) / inWindow.length, 9);
            for (const [key, p] of [
              ['p50', 50],
              ['p90', 90],
              ['p99', 99],
            ] as const) {
              const expected = nearestRank(sorted, p);
              expect(Math.abs(h.percentiles[key] - expected)).toBeLessThanOrEqual(expected * 0.01);
            }
          }
          expect(stats.windowSpanMs).toBeLessThanOrEqual(10_000);
          expect(monitor.cumulative().wait.count).toBe(log.length);
          monitor.close();
          await pool.close();
        },
      ),
      { numRuns: 40 },
    );
  });
});
