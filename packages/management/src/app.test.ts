import { adaptiveLimit } from '@pool/adaptive';
import { ClusterBudget } from '@pool/cluster';
import { ConnectionPool, InvalidConfigError, QueuePriority } from '@pool/core';
import { ExportFormat, LeakDetector, MonitoringExporter, PoolMonitor } from '@pool/monitoring';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { pgFactory } from '@pool/pg';
import { PrometheusCollector } from '@pool/prometheus';
import { PriorityWaitQueue } from '@pool/queue';
import { SimulatedFactory } from '@pool/testkit';
import { Validator } from '@seriousme/openapi-schema-validator';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { createManagementApp, type ManagementApp, openApiPath, schemas } from './index.js';
import { ADMIN_TOKEN, appWith, call, READ_TOKEN } from './test-support/fixtures.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

/**
 * Two pools: `main` with every component, `plain` with none (the app monitors it itself). With
 * `withBudget`, `main` also reports a `ClusterBudget` on the real Redis (`REDIS_URL`).
 */
async function fixture(extra: Partial<Parameters<typeof createManagementApp>[0]> = {}, withBudget = false) {
  const factory = new SimulatedFactory();
  const waitQueue = new PriorityWaitQueue();
  const main = await ConnectionPool.create(
    { minSize: 1, maxSize: 4, initialSize: 2, enablePartitioning: true, closeTimeoutMs: 200 },
    factory,
    {
      name: 'main',
      waitQueue,
    },
  );
  const plain = await ConnectionPool.create({ minSize: 0, maxSize: 2, initialSize: 1, closeTimeoutMs: 200 }, new SimulatedFactory(), {
    name: 'plain',
  });
  const monitor = new PoolMonitor(main);
  const leakDetector = new LeakDetector({ thresholdMs: 50, checkIntervalMs: 60_000, pools: main, warn: false });
  const manager = new PartitionManager({ pool: main, routing: RoutingStrategy.TenantBased });
  manager.createPartition('tenant_acme', PartitionType.Tenant('acme'), { maxConnections: 2, minConnections: 1 });
  manager.createPartition('tenant_globex', PartitionType.Tenant('globex'), { maxConnections: 2 });
  const exporter = new MonitoringExporter(monitor, ExportFormat.Csv);
  const budget = withBudget
    ? new ClusterBudget({
        redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
        name: 'main-db',
        keyPrefix: `pool-management-app-test:${process.pid}:`,
        maxConnections: 4,
      })
    : null;
  if (budget !== null) {
    cleanups.push(() => budget.close());
    await budget.ready();
  }
  // An adaptive limit that stays at maxSize (no interval passes during a test): /pools/main/adaptive answers.
  const adaptive = adaptiveLimit(main, { initialLimit: 4, intervalMs: 3_600_000 });
  // With everything on, main also stands for a multi-host pool (a PgReplicaPool's hostStatistics()).
  const hosts = withBudget ? { hostStatistics: () => [{ host: 'db1:5432', role: 'primary', state: 'up', lagMs: null }] } : null;
  const app = appWith({
    pools: { main: { pool: main, monitor, leakDetector, partitions: manager, exporter, budget, adaptive, hosts }, plain },
    ...extra,
  });
  cleanups.push(
    () => main.close(),
    () => plain.close(),
    () => monitor.close(),
    () => leakDetector.close(),
    () => manager.close(),
    () => app.close(),
  );
  return { app, main, plain, monitor, leakDetector, manager, waitQueue, factory };
}

const SAMPLE: Record<string, string> = { pool: 'main', partition: 'tenant_acme' };
const sample = (path: string) => path.replace(/:([a-zA-Z]+)/g, (_m, name: string) => SAMPLE[name] as string);
const bodyFor = (operationId: string): unknown => (operationId === 'resizePool' ? { maxSize: 5 } : {});

