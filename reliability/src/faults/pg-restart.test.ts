import { ConnectionPool, ConnectionTimeoutError, isPoolError } from '@pool/core';
import { type PgConnection, pgFactory } from '@pool/pg';
import { PrivatePostgres } from '@pool/test-servers';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorKind, isClearError, Load, sleep } from '../support/load.js';
import { report as report_ } from '../support/report.js';

/**
 * A PostgreSQL server restarted under load. The server is a private cluster started for this file
 * (never the shared one on 5432, which other packages' tests use at the same time).
 */

const ACQUIRE_TIMEOUT = 1_500;
const QUERY_TIMEOUT = 2_000;
const MAX_SIZE = 6;
// A call may wait for a connection, then run a query: beyond both bounds (plus generous scheduling
// slack on a busy 2-core machine) it is hung.
const CALL_BOUND = ACQUIRE_TIMEOUT + QUERY_TIMEOUT + 4_000;

let server: PrivatePostgres | undefined;

beforeAll(async () => {
  server = await PrivatePostgres.start();
}, 120_000);

afterAll(async () => {
  await server?.destroy();
}, 120_000);

async function backends(url: string, applicationName: string): Promise<number> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
    return rows[0]?.n ?? -1;
  } finally {
    await admin.end();
  }
}

describe('PostgreSQL restarted mid-load', () => {
  it('gives callers clear errors during the outage, bounds every call, heals without an app restart and leaks nothing', async () => {
    const pgServer = server as PrivatePostgres;
    const applicationName = `rel_restart_${process.pid}`;
    const factory = pgFactory({ connectionString: pgServer.url, application_name: applicationName, query_timeout: QUERY_TIMEOUT });
    const pool = await ConnectionPool.create(
      { minSize: 2, maxSize: MAX_SIZE, acquireTimeoutMs: ACQUIRE_TIMEOUT, createTimeoutMs: 1_000, createRetryMaxDelayMs: 1_000 },
      factory,
      { name: 'reliability-pg-restart' },
    );
    const createErrors: number[] = [];
    const destroyed: Record<string, number> = {};
    pool.on('createError', () => createErrors.push(performance.now()));
    pool.on('destroy', ({ reason }) => {
      destroyed[reason] = (destroyed[reason] ?? 0) + 1;
    });
    const load = new Load(8, () => pool.use((c: PgConnection) => c.query('SELECT pg_sleep(0.005)')), CALL_BOUND).start();
    try {
      expect(await load.until(() => load.okSince(0) >= 20, 20_000), 'load runs before the restart').toBe(true);

      const outageStart = performance.now();
      await pgServer.stop();
      await sleep(1_500);
      await pgServer.startAgain();
      const outageEnd = performance.now();

      // Heals on its own: calls succeed again without anyone recreating the pool.
      expect(await load.until(() => load.okSince(outageEnd) >= 20, 30_000), 'calls succeed again after the restart').toBe(true);
      const report = await load.stop();

      const kinds: Record<string, number> = {};
      for (const o of report.outcomes) if (!o.ok) kinds[errorKind(o.error)] = (kinds[errorKind(o.error)] ?? 0) + 1;
      const slowest = Math.max(...report.outcomes.map((o) => o.durationMs));
      report_('postgresql restart', {
        calls: report.outcomes.length,
        errors: kinds,
        destroyed,
        createErrors: createErrors.length,
        slowestCallMs: Math.round(slowest),
      });
      expect(report.hung, 'calls that ran past every deadline').toBe(0);
      expect(report.stuck).toBe(0);
      const during = load.errorsBetween(outageStart, outageEnd);
      expect(during.length, 'callers saw errors during the outage').toBeGreaterThan(0);
      const unclear = report.outcomes.filter((o) => !o.ok && !isClearError(o.error)).map((o) => errorKind(o.error));
      expect(unclear, 'errors that are not clear (TypeError, no message...)').toEqual([]);
      // Waiting callers get the pool's timeout, carrying the connect error as cause.
      const timeouts = report.outcomes.filter((o) => o.error instanceof ConnectionTimeoutError);
      for (const o of timeouts) expect((o.error as ConnectionTimeoutError).timeoutMs).toBe(ACQUIRE_TIMEOUT);
      expect(
        report.outcomes.some((o) => !o.ok && isPoolError(o.error)),
        'some callers got a PoolError',
      ).toBe(true);

      // No busy loop: reconnect attempts are spaced by the backoff (a loop without one makes hundreds a second).
      const perSecond = new Map<number, number>();
      for (const t of createErrors) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
      expect(Math.max(0, ...perSecond.values()), 'failed connects in any one second').toBeLessThanOrEqual(5 * MAX_SIZE);

      // The server never sees more of our sessions than maxSize.
      expect(await backends(pgServer.url, applicationName)).toBeLessThanOrEqual(MAX_SIZE);
      // Connections killed by the restart were replaced, not reused.
      expect((destroyed.broken ?? 0) + (destroyed.destroyed ?? 0)).toBeGreaterThan(0);
    } finally {
      await load.stop();
      await pool.close();
    }
    const stats = pool.statistics();
    expect(stats.connectionsCreated, 'every connection object opened was closed').toBe(stats.connectionsDestroyed);
    expect(stats.acquired).toBe(stats.released);
    // Nothing left on the server once the pool is closed (backends exit asynchronously: poll briefly).
    let left = -1;
    for (let i = 0; i < 50 && left !== 0; i++) {
      left = await backends(pgServer.url, applicationName);
      if (left !== 0) await sleep(100);
    }
    expect(left, 'sessions left on the server after close').toBe(0);
  }, 90_000);

  it('restarts with pg_ctlcluster restart while connections are idle: the next caller gets a working connection', async () => {
    const pgServer = server as PrivatePostgres;
    const applicationName = `rel_restart_idle_${process.pid}`;
    const factory = pgFactory({ connectionString: pgServer.url, application_name: applicationName, query_timeout: QUERY_TIMEOUT });
    const pool = await ConnectionPool.create({ minSize: 3, maxSize: 4, acquireTimeoutMs: 10_000, createRetryMaxDelayMs: 500 }, factory);
    try {
      await pgServer.restart();
      // The idle clients got an 'error' from the server's shutdown: they are retired, not handed out.
      const { rows } = await pool.use((c: PgConnection) => c.query<{ one: number }>('SELECT 1 AS one'));
      expect(rows[0]?.one).toBe(1);
      const s = pool.statistics();
      expect(s.destroyedByReason.broken, 'idle connections killed by the restart were retired').toBeGreaterThan(0);
      expect(s.acquireFailures).toBe(0);
    } finally {
      await pool.close();
    }
    const s = pool.statistics();
    expect(s.connectionsCreated).toBe(s.connectionsDestroyed);
  }, 90_000);
});
