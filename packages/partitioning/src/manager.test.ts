import {
  AcquireAbortedError,
  BasicWaitQueue,
  ConnectionPool,
  InvalidArgumentError,
  PoolClosedError,
  PoolConfig,
  PoolError,
} from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionError } from './errors.js';
import type { PartitionEventMap } from './events.js';
import { PartitionManager } from './manager.js';
import { PartitionKind, PartitionType } from './partition-type.js';
import { RoutingStrategy } from './routing.js';
import { type FakeConnection, FakeFactory, flush, track } from './test-support/fake-factory.js';

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

describe('new PartitionManager', () => {
  it('refuses a pool without enablePartitioning with InvalidConfigError naming the setting', async () => {
    const pool = await ConnectionPool.create({ maxSize: 2 }, new FakeFactory());
    expect(() => new PartitionManager({ pool, routing: RoutingStrategy.TenantBased })).toThrow(
      expect.objectContaining({ code: 'ERR_POOL_INVALID_CONFIG', field: 'pool.config.enablePartitioning' }),
    );
    await pool.close();
  });

  it('refuses a second manager on the same pool until the first is closed', async () => {
    const pool = await ConnectionPool.create({ maxSize: 2, enablePartitioning: true }, new FakeFactory());
    const first = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, name: 'first' });
    expect(() => new PartitionManager({ pool, routing: RoutingStrategy.UserBased })).toThrow(
      expect.objectContaining({ code: 'ERR_POOL_INVALID_CONFIG', field: 'pool', message: expect.stringContaining("manager 'first'") }),
    );
    await first.close();
    const second = new PartitionManager({ pool, routing: RoutingStrategy.UserBased });
    await second.close();
    await pool.close();
  });

  it('refuses bad options, naming the field', async () => {
    const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(2).enablePartitioning(true).build(), new FakeFactory());
    const bad: [Record<string, unknown>, string][] = [
      [{ pool: {}, routing: 'tenantBased' }, 'pool'],
      [{ pool, routing: 'byTenant' }, 'routing'],
      [{ pool, routing: 'tenantBased', defaultPartiton: 'x' }, 'defaultPartiton'],
      [{ pool, routing: 'tenantBased', connectionMemoryBytes: -1 }, 'connectionMemoryBytes'],
      [{ pool, routing: 'tenantBased', prepare: 'SET search_path' }, 'prepare'],
      [{ pool, routing: { kind: 'custom', route: 'x' } }, 'routing.route'],
    ];
    for (const [options, field] of bad) {
      expect(() => new PartitionManager(options as never)).toThrow(expect.objectContaining({ code: 'ERR_POOL_INVALID_CONFIG', field }));
    }
    expect(() => RoutingStrategy.Custom('x' as never)).toThrow(expect.objectContaining({ field: 'RoutingStrategy.Custom' }));
    await pool.close();
  });
});

