import { ConnectionPool } from '@pool/core';
import { createManagementApp, type ManagementApp } from '@pool/management';
import { LeakDetector, PoolMonitor } from '@pool/monitoring';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { pgFactory } from '@pool/pg';
import { PriorityWaitQueue } from '@pool/queue';
import { SimulatedFactory } from '@pool/testkit';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Management API fuzzing: random methods, paths (real route templates with random parameters, and
 * junk), headers (missing, malformed, read and admin tokens, odd content types and accept headers),
 * query strings and bodies (random JSON, random text, oversized). Whatever arrives, the app answers a
 * 2xx or a 4xx, never a 5xx; every error is the documented JSON body; no response carries a credential
 * (the PostgreSQL password in the factory's URL, or either token); and the pools stay consistent.
 *
 * Deterministic by default (fixed seed); explore with FC_SEED / FC_RUNS.
 */

const READ_TOKEN = 'fuzz-read-token-0123456789';
const ADMIN_TOKEN = 'fuzz-admin-token-0123456789';
const DB_PASSWORD = 'hunter2-do-not-leak';
const SECRETS = [DB_PASSWORD, READ_TOKEN, ADMIN_TOKEN];

const seed = process.env.FC_SEED === undefined ? 20_261_127 : Number(process.env.FC_SEED);
const numRuns = Number(process.env.FC_RUNS ?? 400);

let app: ManagementApp;
let withPassword: ConnectionPool<unknown>;
let simulated: ConnectionPool<unknown>;
const closers: (() => unknown)[] = [];

beforeAll(async () => {
  // Never connects (initialSize 0, nothing acquires it): it is here for its credential-bearing factory.
  withPassword = ConnectionPool.open(
    { minSize: 0, maxSize: 2, closeTimeoutMs: 100 },
    pgFactory(`postgres://app:${DB_PASSWORD}@127.0.0.1:1/app`),
    { name: 'secret' },
  ) as ConnectionPool<unknown>;
  simulated = (await ConnectionPool.create(
    { minSize: 1, maxSize: 4, initialSize: 1, enablePartitioning: true, closeTimeoutMs: 100 },
    new SimulatedFactory(),
    { name: 'main', waitQueue: new PriorityWaitQueue() },
  )) as ConnectionPool<unknown>;
  const monitor = new PoolMonitor(simulated);
  const leakDetector = new LeakDetector({ thresholdMs: 1_000, pools: simulated, warn: false });
  const manager = new PartitionManager({ pool: simulated, routing: RoutingStrategy.TenantBased });
  manager.createPartition('tenant_acme', PartitionType.Tenant('acme'), { maxConnections: 2, minConnections: 1 });
  app = createManagementApp({
    pools: { main: { pool: simulated, monitor, leakDetector, partitions: manager }, secret: withPassword },
    auth: { readToken: READ_TOKEN, adminToken: ADMIN_TOKEN },
    maxBodyBytes: 4_096,
    // Every fuzzed request comes through app.fetch without a client address, so all share one
    // failed-authentication budget: off here, or the wrong tokens would turn the rest into 429s.
    authFailureLimit: false,
  });
  closers.push(
    () => app.close(),
    () => manager.close(),
    () => leakDetector.close(),
    () => monitor.close(),
    () => simulated.close(),
    () => withPassword.close(),
  );
});

afterAll(async () => {
  for (const close of closers) await close();
});

const segment = fc.oneof(
  fc.constantFrom('main', 'secret', 'tenant_acme', 'nope', '', '..', '%00', '%2e%2e', 'ma%69n', '🦄', 'a'.repeat(300)),
  fc.string({ maxLength: 12 }).map((s) => encodeURIComponent(s)),
);

function pathFrom(template: string, values: string[]): string {
  let i = 0;
  return template.replace(/:[a-zA-Z]+/g, () => values[i++ % values.length] ?? 'x');
}

const anyMethod = fc.constantFrom('GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'HEAD', 'OPTIONS', 'get', 'TRACE');

const target = (routes: readonly { method: string; path: string }[]) =>
  fc.oneof(
    // Plausible: a real route with its own method and real names, so auth and validation are reached.
    {
      weight: 3,
      arbitrary: fc.constantFrom(...routes).map((r) => ({ method: r.method, path: pathFrom(r.path, ['main', 'tenant_acme']) })),
    },
    // A real route shape with random names and any method.
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...routes), fc.array(segment, { minLength: 1, maxLength: 3 }), anyMethod)
        .map(([r, v, method]) => ({ method, path: pathFrom(r.path, v) })),
    },
    // Junk.
    {
      weight: 1,
      arbitrary: fc
        .tuple(anyMethod, fc.array(segment, { maxLength: 5 }))
        .map(([method, parts]) => ({ method, path: `/${parts.join('/')}` })),
    },
  );

