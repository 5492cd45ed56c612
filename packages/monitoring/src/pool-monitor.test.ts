import { ConnectionPool, type PooledConnection } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PoolMonitor } from './pool-monitor.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-03-10T09:15:00Z'));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Nearest-rank percentile, HdrHistogram's definition. */
function nearestRank(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1] as number;
}

function within(actual: number, expected: number, relative = 0.01): void {
  expect(Math.abs(actual - expected)).toBeLessThanOrEqual(expected * relative + 1e-9);
}

/**
 * With maxSize 1, makes acquisitions whose waits are exactly `waits` (ms): each new acquire waits while
 * the previous borrow is held for that long. Returns the last borrow (still held).
 */
async function acquireWithWaits(pool: ConnectionPool<FakeConnection>, waits: number[]): Promise<PooledConnection<FakeConnection>> {
  let held = await pool.acquire();
  for (const w of waits) {
    const next = pool.acquire();
    await vi.advanceTimersByTimeAsync(w);
    held.release();
    held = await next;
  }
  return held;
}

describe('PoolMonitor statistics', () => {
  it('reports the seed "Pool Statistics" figures', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 4, initialSize: 2 }, factory, { name: 'main' });
    const monitor = new PoolMonitor(pool);
    const a = await pool.acquire();
    const b = await pool.acquire();
    a.release();

    const stats = monitor.statistics();
    expect(stats.poolName).toBe('main');
    expect(stats.connectionsCreated).toBe(2);
    expect(stats.activeConnections).toBe(1);
    expect(stats.idleConnections).toBe(1);
    expect(stats.totalConnections).toBe(2);
    expect(stats.successRate).toBe(1);
    expect(stats.averageAcquireTimeMs).toBe(0);
    expect(stats.acquisitions).toBe(2);
    expect(stats.minConnections).toBe(2);
    expect(stats.maxConnections).toBe(4);
    expect(stats.timestamp).toBe(Date.now());
    b.release();
    monitor.close();
    await pool.close();
  });

  it('gives the right p50/p90/p95/p99/p999 for 100 acquisitions with known waits, within histogram precision', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory);
    const monitor = new PoolMonitor(pool);
    const waits = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1); // 1..100 ms, shuffled
    const last = await acquireWithWaits(pool, waits);
    const all = [0, ...waits]; // the first acquire found an idle connection

    const h = monitor.statistics().waitTimeHistogram;
    expect(h.count).toBe(101);
    expect(h.maxMs).toBe(100);
    expect(h.meanMs).toBeCloseTo(all.reduce((x, y) => x + y, 0) / all.length, 9);
    within(h.percentiles.p50, nearestRank(all, 50));
    within(h.percentiles.p90, nearestRank(all, 90));
    within(h.percentiles.p95, nearestRank(all, 95));
    within(h.percentiles.p99, nearestRank(all, 99));
    within(h.percentiles.p999, nearestRank(all, 99.9));
    expect(monitor.statistics().averageAcquireTimeMs).toBeCloseTo(waits.reduce((x, y) => x + y, 0) / 101, 9);
    last.release();
    monitor.close();
    await pool.close();
  });

  it('records hold times and create times with their percentiles', async () => {
    const factory = new FakeFactory();
    factory.createDelays = [5, 10, 20, 40];
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 4, initialSize: 0 }, factory);
    const monitor = new PoolMonitor(pool, { borrowTiming: 'all' });
    const pending = [pool.acquire(), pool.acquire(), pool.acquire(), pool.acquire()];
    await vi.advanceTimersByTimeAsync(40);
    const conns = await Promise.all(pending);
    const holds = [3, 7, 11, 13];
    for (let i = 0; i < conns.length; i++) {
      await vi.advanceTimersByTimeAsync(i === 0 ? holds[0]! : holds[i]! - holds[i - 1]!);
      conns[i]!.release();
    }
    const stats = monitor.statistics();
    expect(stats.createTimeHistogram.count).toBe(4);
    expect(stats.createTimeHistogram.maxMs).toBe(40);
    within(stats.createTimeHistogram.percentiles.p50, 10);
    expect(stats.holdTimeHistogram.count).toBe(4);
    // Each connection was handed over when it was created, and released `holds[i]` ms after the last creation.
    const expectedHolds = holds.map((h, i) => h + 40 - [5, 10, 20, 40][i]!);
    expect(stats.holdTimeHistogram.maxMs).toBe(Math.max(...expectedHolds));
    within(stats.holdTimeHistogram.percentiles.p50, nearestRank(expectedHolds, 50));
    within(stats.holdTimeHistogram.percentiles.p99, nearestRank(expectedHolds, 99));
    monitor.close();
    await pool.close();
  });

  it('slides the window: percentiles describe the recent minutes, not the whole history', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6 });
    const slow = await acquireWithWaits(pool, [500, 500, 500]);
    slow.release();
    expect(monitor.statistics().waitTimeHistogram.maxMs).toBe(500);

    await vi.advanceTimersByTimeAsync(30_000);
    const fast = await acquireWithWaits(pool, [2, 2]);
    fast.release();
    let h = monitor.statistics().waitTimeHistogram;
    expect(h.count).toBe(4 + 3);
    expect(h.maxMs).toBe(500);

    // A minute after the slow waits, their slot has left the window.
    await vi.advanceTimersByTimeAsync(30_000);
    h = monitor.statistics().waitTimeHistogram;
    expect(h.count).toBe(3);
    expect(h.maxMs).toBe(2);
    within(h.percentiles.p99, 2);
    expect(monitor.statistics().windowSpanMs).toBeLessThanOrEqual(60_000);

    // The cumulative view (for Prometheus) keeps everything.
    const cumulative = monitor.cumulative();
    expect(cumulative.wait.count).toBe(7);
    expect(cumulative.wait.sumMs).toBe(1504);
    expect(cumulative.acquisitions).toBe(7);

    await vi.advanceTimersByTimeAsync(120_000);
    h = monitor.statistics().waitTimeHistogram;
    expect(h.count).toBe(0);
    expect(h.percentiles.p50).toBe(0);
    expect(monitor.cumulative().wait.count).toBe(7);
    monitor.close();
    await pool.close();
  });

  it('keeps the window correct when its timer runs late', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 10_000, windowSlots: 5 });
    const c = await acquireWithWaits(pool, [100]);
    c.release();
    // Jump the clock without firing timers (an event loop blocked for a long time), then let them fire.
    vi.setSystemTime(Date.now() + 60_000);
    const perf = performance.now();
    vi.spyOn(performance, 'now').mockReturnValue(perf + 60_000);
    await vi.advanceTimersByTimeAsync(2_000); // one step timer tick, 60 s late by the clock
    vi.mocked(performance.now).mockRestore();
    expect(monitor.statistics().waitTimeHistogram.count).toBe(0);
    monitor.close();
    await pool.close();
  });

  it('counts success rate over the window and since creation', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1, maxWaitQueueSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6 });
    const held = await pool.acquire();
    const waiting = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    await expect(pool.acquire()).rejects.toMatchObject({ code: 'ERR_POOL_EXHAUSTED' });
    await vi.advanceTimersByTimeAsync(100);
    expect(await waiting).toMatchObject({ code: 'ERR_POOL_CONNECTION_TIMEOUT' });
    let stats = monitor.statistics();
    expect(stats.acquireFailures).toBe(2);
    expect(stats.timeouts).toBe(1);
    expect(stats.rejected).toBe(1);
    expect(stats.successRate).toBeCloseTo(1 / 3, 12);
    expect(stats.recentSuccessRate).toBeCloseTo(1 / 3, 12);
    held.release();
    await vi.advanceTimersByTimeAsync(70_000);
    (await pool.acquire()).release();
    stats = monitor.statistics();
    expect(stats.successRate).toBeCloseTo(2 / 4, 12);
    expect(stats.recentSuccessRate).toBe(1);
    monitor.close();
    await pool.close();
  });

  it('reports destroyed connections by reason', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 3, initialSize: 2, idleTimeoutMs: 10_000 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    const c = await pool.acquire();
    await c.destroy(new Error('broken socket'));
    await vi.advanceTimersByTimeAsync(70_000); // maintenance closes the idle one
    const stats = monitor.statistics();
    expect(stats.connectionsDestroyed).toBe(2);
    expect(stats.destroyedByReason.destroyed).toBe(1);
    expect(stats.destroyedByReason.idle).toBe(1);
    monitor.close();
    await pool.close();
  });

  it('measures throughput over the window', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6 });
    for (let second = 0; second < 20; second++) {
      for (let i = 0; i < 5; i++) (await pool.acquire()).release();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    const stats = monitor.statistics();
    expect(stats.windowSpanMs).toBe(20_000);
    expect(stats.throughputPerSecond).toBeCloseTo(5, 9);
    monitor.close();
    await pool.close();
  });
});