describe('createPartition', () => {
  it('creates partitions of every PartitionType variant as tagged objects and lists them', async () => {
    const { manager, cleanup } = await setup();
    expect(PartitionType.Tenant('ACME Corp')).toEqual({ kind: 'tenant', name: 'ACME Corp' });
    expect(PartitionKind.ResourceGroup).toBe('resourceGroup');
    manager.createPartition('t', PartitionType.Tenant('ACME Corp'));
    manager.createPartition('u', PartitionType.User('alice'));
    manager.createPartition('a', PartitionType.Application('web_app'));
    manager.createPartition('s', PartitionType.Service('analytics'));
    manager.createPartition('g', { kind: 'resourceGroup', name: 'Enterprise' }, { maxConnections: 3 });
    const list = manager.listPartitions();
    expect(list.map((p) => [p.id, p.type.kind])).toEqual([
      ['t', 'tenant'],
      ['u', 'user'],
      ['a', 'application'],
      ['s', 'service'],
      ['g', 'resourceGroup'],
    ]);
    expect(list[4]).toEqual({
      id: 'g',
      type: { kind: 'resourceGroup', name: 'Enterprise' },
      limits: { maxConnections: 3, minConnections: 0, maxWaitQueue: 10_000, cpuLimitMs: null, memoryLimitBytes: null, ioLimit: null },
      state: 'active',
      isolated: false,
      pool: manager.pool.name,
      routeKeys: [],
      label: null,
    });
    expect(JSON.parse(JSON.stringify(list))).toEqual(list);
    await cleanup();
  });

  it('refuses bad input with InvalidConfigError naming the field, and changes nothing', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('taken', PartitionType.Tenant('taken'));
    const cases: [() => unknown, string][] = [
      [() => manager.createPartition('taken', PartitionType.Tenant('x')), 'id'],
      [() => manager.createPartition('x', { kind: 'team', name: 'x' } as never), 'type.kind'],
      [() => manager.createPartition('x', PartitionType.Tenant('taken')), 'type'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), { maxConnections: 0 }), 'limits.maxConnections'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), { maxConnections: 2, minConnections: 3 }), 'limits.minConnections'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), { maxWaitQueue: 1.5 }), 'limits.maxWaitQueue'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), { cpuLimitMs: 0 }), 'limits.cpuLimitMs'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), { ioLimit: Number.NaN }), 'limits.ioLimit'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), { max_connections: 5 } as never), 'limits.max_connections'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), {}, { routeKeys: 'acme' as never }), 'options.routeKeys'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), {}, { prepare: 42 as never }), 'options.prepare'],
      [() => manager.createPartition('x', PartitionType.Tenant('x'), {}, { isolate: true } as never), 'options.isolate'],
      [
        () => manager.createPartition('x', PartitionType.Tenant('x'), {}, { isolated: { factory: {} } as never }),
        'options.isolated.factory',
      ],
    ];
    for (const [call, field] of cases) expect(call).toThrow(expect.objectContaining({ code: 'ERR_POOL_INVALID_CONFIG', field }));
    expect(() => manager.createPartition('', PartitionType.Tenant('x'))).toThrow(expect.objectContaining({ argument: 'id' }));
    expect(() => PartitionType.Tenant('')).toThrow(expect.objectContaining({ field: 'PartitionType.tenant' }));
    expect(manager.listPartitions().map((p) => p.id)).toEqual(['taken']);
    await cleanup();
  });

  it('changes limits at run time and serves waiters the new limits allow', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const next = track(manager.acquire({ tenant: 'a' }));
    await flush();
    expect(next.state).toBe('pending');
    expect(manager.setLimits('a', { maxConnections: 2 })).toMatchObject({ maxConnections: 2 });
    await flush();
    expect(next.state).toBe('resolved');
    expect(manager.partition('a')?.limits.maxConnections).toBe(2);
    next.value?.release();
    held.release();
    await cleanup();
  });
});

