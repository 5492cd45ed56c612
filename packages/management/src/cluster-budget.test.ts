import { ClusterBudget } from '@pool/cluster';
import { ConnectionPool, InvalidConfigError } from '@pool/core';
import { SimulatedFactory } from '@pool/testkit';
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createManagementApp, schemas } from './index.js';
import { appWith, call } from './test-support/fixtures.js';

// A pool whose connections take slots of a @pool/cluster budget, managed through the API: the budget's
// standing (connected, degraded while Redis is unreachable) and figures are visible at /pools/{pool}/budget.

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const prefix = `pool-management-test:${process.pid}:${Date.now()}:`;
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});
afterAll(async () => {
  const redis = new Redis(REDIS_URL);
  const keys = await redis.keys(`${prefix}*`);
  if (keys.length > 0) await redis.del(...keys);
  redis.disconnect();
});

function budget(redis: string, options: Partial<ConstructorParameters<typeof ClusterBudget>[0]> = {}): ClusterBudget {
  const b = new ClusterBudget({ redis, name: 'orders-db', keyPrefix: prefix, maxConnections: 3, leaseTtlMs: 60_000, ...options });
  cleanups.push(() => b.close());
  return b;
}

const schemaViolation = (body: unknown) => {
  const result = schemas.ClusterBudget.safeParse(body);
  return result.success ? null : result.error.issues;
};

describe('a pool with a cluster budget', () => {
  it('serves the budget: state, global limit and this instance leases, as documented', async () => {
    const b = budget(REDIS_URL);
    await b.ready();
    const pool = await b.createPool({ minSize: 0, maxSize: 3, initialSize: 0, closeTimeoutMs: 200 }, new SimulatedFactory(), {
      name: 'orders',
    });
    cleanups.push(() => pool.close()); // closes before the budget (cleanups run in reverse)
    const app = appWith({ pools: { orders: { pool, budget: b } } });
    cleanups.push(() => app.close());

    const held = [await pool.acquire(), await pool.acquire()];
    const res = await call(app, 'GET', '/pools/orders/budget');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('application/json');
    expect(schemaViolation(res.json)).toBeNull();
    expect(res.json.budget).toBe('orders-db');
    expect(res.json.state).toBe('connected');
    expect(res.json.database).toMatchObject({ limit: 3, held: 2, open: 2, waiting: 0 });
    expect(res.json.counters.granted).toBe(2);
    expect(res.json.pools).toEqual(['orders']);
    for (const c of held) c.release();

    const list = await call(app, 'GET', '/pools');
    expect(list.json.pools[0].features.budget).toBe(true);
  });

  it('shows the budget degraded, with its fallback cap, while Redis is unreachable', async () => {
    // Nothing listens on port 1: every connection attempt is refused at once.
    const b = budget('redis://127.0.0.1:1', { onRedisUnavailable: 'hold' });
    const redisErrors: unknown[] = [];
    b.on('error', (error) => redisErrors.push(error)); // expected here; without a listener each kind is a process warning
    await b.ready();
    const pool = await ConnectionPool.create(
      { minSize: 0, maxSize: 2, initialSize: 0, closeTimeoutMs: 200 },
      b.wrap(new SimulatedFactory()),
      {
        name: 'orders',
      },
    );
    cleanups.push(() => pool.close());
    const app = appWith({ pools: [{ pool, budget: b }] });
    cleanups.push(() => app.close());

    const res = await call(app, 'GET', '/pools/orders/budget');
    expect(res.status).toBe(200);
    expect(schemaViolation(res.json)).toBeNull();
    expect(res.json.state).toBe('degraded');
    expect(res.json.degradedSince).toEqual(expect.any(Number));
    expect(res.json.lastContactAt).toBeNull();
    expect(res.json.counters.redisErrors).toBeGreaterThan(0);
    expect(redisErrors.length).toBeGreaterThan(0);
  });

  it('answers 404 naming the pool when it has no budget', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, initialSize: 0, closeTimeoutMs: 200 }, new SimulatedFactory(), {
      name: 'plain',
    });
    cleanups.push(() => pool.close());
    const app = appWith({ pools: [pool] });
    cleanups.push(() => app.close());
    const res = await call(app, 'GET', '/pools/plain/budget');
    expect(res.status).toBe(404);
    expect(res.json.error.message).toBe("Pool 'plain' has no cluster budget configured");
    expect((await call(app, 'GET', '/pools')).json.pools[0].features.budget).toBe(false);
  });

  it('refuses a budget option that is not a budget, naming the field', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, initialSize: 0, closeTimeoutMs: 200 }, new SimulatedFactory(), { name: 'p' });
    cleanups.push(() => pool.close());
    const make = (value: unknown) => () => createManagementApp({ pools: { p: { pool, budget: value as never } }, auth: false });
    expect(make({ state: 'connected' })).toThrow(InvalidConfigError);
    expect(make({ state: 'connected' })).toThrow(/pools\.p\.budget.*ClusterBudget/);
    expect(make({ statistics: () => ({}) })).toThrow(/pools\.p\.budget.*string state/);
    expect(make('redis://x')).toThrow(/pools\.p\.budget/);
  });
});
