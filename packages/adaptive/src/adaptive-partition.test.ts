import { type ConnectionFactory, ConnectionPool } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { adaptivePartitionLimit } from './adaptive-limit.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const factory = (): ConnectionFactory<{ id: number }> => {
  let n = 0;
  return { create: async () => ({ id: ++n }), close: async () => {} };
};

/** Callers of one tenant in a closed loop; each query takes baseMs × max(1, tenant's borrowed / cores). */
function tenantLoad(manager: PartitionManager<{ id: number }>, tenant: string, callers: number, cores: number, baseMs: number) {
  let stopped = false;
  const loops = Array.from({ length: callers }, async () => {
    while (!stopped) {
      try {
        await manager.use({ tenant }, async () => {
          const busy = manager.getPartitionStatistics()[tenant]?.active ?? 1;
          await new Promise((r) => setTimeout(r, baseMs * Math.max(1, busy / cores)));
        });
      } catch {
        return;
      }
    }
  });
  return async () => {
    stopped = true;
    await vi.advanceTimersByTimeAsync(2_000);
    await Promise.all(loops);
  };
}

describe('adaptivePartitionLimit(manager, id)', () => {
  it("keeps a tenant's adaptive limit inside its maxConnections, and adopts a maxConnections its owner sets", async () => {
    const pool = await ConnectionPool.create({ maxSize: 40, enablePartitioning: true, acquireTimeoutMs: 60_000 }, factory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('acme', PartitionType.Tenant('acme'), { maxConnections: 6, minConnections: 1, maxWaitQueue: 1000 });
    manager.createPartition('globex', PartitionType.Tenant('globex'), { maxConnections: 10, maxWaitQueue: 1000 });
    const limiter = adaptivePartitionLimit(manager, 'acme');
    expect(limiter.target).toBe(`${manager.name}/acme`);
    expect(manager.partition('acme')?.limits.maxConnections).toBe(1);
    const seen: number[] = [];
    limiter.on('limitChanged', (c) => seen.push(c.limit));
    // acme's queries do not slow down with concurrency (plenty of cores): it grows, but only to 6.
    const stop = tenantLoad(manager, 'acme', 50, 64, 5);
    await vi.advanceTimersByTimeAsync(15_000);
    expect(limiter.limit).toBe(6);
    expect(Math.max(...seen)).toBe(6);
    expect(manager.partition('acme')?.limits.maxConnections).toBe(6);
    expect(manager.getPartitionStatistics().acme?.active).toBeLessThanOrEqual(6);
    // globex's limits are untouched.
    expect(manager.partition('globex')?.limits.maxConnections).toBe(10);
    // The owner lowers acme's maximum: that is the new ceiling.
    manager.setLimits('acme', { maxConnections: 3 });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(limiter.statistics().ceiling).toBe(3);
    expect(limiter.limit).toBe(3);
    limiter.stop();
    // Stopping gives the partition its configured maximum back.
    expect(manager.partition('acme')?.limits.maxConnections).toBe(3);
    await stop();
    await manager.close();
    await pool.close();
  });

  it('finds the knee of a tenant whose queries queue, below its maxConnections', async () => {
    const pool = await ConnectionPool.create({ maxSize: 40, enablePartitioning: true, acquireTimeoutMs: 60_000 }, factory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('acme', PartitionType.Tenant('acme'), { maxConnections: 30, maxWaitQueue: 1000 });
    const limiter = adaptivePartitionLimit(manager, 'acme');
    const stop = tenantLoad(manager, 'acme', 100, 2, 5);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(limiter.limit).toBeGreaterThanOrEqual(2);
    expect(limiter.limit).toBeLessThanOrEqual(6);
    await stop();
    limiter.stop();
    await manager.close();
    await pool.close();
  });

  it('rejects an unknown partition, naming it, and a second limiter on one partition', async () => {
    const pool = await ConnectionPool.create({ maxSize: 4, enablePartitioning: true }, factory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    expect(() => adaptivePartitionLimit(manager, 'nope')).toThrow(/id = .nope.: must name an active partition/);
    manager.createPartition('acme', PartitionType.Tenant('acme'), { maxConnections: 3 });
    const first = adaptivePartitionLimit(manager, 'acme');
    expect(() => adaptivePartitionLimit(manager, 'acme')).toThrow(/already has an adaptive limiter/);
    first.stop();
    adaptivePartitionLimit(manager, 'acme').stop();
    await manager.close();
    await pool.close();
  });
});
