import { ConnectionPool, QueuePriority } from '@pool/core';
import { PriorityWaitQueue, StarvationPrevention } from '@pool/queue';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionManager } from './manager.js';
import { PartitionType } from './partition-type.js';
import { RoutingStrategy } from './routing.js';
import { REJECTION_REASONS } from './statistics.js';
import { FakeFactory, flush, track } from './test-support/fake-factory.js';

/** Records `name` in `order` when the acquire resolves, and passes the connection on. */
function noting<T>(order: string[], name: string): (conn: T) => T {
  return (conn) => {
    order.push(name);
    return conn;
  };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('getPartitionStatistics', () => {
  it('reports counters, wait percentiles, hold times and budgets as plain JSON-safe data', async () => {
    const pool = await ConnectionPool.create({ maxSize: 5, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, connectionMemoryBytes: 100 });
    manager.createPartition('a', PartitionType.Tenant('a'), {
      maxConnections: 1,
      cpuLimitMs: 60_000,
      ioLimit: 100,
      memoryLimitBytes: 1_000,
    });
    manager.createPartition('b', PartitionType.Tenant('b'));
    // 99 acquisitions served at once, one that waits 2 s.
    for (let i = 0; i < 99; i++) {
      const conn = await manager.acquire({ tenant: 'a' });
      await vi.advanceTimersByTimeAsync(10);
      conn.release();
      await vi.advanceTimersByTimeAsync(10);
    }
    const held = await manager.acquire({ tenant: 'a' });
    const waiting = manager.acquire({ tenant: 'a' });
    await vi.advanceTimersByTimeAsync(2_000);
    held.release();
    (await waiting).release();
    await manager.acquire({ tenant: 'nobody' }).catch(() => {});
    const stats = manager.getPartitionStatistics();
    expect(JSON.parse(JSON.stringify(stats))).toEqual(stats);
    const a = stats.a;
    expect(a).toMatchObject({
      id: 'a',
      type: { kind: 'tenant', name: 'a' },
      state: 'active',
      isolated: false,
      pool: pool.name,
      connectionsAcquired: 101,
      connectionsReleased: 101,
      active: 0,
      acquiring: 0,
      waiting: 0,
      blockedOn: null,
      timeouts: 0,
    });
    expect(Object.keys(a?.rejections ?? {})).toEqual([...REJECTION_REASONS]);
    expect(a?.maxWaitMs).toBe(2_000);
    expect(a?.averageWaitMs).toBeCloseTo(2_000 / 101, 5);
    expect(a?.p99WaitMs).toBe(0); // 100 of 101 waits were 0
    expect(a?.averageHoldMs).toBeCloseTo((99 * 10 + 2_000) / 101, 5);
    expect(a?.budgets.cpu.limitMs).toBe(60_000);
    expect(a?.budgets.cpu.usedMs).toBeGreaterThan(0);
    expect(a?.budgets.io.limitPerSecond).toBe(100);
    expect(a?.budgets.memory).toEqual({ limitBytes: 1_000, usedBytes: 0, perConnectionBytes: 100 });
    expect(stats.b?.connectionsAcquired).toBe(0);
    expect(manager.unroutedRequests).toBe(1);
    manager.resetStatistics();
    expect(manager.getPartitionStatistics().a).toMatchObject({ connectionsAcquired: 0, maxWaitMs: 0, p99WaitMs: 0 });
    await manager.close();
    await pool.close();
  });

  it('computes p99 over the waits with an HDR histogram', async () => {
    const pool = await ConnectionPool.create({ maxSize: 5, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    // Waits of 1..100 ms: each caller queues behind one held for i ms.
    for (let i = 1; i <= 100; i++) {
      const held = await manager.acquire({ tenant: 'a' });
      const next = manager.acquire({ tenant: 'a' });
      await vi.advanceTimersByTimeAsync(i);
      held.release();
      (await next).release();
    }
    const stats = manager.partition('a')?.statistics();
    expect(stats?.p99WaitMs).toBeGreaterThanOrEqual(98);
    expect(stats?.p99WaitMs).toBeLessThanOrEqual(100);
    expect(stats?.maxWaitMs).toBe(100);
    await manager.close();
    await pool.close();
  });
});

describe('priority inside a partition', () => {
  it('keeps the partition queue first come, first served by default, ignoring priority', async () => {
    const pool = await ConnectionPool.create({ maxSize: 5, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const order: string[] = [];
    const low = manager.acquire({ tenant: 'a' }, { priority: QueuePriority.Low }).then(noting(order, 'low'));
    const critical = manager.acquire({ tenant: 'a' }, { priority: QueuePriority.Critical }).then(noting(order, 'critical'));
    held.release();
    (await low).release();
    (await critical).release();
    expect(order).toEqual(['low', 'critical']);
    await manager.close();
    await pool.close();
  });

  it("honours priority with an injected wait queue (@pool/queue's PriorityWaitQueue)", async () => {
    const pool = await ConnectionPool.create({ maxSize: 5, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, waitQueue: () => new PriorityWaitQueue() });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    manager.createPartition('b', PartitionType.Tenant('b'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const order: string[] = [];
    const low = manager.acquire({ tenant: 'a' }, { priority: 'low' }).then(noting(order, 'low'));
    const critical = manager.acquire({ tenant: 'a' }, { priority: 'critical' }).then(noting(order, 'critical'));
    held.release();
    (await critical).release();
    (await low).release();
    expect(order).toEqual(['critical', 'low']);
    const shared = new PriorityWaitQueue();
    manager.createPartition('c', PartitionType.Tenant('c'), {}, { waitQueue: shared });
    expect(() => manager.createPartition('d', PartitionType.Tenant('d'), {}, { waitQueue: shared })).toThrow(
      expect.objectContaining({ field: 'waitQueue' }),
    );
    await manager.close();
    await pool.close();
  });
});

describe('pool resize', () => {
  it('serves partitions waiting for shared capacity when the pool grows', async () => {
    const pool = await ConnectionPool.create({ maxSize: 1, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 10 });
    const held = await manager.acquire({ tenant: 'a' });
    const next = track(manager.acquire({ tenant: 'a' }));
    await flush();
    expect(next.state).toBe('pending');
    pool.resize({ maxSize: 2 });
    await flush();
    expect(next.state).toBe('resolved');
    next.value?.release();
    held.release();
    await manager.close();
    await pool.close();
  });
});

describe('starvation prevention inside a partition', () => {
  it('serves a Low caller within the bound under a Critical flood when the queue boosts waiters', async () => {
    const pool = await ConnectionPool.create({ maxSize: 2, enablePartitioning: true, acquireTimeoutMs: 60_000 }, new FakeFactory());
    const manager = new PartitionManager({
      pool,
      routing: RoutingStrategy.TenantBased,
      waitQueue: () => new PriorityWaitQueue({ starvationPrevention: new StarvationPrevention({ thresholdMs: 1_000 }) }),
    });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    let lowServedAt = -1;
    const start = performance.now();
    let stop = false;
    const critical = async () => {
      while (!stop) {
        const conn = await manager.acquire({ tenant: 'a' }, { priority: 'critical' });
        await new Promise((resolve) => setTimeout(resolve, 100));
        conn.release();
      }
    };
    const floods = [critical(), critical(), critical()];
    await vi.advanceTimersByTimeAsync(50);
    const low = manager.acquire({ tenant: 'a' }, { priority: 'low' }).then((conn) => {
      lowServedAt = performance.now() - start;
      conn.release();
    });
    await vi.advanceTimersByTimeAsync(10_000);
    await low;
    stop = true;
    await vi.advanceTimersByTimeAsync(1_000);
    await Promise.all(floods);
    // Three boosts (low -> normal -> high -> critical) at 1 s each, then its turn among the critical callers.
    expect(lowServedAt).toBeGreaterThan(0);
    expect(lowServedAt).toBeLessThan(5_000);
    await manager.close();
    await pool.close();
  });
});
