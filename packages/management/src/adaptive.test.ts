import { adaptiveLimit } from '@pool/adaptive';
import { InvalidConfigError } from '@pool/core';
import { afterEach, describe, expect, it } from 'vitest';
import { schemas } from './index.js';
import { appWith, call, simulatedPool } from './test-support/fixtures.js';

// A pool with an adaptive limit (@pool/adaptive), managed through the API: the limit and why it last
// moved at /pools/{pool}/adaptive, in the overview the dashboard draws, and the limit in the pool's size.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('a pool with an adaptive limit', () => {
  it('serves the limiter at /pools/{pool}/adaptive, in the overview and in the size, as documented', async () => {
    const { pool } = await simulatedPool({ minSize: 1, maxSize: 8, initialSize: 1 }, { name: 'orders' });
    cleanups.push(() => pool.close());
    // No interval passes during the test: the figures stay those of the start.
    const limiter = adaptiveLimit(pool, { initialLimit: 3, intervalMs: 3_600_000, warmupMs: 0 });
    const { pool: plain } = await simulatedPool({}, { name: 'plain' });
    cleanups.push(() => plain.close());
    const app = appWith({ pools: { orders: { pool, adaptive: limiter }, plain } });
    cleanups.push(() => app.close());

    const res = await call(app, 'GET', '/pools/orders/adaptive');
    expect(res.status).toBe(200);
    expect(schemas.AdaptiveLimit.safeParse(res.json).error?.issues).toBeUndefined();
    expect(res.json).toEqual(JSON.parse(JSON.stringify(limiter.statistics())));
    expect(res.json).toMatchObject({ target: 'orders', algorithm: 'gradient', state: 'running', limit: 3, floor: 1, ceiling: 8 });
    expect(res.json.lastChange).toMatchObject({ reason: 'start', previous: 3, limit: 3 });

    const missing = await call(app, 'GET', '/pools/plain/adaptive');
    expect(missing.status).toBe(404);
    expect(missing.json.error.message).toContain("Pool 'plain' has no adaptive limit configured");

    const size = await call(app, 'GET', '/pools/orders/size');
    expect(size.json.limit).toBe(3);
    expect(schemas.PoolSize.safeParse(size.json).success).toBe(true);
    const list = await call(app, 'GET', '/pools');
    expect(list.json.pools.map((p: { features: { adaptive: boolean } }) => p.features.adaptive)).toEqual([true, false]);

    const overview = await call(app, 'GET', '/overview');
    expect(overview.status).toBe(200);
    const [orders, other] = overview.json.pools;
    expect(orders.adaptive).toMatchObject({ limit: 3, algorithm: 'gradient' });
    expect(orders.size.limit).toBe(3);
    expect(other.adaptive).toBeNull();
    expect(schemas.Overview.safeParse(overview.json).error?.issues).toBeUndefined();

    const dashboard = await call(app, 'GET', '/dashboard');
    expect(dashboard.text).toContain('id="limit"');
    const doc = (await call(app, 'GET', '/openapi.json')).json;
    expect(doc.paths['/pools/{pool}/adaptive'].get.operationId).toBe('getAdaptiveLimit');
    limiter.stop();
  });

  it('rejects an adaptive entry that is not a limiter, naming the field', async () => {
    const { pool } = await simulatedPool();
    cleanups.push(() => pool.close());
    expect(() => appWith({ pools: { main: { pool, adaptive: {} as never } } })).toThrow(InvalidConfigError);
    expect(() => appWith({ pools: { main: { pool, adaptive: {} as never } } })).toThrow(/pools.main.adaptive/);
  });
});