describe('authentication', () => {
  it('answers 401 without a token, with a malformed header and with a wrong token, on every protected route', async () => {
    // 40 protected routes × 2 failed attempts each: above the default per-client limit, raised here.
    const { app } = await fixture({ authFailureLimit: { maxFailures: 1_000 } });
    const protectedRoutes = app.routes.filter((r) => r.access !== 'public');
    expect(protectedRoutes.length).toBeGreaterThan(20);
    for (const route of protectedRoutes) {
      const path = sample(route.path);
      const none = await call(app, route.method, path, { token: null });
      expect(none.status, `${route.method} ${path}`).toBe(401);
      expect(none.headers.get('www-authenticate')).toBe('Bearer realm="pool-management"');
      expect(none.json.error.code).toBe('ERR_POOL_MANAGEMENT_UNAUTHORIZED');
      const malformed = await call(app, route.method, path, { token: null, headers: { authorization: `Basic ${READ_TOKEN}` } });
      expect(malformed.status).toBe(401);
      expect(malformed.json.error.message).toContain('Malformed');
      const wrong = await call(app, route.method, path, { token: `${READ_TOKEN}x` });
      expect(wrong.status).toBe(401);
      expect(wrong.headers.get('www-authenticate')).toContain('invalid_token');
    }
  });

  it('answers 403 to every action with the read token, and lets the admin token read', async () => {
    const { app } = await fixture();
    for (const route of app.routes.filter((r) => r.access === 'admin')) {
      const res = await call(app, 'POST', sample(route.path), { token: READ_TOKEN, body: bodyFor(route.operationId) });
      expect(res.status, route.path).toBe(403);
      expect(res.json.error.code).toBe('ERR_POOL_MANAGEMENT_FORBIDDEN');
    }
    expect((await call(app, 'GET', '/pools/main/size', { token: ADMIN_TOKEN })).status).toBe(200);
  });

  it('asks for a token before saying whether an endpoint or a pool exists', async () => {
    const { app } = await fixture();
    expect((await call(app, 'GET', '/no-such-thing', { token: null })).status).toBe(401);
    expect((await call(app, 'GET', '/pools/secret-pool-name/size', { token: null })).status).toBe(401);
  });

  it('serves the dashboard page and its assets without a token (they hold no data)', async () => {
    const { app } = await fixture();
    for (const [path, type] of [
      ['/dashboard', 'text/html'],
      ['/dashboard/app.js', 'text/javascript'],
      ['/dashboard/app.css', 'text/css'],
    ] as const) {
      const res = await call(app, 'GET', path, { token: null });
      expect(res.status).toBe(200);
      expect(res.headers.get('content-type')).toContain(type);
      expect(res.text).not.toContain(READ_TOKEN);
    }
    expect((await call(app, 'GET', '/dashboard', { token: null })).headers.get('content-security-policy')).toContain("script-src 'self'");
  });

  it('is read-only without an admin token', async () => {
    const { main } = await fixture();
    const app = createManagementApp({ pools: [main], auth: { readToken: READ_TOKEN } });
    cleanups.push(() => app.close());
    const res = await call(app, 'POST', '/pools/main/suspend', { token: READ_TOKEN });
    expect(res.status).toBe(403);
    expect(res.json.error.message).toContain('read-only');
    expect((await call(app, 'GET', '/overview')).json.readOnly).toBe(true);
  });

  it('accepts several tokens per role (rotation)', async () => {
    const { main } = await fixture();
    const app = createManagementApp({ pools: [main], auth: { readToken: [READ_TOKEN, 'another-read-token-000000'] } });
    cleanups.push(() => app.close());
    expect((await call(app, 'GET', '/pools', { token: 'another-read-token-000000' })).status).toBe(200);
  });

  it('refuses weak or missing auth configuration', async () => {
    const { main } = await fixture();
    expect(() => createManagementApp({ pools: [main] } as never)).toThrow(/auth = undefined: is required/);
    expect(() => createManagementApp({ pools: [main], auth: { readToken: 'short' } })).toThrow(InvalidConfigError);
    expect(() => createManagementApp({ pools: [main], auth: {} })).toThrow(/needs a readToken, an adminToken or both/);
    expect(() => createManagementApp({ pools: [main], auth: { readToken: READ_TOKEN, token: 'x' } as never })).toThrow(/auth.token/);
    let error: unknown;
    try {
      createManagementApp({ pools: [main], auth: { adminToken: 'tooshort-secret' } });
    } catch (e) {
      error = e;
    }
    expect(String((error as Error).message)).not.toContain('tooshort-secret');
  });

  it('with auth switched off, answers loopback clients only', async () => {
    const { main } = await fixture();
    const app = createManagementApp({ pools: [main], auth: false });
    cleanups.push(() => app.close());
    const request = () => new Request('http://localhost/pools/main/size');
    expect((await app.fetch(request(), { incoming: { socket: { remoteAddress: '127.0.0.1' } } } as never)).status).toBe(200);
    expect((await app.fetch(request(), { incoming: { socket: { remoteAddress: '::1' } } } as never)).status).toBe(200);
    const remote = await app.fetch(request(), { incoming: { socket: { remoteAddress: '10.1.2.3' } } } as never);
    expect(remote.status).toBe(403);
    expect(((await remote.json()) as { error: { message: string } }).error.message).toContain('only loopback clients');
  });
});

