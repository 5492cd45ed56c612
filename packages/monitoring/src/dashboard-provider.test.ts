import { ConnectionPool, QueuePriority } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DashboardProvider } from './dashboard-provider.js';
import { LeakDetector } from './leak-detector.js';
import { PoolMonitor } from './pool-monitor.js';
import type { PartitionStatisticsSource, QueueStatisticsSource } from './sources.js';
import { FakeFactory } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-03-10T09:00:00Z'));
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('DashboardProvider', () => {
  it('serves the seed "Dashboard Provider" figures', async () => {
    const pool = await ConnectionPool.create({ minSize: 4, maxSize: 4, initialSize: 4 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { windowMs: 60_000, windowSlots: 6, borrowTiming: 'all' });
    const a = await pool.acquire();
    await vi.advanceTimersByTimeAsync(10_000);

    const dashboard = new DashboardProvider(monitor, 5_000);
    const data = dashboard.getDashboardData();
    expect(data.timestamp).toBe(Date.now());
    expect(data.activeConnections).toBe(1);
    expect(data.idleConnections).toBe(3);
    expect(data.totalConnections).toBe(4);
    expect(data.maxConnections).toBe(4);
    expect(data.waiting).toBe(0);
    expect(data.successRate).toBe(1);
    expect(data.poolEfficiency).toBeCloseTo(0.25, 9); // one of four connections lent out the whole time
    expect(data.throughputPerSecond).toBeCloseTo(0.1, 9); // one acquisition in 10 s
    expect(data.waitPercentiles.count).toBe(1);
    expect(data.leaks).toEqual({ active: 0, detected: 0, reports: [] });
    expect(data.partitions).toBeNull();
    expect(data.pools.map((p) => p.poolName)).toEqual([pool.name]);
    a.release();
    monitor.close();
    await pool.close();
  });

  it('computes the data at most once per refresh interval', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    const statistics = vi.spyOn(monitor, 'allStatistics');
    const dashboard = new DashboardProvider(monitor, 5_000);
    const first = dashboard.getDashboardData();
    const c = await pool.acquire();
    await vi.advanceTimersByTimeAsync(4_999);
    for (let i = 0; i < 100; i++) expect(dashboard.getDashboardData()).toBe(first);
    expect(first.activeConnections).toBe(0);
    expect(dashboard.computations).toBe(1);
    expect(statistics).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    const second = dashboard.getDashboardData();
    expect(second).not.toBe(first);
    expect(second.activeConnections).toBe(1);
    expect(dashboard.computations).toBe(2);
    expect(dashboard.refresh()).not.toBe(second);
    c.release();
    monitor.close();
    await pool.close();
  });

  it('sums several pools and merges their wait percentiles', async () => {
    const a = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'a' });
    const b = await ConnectionPool.create({ minSize: 2, maxSize: 3, initialSize: 2 }, new FakeFactory(), { name: 'b' });
    const monitor = new PoolMonitor([a, b], { windowMs: 60_000, windowSlots: 6, borrowTiming: 'all' });
    const held = await a.acquire();
    const next = a.acquire();
    await vi.advanceTimersByTimeAsync(40);
    held.release();
    (await next).release();
    const b1 = await b.acquire();
    await vi.advanceTimersByTimeAsync(960);
    const data = new DashboardProvider(monitor, 1_000).getDashboardData();
    expect(data.totalConnections).toBe(3);
    expect(data.activeConnections).toBe(1);
    expect(data.maxConnections).toBe(4);
    expect(data.waitPercentiles.count).toBe(3);
    expect(data.waitPercentiles.maxMs).toBe(40);
    // Over the 1 s span, a lent its one connection for 40 ms; b lent one of three for 960 ms.
    const aUtil = 40 / 1000;
    const bUtil = 960 / 3000;
    expect(data.poolEfficiency).toBeCloseTo((aUtil * 1 + bUtil * 3) / 4, 6);
    expect(data.pools.map((p) => [p.poolName, p.maxConnections])).toEqual([
      ['a', 1],
      ['b', 3],
    ]);
    b1.release();
    monitor.close();
    await a.close();
    await b.close();
  });

  it('shows waiters by priority, with what the queue reports', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    const held = await pool.acquire();
    const waiters = [
      pool.acquire({ priority: QueuePriority.Critical }),
      pool.acquire({ priority: QueuePriority.Low }),
      pool.acquire({ priority: QueuePriority.Low }),
      pool.acquire(),
    ];
    const queue: QueueStatisticsSource = {
      statistics: () => ({
        currentSize: 4,
        totalEnqueued: 10,
        totalDequeued: 6,
        averageWaitMs: 12,
        byPriority: { critical: { totalEnqueued: 3, totalDequeued: 2, averageWaitMs: 1, totalBoosted: 0 } },
      }),
    };
    const data = new DashboardProvider(monitor, 1_000, { queue }).getDashboardData();
    expect(data.waiting).toBe(4);
    expect(data.queue.waiting).toBe(4);
    expect(data.queue.totalEnqueued).toBe(10);
    expect(data.queue.averageWaitMs).toBe(12);
    expect(data.queue.byPriority.critical).toMatchObject({ waiting: 1, totalEnqueued: 3, averageWaitMs: 1, boosted: 0 });
    expect(data.queue.byPriority.high).toMatchObject({ waiting: 0, totalEnqueued: null });
    expect(data.queue.byPriority.normal.waiting).toBe(1);
    expect(data.queue.byPriority.low.waiting).toBe(2);
    // Without a source, the pool's own queue has no statistics(): only the counts are known.
    const plain = new DashboardProvider(monitor, 1_000).getDashboardData();
    expect(plain.queue.byPriority.low).toEqual({
      waiting: 2,
      totalEnqueued: null,
      totalDequeued: null,
      totalTimedOut: null,
      boosted: null,
      averageWaitMs: null,
      maxWaitMs: null,
    });
    held.release();
    for (const w of waiters) (await w).release();
    monitor.close();
    await pool.close();
  });

  it('reads a queue that reports statistics straight from the pool', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    Object.defineProperty(pool.waitQueue, 'statistics', { value: () => ({ totalEnqueued: 7, totalBoosted: 2 }), configurable: true });
    const monitor = new PoolMonitor(pool);
    const data = new DashboardProvider(monitor, 1_000).getDashboardData();
    expect(data.queue.totalEnqueued).toBe(7);
    expect(data.queue.boosted).toBe(2);
    monitor.close();
    await pool.close();
  });

  it('summarizes partitions from a structural source (a PartitionManager-shaped fake)', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    const partitions: PartitionStatisticsSource = {
      getPartitionStatistics: () => ({
        standard_tier: {
          pool: 'main',
          connectionsAcquired: 40,
          connectionsReleased: 38,
          active: 2,
          waiting: 1,
          timeouts: 1,
          rejections: { queueFull: 2, timeout: 1 },
          averageWaitMs: 3,
          p99WaitMs: 20,
          limits: { maxConnections: 50, minConnections: 5 },
        },
        enterprise_tier: { connectionsAcquired: 100, connectionsReleased: 90, active: 10, waiting: 0, limits: { maxConnections: 100 } },
      }),
    };
    const data = new DashboardProvider(monitor, 1_000, { partitions }).getDashboardData();
    expect(data.partitions).toEqual([
      {
        id: 'enterprise_tier',
        pool: null,
        acquired: 100,
        released: 90,
        active: 10,
        waiting: 0,
        maxConnections: 100,
        minConnections: null,
        timeouts: null,
        rejected: null,
        averageWaitMs: null,
        p99WaitMs: null,
        utilization: 0.1,
      },
      {
        id: 'standard_tier',
        pool: 'main',
        acquired: 40,
        released: 38,
        active: 2,
        waiting: 1,
        maxConnections: 50,
        minConnections: 5,
        timeouts: 1,
        rejected: 3,
        averageWaitMs: 3,
        p99WaitMs: 20,
        utilization: 0.04,
      },
    ]);
    monitor.close();
    await pool.close();
  });

  it('accepts partition statistics as a Map or a list', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, initialSize: 0 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    const asMap = new DashboardProvider(monitor, 1_000, {
      partitions: { getPartitionStatistics: () => new Map([['p1', { connectionsAcquired: 1 }]]) },
    }).getDashboardData();
    expect(asMap.partitions?.map((p) => [p.id, p.acquired])).toEqual([['p1', 1]]);
    const asList = new DashboardProvider(monitor, 1_000, {
      partitions: { getPartitionStatistics: () => [{ id: 'p2', active: 3 }] },
    }).getDashboardData();
    expect(asList.partitions?.map((p) => [p.id, p.active])).toEqual([['p2', 3]]);
    monitor.close();
    await pool.close();
  });

  it('keeps serving when a partition source throws, and says so once', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const pool = await ConnectionPool.create({ minSize: 0, initialSize: 0 }, new FakeFactory());
    const monitor = new PoolMonitor(pool);
    const dashboard = new DashboardProvider(monitor, 1, {
      partitions: {
        getPartitionStatistics: () => {
          throw new Error('manager closed');
        },
      },
    });
    expect(dashboard.getDashboardData().partitions).toBeNull();
    await vi.advanceTimersByTimeAsync(5);
    expect(dashboard.getDashboardData().partitions).toBeNull();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/getPartitionStatistics\(\) threw \(manager closed\)/);
    monitor.close();
    await pool.close();
  });

  it('lists the leaks of a LeakDetector', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const monitor = new PoolMonitor(pool, { borrowTiming: 'all' }); // borrows timed: exact leak ages
    const detector = new LeakDetector({ thresholdMs: 1_000, checkIntervalMs: 1_000, pools: pool, warn: false });
    const dashboard = new DashboardProvider(monitor, 100, { leakDetector: detector });
    const c = await pool.acquire({ context: { partition: 'tenant_acme' } });
    await vi.advanceTimersByTimeAsync(1_000);
    const data = dashboard.getDashboardData();
    expect(data.leaks.active).toBe(1);
    expect(data.leaks.detected).toBe(1);
    expect(data.leaks.reports[0]).toMatchObject({ connectionId: c.id, partition: 'tenant_acme', activeDurationMs: 1_000 });
    c.release();
    await vi.advanceTimersByTimeAsync(100);
    expect(dashboard.getDashboardData().leaks).toEqual({ active: 0, detected: 1, reports: [] });
    detector.close();
    monitor.close();
    await pool.close();
  });

  it("falls back to the pools' own leak flags without a detector", async () => {
    const pool = await ConnectionPool.create(
      { minSize: 1, initialSize: 1, leakDetectionThresholdMs: 2_000, maintenanceIntervalMs: 1_000 },
      new FakeFactory(),
    );
    pool.on('leak', () => {});
    const monitor = new PoolMonitor(pool);
    const c = await pool.acquire({ context: { partitionId: 'p9' } });
    await vi.advanceTimersByTimeAsync(3_000);
    const data = new DashboardProvider(monitor, 100).getDashboardData();
    expect(data.leaks.active).toBe(1);
    expect(data.leaks.detected).toBe(1);
    expect(data.leaks.reports[0]).toMatchObject({ connectionId: c.id, partition: 'p9', activeDurationMs: 3_000 });
    c.release();
    monitor.close();
    await pool.close();
  });

  it('serves an empty dashboard for a monitor without pools', () => {
    const monitor = new PoolMonitor();
    const data = new DashboardProvider(monitor, 1_000).getDashboardData();
    expect(data).toMatchObject({ totalConnections: 0, successRate: 1, poolEfficiency: 0, pools: [], partitions: null });
    expect(data.queue.byPriority.critical.waiting).toBe(0);
    monitor.close();
  });

  it('rejects bad arguments, naming them', () => {
    const monitor = new PoolMonitor();
    expect(() => new DashboardProvider(monitor, 0)).toThrow(/refreshMs = 0/);
    expect(() => new DashboardProvider({} as never, 5_000)).toThrow(/must be a PoolMonitor/);
    expect(() => new DashboardProvider(monitor, 5_000, { partition: {} } as never)).toThrow(/partition.*not a DashboardProvider option/);
    expect(() => new DashboardProvider(monitor, 5_000, { partitions: {} as never })).toThrow(/getPartitionStatistics/);
    expect(() => new DashboardProvider(monitor, 5_000, { leakDetector: {} as never })).toThrow(/must be a LeakDetector/);
    monitor.close();
  });
});