describe('waiting, aborting and closing', () => {
  it('abandons a queued wait when its signal aborts, and serves the next caller instead', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const controller = new AbortController();
    const aborted = track(manager.acquire({ tenant: 'a' }, { signal: controller.signal }));
    const next = track(manager.acquire({ tenant: 'a' }));
    controller.abort(new Error('client went away'));
    await flush();
    expect(aborted.error).toBeInstanceOf(AcquireAbortedError);
    expect(manager.partition('a')?.statistics()).toMatchObject({ waiting: 1, rejections: { aborted: 1 } });
    held.release();
    await flush();
    expect(next.state).toBe('resolved');
    next.value?.release();
    await expect(manager.acquire({ tenant: 'a' }, { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AcquireAbortedError);
    await cleanup();
  });

  it('aborts an acquire that waits in the pool on the partition behalf, without leaking its slot', async () => {
    const { manager, factory, cleanup } = await setup();
    factory.createDelayMs = 1_000;
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const controller = new AbortController();
    const first = track(manager.acquire({ tenant: 'a' }, { signal: controller.signal }));
    await vi.advanceTimersByTimeAsync(10);
    expect(manager.partition('a')?.statistics()).toMatchObject({ acquiring: 1, active: 0 });
    controller.abort();
    await flush();
    expect(first.error).toBeInstanceOf(AcquireAbortedError);
    expect(manager.partition('a')?.statistics()).toMatchObject({ acquiring: 0, active: 0 });
    const second = manager.acquire({ tenant: 'a' });
    await vi.advanceTimersByTimeAsync(1_000);
    (await second).release();
    await cleanup();
  });

  it('closing the manager fails waiters with PoolClosedError and returns a connection that arrives afterwards', async () => {
    const { manager, pool, factory } = await setup();
    factory.createDelayMs = 1_000;
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const inPool = track(manager.acquire({ tenant: 'a' }));
    const queued = track(manager.acquire({ tenant: 'a' }));
    await vi.advanceTimersByTimeAsync(10);
    const closed = manager.close();
    await flush();
    expect(queued.error).toBeInstanceOf(PoolClosedError);
    expect(inPool.error).toBeInstanceOf(PoolClosedError);
    await vi.advanceTimersByTimeAsync(1_000);
    await closed;
    await expect(manager.acquire({ tenant: 'a' })).rejects.toBeInstanceOf(PoolClosedError);
    expect(() => manager.createPartition('b', PartitionType.Tenant('b'))).toThrow(PoolClosedError);
    expect(pool.size()).toMatchObject({ active: 0, idle: 1 }); // the late connection went back to the pool
    await pool.close();
    expect(factory.open.size).toBe(0);
  });

  it('fails its waiters when the pool closes under it', async () => {
    const { manager, pool } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const queued = track(manager.acquire({ tenant: 'a' }));
    const closing = pool.close();
    held.release();
    await closing;
    await flush();
    expect(queued.error).toBeInstanceOf(PoolClosedError);
    await expect(manager.acquire({ tenant: 'a' })).rejects.toBeInstanceOf(PoolClosedError);
    await manager.close();
  });

  it('counts a borrow the pool reclaims as returned, so the partition is not left short', async () => {
    const { manager, pool, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const next = track(manager.acquire({ tenant: 'a' }));
    expect(pool.reclaim(held.id)).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(next.state).toBe('resolved');
    expect(manager.partition('a')?.statistics()).toMatchObject({ connectionsReleased: 1, active: 1 });
    next.value?.release();
    await cleanup();
  });
});

describe('Waiter.fail (used by detectors such as DeadlockDetector)', () => {
  it('fails a queued waiter with the given error, and returns the connection of one failed while the pool served it', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 100;
    const pool = await ConnectionPool.create({ maxSize: 4, enablePartitioning: true }, factory);
    const queues: BasicWaitQueue[] = [];
    const manager = new PartitionManager({
      pool,
      routing: RoutingStrategy.TenantBased,
      waitQueue: () => {
        const queue = new BasicWaitQueue({ order: 'fifo' });
        queues.push(queue);
        return queue;
      },
    });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const first = track(manager.acquire({ tenant: 'a' })); // waits in the pool for a new connection
    const second = track(manager.acquire({ tenant: 'a' })); // waits in the partition
    const [waiter] = [...(queues[0]?.values() ?? [])];
    expect(waiter?.context).toMatchObject({ partition: 'a' });
    const failure = new PoolError('ERR_POOL_DEADLOCK', 'nested acquire');
    expect(waiter?.fail(failure)).toBe(true);
    expect(waiter?.fail(failure)).toBe(false);
    await flush();
    expect(second.error).toBe(failure);
    expect(manager.partition('a')?.statistics()).toMatchObject({ waiting: 0, rejections: { failed: 1 } });
    // Now fail the caller whose connection is still being opened: it must go back to the pool when it arrives.
    const third = track(manager.acquire({ tenant: 'a' }));
    const [late] = [...(queues[0]?.values() ?? [])];
    await vi.advanceTimersByTimeAsync(100);
    expect(first.state).toBe('resolved');
    await first.value?.destroy(); // the third caller now needs a new connection: 100 ms to open
    await flush();
    expect(late?.settled).toBe(false);
    expect(manager.partition('a')?.statistics().acquiring).toBe(1);
    expect(late?.fail(failure)).toBe(true);
    await flush();
    expect(third.error).toBe(failure);
    await vi.advanceTimersByTimeAsync(100);
    expect(pool.size()).toMatchObject({ active: 0, idle: 1 });
    expect(manager.partition('a')?.statistics()).toMatchObject({ active: 0, acquiring: 0 });
    await manager.close();
    await pool.close();
    expect(factory.open.size).toBe(0);
  });
});

describe('removePartition', () => {
  it('drains gracefully: refuses new acquires, serves queued ones, resolves when the borrows are back', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1, minConnections: 1 });
    const events: string[] = [];
    manager.on('drain', (e) => events.push(`drain ${e.partition}`)).on('remove', (e) => events.push(`remove ${e.partition}`));
    const held = await manager.acquire({ tenant: 'a' });
    const queued = track(manager.acquire({ tenant: 'a' }));
    const removed = track(manager.removePartition('a'));
    expect(manager.removePartition('a')).toBe(manager.removePartition('a'));
    expect(manager.listPartitions()[0]?.state).toBe('draining');
    expect(manager.routeRequest({ tenant: 'a' })).toBeNull();
    await expect(manager.partition('a')?.acquire()).rejects.toMatchObject({ reason: 'removed', partition: 'a' });
    held.release();
    await flush();
    expect(queued.state).toBe('resolved');
    expect(removed.state).toBe('pending');
    queued.value?.release();
    await flush();
    expect(removed.state).toBe('resolved');
    expect(manager.listPartitions()).toEqual([]);
    expect(events).toEqual(['drain a', 'remove a']);
    // the id is free again, and its reservation was given back
    manager.createPartition('a', PartitionType.Tenant('a'), { minConnections: 10 });
    await cleanup();
  });

  it("with waiters: 'fail', fails queued callers at once with PartitionError", async () => {
    const { manager, cleanup } = await setup();
    const handle = manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const queued = track(manager.acquire({ tenant: 'a' }));
    const removed = track(manager.removePartition('a', { waiters: 'fail' }));
    await flush();
    expect(queued.error).toBeInstanceOf(PartitionError);
    expect(queued.error).toMatchObject({ reason: 'removed', partition: 'a' });
    expect(removed.state).toBe('pending');
    held.release();
    await flush();
    expect(removed.state).toBe('resolved');
    expect(handle.state).toBe('removed');
    await expect(manager.removePartition('a')).rejects.toMatchObject({ reason: 'unknown' });
    await cleanup();
  });

  it('gives a draining partition reservation back once nobody waits, so others can use it', async () => {
    const { manager, cleanup } = await setup({ maxSize: 2 });
    manager.createPartition('a', PartitionType.Tenant('a'), { minConnections: 1 });
    manager.createPartition('b', PartitionType.Tenant('b'));
    const aHeld = await manager.acquire({ tenant: 'a' });
    const b1 = await manager.acquire({ tenant: 'b' });
    const b2 = track(manager.acquire({ tenant: 'b' }));
    await flush();
    expect(b2.state).toBe('pending');
    const removed = manager.removePartition('a');
    aHeld.release();
    await flush();
    await removed;
    expect(b2.state).toBe('resolved');
    b1.release();
    b2.value?.release();
    await cleanup();
  });
});