describe('unknown pools, partitions and routes', () => {
  it('answers 404 naming the known pools on every route with a pool', async () => {
    const { app } = await fixture();
    for (const route of app.routes.filter((r) => r.path.includes(':pool'))) {
      const path = route.path.replace(':pool', 'nope').replace(':partition', 'tenant_acme');
      const res = await call(app, route.method, path, { token: ADMIN_TOKEN, body: bodyFor(route.operationId) });
      expect(res.status, `${route.method} ${path}`).toBe(404);
      expect(res.json.error.message).toBe('No pool named "nope"; known pools: main, plain');
      expect(res.json.error.field).toBe('path.pool');
    }
  });

  it('answers 404 for an unknown partition and for a pool without a partition manager', async () => {
    const { app } = await fixture();
    const unknown = await call(app, 'GET', '/pools/main/partitions/tenant_x');
    expect(unknown.status).toBe(404);
    expect(unknown.json.error.message).toContain('known: tenant_acme, tenant_globex');
    expect((await call(app, 'POST', '/pools/main/partitions/tenant_x/drain', { token: ADMIN_TOKEN })).status).toBe(404);
    const none = await call(app, 'GET', '/pools/plain/partitions');
    expect(none.status).toBe(404);
    expect(none.json.error.message).toBe("Pool 'plain' has no partition manager configured");
  });

  it('answers 404 for unknown paths and 405 with Allow for a wrong method', async () => {
    const { app } = await fixture();
    const missing = await call(app, 'GET', '/pools/main/nothing');
    expect(missing.status).toBe(404);
    expect(missing.json.error.code).toBe('ERR_POOL_MANAGEMENT_NOT_FOUND');
    const wrong = await call(app, 'DELETE', '/pools/main');
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('GET, HEAD');
    const get = await call(app, 'GET', '/pools/main/resize', { token: ADMIN_TOKEN });
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
    expect((await call(app, 'PUT', '/dashboard', { token: null })).status).toBe(405);
  });

  it('answers HEAD like GET without a body', async () => {
    const { app } = await fixture();
    const res = await call(app, 'HEAD', '/pools/main/size');
    expect(res.status).toBe(200);
    expect(res.text).toBe('');
  });
});

