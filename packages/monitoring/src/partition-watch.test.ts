import { ConnectionPool, ConnectionTimeoutError, type PooledConnection } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DashboardProvider } from './dashboard-provider.js';
import { PoolMonitor } from './pool-monitor.js';
import { type FakeConnection, FakeFactory } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A pool of 3 with two tenant partitions of at most 1 connection each, watched by a monitor. */
async function partitioned() {
  const pool = await ConnectionPool.create({ minSize: 0, maxSize: 3, initialSize: 3, enablePartitioning: true }, new FakeFactory(), {
    name: 'main',
  });
  const manager = new PartitionManager<FakeConnection>({ pool, routing: RoutingStrategy.TenantBased });
  manager.createPartition('acme', PartitionType.Tenant('acme'), { maxConnections: 1 });
  manager.createPartition('globex', PartitionType.Tenant('globex'), { maxConnections: 1 });
  const monitor = new PoolMonitor(pool, { windowMs: 60_000 }).watchPartitions(manager);
  return { pool, manager, monitor };
}

describe('PoolMonitor with a partition manager watched', () => {
  it('counts every caller once, with the waits and failures of the partition queues', async () => {
    const { pool, manager, monitor } = await partitioned();
    // acme: one served at once, one served after waiting 300 ms, one timing out after 500 ms in the partition queue.
    const first = await manager.acquire({ tenant: 'acme' });
    const second = manager.acquire({ tenant: 'acme' }, { timeoutMs: 5_000 });
    const third = manager.acquire({ tenant: 'acme' }, { timeoutMs: 500 }).catch((e: unknown) => e);
    // a direct caller, served at once.
    const direct = await pool.acquire();
    expect(monitor.statistics()).toMatchObject({ waiting: 2, partitionCallers: { acquired: 1, failed: 0, waiting: 2 } });
    await vi.advanceTimersByTimeAsync(300);
    first.release();
    const secondConn = await second;
    await vi.advanceTimersByTimeAsync(300);
    expect(await third).toBeInstanceOf(ConnectionTimeoutError);

    const stats = monitor.statistics();
    expect(stats.acquisitions).toBe(3); // first, second, direct
    expect(stats.acquireFailures).toBe(1); // third, in acme's queue: the pool never saw it
    expect(pool.statistics().acquireFailures).toBe(0);
    expect(stats.successRate).toBeCloseTo(3 / 4, 10);
    expect(stats.partitionCallers).toEqual({ acquired: 2, failed: 1, waiting: 0 });
    expect(stats.waiting).toBe(0);
    const wait = stats.waitTimeHistogram;
    expect(wait.count).toBe(3);
    expect(wait.maxMs).toBeGreaterThanOrEqual(300);
    expect(wait.percentiles.p99).toBeGreaterThanOrEqual(297); // 2 significant digits
    const partitions = manager.getPartitionStatistics();
    expect(stats.partitionCallers?.failed).toBe(Object.values(partitions.acme?.rejections ?? {}).reduce((a, b) => a + b, 0));
    expect(stats.partitionCallers?.acquired).toBe(
      (partitions.acme?.connectionsAcquired ?? 0) + (partitions.globex?.connectionsAcquired ?? 0),
    );
    secondConn.release();
    direct.release();
    monitor.close();
    await manager.close();
    await pool.close();
  });

  it('counts a partition caller whose pool acquire failed once, as a failure of the caller', async () => {
    const { pool, manager, monitor } = await partitioned();
    const held: PooledConnection<FakeConnection>[] = [await pool.acquire(), await pool.acquire(), await pool.acquire()];
    // The pool is full with direct borrows: the partition's pool acquire waits in the pool's queue and times out there.
    const failed = manager.acquire({ tenant: 'globex' }, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(monitor.statistics().waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(250);
    expect(await failed).toBeInstanceOf(ConnectionTimeoutError);
    expect(pool.statistics().acquireFailures).toBe(1);
    const stats = monitor.statistics();
    expect(stats.acquireFailures).toBe(1);
    expect(stats.acquisitions).toBe(3);
    expect(stats.partitionCallers).toMatchObject({ acquired: 0, failed: 1 });
    for (const c of held) c.release();
    monitor.close();
    await manager.close();
    await pool.close();
  });

  it('feeds the dashboard: failures, success rate, waiting and wait percentiles include the partitions', async () => {
    const { pool, manager, monitor } = await partitioned();
    const hold = await manager.acquire({ tenant: 'globex' });
    const waits = [manager.acquire({ tenant: 'globex' }, { timeoutMs: 100 }).catch(() => null)];
    const dashboard = new DashboardProvider(monitor, 1, { partitions: manager });
    expect(dashboard.refresh().waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(150);
    await Promise.all(waits);
    const data = dashboard.refresh();
    expect(data.successRate).toBeCloseTo(1 / 2, 10);
    expect(data.waiting).toBe(0);
    expect(data.pools[0]?.successRate).toBeCloseTo(1 / 2, 10);
    hold.release();
    expect(monitor.unwatchPartitions(manager)).toBe(true);
    expect(monitor.unwatchPartitions(manager)).toBe(false);
    monitor.close();
    await manager.close();
    await pool.close();
  });

  it('refuses something that is not a partition manager', () => {
    const monitor = new PoolMonitor();
    expect(() => monitor.watchPartitions({} as never)).toThrow(/must be a PartitionManager/);
    monitor.close();
  });
});