describe('PoolMonitor efficiency metrics', () => {
  it('computes pool utilization as time-weighted borrowed / max', async () => {
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 4, initialSize: 2 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6, borrowTiming: 'all' });
    const a = await pool.acquire();
    const b = await pool.acquire();
    await vi.advanceTimersByTimeAsync(30_000);
    b.release();
    await vi.advanceTimersByTimeAsync(20_000);
    // 50 s elapsed: a borrowed 50 s, b borrowed 30 s, out of 4 × 50 s of capacity.
    expect(monitor.statistics().efficiencyMetrics.poolUtilization).toBeCloseTo(80 / 200, 9);
    expect(monitor.statistics().efficiencyMetrics.borrowedTimeMs).toBeCloseTo(80_000, 6);
    await vi.advanceTimersByTimeAsync(10_000);
    // The first 10 s slot left the window: [10 s, 60 s]: a 50 s + b 20 s out of 200.
    expect(monitor.statistics().efficiencyMetrics.poolUtilization).toBeCloseTo(70 / 200, 9);
    a.release();
    monitor.close();
    await pool.close();
  });

  it('follows a resize in the capacity it divides by', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 2, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6, borrowTiming: 'all' });
    const a = await pool.acquire();
    await vi.advanceTimersByTimeAsync(10_000);
    pool.resize({ maxSize: 4 });
    await vi.advanceTimersByTimeAsync(10_000);
    // 20 s borrowed out of 2 × 10 s + 4 × 10 s.
    expect(monitor.statistics().efficiencyMetrics.poolUtilization).toBeCloseTo(20 / 60, 9);
    a.release();
    monitor.close();
    await pool.close();
  });

  it('counts connection reuse: acquisitions that got an already used connection', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 2, initialSize: 0 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    const first = pool.acquire();
    await flush();
    (await first).release(); // fresh
    for (let i = 0; i < 3; i++) (await pool.acquire()).release(); // reused
    const stats = monitor.statistics();
    expect(stats.efficiencyMetrics.connectionReuseRate).toBeCloseTo(3 / 4, 12);
    expect(monitor.cumulative().firstBorrows).toBe(1);
    monitor.close();
    await pool.close();
  });

  it('reads the statement cache hit rate the adapter reports, over the window', async () => {
    const factory = new FakeFactory();
    factory.cache = { hits: 90, misses: 10, evictions: 2, size: 50, capacity: 100 };
    factory.queryErrors = 3;
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 2, initialSize: 1 }, factory);
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6 });
    factory.cache = { hits: 120, misses: 20, evictions: 3, size: 60, capacity: 100 };
    let e = monitor.statistics().efficiencyMetrics;
    // Since attach: 30 hits, 10 misses.
    expect(e.cacheHitRate).toBeCloseTo(30 / 40, 12);
    expect(e.statementCache).toEqual({ hits: 120, misses: 20, evictions: 3, size: 60, capacity: 100 });
    expect(e.queryErrors).toBe(3);
    await vi.advanceTimersByTimeAsync(70_000);
    factory.cache = { hits: 121, misses: 23, evictions: 3, size: 60, capacity: 100 };
    e = monitor.statistics().efficiencyMetrics;
    expect(e.cacheHitRate).toBeCloseTo(1 / 4, 12);
    monitor.close();
    await pool.close();
  });

  it('reports no cache figures for a factory without statistics, and survives one that throws', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
    const monitor = new PoolMonitor(pool);
    expect(monitor.statistics().efficiencyMetrics.statementCache).toBeNull();
    expect(monitor.statistics().efficiencyMetrics.cacheHitRate).toBe(0);
    factory.statistics = () => {
      throw new Error('adapter bug');
    };
    expect(monitor.statistics().efficiencyMetrics.statementCache).toBeNull();
    monitor.close();
    await pool.close();
  });
});

