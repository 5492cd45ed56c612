import { type ConnectionFactory, ConnectionPool } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ClusterBudget } from './budget.js';
import { deleteKeys, PrivateRedis, REDIS_URL, uniquePrefix } from './test-support/redis.js';

// ClusterBudget against the real Redis: the zero-round-trip borrow (counted by the server itself),
// pub/sub wake-ups, an ioredis client with a keyPrefix, and tenant budgets through PartitionManager's
// isolated partitions.

const prefix = uniquePrefix();
const cleanup: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

afterAll(async () => {
  await deleteKeys(REDIS_URL, prefix);
});

const factory = (): ConnectionFactory<{ id: number }> => {
  let n = 0;
  return { create: async () => ({ id: ++n }), close: async () => {} };
};

function budget(options: Partial<ConstructorParameters<typeof ClusterBudget>[0]> = {}): ClusterBudget {
  const b = new ClusterBudget({ redis: REDIS_URL, name: 'db', keyPrefix: prefix, maxConnections: 4, leaseTtlMs: 60_000, ...options });
  cleanup.push(() => b.close());
  return b;
}

describe('ClusterBudget with the real Redis', () => {
  it('sends no command at all to Redis when a pool lends an open connection (INFO commandstats)', async () => {
    const server = await PrivateRedis.start();
    const b = budget({ redis: server.url });
    cleanup.push(() => server.stop()); // after the budget has closed
    await b.ready();
    expect(b.state).toBe('connected');
    const pool = await b.createPool({ maxSize: 2, initialSize: 2 }, factory());
    cleanup.unshift(() => pool.close());
    const before = await server.commandCalls();
    for (let i = 0; i < 2_000; i++) (await pool.acquire()).release();
    await Promise.all(Array.from({ length: 200 }, () => pool.use(async () => {})));
    const after = await server.commandCalls();
    // Only the INFO calls of this test itself differ.
    delete before.info;
    delete after.info;
    expect(after).toEqual(before);
    // ...while a new connection costs one script call to take its slot and one to give it back.
    const conn = await pool.acquire();
    await conn.destroy();
    const two = [await pool.acquire(), await pool.acquire()];
    for (const c of two) c.release();
    await new Promise((r) => setTimeout(r, 50));
    const scripts = await server.commandCalls();
    expect((scripts.evalsha ?? 0) - (after.evalsha ?? 0)).toBe(2);
  });

  it('wakes a waiting instance through pub/sub as soon as a slot is given back (on a client with a keyPrefix)', async () => {
    const client = new Redis(REDIS_URL, { keyPrefix: `${prefix}kp:` });
    // retryIntervalMs far beyond the test's wait: only the channel can wake b in time.
    const a = budget({ redis: client, maxConnections: 1, retryIntervalMs: 60_000, commandTimeoutMs: 2_000 });
    const b = budget({ redis: client, maxConnections: 1, retryIntervalMs: 60_000, commandTimeoutMs: 2_000 });
    cleanup.push(async () => client.disconnect()); // after the budgets closed
    const pa = await a.createPool({ maxSize: 1 }, factory());
    const pb = await b.createPool({ maxSize: 1, acquireTimeoutMs: 30_000 }, factory());
    cleanup.unshift(
      () => pa.close(),
      () => pb.close(),
    );
    const held = await pa.acquire();
    const waiting = pb.acquire();
    for (let i = 0; i < 200 && b.statistics().counters.refused.capacity === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(b.statistics().counters.refused.capacity).toBe(1);
    await held.destroy();
    const conn = await Promise.race([waiting, new Promise<'late'>((r) => setTimeout(() => r('late'), 10_000))]);
    expect(conn).not.toBe('late');
    (conn as { release(): void }).release();
    // The budget's keys carry the client's keyPrefix in front of the budget's own.
    const plain = new Redis(REDIS_URL);
    cleanup.push(async () => plain.disconnect());
    expect((await plain.keys(`${prefix}kp:${prefix}{db}:*`)).length).toBeGreaterThan(0);
  });

  it('gives every tenant of a PartitionManager its own global limit through isolated partitions', async () => {
    const b = budget({ name: 'tenants', maxConnections: 5, tenants: { acme: 2, globex: 3 } });
    const shared = await ConnectionPool.create({ maxSize: 2, enablePartitioning: true }, factory());
    const manager = new PartitionManager({ pool: shared, routing: RoutingStrategy.TenantBased });
    cleanup.unshift(
      () => manager.close(),
      () => shared.close(),
    );
    manager.createPartition(
      'tenant_acme',
      PartitionType.Tenant('acme'),
      { maxConnections: 4 },
      { isolated: { factory: b.wrap(factory(), { tenant: 'acme' }) } },
    );
    const detach = b.attachPartitions(manager);
    manager.createPartition(
      'tenant_globex',
      PartitionType.Tenant('globex'),
      { maxConnections: 4 },
      { isolated: { factory: b.wrap(factory(), { tenant: 'globex' }) } },
    );
    expect(b.statistics().pools.sort()).toEqual(
      [manager.partition('tenant_acme')?.pool.name, manager.partition('tenant_globex')?.pool.name].sort(),
    );
    const acme = [await manager.acquire({ tenant: 'acme' }), await manager.acquire({ tenant: 'acme' })];
    // acme's third connection would exceed its global limit of 2: it waits, then times out.
    await expect(manager.acquire({ tenant: 'acme' }, { timeoutMs: 300 })).rejects.toThrow();
    const globex = [
      await manager.acquire({ tenant: 'globex' }),
      await manager.acquire({ tenant: 'globex' }),
      await manager.acquire({ tenant: 'globex' }),
    ];
    const snapshot = await b.inspect();
    expect(snapshot.used).toBe(5);
    expect(snapshot.tenantsUsed).toEqual({ acme: 2, globex: 3 });
    expect(snapshot.instances).toEqual([{ id: b.instanceId, expiresInMs: expect.any(Number), held: 5, tenants: { acme: 2, globex: 3 } }]);
    for (const c of [...acme, ...globex]) c.release();
    detach();
    expect(b.statistics().pools).toEqual([]);
  });
});