describe('bad input', () => {
  it('rejects unknown and repeated query parameters and bad formats with 400 naming them', async () => {
    const { app } = await fixture();
    const unknown = await call(app, 'GET', '/pools/main/size?verbose=1');
    expect(unknown.status).toBe(400);
    expect(unknown.json.error).toMatchObject({
      field: 'query.verbose',
      message: 'query.verbose is not a parameter of this endpoint (it takes none)',
    });
    const format = await call(app, 'GET', '/metrics?format=xml');
    expect(format.status).toBe(400);
    expect(format.json.error.field).toBe('query.format');
    expect(format.json.error.message).toContain('must be one of "prometheus", "json", "csv"');
    expect((await call(app, 'GET', '/metrics?format=json&format=csv')).json.error.message).toBe('query.format is given more than once');
  });

  it('validates resize bodies and leaves the pool untouched when they are bad', async () => {
    const { app, main } = await fixture();
    const cases: [unknown, string, string][] = [
      [{}, 'body', 'must have at least 1 of: minSize, maxSize'],
      [{ maxSize: 0 }, 'body.maxSize', 'must be at least 1'],
      [{ minSize: -1 }, 'body.minSize', 'must be at least 0'],
      [{ maxSize: 2.5 }, 'body.maxSize', 'must be an integer'],
      [{ maxSize: '8' }, 'body.maxSize', 'must be a number'],
      [{ maxSize: 8, max: 9 }, 'body.max', 'is not a known field; known: minSize, maxSize'],
      [{ minSize: 9 }, 'body.minSize', 'must not exceed maxSize (4), the current maxSize'],
      [{ minSize: 3, maxSize: 2 }, 'body.minSize', 'minSize (3) must not exceed maxSize (2)'],
      [[1, 2], 'body', 'must be an object'],
      [null, 'body', 'must be an object'],
    ];
    for (const [body, field, message] of cases) {
      const res = await call(app, 'POST', '/pools/main/resize', { token: ADMIN_TOKEN, body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.json.error.field).toBe(field);
      expect(res.json.error.message).toContain(message);
      expect(res.text).not.toMatch(/at .*\.ts:\d+/);
    }
    expect(main.config.maxSize).toBe(4);
    expect(main.config.minSize).toBe(1);
  });

  it('rejects malformed JSON, non-JSON bodies, oversized bodies and fields on actions that take none', async () => {
    const { app } = await fixture({ maxBodyBytes: 256 });
    const bad = await call(app, 'POST', '/pools/main/resize', {
      token: ADMIN_TOKEN,
      rawBody: '{"maxSize":',
      headers: { 'content-type': 'application/json' },
    });
    expect(bad.status).toBe(400);
    expect(bad.json.error.message).toMatch(/^The body is not valid JSON: /);
    const form = await call(app, 'POST', '/pools/main/resize', {
      token: ADMIN_TOKEN,
      rawBody: 'maxSize=5',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
    });
    expect(form.status).toBe(415);
    const big = await call(app, 'POST', '/pools/main/resize', { token: ADMIN_TOKEN, body: { maxSize: 5, pad: 'x'.repeat(400) } });
    expect(big.status).toBe(413);
    expect(big.json.error.message).toBe('The body is larger than the 256 bytes accepted');
    const chunked = await app.fetch(
      new Request('http://localhost/pools/main/suspend', {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
        body: new ReadableStream({
          start(controller) {
            for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(' '.repeat(100)));
            controller.close();
          },
        }),
        duplex: 'half',
      } as RequestInit),
    );
    expect(chunked.status).toBe(413);
    const extra = await call(app, 'POST', '/pools/main/evict', { token: ADMIN_TOKEN, body: { force: true } });
    expect(extra.status).toBe(400);
    expect(extra.json.error.message).toBe('body.force is not a known field (this endpoint takes none)');
    const drain = await call(app, 'POST', '/pools/main/partitions/tenant_acme/drain', { token: ADMIN_TOKEN, body: { waiters: 'drop' } });
    expect(drain.status).toBe(400);
    expect(drain.json.error.message).toContain('must be one of "serve", "fail"');
  });

  it('rejects control characters in path parameters', async () => {
    const { app } = await fixture();
    const res = await call(app, 'GET', '/pools/ma%01in/size');
    expect(res.status).toBe(400);
    expect(res.json.error.field).toBe('path.pool');
  });

  it('answers 409 for actions on a closed pool', async () => {
    const { app, plain } = await fixture();
    await plain.close();
    const res = await call(app, 'POST', '/pools/plain/suspend', { token: ADMIN_TOKEN });
    expect(res.status).toBe(409);
    expect(res.json.error.code).toBe('ERR_POOL_CLOSED');
  });

  it('answers 500 without details for an unexpected failure and reports it', async () => {
    const { main } = await fixture();
    const reported: unknown[] = [];
    const broken = {
      listPartitions: () => [],
      getPartitionStatistics: () => {
        throw new Error('lost postgres://app:hunter2@db/prod');
      },
    };
    const app = appWith({ pools: { main: { pool: main, partitions: broken } }, onError: (e) => reported.push(e) });
    cleanups.push(() => app.close());
    const before = reported.length; // the history sampler reported it once already
    const res = await call(app, 'GET', '/pools/main/partition-statistics');
    expect(res.status).toBe(500);
    expect(res.json.error.message).toBe('Internal error while answering the request; the server log has the details');
    expect(res.text).not.toContain('hunter2');
    expect(reported).toHaveLength(before + 1);
    expect(String(reported.at(-1))).toContain('hunter2'); // the operator's log gets the real error
  });
});