describe('PoolMonitor sampled borrow timing (the default: borrowTiming 0.02)', () => {
  it('times the borrows that start in a sampling period, following long ones to their end', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 10, initialSize: 0 }, new FakeFactory());
    vi.spyOn(Math, 'random').mockReturnValue(0); // the first period's random phase: now
    const monitor = new PoolMonitor(pool, { borrowTiming: 0.05 }); // 100 ms periods every 2 s
    const t0 = performance.now();
    const at = (ms: number) => vi.advanceTimersByTimeAsync(ms - (performance.now() - t0));
    const acquire = async () => {
      const p = pool.acquire();
      await vi.advanceTimersByTimeAsync(0);
      return p;
    };
    await at(20);
    const a = await acquire();
    expect(pool.listenerCount('release')).toBe(1);
    await at(50);
    a.release(); // 30 ms, in the period
    await at(80);
    const b = await acquire();
    await at(90);
    const c = await acquire();
    await at(1_000);
    expect(pool.listenerCount('release')).toBe(1); // following b and c
    const d = await acquire(); // starts outside any period: never sampled
    await at(1_500);
    d.release();
    await at(4_000);
    b.release(); // 3.92 s, followed through its release event
    await at(10_050);
    const f = await acquire(); // in flight when the next period starts (10.1 s, when following ends): not sampled
    await at(10_120);
    f.release();
    const e = await acquire();
    await at(10_140);
    e.release(); // 20 ms, in the second period
    await at(10_300);
    expect(pool.listenerCount('release')).toBe(0); // c is polled now; the pool no longer times borrows
    await at(30_500);
    c.release(); // found by the poll at 31.1 s, placed half-way between polls (30.6 s): 30.51 s
    await at(31_100);

    const h = monitor.statistics().holdTimeHistogram;
    expect(h.count).toBe(4);
    within(h.maxMs, 30_510);
    expect(h.meanMs).toBeCloseTo((30 + 3_920 + 30_510 + 20) / 4, 6);
    within(h.percentiles.p50, 30);
    // Waits and counts are exact whatever the sampling.
    expect(monitor.statistics().waitTimeHistogram.count).toBe(6);
    expect(monitor.cumulative().acquisitions).toBe(6);
    monitor.close();
    await pool.close();
  });

  it('estimates utilization from the borrowed count sampled every 100 ms', async () => {
    const pool = await ConnectionPool.create({ minSize: 4, maxSize: 4, initialSize: 4 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6 });
    const a = await pool.acquire();
    const b = await pool.acquire();
    await vi.advanceTimersByTimeAsync(30_000);
    b.release();
    await vi.advanceTimersByTimeAsync(20_000);
    // Exactly: (50 s + 30 s) / (4 × 50 s); the first 100 ms sample comes after both borrows started.
    expect(monitor.statistics().efficiencyMetrics.poolUtilization).toBeCloseTo(80 / 200, 2);
    a.release();
    monitor.close();
    await pool.close();
  });

  it('rejects a sampling fraction out of range', () => {
    expect(() => new PoolMonitor(null, { borrowTiming: 0 })).toThrow(/borrowTiming = 0: must be 'all' or a fraction/);
    expect(() => new PoolMonitor(null, { borrowTiming: 1.5 })).toThrow(/borrowTiming/);
    expect(() => new PoolMonitor(null, { borrowTiming: 'some' as never })).toThrow(/borrowTiming/);
    const exact = new PoolMonitor(null, { borrowTiming: 1 });
    expect(exact.borrowTiming).toBe('all');
    exact.close();
  });
});

