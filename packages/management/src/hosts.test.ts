import { ConnectionPool, InvalidConfigError } from '@pool/core';
import { SimulatedFactory } from '@pool/testkit';
import { afterEach, describe, expect, it } from 'vitest';
import { createManagementApp, schemas } from './index.js';
import { appWith, call } from './test-support/fixtures.js';

// A multi-host pool (@pool/pg's createPgReplicaPool) managed through the API: each server's role, state,
// lag and connections at /pools/{pool}/hosts and in the overview the dashboard draws, read from hostStatistics()
// on each request.

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

describe('a pool with hosts', () => {
  it('serves each host: role, state, lag and connections, as the pool reports them at the time', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 2 }, new SimulatedFactory(), { name: 'orders' });
    cleanups.push(() => pool.close());
    let hosts: object[] = [
      { host: 'db1:5432', role: 'primary', state: 'up', lagMs: null, readWeight: 0, connections: { write: 2 }, reads: 0 },
      { host: 'db2:5432', role: 'standby', state: 'lagging', lagMs: 2500, readWeight: 0, connections: { write: 0 }, reads: 7 },
    ];
    const app = appWith({ pools: { orders: { pool, hosts: { hostStatistics: () => hosts } } } });
    cleanups.push(() => app.close());

    const res = await call(app, 'GET', '/pools/orders/hosts');
    expect(res.status).toBe(200);
    expect(schemas.HostList.safeParse(res.json).success).toBe(true);
    expect(res.json.hosts).toEqual(hosts);

    // After a failover the same endpoint shows the promoted standby.
    hosts = [
      { host: 'db1:5432', role: 'primary', state: 'down', lagMs: null },
      { host: 'db2:5432', role: 'primary', state: 'up', lagMs: null },
    ];
    expect((await call(app, 'GET', '/pools/orders/hosts')).json.hosts).toEqual(hosts);
    expect((await call(app, 'GET', '/pools')).json.pools[0].features.hosts).toBe(true);

    // The overview the dashboard draws carries the same records, read in its one snapshot of the pool.
    const overview = await call(app, 'GET', '/overview');
    expect(schemas.Overview.safeParse(overview.json).error?.issues).toBeUndefined();
    expect(overview.json.pools[0].hosts).toEqual(hosts);
  });

  it("documents every field of a PgReplicaPool host record, and redacts a failed check's error in the overview", async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 1 }, new SimulatedFactory(), { name: 'orders' });
    cleanups.push(() => pool.close());
    // What @pool/pg's hostStatistics() returns for a host whose last check failed.
    const host = {
      host: 'db1:5432',
      role: 'primary',
      state: 'down',
      lagMs: null,
      readWeight: 0,
      readFallback: false,
      checkedAt: 1_700_000_000_000,
      error: 'connect ECONNREFUSED postgres://app:hunter2@db1:5432/orders',
      connections: { read: { total: 0, idle: 0, active: 0, pending: 0, waiting: 0, limit: 2 }, write: 0 },
      reads: 12,
    };
    const other = await ConnectionPool.create({ minSize: 0, maxSize: 1 }, new SimulatedFactory(), { name: 'plain' });
    cleanups.push(() => other.close());
    const app = appWith({ pools: { orders: { pool, hosts: { hostStatistics: () => [host] } }, plain: other } });
    cleanups.push(() => app.close());
    const parsed = schemas.HostStatistics.safeParse(host);
    expect(parsed.error?.issues).toBeUndefined();
    expect(schemas.HostStatistics.safeParse({ ...host, reads: -1 }).success).toBe(false);
    const overview = await call(app, 'GET', '/overview');
    expect(schemas.Overview.safeParse(overview.json).error?.issues).toBeUndefined();
    const [orders, plain] = overview.json.pools;
    expect(orders.hosts).toEqual([{ ...host, error: 'connect ECONNREFUSED postgres://app:[redacted]@db1:5432/orders' }]);
    expect(plain.hosts).toBeNull();
    const doc = (await call(app, 'GET', '/openapi.json')).json;
    expect(doc.components.schemas.PoolOverview.properties.hosts).toBeDefined();
    expect(Object.keys(doc.components.schemas.HostStatistics.properties)).toEqual(Object.keys(host));
  });

  it('answers 404 for a pool without hosts and refuses a hosts option without hostStatistics()', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 1 }, new SimulatedFactory(), { name: 'plain' });
    cleanups.push(() => pool.close());
    const app = appWith({ pools: { plain: pool } });
    cleanups.push(() => app.close());
    expect((await call(app, 'GET', '/pools/plain/hosts')).status).toBe(404);
    expect(() => createManagementApp({ pools: { plain: { pool, hosts: {} as never } }, auth: { readToken: 'x'.repeat(32) } })).toThrow(
      InvalidConfigError,
    );
  });
});
