import { ConnectionPool, ConnectionTimeoutError } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionError } from './errors.js';
import { PartitionManager } from './manager.js';
import type { PrepareHook } from './partition.js';
import { PartitionType } from './partition-type.js';
import { RoutingStrategy } from './routing.js';
import { type FakeConnection, FakeFactory, flush, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const setSearchPath: PrepareHook<FakeConnection> = async (conn, partition, { signal }) => {
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(resolve, 50);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      reject(signal.reason);
    });
  });
  conn.searchPath = partition.type.name;
  conn.queries.push(`SET search_path TO ${partition.type.name}`);
};

async function setup(prepare: PrepareHook<FakeConnection> | null = setSearchPath) {
  const factory = new FakeFactory();
  const pool = await ConnectionPool.create({ maxSize: 4, acquireTimeoutMs: 5_000, enablePartitioning: true }, factory);
  const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, prepare, name: 'mgr' });
  const cleanup = async () => {
    await manager.close();
    await pool.close();
    expect(factory.open.size).toBe(0);
    expect(factory.doubleCloses).toBe(0);
  };
  return { factory, pool, manager, cleanup };
}

async function acquireNow(manager: PartitionManager<FakeConnection>, tenant: string) {
  const pending = manager.acquire({ tenant });
  await vi.advanceTimersByTimeAsync(50);
  return pending;
}

describe('connection preparation and affinity', () => {
  it('prepares a connection for its partition once and skips the hook when a prepared one is free', async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('acme'));
    const first = await acquireNow(manager, 'acme');
    expect(first.connection.searchPath).toBe('acme');
    expect(first.label).toBe('partition:a');
    const firstId = first.id;
    first.release();
    const again = await manager.acquire({ tenant: 'acme' }); // no time passes: the hook did not run
    expect(again.id).toBe(firstId);
    expect(again.connection.queries).toEqual(['SET search_path TO acme']);
    again.release();
    expect(manager.partition('a')?.statistics().preparation).toEqual({
      prepared: 1,
      failed: 0,
      reused: 1,
      averagePrepareMs: 50,
      savedMs: 50,
    });
    await cleanup();
  });

  it("prefers the partition's own prepared connection over a more recently released one", async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('a', PartitionType.Tenant('acme'));
    manager.createPartition('b', PartitionType.Tenant('globex'));
    const a = await acquireNow(manager, 'acme');
    const b = await acquireNow(manager, 'globex');
    expect(b.connection.searchPath).toBe('globex');
    a.release();
    b.release(); // most recently released: a plain acquire would get this one
    const a2 = await manager.acquire({ tenant: 'acme' });
    expect(a2.id).toBe(a.id);
    expect(a2.connection.searchPath).toBe('acme');
    a2.release();
    await cleanup();
  });

  it('re-prepares a connection that was prepared for another partition', async () => {
    const { manager, pool, cleanup } = await setup();
    pool.resize({ maxSize: 1 });
    manager.createPartition('a', PartitionType.Tenant('acme'));
    manager.createPartition('b', PartitionType.Tenant('globex'));
    const a = await acquireNow(manager, 'acme');
    const id = a.id;
    a.release();
    const b = await acquireNow(manager, 'globex');
    expect(b.id).toBe(id);
    expect(b.connection.searchPath).toBe('globex');
    expect(b.label).toBe('partition:b');
    b.release();
    await cleanup();
  });

  it('destroys the connection and fails the acquire with PartitionError when the hook throws', async () => {
    const boom = new Error('permission denied for schema acme');
    const { manager, factory, cleanup } = await setup(async () => {
      throw boom;
    });
    manager.createPartition('a', PartitionType.Tenant('acme'));
    const err = await manager.acquire({ tenant: 'acme' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PartitionError);
    expect(err).toMatchObject({ reason: 'prepare', partition: 'a', cause: boom });
    await flush();
    expect(factory.open.size).toBe(0);
    expect(manager.partition('a')?.statistics()).toMatchObject({
      active: 0,
      acquiring: 0,
      rejections: { prepare: 1 },
      preparation: { prepared: 1, failed: 1 },
    });
    await cleanup();
  });

  it("bounds the hook by the caller's deadline and aborts its signal", async () => {
    let aborted: unknown;
    const { manager, factory, cleanup } = await setup(
      (_conn, _p, { signal }) =>
        new Promise<void>(() => {
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
          });
        }),
    );
    manager.createPartition('a', PartitionType.Tenant('acme'));
    const pending = track(manager.acquire({ tenant: 'acme' }, { timeoutMs: 1_000 }));
    await vi.advanceTimersByTimeAsync(999);
    expect(pending.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(2);
    expect(pending.error).toBeInstanceOf(ConnectionTimeoutError);
    expect(aborted).toBeDefined();
    await flush();
    expect(factory.open.size).toBe(0);
    expect(manager.partition('a')?.statistics()).toMatchObject({ acquiring: 0, active: 0, timeouts: 1 });
    await cleanup();
  });

  it("lets a partition switch off the manager's hook and pass the caller's own label", async () => {
    const { manager, cleanup } = await setup();
    manager.createPartition('plain', PartitionType.Tenant('plain'), {}, { prepare: null });
    const conn = await manager.acquire({ tenant: 'plain' }, { label: 'readonly' });
    expect(conn.connection.queries).toEqual([]);
    conn.label = 'readonly';
    conn.release();
    expect(manager.listPartitions()[0]?.label).toBeNull();
    await cleanup();
  });
});