describe('PoolMonitor usage patterns', () => {
  it('counts acquisitions by hour of the day and finds the peak hour', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { timeZone: 'UTC' });
    for (let i = 0; i < 3; i++) (await pool.acquire()).release(); // 09:15
    await vi.advanceTimersByTimeAsync(45 * 60_000); // 10:00
    for (let i = 0; i < 5; i++) (await pool.acquire()).release();
    await vi.advanceTimersByTimeAsync(60 * 60_000 - 1); // 10:59:59.999
    (await pool.acquire()).release();
    await vi.advanceTimersByTimeAsync(1); // 11:00
    (await pool.acquire()).release();
    const p = monitor.statistics().usagePatterns;
    expect(p.timeZone).toBe('UTC');
    expect(p.acquisitionsByHour).toHaveLength(24);
    expect(p.acquisitionsByHour[9]).toBe(3);
    expect(p.acquisitionsByHour[10]).toBe(6);
    expect(p.acquisitionsByHour[11]).toBe(1);
    expect(p.peakHour).toBe(10);
    expect(p.peakHourAcquisitions).toBe(6);
    monitor.close();
    await pool.close();
  });

  it('counts hours in the configured time zone, half-hour offsets included', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { timeZone: 'Asia/Kolkata' }); // UTC+05:30: 09:15Z is 14:45
    (await pool.acquire()).release();
    await vi.advanceTimersByTimeAsync(15 * 60_000); // 09:30Z is 15:00 there
    (await pool.acquire()).release();
    const p = monitor.statistics().usagePatterns;
    expect(p.acquisitionsByHour[14]).toBe(1);
    expect(p.acquisitionsByHour[15]).toBe(1);
    expect(['Asia/Kolkata', 'Asia/Calcutta']).toContain(p.timeZone); // ICU spells it either way
    monitor.close();
    await pool.close();
  });

  it('has no peak hour before the first acquisition', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, initialSize: 0 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    expect(monitor.statistics().usagePatterns.peakHour).toBeNull();
    monitor.close();
    await pool.close();
  });
});