const request = (routes: readonly { method: string; path: string }[]) =>
  fc.record({
    target: target(routes),
    query: fc.oneof(
      fc.constant(''),
      fc.constantFrom('?format=json', '?format=csv', '?format=prometheus', '?format=xml', '?minSize=-1', '?x=%zz', '?format='),
      fc.dictionary(fc.string({ maxLength: 6 }), fc.string({ maxLength: 10 }), { maxKeys: 3 }).map((d) => `?${new URLSearchParams(d)}`),
    ),
    auth: fc.constantFrom('read', 'admin', 'none', 'wrong', 'malformed', 'basic', 'empty'),
    contentType: fc.constantFrom(
      undefined,
      'application/json',
      'text/plain',
      'application/json; charset=utf-8',
      'multipart/form-data',
      '*/*',
    ),
    accept: fc.constantFrom(undefined, 'application/json', 'text/csv', 'text/plain', 'application/xml', '*/*', 'image/png;q=0.9'),
    body: fc.oneof(
      fc.constant(undefined),
      fc.jsonValue().map((v) => JSON.stringify(v)),
      fc
        .record(
          {
            minSize: fc.oneof(fc.integer({ min: -5, max: 8 }), fc.jsonValue()),
            maxSize: fc.oneof(fc.integer({ min: -5, max: 8 }), fc.jsonValue()),
          },
          { requiredKeys: [] },
        )
        .map((v) => JSON.stringify(v)),
      fc.string({ maxLength: 200 }),
      fc.constant('{"maxSize": 3'),
      fc.constant('x'.repeat(10_000)),
    ),
  });

function authHeader(kind: string): string | undefined {
  switch (kind) {
    case 'read':
      return `Bearer ${READ_TOKEN}`;
    case 'admin':
      return `Bearer ${ADMIN_TOKEN}`;
    case 'wrong':
      return 'Bearer wrong-token-0123456789abcdef';
    case 'malformed':
      return 'Bearer';
    case 'basic':
      return `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString('base64')}`;
    case 'empty':
      return '';
    default:
      return undefined;
  }
}

describe('management API fuzzing', () => {
  it('answers anything with a 2xx or a 4xx, a JSON error body, and no credential; the pools stay consistent', async () => {
    expect(app.routes.length).toBeGreaterThan(15);
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request(app.routes), async (r) => {
        const { method: rawMethod, path } = r.target;
        const headers: Record<string, string> = {};
        const auth = authHeader(r.auth);
        if (auth !== undefined) headers.authorization = auth;
        if (r.contentType !== undefined) headers['content-type'] = r.contentType;
        if (r.accept !== undefined) headers.accept = r.accept;
        const method = rawMethod.toUpperCase();
        const hasBody = r.body !== undefined && method !== 'GET' && method !== 'HEAD';
        let response: Response;
        try {
          response = await app.fetch(
            new Request(`http://127.0.0.1${path}${r.query}`, { method, headers, ...(hasBody ? { body: r.body as string } : {}) }),
          );
        } catch (error) {
          // The Request constructor itself refuses some methods (TRACE); that is not the app's doing.
          if (error instanceof TypeError && method === 'TRACE') return;
          throw error;
        }
        const text = method === 'HEAD' ? '' : await response.text();
        statuses.set(response.status, (statuses.get(response.status) ?? 0) + 1);
        expect(response.status, `${method} ${path}${r.query} -> ${response.status}: ${text.slice(0, 200)}`).toBeLessThan(500);
        for (const secret of SECRETS) {
          expect(text.includes(secret), `${method} ${path} leaked a credential`).toBe(false);
          for (const [, value] of response.headers) expect(value.includes(secret)).toBe(false);
        }
        if (response.status >= 400 && method !== 'HEAD') {
          expect(response.headers.get('content-type') ?? '').toMatch(/application\/json/);
          const body = JSON.parse(text) as { error?: { status?: unknown; code?: unknown; message?: unknown } };
          expect(body.error?.status).toBe(response.status);
          expect(typeof body.error?.code).toBe('string');
          expect(typeof body.error?.message).toBe('string');
          expect(String(body.error?.message)).not.toMatch(/\n\s+at /); // never a stack trace
        }
        // Whatever the operator actions did (resize, evict, suspend, resume), the pool is consistent.
        for (const pool of [simulated, withPassword]) {
          const s = pool.statistics();
          expect(s.connectionsCreated - s.connectionsDestroyed).toBe(s.totalConnections);
          expect(s.totalConnections + s.pendingCreates).toBeLessThanOrEqual(pool.config.maxSize);
        }
      }),
      { seed, numRuns },
    );
    // The fuzzer reached the interesting answers, not only 404s.
    for (const status of [200, 400, 401, 403, 404, 405]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    // After the storm, the simulated pool still serves (it may have been suspended by a fuzzed action).
    if (simulated.suspended) simulated.resume();
    const conn = await simulated.acquire({ timeoutMs: 2_000 });
    conn.release();
  }, 120_000);
});
