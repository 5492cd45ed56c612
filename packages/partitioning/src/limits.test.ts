import { ConnectionPool, ConnectionTimeoutError, PoolExhaustedError } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionManager } from './manager.js';
import { PartitionType } from './partition-type.js';
import { RoutingStrategy } from './routing.js';
import { FakeFactory, flush, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function setup(poolOptions: Record<string, unknown> = {}) {
  const factory = new FakeFactory();
  const pool = await ConnectionPool.create({ maxSize: 10, acquireTimeoutMs: 5_000, enablePartitioning: true, ...poolOptions }, factory);
  const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
  const cleanup = async () => {
    await manager.close();
    await pool.close();
    expect(factory.open.size).toBe(0);
    expect(factory.doubleCloses).toBe(0);
  };
  return { factory, pool, manager, cleanup };
}

describe('maxConnections', () => {
  it('holds the partition to maxConnections and queues the rest in its own queue, first come first served', async () => {
    const { pool, manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 2 });
    const held = [await manager.acquire({ tenant: 'a' }), await manager.acquire({ tenant: 'a' })];
    const third = track(manager.acquire({ tenant: 'a' }));
    const fourth = track(manager.acquire({ tenant: 'a' }));
    await flush();
    expect(third.state).toBe('pending');
    expect(pool.size().active).toBe(2);
    expect(manager.partition('a')?.statistics()).toMatchObject({ active: 2, waiting: 2, blockedOn: 'maxConnections' });
    held[0]?.release();
    await flush();
    expect(third.state).toBe('resolved');
    expect(fourth.state).toBe('pending');
    held[1]?.release();
    await flush();
    expect(fourth.state).toBe('resolved');
    third.value?.release();
    fourth.value?.release();
    await cleanup();
  });

  it('times out a caller held back by maxConnections with ConnectionTimeoutError at its deadline', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const waiting = track(manager.acquire({ tenant: 'a' }, { timeoutMs: 1_000 }));
    await vi.advanceTimersByTimeAsync(998);
    expect(waiting.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(3);
    expect(waiting.state).toBe('rejected');
    expect(waiting.error).toBeInstanceOf(ConnectionTimeoutError);
    expect((waiting.error as ConnectionTimeoutError).timeoutMs).toBe(1_000);
    const stats = manager.partition('a')?.statistics();
    expect(stats).toMatchObject({ timeouts: 1, waiting: 0 });
    expect(stats?.rejections.timeout).toBe(1);
    held.release();
    await cleanup();
  });
});

describe('maxWaitQueue', () => {
  it('rejects a caller beyond maxWaitQueue at once with PoolExhaustedError naming the partition', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1, maxWaitQueue: 2 });
    const held = await manager.acquire({ tenant: 'a' });
    const queued = [track(manager.acquire({ tenant: 'a' })), track(manager.acquire({ tenant: 'a' }))];
    const err = await manager.acquire({ tenant: 'a' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect(err).toMatchObject({ code: 'ERR_POOL_EXHAUSTED', partition: 'a', active: 1, max: 1, waiting: 2 });
    expect((err as Error).message).toContain("Partition 'a'");
    expect(manager.partition('a')?.statistics().rejections.queueFull).toBe(1);
    held.release();
    await flush();
    expect(queued[0]?.state).toBe('resolved');
    queued[0]?.value?.release();
    await flush();
    queued[1]?.value?.release();
    await cleanup();
  });

  it('never queues with maxWaitQueue 0', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1, maxWaitQueue: 0 });
    const held = await manager.acquire({ tenant: 'a' });
    await expect(manager.acquire({ tenant: 'a' })).rejects.toMatchObject({ code: 'ERR_POOL_EXHAUSTED', partition: 'a' });
    held.release();
    await cleanup();
  });
});