describe('PoolMonitor with several pools', () => {
  it('watches several named pools and reports each, plus merged histograms', async () => {
    const primary = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'primary' });
    const replica = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'replica' });
    const monitor = new PoolMonitor([primary, replica]);
    (await acquireWithWaits(primary, [10, 20])).release();
    (await acquireWithWaits(replica, [30])).release();
    expect(monitor.poolNames).toEqual(['primary', 'replica']);
    expect(monitor.statistics('primary').waitTimeHistogram.count).toBe(3);
    expect(monitor.statistics('replica').waitTimeHistogram.maxMs).toBe(30);
    expect(monitor.allStatistics().map((s) => s.poolName)).toEqual(['primary', 'replica']);
    const merged = monitor.histogram('wait');
    expect(merged.count).toBe(5);
    expect(merged.maxMs).toBe(30);
    expect(() => monitor.statistics()).toThrow(/poolName.*several pools/);
    expect(() => monitor.statistics('nope')).toThrow(/not attached/);
    monitor.close();
    await primary.close();
    await replica.close();
  });

  it('refuses two pools under one name unless renamed', async () => {
    const a = await ConnectionPool.create({ initialSize: 0 }, new FakeFactory(), { name: 'db' });
    const b = await ConnectionPool.create({ initialSize: 0 }, new FakeFactory(), { name: 'db' });
    const monitor = new PoolMonitor(a);
    expect(() => monitor.attach(b)).toThrow(/already used/);
    monitor.attach(b, { name: 'db-2' });
    expect(monitor.poolNames).toEqual(['db', 'db-2']);
    expect(() => monitor.attach(b, { name: 'db-3' })).toThrow(/already attached as 'db-2'/);
    monitor.close();
    await a.close();
    await b.close();
  });
});

