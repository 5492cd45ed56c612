import { ConnectionPool, type PooledConnection } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionManager } from './manager.js';
import { PartitionType } from './partition-type.js';
import { RoutingStrategy } from './routing.js';
import { type FakeConnection, FakeFactory, flush, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

interface Load {
  waits: number[];
  errors: unknown[];
}

/** One client: `n` sequential requests, each holding its connection for `holdMs`. */
async function client(acquire: () => Promise<{ release(): void }>, n: number, holdMs: number, load: Load): Promise<void> {
  for (let i = 0; i < n; i++) {
    const start = performance.now();
    try {
      const conn = await acquire();
      load.waits.push(performance.now() - start);
      await new Promise((resolve) => setTimeout(resolve, holdMs));
      conn.release();
    } catch (error) {
      load.errors.push(error);
    }
  }
}

describe('minConnections: reserved capacity', () => {
  it('serves a partition under its minimum at once while a neighbour holds everything else', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ maxSize: 4, enablePartitioning: true }, factory);
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 4 });
    manager.createPartition('b', PartitionType.Tenant('b'), { maxConnections: 4, minConnections: 1 });
    const a = [await manager.acquire({ tenant: 'a' }), await manager.acquire({ tenant: 'a' }), await manager.acquire({ tenant: 'a' })];
    // The fourth slot is b's: a waits for it although a is under its own maxConnections and the pool has room.
    const aFourth = track(manager.acquire({ tenant: 'a' }));
    await flush();
    expect(aFourth.state).toBe('pending');
    expect(manager.partition('a')?.statistics().blockedOn).toBe('sharedCapacity');
    expect(manager.partition('b')?.statistics().reservedIdle).toBe(1);
    const b = await manager.acquire({ tenant: 'b' });
    expect(pool.size().active).toBe(4);
    b.release();
    await flush();
    expect(aFourth.state).toBe('pending'); // b's reservation is idle again: still not a's
    a[0]?.release();
    await flush();
    expect(aFourth.state).toBe('resolved');
    aFourth.value?.release();
    for (const c of a.slice(1)) c.release();
    await manager.close();
    await pool.close();
  });

  it('refuses minimums that add up to more than the pool can hold, naming the field', async () => {
    const pool = await ConnectionPool.create({ maxSize: 10, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'), { minConnections: 6 });
    expect(() => manager.createPartition('b', PartitionType.Tenant('b'), { minConnections: 5 })).toThrow(
      expect.objectContaining({ code: 'ERR_POOL_INVALID_CONFIG', field: 'limits.minConnections' }),
    );
    expect(() => manager.setLimits('a', { minConnections: 11 })).toThrow(expect.objectContaining({ field: 'limits.minConnections' }));
    expect(manager.listPartitions().map((p) => p.id)).toEqual(['a']);
    await manager.close();
    await pool.close();
  });

  it('shares capacity beyond the reservations round robin between waiting partitions', async () => {
    const pool = await ConnectionPool.create({ maxSize: 2, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'));
    manager.createPartition('c', PartitionType.Tenant('c'));
    const held: PooledConnection<FakeConnection>[] = [await manager.acquire({ tenant: 'a' }), await manager.acquire({ tenant: 'c' })];
    const order: string[] = [];
    const take = (tenant: string) =>
      manager.acquire({ tenant }).then((conn) => {
        order.push(tenant);
        held.push(conn);
      });
    // a's callers all arrive before c's: a plain FIFO would serve a, a, a, c, c, c.
    const waiting = [take('a'), take('a'), take('a'), take('c'), take('c'), take('c')];
    for (let i = 0; i < 6; i++) {
      held.shift()?.release();
      await flush();
      expect(order).toHaveLength(i + 1); // one freed connection, one caller served
    }
    await Promise.all(waiting);
    expect(order).toEqual(['a', 'c', 'a', 'c', 'a', 'c']);
    for (const c of held) c.release();
    await manager.close();
    await pool.close();
  });
});

describe('isolation between tenants', () => {
  it("keeps tenant B's waits bounded by its reserved minimum while tenant A floods with 50x its load", async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 10;
    const pool = await ConnectionPool.create({ maxSize: 20, enablePartitioning: true }, factory);
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('tenant_a', PartitionType.Tenant('a'), { maxConnections: 20 });
    manager.createPartition('tenant_b', PartitionType.Tenant('b'), { maxConnections: 10, minConnections: 5 });
    const a: Load = { waits: [], errors: [] };
    const b: Load = { waits: [], errors: [] };
    const runs: Promise<void>[] = [];
    // B: 5 clients x 20 requests = 100; A: 250 clients x 20 requests = 5000 (50x), all holding 100 ms.
    for (let i = 0; i < 250; i++) runs.push(client(() => manager.acquire({ tenant: 'a' }, { timeoutMs: 600_000 }), 20, 100, a));
    for (let i = 0; i < 5; i++) runs.push(client(() => manager.acquire({ tenant: 'b' }, { timeoutMs: 600_000 }), 20, 100, b));
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(runs);
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    expect(a.waits).toHaveLength(5000);
    expect(b.waits).toHaveLength(100);
    // A was really flooding: its callers queued for seconds...
    expect(Math.max(...a.waits)).toBeGreaterThan(1_000);
    // ...while B, within its reservation, never waited longer than opening a connection takes.
    expect(Math.max(...b.waits)).toBeLessThanOrEqual(factory.createDelayMs);
    const stats = manager.getPartitionStatistics();
    expect(stats.tenant_b?.maxWaitMs).toBeLessThanOrEqual(10);
    expect(stats.tenant_a?.connectionsAcquired).toBe(5000);
    expect(pool.size().total).toBeLessThanOrEqual(20);
    await manager.close();
    await pool.close();
    expect(factory.open.size).toBe(0);
  });

  it('through the bare pool (no partitions), the same flood makes tenant B wait behind tenant A', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 10;
    const pool = await ConnectionPool.create({ maxSize: 20 }, factory);
    const a: Load = { waits: [], errors: [] };
    const b: Load = { waits: [], errors: [] };
    const runs: Promise<void>[] = [];
    for (let i = 0; i < 250; i++) runs.push(client(() => pool.acquire({ timeoutMs: 600_000 }), 20, 100, a));
    for (let i = 0; i < 5; i++) runs.push(client(() => pool.acquire({ timeoutMs: 600_000 }), 20, 100, b));
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(runs);
    expect(Math.max(...b.waits)).toBeGreaterThan(1_000);
    await pool.close();
  });
});
