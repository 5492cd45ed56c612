import { ConnectionPool } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { HoldTimeWindow, TokenBucket } from './budgets.js';
import { PartitionLimitError } from './errors.js';
import { PartitionManager } from './manager.js';
import { PartitionType } from './partition-type.js';
import { RoutingStrategy } from './routing.js';
import { FakeFactory, flush, MemoryReportingFakeFactory, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function setup(factory = new FakeFactory(), managerOptions: Record<string, unknown> = {}) {
  const pool = await ConnectionPool.create({ maxSize: 10, acquireTimeoutMs: 120_000, enablePartitioning: true }, factory);
  const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, ...managerOptions });
  const cleanup = async () => {
    await manager.close();
    await pool.close();
    expect(factory.open.size).toBe(0);
  };
  return { pool, manager, cleanup };
}

describe('ioLimit (acquisitions per second)', () => {
  it('lets a burst of ioLimit through, then makes the next caller wait for the bucket to refill', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { ioLimit: 2 });
    (await manager.acquire({ tenant: 'a' })).release();
    (await manager.acquire({ tenant: 'a' })).release();
    const third = track(manager.acquire({ tenant: 'a' }));
    await flush();
    expect(third.state).toBe('pending');
    expect(manager.partition('a')?.statistics().blockedOn).toBe('ioLimit');
    await vi.advanceTimersByTimeAsync(499);
    expect(third.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(2);
    expect(third.state).toBe('resolved');
    third.value?.release();
    await cleanup();
  });

  it('fails at once with PartitionLimitError naming ioLimit when the refill comes after the deadline', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { ioLimit: 1 });
    (await manager.acquire({ tenant: 'a' })).release();
    const err = await manager.acquire({ tenant: 'a' }, { timeoutMs: 100 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartitionLimitError);
    expect(err).toMatchObject({ code: 'ERR_POOL_PARTITION_LIMIT', partition: 'a', limit: 'ioLimit', max: 1 });
    expect((err as PartitionLimitError).retryAfterMs).toBeCloseTo(1_000, 0);
    expect((err as Error).message).toContain('ioLimit');
    expect(manager.partition('a')?.statistics().rejections.ioLimit).toBe(1);
    await cleanup();
  });
});

describe('cpuLimitMs (connection-hold time per rolling minute)', () => {
  it('waits for held time to leave the rolling minute, then serves the caller', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { cpuLimitMs: 1_000 });
    const conn = await manager.acquire({ tenant: 'a' });
    await vi.advanceTimersByTimeAsync(1_500);
    conn.release();
    expect(manager.partition('a')?.statistics().budgets.cpu).toEqual({ limitMs: 1_000, usedMs: 1_500 });
    const next = track(manager.acquire({ tenant: 'a' }, { timeoutMs: 120_000 }));
    await vi.advanceTimersByTimeAsync(50_000);
    expect(next.state).toBe('pending');
    expect(manager.partition('a')?.statistics().blockedOn).toBe('cpuLimitMs');
    await vi.advanceTimersByTimeAsync(10_000);
    expect(next.state).toBe('resolved');
    next.value?.release();
    await cleanup();
  });

  it('fails at once with PartitionLimitError naming cpuLimitMs when the minute will not refill before the deadline', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { cpuLimitMs: 1_000 });
    const conn = await manager.acquire({ tenant: 'a' });
    await vi.advanceTimersByTimeAsync(1_500);
    conn.release();
    const err = await manager.acquire({ tenant: 'a' }, { timeoutMs: 30_000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartitionLimitError);
    expect(err).toMatchObject({ limit: 'cpuLimitMs', max: 1_000, used: 1_500, partition: 'a' });
    expect((err as PartitionLimitError).retryAfterMs).toBeGreaterThan(30_000);
    expect((err as PartitionLimitError).retryAfterMs).toBeLessThanOrEqual(60_000);
    await cleanup();
  });

  it('makes a caller wait while connections still burn the budget, and names cpuLimitMs at its deadline', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { cpuLimitMs: 1_000 });
    const conn = await manager.acquire({ tenant: 'a' });
    await vi.advanceTimersByTimeAsync(1_000);
    const next = track(manager.acquire({ tenant: 'a' }, { timeoutMs: 5_000 }));
    await vi.advanceTimersByTimeAsync(4_990);
    expect(next.state).toBe('pending'); // a release could make room sooner: no fail-fast while connections are held
    await vi.advanceTimersByTimeAsync(20);
    expect(next.error).toBeInstanceOf(PartitionLimitError);
    expect(next.error).toMatchObject({ limit: 'cpuLimitMs', retryAfterMs: null });
    conn.release();
    await cleanup();
  });
});