describe('PoolMonitor lifecycle', () => {
  it('detaches cleanly: no listener is left on the pool', async () => {
    const events = ['acquire', 'enqueue', 'release', 'create', 'acquireError', 'destroy', 'resize', 'close'] as const;
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const counts = () => events.map((e) => pool.listenerCount(e));
    const before = counts();
    for (const borrowTiming of ['all', 0.05] as const) {
      const monitor = new PoolMonitor(pool, { borrowTiming });
      const held = await pool.acquire();
      const waiting = pool.acquire({ timeoutMs: 10 }).catch(() => undefined); // starts listening to acquisitions
      expect(pool.listenerCount('acquire')).toBe(1);
      expect(counts()).not.toEqual(before);
      expect(monitor.detach(pool)).toBe(true);
      expect(monitor.detach(pool)).toBe(false);
      expect(counts()).toEqual(before);
      monitor.attach(pool);
      monitor.close();
      expect(counts()).toEqual(before);
      held.release();
      (await waiting)?.release();
    }
    await pool.close();
  });

  it('listens to acquisitions only while callers wait', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    (await pool.acquire()).release();
    expect(pool.listenerCount('acquire')).toBe(0);
    const held = await pool.acquire();
    const next = pool.acquire();
    expect(pool.listenerCount('acquire')).toBe(1);
    await vi.advanceTimersByTimeAsync(7);
    held.release();
    (await next).release();
    expect(pool.listenerCount('acquire')).toBe(0);
    const h = monitor.statistics().waitTimeHistogram;
    expect(h.count).toBe(3); // two served at once, counted from the pool's counters
    expect(h.maxMs).toBe(7);
    expect(h.percentiles.p50).toBe(0);
    monitor.close();
    await pool.close();
  });

  it('stops sampling when the pool closes, keeping its figures readable', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    (await pool.acquire()).release();
    await pool.close();
    const afterClose = vi.getTimerCount();
    expect(monitor.statistics().acquisitions).toBe(1);
    expect(monitor.statistics().state).toBe('closed');
    monitor.close();
    expect(afterClose - vi.getTimerCount()).toBe(2); // only the window steps and the hour clock were left
  });

  it('leaves no timer running once closed', async () => {
    const pool = await ConnectionPool.create({ initialSize: 0 }, new FakeFactory());
    await pool.close();
    const timersBefore = vi.getTimerCount();
    const monitor = new PoolMonitor(pool, { borrowTiming: 'all' });
    expect(vi.getTimerCount()).toBe(timersBefore + 2); // window steps, hour changes
    monitor.close();
    expect(vi.getTimerCount()).toBe(timersBefore);
    const sampled = new PoolMonitor(pool);
    expect(vi.getTimerCount()).toBe(timersBefore + 4); // + sampling periods, borrowed-count samples
    sampled.close();
    expect(vi.getTimerCount()).toBe(timersBefore);
    expect(() => monitor.attach(pool)).toThrow(/closed/);
  });

  it('never keeps the process alive (its timers are unref’d)', () => {
    vi.useRealTimers();
    const intervals = vi.spyOn(globalThis, 'setInterval');
    const timeouts = vi.spyOn(globalThis, 'setTimeout');
    const pool = ConnectionPool.open({ minSize: 0 }, new FakeFactory());
    const [i0, t0] = [intervals.mock.results.length, timeouts.mock.results.length];
    const monitor = new PoolMonitor(pool);
    const timers = [...intervals.mock.results.slice(i0), ...timeouts.mock.results.slice(t0)]
      .filter((r) => r.type === 'return')
      .map((r) => r.value as NodeJS.Timeout);
    expect(timers).toHaveLength(4); // window steps, hour clock, sampling periods, borrowed-count samples
    for (const t of timers) expect(t.hasRef()).toBe(false);
    monitor.close();
    return pool.close();
  });

  it('rejects bad options, naming the option and the rule', () => {
    expect(() => new PoolMonitor(null, { windowMs: 10 })).toThrow(/windowMs = 10: must be an integer number of milliseconds between 1000/);
    expect(() => new PoolMonitor(null, { windowSlots: 0 })).toThrow(/windowSlots/);
    expect(() => new PoolMonitor(null, { significantDigits: 5 as never })).toThrow(/significantDigits/);
    expect(() => new PoolMonitor(null, { timeZone: 'Mars/Olympus_Mons' })).toThrow(/timeZone/);
    expect(() => new PoolMonitor(null, { windwMs: 1000 } as never)).toThrow(/windwMs.*not a PoolMonitor option/);
    expect(() => new PoolMonitor({} as never)).toThrow(/must be a ConnectionPool/);
    try {
      new PoolMonitor(null, { windowSlots: 1.5 });
    } catch (e) {
      expect(e).toMatchObject({ code: 'ERR_POOL_INVALID_CONFIG', field: 'windowSlots' });
    }
  });
});