describe('read endpoints', () => {
  it('serve what the api functions return, for every pool', async () => {
    const { app, main, plain } = await fixture();
    const conn = await main.acquire();
    expect((await call(app, 'GET', '/pools/main/size')).json).toEqual({ total: 2, idle: 1, active: 1, pending: 0, waiting: 0, limit: 4 });
    expect((await call(app, 'GET', '/pools/plain/size')).json).toEqual(plain.size());
    const stats = (await call(app, 'GET', '/pools/main/statistics')).json;
    expect(stats).toMatchObject({ name: 'main', acquired: 1, activeConnections: 1 });
    const config = (await call(app, 'GET', '/pools/main/config')).json;
    expect(config).toMatchObject({ poolName: 'main', minSize: 1, maxSize: 4, waitQueue: 'PriorityWaitQueue' });
    expect(config.factory).toMatch(/^SimulatedFactory\(seed 1/);
    const list = (await call(app, 'GET', '/pools')).json;
    expect(list.pools.map((p: { name: string }) => p.name)).toEqual(['main', 'plain']);
    expect(list.pools[0].features).toEqual({
      monitor: true,
      leakDetector: true,
      dashboard: true,
      partitions: true,
      queue: true,
      exporter: true,
      budget: false,
      adaptive: true,
      hosts: false,
    });
    expect(list.pools[1].features).toMatchObject({ monitor: true, leakDetector: false, partitions: false, queue: false, budget: false });
    const details = (await call(app, 'GET', '/pools/main')).json;
    expect(details.config.maxSize).toBe(4);
    expect(details.statistics.acquired).toBe(1);
    const connections = (await call(app, 'GET', '/pools/main/connections')).json.connections;
    expect(connections.map((c: { state: string }) => c.state).sort()).toEqual(['borrowed', 'idle']);
    const monitor = (await call(app, 'GET', '/pools/main/monitor')).json;
    expect(monitor).toMatchObject({ poolName: 'main', acquisitions: 1 });
    conn.release();
  });

  it('serve the wait queue by priority, with counters when the queue keeps them', async () => {
    const { app, main, plain, waitQueue } = await fixture();
    const held = [];
    for (let i = 0; i < 4; i++) held.push(await main.acquire());
    const waiters = [
      main.acquire({ priority: QueuePriority.Critical }),
      main.acquire({ priority: QueuePriority.Low }),
      main.acquire({ priority: QueuePriority.Low }),
    ];
    const queue = (await call(app, 'GET', '/pools/main/queue')).json;
    expect(queue).toMatchObject({
      kind: 'PriorityWaitQueue',
      reported: true,
      currentSize: 3,
      totalEnqueued: waitQueue.statistics().totalEnqueued,
    });
    expect(queue.byPriority.critical.currentSize).toBe(1);
    expect(queue.byPriority.low.currentSize).toBe(2);
    const p1 = await plain.acquire();
    const p2 = await plain.acquire();
    const w = plain.acquire({ priority: QueuePriority.High });
    const basic = (await call(app, 'GET', '/pools/plain/queue')).json;
    expect(basic).toMatchObject({ kind: 'BasicWaitQueue', reported: false, currentSize: 1, totalEnqueued: null });
    expect(basic.byPriority.high.currentSize).toBe(1);
    for (const c of held) c.release();
    for (const x of await Promise.all(waiters)) x.release();
    p1.release();
    p2.release();
    (await w).release();
  });

  it('serve partitions, their statistics and one partition', async () => {
    const { app, manager } = await fixture();
    await manager.use({ tenant: 'acme' }, async () => {});
    const list = (await call(app, 'GET', '/pools/main/partitions')).json;
    expect(list.partitions.map((p: { id: string }) => p.id)).toEqual(['tenant_acme', 'tenant_globex']);
    const stats = (await call(app, 'GET', '/pools/main/partition-statistics')).json;
    expect(stats.tenant_acme.connectionsAcquired).toBe(1);
    const one = (await call(app, 'GET', '/pools/main/partitions/tenant_acme')).json;
    expect(one.partition.type).toEqual({ kind: 'tenant', name: 'acme' });
    expect(one.statistics.connectionsReleased).toBe(1);
  });

  it('serve leaks from the detector, or from the pool flags without one', async () => {
    const { app, main, plain, leakDetector } = await fixture();
    const conn = await main.acquire({ context: { route: '/orders', password: 'hunter2' } });
    expect((await call(app, 'GET', '/pools/main/leaks')).json).toEqual({ source: 'detector', leaks: [] });
    await new Promise((r) => setTimeout(r, 80));
    leakDetector.check();
    const found = (await call(app, 'GET', '/pools/main/leaks')).json;
    expect(found.leaks).toHaveLength(1);
    expect(found.leaks[0].context).toEqual({ route: '/orders', password: '[redacted]' });
    expect((await call(app, 'GET', '/pools/plain/leaks')).json).toEqual({ source: 'pool', leaks: [] });
    conn.release();
    expect(plain.state).toBe('open');
  });

  it('serve dashboard data from the configured provider or one the app made', async () => {
    const { app } = await fixture();
    const main = (await call(app, 'GET', '/pools/main/dashboard')).json;
    expect(main.pools.map((p: { poolName: string }) => p.poolName)).toEqual(['main']);
    expect(main.partitions.map((p: { id: string }) => p.id)).toEqual(['tenant_acme', 'tenant_globex']);
    const plain = (await call(app, 'GET', '/pools/plain/dashboard')).json;
    expect(plain.pools[0].poolName).toBe('plain');
    expect(plain.partitions).toBeNull();
  });

  it('serve 404 for monitoring endpoints of a pool without a monitor', async () => {
    const { main } = await fixture();
    const app = appWith({ pools: [main], monitor: false });
    cleanups.push(() => app.close());
    expect((await call(app, 'GET', '/pools/main/monitor')).status).toBe(404);
    expect((await call(app, 'GET', '/pools/main/dashboard')).status).toBe(404);
    const overview = (await call(app, 'GET', '/overview')).json;
    expect(overview.pools[0].wait).toBeNull();
  });
});

describe('metrics', () => {
  it('negotiates JSON and CSV, and refuses Prometheus when it is not configured', async () => {
    const { app } = await fixture();
    const json = await call(app, 'GET', '/metrics');
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(json.json.pools.map((p: { poolName: string }) => p.poolName)).toEqual(['main', 'plain']);
    const csv = await call(app, 'GET', '/metrics', { headers: { accept: 'text/csv' } });
    expect(csv.headers.get('content-type')).toContain('text/csv');
    expect(csv.text.split('\r\n')[0]).toMatch(/^timestamp,pool_name,/);
    expect(csv.text.trim().split('\r\n')).toHaveLength(3);
    const prom = await call(app, 'GET', '/metrics?format=prometheus');
    expect(prom.status).toBe(406);
    expect(prom.json.error.message).toContain('prometheus: true');
    const none = await call(app, 'GET', '/metrics', { headers: { accept: 'image/png' } });
    expect(none.status).toBe(406);
    expect(
      (await call(app, 'GET', '/metrics', { headers: { accept: 'text/plain;q=0.5, text/csv;q=0.9' } })).headers.get('content-type'),
    ).toContain('text/csv');
  });

  it('serves Prometheus text from collectors it creates with prometheus: true', async () => {
    const { app } = await fixture({ prometheus: true });
    const res = await call(app, 'GET', '/metrics', {
      headers: { accept: 'application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1' },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    expect(res.text).toContain('db_client_connection_count{pool_name="main",state="idle"}');
    expect(res.text).toContain('db_client_connection_count{pool_name="plain",state="idle"}');
    expect(res.text.match(/^# TYPE db_client_connection_count /gm)).toHaveLength(1);
    expect((await call(app, 'GET', '/metrics?format=json')).json.pools).toHaveLength(2);
  });

  it('serves Prometheus text from a given source or a collector already on the monitor', async () => {
    const { main, monitor } = await fixture();
    const registry = new Registry();
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const viaMonitor = appWith({ pools: { main: { pool: main, monitor } } });
    const viaRegistry = appWith({ pools: { main: { pool: main, monitor } }, prometheus: registry });
    cleanups.push(
      () => viaMonitor.close(),
      () => viaRegistry.close(),
    );
    for (const app of [viaMonitor, viaRegistry]) {
      const res = await call(app, 'GET', '/metrics');
      expect(res.status).toBe(200);
      expect(res.text).toContain('db_client_connection_max{pool_name="main"} 4');
    }
  });

  it('exports one pool through its exporter, or as JSON or CSV of its monitor', async () => {
    const { app } = await fixture();
    const csv = await call(app, 'GET', '/pools/main/export');
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const json = await call(app, 'GET', '/pools/plain/export');
    expect(json.json.pools.map((p: { poolName: string }) => p.poolName)).toEqual(['plain']);
    const forced = await call(app, 'GET', '/pools/main/export?format=json');
    expect(forced.json.pools[0].poolName).toBe('main');
  });
});

describe('operator actions', () => {
  it('resizes, and the new bounds are what the config reports', async () => {
    const { app, main } = await fixture();
    const res = await call(app, 'POST', '/pools/main/resize', { token: ADMIN_TOKEN, body: { minSize: 0, maxSize: 6 } });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ minSize: 0, maxSize: 6 });
    expect(main.config.maxSize).toBe(6);
    expect((await call(app, 'GET', '/pools/main/config')).json.maxSize).toBe(6);
  });

  it('soft-evicts idle connections and retires borrowed ones on return', async () => {
    const { app, main } = await fixture();
    const conn = await main.acquire();
    const res = await call(app, 'POST', '/pools/main/evict', { token: ADMIN_TOKEN });
    expect(res.json.evicted).toBe(1);
    conn.release();
    expect(main.statistics().destroyedByReason.evicted).toBe(2);
  });

  it('suspends and resumes acquisition', async () => {
    const { app, main } = await fixture();
    expect((await call(app, 'POST', '/pools/main/suspend', { token: ADMIN_TOKEN, body: {} })).json.suspended).toBe(true);
    let served = false;
    const waiting = main.acquire().then((c) => {
      served = true;
      return c;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(served).toBe(false);
    expect((await call(app, 'GET', '/pools')).json.pools[0].suspended).toBe(true);
    expect((await call(app, 'POST', '/pools/main/resume', { token: ADMIN_TOKEN })).json.suspended).toBe(false);
    (await waiting).release();
    expect(served).toBe(true);
  });

  it('drains a partition: 202 at once, then it is gone when its borrows are back', async () => {
    const { app, manager } = await fixture();
    const conn = await manager.acquire({ tenant: 'globex' });
    const res = await call(app, 'POST', '/pools/main/partitions/tenant_globex/drain', { token: ADMIN_TOKEN, body: { waiters: 'fail' } });
    expect(res.status).toBe(202);
    expect(res.json).toEqual({ partition: 'tenant_globex', state: 'draining', waiters: 'fail' });
    expect((await call(app, 'GET', '/pools/main/partitions/tenant_globex')).json.partition.state).toBe('draining');
    conn.release();
    await new Promise((r) => setTimeout(r, 10));
    expect((await call(app, 'GET', '/pools/main/partitions/tenant_globex')).status).toBe(404);
  });
});

describe('redaction', () => {
  it('never shows an adapter connection string password, in configs or anywhere else', async () => {
    const factory = pgFactory('postgres://app:hunter2-pg@127.0.0.1:5432/test?sslmode=disable');
    const pool = ConnectionPool.open({ minSize: 0, initialSize: 0 }, factory, { name: 'pg' });
    const app = appWith({ pools: [pool], secrets: ['sekrit-extra'] });
    cleanups.push(
      () => app.close(),
      () => pool.close(),
    );
    const config = await call(app, 'GET', '/pools/pg/config');
    expect(config.json.factory).toContain('127.0.0.1:5432/test');
    for (const route of app.routes.filter((r) => r.method === 'GET' && !r.path.includes(':partition'))) {
      const res = await call(app, 'GET', sample(route.path).replace('/main', '/pg'));
      expect(res.text, route.path).not.toContain('hunter2');
      expect(res.text).not.toContain(READ_TOKEN);
    }
  });

  it('redacts credentials a custom factory or a borrow context carries', async () => {
    const factory = {
      config: { password: 'factory-pass' },
      create: async () => ({}),
      close: async () => {},
      toString: () => 'MyFactory(mysql://root:rootpw@db:3306/app, password=pw123)',
    };
    const pool = await ConnectionPool.create({ minSize: 0, initialSize: 0, closeTimeoutMs: 200 }, factory, { name: 'custom' });
    const app = appWith({ pools: [pool] });
    cleanups.push(
      () => app.close(),
      () => pool.close(),
    );
    const conn = await pool.acquire({ context: { dsn: 'Server=db;Password=x', apiKey: 'k', note: 'token=abc123 sekrit' } });
    const config = (await call(app, 'GET', '/pools/custom/config')).json;
    expect(config.factory).toBe('MyFactory(mysql://root:[redacted]@db:3306/app, password=[redacted])');
    const connections = (await call(app, 'GET', '/pools/custom/connections')).text;
    for (const secret of ['factory-pass', 'rootpw', 'pw123', 'Password=x', '"k"', 'abc123'])
      expect(connections + JSON.stringify(config)).not.toContain(secret);
    conn.release();
  });
});

describe('CORS', () => {
  it('sends no CORS headers unless configured, then only to the configured origins', async () => {
    const { app } = await fixture();
    const plain = await call(app, 'GET', '/pools', { headers: { origin: 'https://evil.example' } });
    expect(plain.headers.get('access-control-allow-origin')).toBeNull();
    const { app: withCors } = await fixture({ cors: { origins: ['https://ops.example.com'] } });
    const preflight = await call(withCors, 'OPTIONS', '/pools/main/resize', {
      token: null,
      headers: {
        origin: 'https://ops.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization,content-type',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    const other = await call(withCors, 'GET', '/pools', { headers: { origin: 'https://evil.example' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
    expect(() => appWith({ pools: [] as never, cors: { origins: ['*'] } })).toThrow(InvalidConfigError);
  });
});

describe('OpenAPI document', () => {
  it('is a valid OpenAPI 3.1 document (checked by an OpenAPI schema validator)', async () => {
    const { app } = await fixture();
    const doc = (await call(app, 'GET', '/openapi.json')).json;
    const validator = new Validator();
    const result = await validator.validate(doc);
    expect(result.errors ?? [], JSON.stringify(result.errors)).toEqual([]);
    expect(result.valid).toBe(true);
    expect(validator.version).toBe('3.1');
    // Generated from the request schemas: the strict resize body and its bounds are in it.
    expect(doc.components.schemas.ResizeRequest).toMatchObject({
      type: 'object',
      additionalProperties: false,
      properties: { maxSize: { type: 'integer', minimum: 1 } },
    });
    expect(doc.paths['/pools/{pool}/resize'].post['x-access']).toBe('admin');
  });

  it('lists exactly the routes the app serves', async () => {
    const { app } = await fixture();
    const doc = (await call(app, 'GET', '/openapi.json')).json;
    expect(doc.openapi).toBe('3.1.0');
    const documented = Object.entries(doc.paths as Record<string, Record<string, unknown>>)
      .flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`))
      .sort();
    // Every route hono answers (its validators are registered under the same method and path).
    const served = [...new Set(app.hono.routes.filter((r) => r.method !== 'ALL').map((r) => `${r.method} ${openApiPath(r.path)}`))].sort();
    expect(served).toEqual(documented);
    expect(served.length).toBe(app.routes.length);
  });

  it('every documented route answers as documented with valid input, and its body matches its schema', async () => {
    const { app, manager } = await fixture({}, true);
    await manager.use({ tenant: 'acme' }, async () => {});
    const doc = app.openapi as { paths: Record<string, Record<string, unknown>> };
    const components = schemas as unknown as Record<string, { safeParse(v: unknown): { success: boolean; error?: unknown } }>;
    for (const [path, ops] of Object.entries(doc.paths)) {
      for (const [method, op] of Object.entries(ops) as [
        string,
        { operationId: string; responses: Record<string, { content?: Record<string, { schema: { $ref?: string } }> }> },
      ][]) {
        const concrete = path.replace(/\{(\w+)\}/g, (_m, name: string) => SAMPLE[name] as string);
        const res = await call(app, method.toUpperCase(), concrete, {
          token: ADMIN_TOKEN,
          body: method === 'post' ? bodyFor(op.operationId) : undefined,
        });
        const success = Object.keys(op.responses).find((s) => s.startsWith('2')) as string;
        expect(String(res.status), `${method} ${path}: ${res.text.slice(0, 200)}`).toBe(success);
        const ref = op.responses[success]?.content?.['application/json']?.schema.$ref;
        if (ref !== undefined) {
          const name = ref.replace('#/components/schemas/', '');
          const schema = components[name === 'Error' ? 'ErrorBody' : name];
          expect(schema, ref).toBeDefined();
          const result = schema?.safeParse(res.json);
          expect(result?.success, `${method} ${path}: ${JSON.stringify(result?.error)}`).toBe(true);
        }
      }
    }
  });
});

describe('options', () => {
  it('reject unknown keys, bad pools and duplicate names', async () => {
    const { main, plain } = await fixture();
    const auth = { readToken: READ_TOKEN };
    expect(() => createManagementApp({ pools: [main], auth, port: 1 } as never)).toThrow(/port = .*is not a management option/);
    expect(() => createManagementApp({ pools: [], auth })).toThrow(/must name at least one pool/);
    expect(() => createManagementApp({ pools: { a: main, b: { pool: main } }, auth })).toThrow(/listed twice/);
    expect(() => createManagementApp({ pools: [main, { pool: plain, name: 'main' }], auth })).toThrow(/names must be unique/);
    expect(() => createManagementApp({ pools: { 'a/b': main }, auth })).toThrow(/must not contain U\+002F at index 1/);
    expect(() => createManagementApp({ pools: [{ pool: main, monitor: {} as never }], auth })).toThrow(/must be a PoolMonitor/);
    const foreign = new PoolMonitor(plain);
    cleanups.push(() => foreign.close());
    expect(() => createManagementApp({ pools: [{ pool: main, monitor: foreign }], auth })).toThrow(/does not watch pool 'main'/);
    expect(() => createManagementApp({ pools: [main], auth, basePath: '/admin/' })).toThrow(/basePath/);
  });

  it('serves every route under basePath', async () => {
    const { main } = await fixture();
    const app: ManagementApp = appWith({ pools: [main], basePath: '/admin' });
    cleanups.push(() => app.close());
    expect((await call(app, 'GET', '/admin/pools/main/size')).status).toBe(200);
    const outside = await call(app, 'GET', '/pools/main/size');
    expect(outside.status).toBe(404);
    expect(outside.json.error.code).toBe('ERR_POOL_MANAGEMENT_NOT_FOUND');
    const bad = await call(app, 'POST', '/admin/pools/main/resize', { token: ADMIN_TOKEN, body: { maxSize: -1 } });
    expect(bad.status).toBe(400);
    expect(bad.json.error.field).toBe('body.maxSize');
    expect((app.openapi as { servers: unknown }).servers).toEqual([{ url: '/admin' }]);
  });
});