describe('memoryLimitBytes', () => {
  it('admits connections while their memory fits and makes the next caller wait for a release', async () => {
    const { manager, cleanup } = await setup(new FakeFactory(), { connectionMemoryBytes: 1_000 });
    manager.createPartition('a', PartitionType.Tenant('a'), { memoryLimitBytes: 2_500 });
    const held = [await manager.acquire({ tenant: 'a' }), await manager.acquire({ tenant: 'a' })];
    const third = track(manager.acquire({ tenant: 'a' }));
    await flush();
    expect(third.state).toBe('pending');
    expect(manager.partition('a')?.statistics()).toMatchObject({
      blockedOn: 'memoryLimitBytes',
      budgets: { memory: { limitBytes: 2_500, usedBytes: 2_000, perConnectionBytes: 1_000 } },
    });
    held[0]?.release();
    await flush();
    expect(third.state).toBe('resolved');
    third.value?.release();
    held[1]?.release();
    await cleanup();
  });

  it('uses the cost the factory reports and names memoryLimitBytes when the deadline passes', async () => {
    const factory = new MemoryReportingFakeFactory();
    factory.bytesPerConnection = 1_000;
    const { manager, cleanup } = await setup(factory);
    manager.createPartition('a', PartitionType.Tenant('a'), { memoryLimitBytes: 1_500 });
    const held = await manager.acquire({ tenant: 'a' });
    expect(manager.partition('a')?.statistics().budgets.memory.usedBytes).toBe(1_000);
    const next = track(manager.acquire({ tenant: 'a' }, { timeoutMs: 2_000 }));
    await vi.advanceTimersByTimeAsync(2_001);
    expect(next.error).toBeInstanceOf(PartitionLimitError);
    expect(next.error).toMatchObject({ limit: 'memoryLimitBytes', max: 1_500, used: 1_000, retryAfterMs: null });
    held.release();
    await cleanup();
  });

  it('fails at once when one connection alone is more than the limit', async () => {
    const { manager, cleanup } = await setup(new FakeFactory(), { connectionMemoryBytes: 4_096 });
    manager.createPartition('a', PartitionType.Tenant('a'), { memoryLimitBytes: 1_024 });
    await expect(manager.acquire({ tenant: 'a' })).rejects.toMatchObject({ limit: 'memoryLimitBytes', code: 'ERR_POOL_PARTITION_LIMIT' });
    await cleanup();
  });

  it('refuses a memory limit without a per-connection cost, naming the field', async () => {
    const { manager, cleanup } = await setup();
    expect(() => manager.createPartition('a', PartitionType.Tenant('a'), { memoryLimitBytes: 1_024 })).toThrow(
      expect.objectContaining({ code: 'ERR_POOL_INVALID_CONFIG', field: 'limits.memoryLimitBytes' }),
    );
    await cleanup();
  });
});

describe('budget meters', () => {
  it('TokenBucket refills at its rate up to a one-second burst', () => {
    const bucket = new TokenBucket(4, 0);
    for (let i = 0; i < 4; i++) {
      expect(bucket.available(0)).toBe(true);
      bucket.take(0);
    }
    expect(bucket.available(0)).toBe(false);
    expect(bucket.delayMs(0)).toBe(250);
    expect(bucket.available(250)).toBe(true);
    expect(bucket.used(10_000)).toBe(0);
  });

  it('HoldTimeWindow integrates held connections over the last minute and predicts the refill', () => {
    const w = new HoldTimeWindow(0);
    w.change(2, 0);
    w.change(-2, 500);
    expect(w.used(500)).toBe(1_000);
    expect(w.used(30_000)).toBe(1_000);
    expect(w.delayUntilBelow(500, 30_000)).toBe(30_000); // the first second leaves the window at t = 60 s
    expect(w.used(60_000)).toBe(0);
    w.change(1, 60_000);
    expect(w.used(200_000)).toBe(59_000 + 1_000 * ((200_000 % 1_000) / 1_000));
    expect(w.delayUntilBelow(30_000, 200_000)).toBe(Number.POSITIVE_INFINITY);
  });
});
