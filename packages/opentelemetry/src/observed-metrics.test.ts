import { randomBytes } from 'node:crypto';
import { ClusterBudget } from '@pool/cluster';
import { ConnectionPool, type PooledConnection } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { afterEach, describe, expect, it } from 'vitest';
import {
  ATTR_BUDGET,
  ATTR_BUDGET_STATE,
  ATTR_CONNECTION_STATE,
  ATTR_PARTITION,
  ATTR_POOL_NAME,
  ATTR_REASON,
  ATTR_TENANT,
  METRIC,
} from './names.js';
import { PoolTelemetry } from './pool-telemetry.js';
import { type FakeConnection, FakeFactory } from './test-support/fake-factory.js';
import { OtelHarness } from './test-support/otel-harness.js';

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setUp() {
  const otel = new OtelHarness();
  const telemetry = new PoolTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider });
  cleanups.push(
    () => otel.close(),
    () => telemetry.close(),
  );
  return { otel, telemetry };
}

describe('metrics read from the pool at collection time', () => {
  it('reports connections by state, the limits and the pending requests of each pool, with its name', async () => {
    const { otel, telemetry } = await setUp();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 3, initialSize: 2 }, new FakeFactory(), { name: 'orders' });
    const other = await ConnectionPool.create({ minSize: 0, maxSize: 1 }, new FakeFactory(), { name: 'audit' });
    cleanups.push(
      () => pool.close(),
      () => other.close(),
    );
    telemetry.instrument(pool);
    telemetry.instrument(other);
    const held: PooledConnection<FakeConnection>[] = [await pool.acquire(), await other.acquire()];
    const waiter = other.acquire({ timeoutMs: 60_000 });

    const m = await otel.collect();
    const orders = { [ATTR_POOL_NAME]: 'orders' };
    const audit = { [ATTR_POOL_NAME]: 'audit' };
    expect(m.get(METRIC.connectionCount)?.value({ ...orders, [ATTR_CONNECTION_STATE]: 'idle' })).toBe(1);
    expect(m.get(METRIC.connectionCount)?.value({ ...orders, [ATTR_CONNECTION_STATE]: 'used' })).toBe(1);
    expect(m.get(METRIC.connectionCount)?.value({ ...audit, [ATTR_CONNECTION_STATE]: 'idle' })).toBe(0);
    expect(m.get(METRIC.connectionCount)?.value({ ...audit, [ATTR_CONNECTION_STATE]: 'used' })).toBe(1);
    expect(m.get(METRIC.idleMax)?.value(orders)).toBe(3);
    expect(m.get(METRIC.idleMin)?.value(orders)).toBe(1);
    expect(m.get(METRIC.max)?.value(orders)).toBe(3);
    expect(m.get(METRIC.limit)?.value(orders)).toBe(3);
    expect(m.get(METRIC.max)?.value(audit)).toBe(1);
    expect(m.get(METRIC.limit)?.value(audit)).toBe(1);
    expect(m.get(METRIC.idleMin)?.value(audit)).toBe(0);
    expect(m.get(METRIC.pendingRequests)?.value(orders)).toBe(0);
    expect(m.get(METRIC.pendingRequests)?.value(audit)).toBe(1);
    expect(m.get(METRIC.timeouts)?.value(audit)).toBe(0);
    expect(m.get(METRIC.connectionCount)?.data.descriptor.unit).toBe('{connection}');
    expect(m.get(METRIC.pendingRequests)?.data.descriptor.unit).toBe('{request}');
    expect(m.get(METRIC.timeouts)?.data.descriptor.unit).toBe('{timeout}');

    for (const c of held) c.release();
    (await waiter).release();
    pool.setLimit(2, 'test');
    const after = await otel.collect();
    expect(after.get(METRIC.limit)?.value(orders)).toBe(2); // the cap in force
    expect(after.get(METRIC.max)?.value(orders)).toBe(3); // the configured maxSize
    expect(after.get(METRIC.connectionCount)?.value({ ...orders, [ATTR_CONNECTION_STATE]: 'idle' })).toBe(2);
    expect(after.get(METRIC.connectionCount)?.value({ ...orders, [ATTR_CONNECTION_STATE]: 'used' })).toBe(0);
    expect(after.get(METRIC.pendingRequests)?.value(audit)).toBe(0);
  });

  it('stops reporting a pool once detached, and everything once closed', async () => {
    const { otel, telemetry } = await setUp();
    const a = await ConnectionPool.create({ maxSize: 1 }, new FakeFactory(), { name: 'a' });
    const b = await ConnectionPool.create({ maxSize: 1 }, new FakeFactory(), { name: 'b' });
    cleanups.push(
      () => a.close(),
      () => b.close(),
    );
    const detachA = telemetry.instrument(a);
    telemetry.instrument(b);
    detachA();
    detachA();
    const m = await otel.collect();
    expect(m.get(METRIC.max)?.attributes()).toEqual([{ [ATTR_POOL_NAME]: 'b' }]);
    telemetry.close();
    // The SDK keeps exporting a cumulative series' last value; what matters is that nothing is read any more.
    const held = await b.acquire();
    const after = await otel.collect();
    expect(after.get(METRIC.connectionCount)?.value({ [ATTR_POOL_NAME]: 'b', [ATTR_CONNECTION_STATE]: 'used' })).toBe(0);
    held.release();
    expect(() => telemetry.instrument(a)).toThrow(/closed/);
  });

  it('refuses bad input with errors that name it', async () => {
    const { telemetry } = await setUp();
    const pool = await ConnectionPool.create({ maxSize: 1 }, new FakeFactory(), { name: 'p' });
    cleanups.push(() => pool.close());
    expect(() => new PoolTelemetry({ waitSpanThresholdMs: -1 })).toThrow(/waitSpanThresholdMs/);
    expect(() => new PoolTelemetry({ buckets: [1, 0.5] })).toThrow(/buckets.*ascending/);
    expect(() => new PoolTelemetry({ meterProvider: {} as never })).toThrow(/meterProvider/);
    expect(() => new PoolTelemetry({ sampling: 1 } as never)).toThrow(/sampling.*not a PoolTelemetry option/);
    expect(() => telemetry.instrument({} as never)).toThrow(/pool/);
    expect(() => telemetry.instrument(pool, { partitions: {} as never })).toThrow(/partitions.*PartitionManager/);
    expect(() => telemetry.instrument(pool, { budget: 3 as never })).toThrow(/budget.*ClusterBudget/);
    const shared = await ConnectionPool.create({ maxSize: 1, enablePartitioning: true }, new FakeFactory(), { name: 'shared' });
    const manager = new PartitionManager({ pool: shared, routing: RoutingStrategy.TenantBased });
    cleanups.push(
      () => shared.close(),
      () => manager.close(),
    );
    expect(() => telemetry.instrument(pool, { partitions: manager })).toThrow(/partitions = "shared".*another pool/);
    telemetry.instrument(pool);
    expect(() => telemetry.instrument(pool)).toThrow(/already instrumented/);
    const namesake = await ConnectionPool.create({ maxSize: 1 }, new FakeFactory(), { name: 'p' });
    cleanups.push(() => namesake.close());
    expect(() => telemetry.instrument(namesake)).toThrow(/pool = "p".*distinct names/);
  });
});