describe('isolated partitions', () => {
  it('serve a partition from its own pool, under its limits, in the same statistics', async () => {
    const { manager, pool, cleanup } = await setup(null);
    const vipFactory = new FakeFactory('vip');
    manager.createPartition('shared_tenant', PartitionType.Tenant('acme'));
    const vip = manager.createPartition(
      'vip',
      PartitionType.Tenant('bigcorp'),
      { maxConnections: 2 },
      { isolated: { factory: vipFactory } },
    );
    expect(vip.isolated).toBe(true);
    expect(vip.pool).not.toBe(pool);
    expect(vip.pool.name).toBe('mgr/vip');
    expect(vip.pool.config).toMatchObject({ maxSize: 2, enablePartitioning: true, acquireTimeoutMs: 5_000 });
    const held = [await manager.acquire({ tenant: 'bigcorp' }), await manager.acquire({ tenant: 'bigcorp' })];
    expect(held.map((c) => c.connection.origin)).toEqual(['vip', 'vip']);
    expect(pool.size().active).toBe(0);
    const third = track(manager.acquire({ tenant: 'bigcorp' }));
    await flush();
    expect(third.state).toBe('pending');
    const stats = manager.getPartitionStatistics();
    expect(Object.keys(stats)).toEqual(['shared_tenant', 'vip']);
    expect(stats.vip).toMatchObject({ isolated: true, pool: 'mgr/vip', active: 2, waiting: 1 });
    held[0]?.release();
    await flush();
    expect(third.state).toBe('resolved');
    third.value?.release();
    held[1]?.release();
    await manager.removePartition('vip');
    expect(vip.pool.state).toBe('closed');
    expect(vipFactory.open.size).toBe(0);
    await cleanup();
  });

  it('close() closes the isolated pools it opened', async () => {
    const { manager, cleanup } = await setup(null);
    const vipFactory = new FakeFactory('vip');
    const vip = manager.createPartition(
      'vip',
      PartitionType.Tenant('bigcorp'),
      {},
      { isolated: { factory: vipFactory, config: { minSize: 1 } } },
    );
    (await manager.acquire({ tenant: 'bigcorp' })).release();
    await cleanup();
    expect(vip.pool.state).toBe('closed');
    expect(vipFactory.open.size).toBe(0);
  });
});

describe('preparation cut short', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  for (const how of ['fails', 'outlives the deadline'] as const) {
    it(`counts no release for a connection the caller never got (prepare ${how})`, async () => {
      const pool = ConnectionPool.open({ maxSize: 2, enablePartitioning: true }, new FakeFactory());
      const prepare =
        how === 'fails'
          ? () => Promise.reject(new Error('SET search_path failed'))
          : () => new Promise<void>((resolve) => setTimeout(resolve, 200));
      const manager = new PartitionManager<FakeConnection>({ pool, routing: RoutingStrategy.TenantBased, prepare });
      manager.createPartition('a', PartitionType.Tenant('a'));
      const result = manager.acquire({ tenant: 'a' }, { timeoutMs: 50 }).catch((e: unknown) => e);
      await vi.advanceTimersByTimeAsync(300);
      expect(await result).toBeInstanceOf(Error);
      expect(manager.getPartitionStatistics().a).toMatchObject({ connectionsAcquired: 0, connectionsReleased: 0, active: 0, acquiring: 0 });
      await manager.close();
      await pool.close();
    });
  }

  for (const how of ['reclaim', 'close'] as const) {
    it(`lets the caller go at once when the pool takes the connection back during prepare (${how})`, async () => {
      const pool = ConnectionPool.open({ maxSize: 2, enablePartitioning: true, closeTimeoutMs: 100 }, new FakeFactory());
      const hangs = (_c: unknown, _p: unknown, { signal }: { signal: AbortSignal }) =>
        new Promise<void>((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true }));
      const manager = new PartitionManager<FakeConnection>({ pool, routing: RoutingStrategy.TenantBased, prepare: hangs });
      manager.createPartition('a', PartitionType.Tenant('a'));
      let settledAt = Number.NaN;
      const acquiring = manager.acquire({ tenant: 'a' }, { timeoutMs: 10_000 }).catch((e: unknown) => {
        settledAt = performance.now();
        return e;
      });
      await vi.advanceTimersByTimeAsync(20);
      const [inPrepare] = pool.borrowed();
      const takenAt = performance.now();
      if (how === 'reclaim') pool.reclaim(inPrepare?.id ?? -1);
      else void pool.close();
      await vi.advanceTimersByTimeAsync(150);
      expect(await acquiring).toBeInstanceOf(Error);
      expect(settledAt - takenAt).toBeLessThanOrEqual(100); // not the caller's 10 s deadline
      const s = manager.getPartitionStatistics().a;
      expect(s).toMatchObject({ active: 0, acquiring: 0, connectionsAcquired: 0, connectionsReleased: 0 });
      await manager.close();
      await pool.close();
    });
  }
});