describe('events', () => {
  it('reports acquire, release and reject with the partition, and contains a throwing listener', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1, maxWaitQueue: 0 });
    const seen: string[] = [];
    const errors: PartitionEventMap['error'][] = [];
    manager.on('acquire', (e) => seen.push(`acquire ${e.partition}`));
    manager.on('release', (e) => seen.push(`release ${e.partition}`));
    manager.on('reject', (e) => seen.push(`reject ${e.partition} ${e.reason}`));
    manager.on('acquire', () => {
      throw new Error('listener bug');
    });
    manager.on('error', (e) => errors.push(e));
    const conn = await manager.acquire({ tenant: 'a' });
    await manager.acquire({ tenant: 'a' }).catch(() => {});
    await manager.acquire({ tenant: 'zzz' }).catch(() => {});
    conn.release();
    expect(seen).toEqual(['acquire a', 'reject a queueFull', 'reject null unrouted', 'release a']);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.error.code).toBe('ERR_POOL_LISTENER');
    await cleanup();
  });

  it('marks connections with the partition context, visible in pool events and connection snapshots', async () => {
    const { manager, pool, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('a'));
    const contexts: unknown[] = [];
    pool.on('acquire', (e) => contexts.push(e.connection.context));
    const conn = await manager.acquire({ tenant: 'a' }, { context: { route: '/orders' } });
    expect(contexts).toEqual([{ partition: 'a', request: { tenant: 'a' }, context: { route: '/orders' } }]);
    expect(pool.connections().find((c) => c.id === conn.id)?.context).toMatchObject({ partition: 'a' });
    conn.release();
    await cleanup();
  });
});

export type { FakeConnection };

describe('PartitionManager signal validation', () => {
  it('refuses a signal-like object it could not unsubscribe from; the partition stays consistent', async () => {
    const pool = ConnectionPool.open({ maxSize: 1, enablePartitioning: true }, new FakeFactory());
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('a', PartitionType.Tenant('a'), { maxConnections: 1 });
    const held = await manager.acquire({ tenant: 'a' });
    const halfSignal = { aborted: false, addEventListener() {} } as unknown as AbortSignal;
    await expect(manager.acquire({ tenant: 'a' }, { signal: halfSignal, timeoutMs: 1_000 })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => held.release()).not.toThrow();
    expect(manager.getPartitionStatistics().a).toMatchObject({ active: 0, waiting: 0 });
    await manager.close();
    await pool.close();
  });
});