describe('a partitioned pool', () => {
  it("reports each partition's borrowed connections, limit, queue, timeouts and rejections", async () => {
    const { otel, telemetry } = await setUp();
    const pool = await ConnectionPool.create({ maxSize: 4, enablePartitioning: true }, new FakeFactory(), { name: 'shared' });
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    cleanups.push(
      () => pool.close(),
      () => manager.close(),
    );
    manager.createPartition('acme', PartitionType.Tenant('acme'), { maxConnections: 1, maxWaitQueue: 1 });
    manager.createPartition('globex', PartitionType.Tenant('globex'), { maxConnections: 2 });
    telemetry.instrument(pool, { partitions: manager });

    const held = await manager.acquire({ tenant: 'acme' });
    const queued = manager.acquire({ tenant: 'acme' }, { timeoutMs: 60_000 });
    await expect(manager.acquire({ tenant: 'acme' })).rejects.toMatchObject({ code: 'ERR_POOL_EXHAUSTED' });
    const g = await manager.acquire({ tenant: 'globex' });

    const m = await otel.collect();
    const acme = { [ATTR_POOL_NAME]: 'shared', [ATTR_PARTITION]: 'acme' };
    const globex = { [ATTR_POOL_NAME]: 'shared', [ATTR_PARTITION]: 'globex' };
    expect(m.get(METRIC.partitionCount)?.value(acme)).toBe(1);
    expect(m.get(METRIC.partitionCount)?.value(globex)).toBe(1);
    expect(m.get(METRIC.partitionMax)?.value(acme)).toBe(1);
    expect(m.get(METRIC.partitionMax)?.value(globex)).toBe(2);
    expect(m.get(METRIC.partitionPending)?.value(acme)).toBe(1);
    expect(m.get(METRIC.partitionPending)?.value(globex)).toBe(0);
    expect(m.get(METRIC.partitionTimeouts)?.value(acme)).toBe(0);
    expect(m.get(METRIC.partitionRejections)?.value({ ...acme, [ATTR_REASON]: 'queueFull' })).toBe(1);
    expect(m.get(METRIC.partitionRejections)?.value({ ...globex, [ATTR_REASON]: 'queueFull' })).toBe(0);
    // The pool's own figures stay whole-pool.
    expect(m.get(METRIC.connectionCount)?.value({ [ATTR_POOL_NAME]: 'shared', [ATTR_CONNECTION_STATE]: 'used' })).toBe(2);

    held.release();
    (await queued).release();
    g.release();
  });
});

describe('a cluster-budgeted pool', () => {
  it("reports the budget's limit, global use, this instance's leases, its state and refusals (real Redis)", async () => {
    const { otel, telemetry } = await setUp();
    const name = `otel-${randomBytes(4).toString('hex')}`;
    const budget = new ClusterBudget({ redis: REDIS_URL, name, maxConnections: 3, tenants: { acme: 2 } });
    cleanups.push(() => budget.close());
    await budget.ready();
    const pool = await budget.createPool({ minSize: 0, maxSize: 2 }, new FakeFactory(), { name: 'budgeted' });
    cleanups.push(() => pool.close());
    telemetry.instrument(pool, { budget });
    const a = await pool.acquire();
    const b = await pool.acquire();

    const m = await otel.collect();
    const db = { [ATTR_BUDGET]: name };
    expect(m.get(METRIC.budgetLimit)?.value(db)).toBe(3);
    expect(m.get(METRIC.budgetHeld)?.value(db)).toBe(2);
    expect(m.get(METRIC.budgetUsed)?.value(db)).toBe(2);
    expect(m.get(METRIC.budgetPending)?.value(db)).toBe(0);
    expect(m.get(METRIC.budgetLimit)?.value({ ...db, [ATTR_TENANT]: 'acme' })).toBe(2);
    expect(m.get(METRIC.budgetState)?.value({ ...db, [ATTR_BUDGET_STATE]: 'connected' })).toBe(1);
    expect(m.get(METRIC.budgetState)?.value({ ...db, [ATTR_BUDGET_STATE]: 'degraded' })).toBe(0);
    expect(m.get(METRIC.budgetRefusals)?.value({ ...db, [ATTR_REASON]: 'capacity' })).toBe(0);
    expect(m.get(METRIC.connectionCount)?.value({ [ATTR_POOL_NAME]: 'budgeted', [ATTR_CONNECTION_STATE]: 'used' })).toBe(2);
    a.release();
    b.release();
  });
});
