import { ConnectionPool, ConnectionTimeoutError, isPoolError } from '@pool/core';
import { type MysqlConnection, mysqlFactory } from '@pool/mysql';
import { mariadbdPath, PrivateMariadb } from '@pool/test-servers';
import mysql from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorKind, isClearError, Load, sleep } from '../support/load.js';
import { report as report_ } from '../support/report.js';

/**
 * A MariaDB server stopped (SIGTERM) or killed (SIGKILL) under load and started again on the same
 * port. The server is a private `mariadbd` started by this file on its own data directory (never the
 * shared one on 3306, which other packages' tests use at the same time), so every session on it is
 * ours and `Threads_connected` counts them.
 */

const ACQUIRE_TIMEOUT = 1_500;
const QUERY_TIMEOUT = 2_000;
const MAX_SIZE = 6;
// A call may wait for a connection, then run a query: beyond both bounds (plus generous scheduling
// slack on a busy 2-core machine) it is hung.
const CALL_BOUND = ACQUIRE_TIMEOUT + QUERY_TIMEOUT + 4_000;

const binary = mariadbdPath();
if (binary === null) {
  console.warn('mysql-restart.test.ts skipped: no mariadbd binary (looked in /usr/sbin, /usr/libexec and on the PATH)');
}

let server: PrivateMariadb | undefined;

/** Sessions on the private server other than the asking one (`Threads_connected` − 1). */
async function sessions(url: string): Promise<number> {
  const admin = await mysql.createConnection(url);
  try {
    const [rows] = await admin.query("SHOW GLOBAL STATUS LIKE 'Threads_connected'");
    return Number((rows as { Value: string }[])[0]?.Value ?? Number.NaN) - 1;
  } finally {
    await admin.end();
  }
}

/** Polls until no session of ours is left on the server (they end asynchronously); returns the last count. */
async function sessionsAfterClose(url: string): Promise<number> {
  let left = -1;
  for (let i = 0; i < 50 && left !== 0; i++) {
    left = await sessions(url);
    if (left !== 0) await sleep(100);
  }
  return left;
}

const outages = {
  'stopped (SIGTERM, a normal shutdown)': (db: PrivateMariadb) => db.stop(),
  'killed (SIGKILL, a crash)': (db: PrivateMariadb) => db.crash(),
} as const;

describe.skipIf(binary === null)('MariaDB restarted mid-load (private mariadbd)', () => {
  beforeAll(async () => {
    server = await PrivateMariadb.start();
  }, 120_000);

  afterAll(async () => {
    await server?.destroy();
  }, 60_000);

  for (const [how, outage] of Object.entries(outages)) {
    it(`${how} for 1.5 s, then started again: clear errors, every call bounded, heals without an app restart, leaks nothing`, async () => {
      const db = server as PrivateMariadb;
      const pool = await ConnectionPool.create(
        { minSize: 2, maxSize: MAX_SIZE, acquireTimeoutMs: ACQUIRE_TIMEOUT, createTimeoutMs: 1_000, createRetryMaxDelayMs: 1_000 },
        mysqlFactory(db.url, {}),
        { name: 'reliability-mysql-restart' },
      );
      pool.on('error', () => {});
      const createErrors: number[] = [];
      pool.on('createError', () => createErrors.push(performance.now()));
      // The pool's own books, sampled all along: every connection it holds was created and not yet
      // destroyed, and it never holds or opens more than maxSize.
      const bookErrors: string[] = [];
      const sampler = setInterval(() => {
        const s = pool.statistics();
        const size = pool.size();
        if (s.connectionsCreated - s.connectionsDestroyed !== size.total) {
          bookErrors.push(`created ${s.connectionsCreated} - destroyed ${s.connectionsDestroyed} != total ${size.total}`);
        }
        if (size.total + size.pending > MAX_SIZE) bookErrors.push(`total ${size.total} + pending ${size.pending} > ${MAX_SIZE}`);
      }, 25);
      const load = new Load(
        8,
        () => pool.use((c: MysqlConnection) => c.query({ sql: 'SELECT SLEEP(0.005)', timeout: QUERY_TIMEOUT })),
        CALL_BOUND,
      ).start();
      try {
        expect(await load.until(() => load.okSince(0) >= 20, 20_000), 'load runs before the outage').toBe(true);

        const outageStart = performance.now();
        await outage(db);
        await sleep(1_500);
        await db.startAgain();
        const outageEnd = performance.now();

        // Heals on its own: calls succeed again without anyone recreating the pool.
        expect(await load.until(() => load.okSince(outageEnd) >= 20, 30_000), 'calls succeed again after the restart').toBe(true);
        // The server never sees more of our sessions than maxSize.
        expect(await sessions(db.url), 'sessions on the server under load').toBeLessThanOrEqual(MAX_SIZE);
        const result = await load.stop();

        const kinds: Record<string, number> = {};
        const timeoutCauses: Record<string, number> = {};
        for (const o of result.outcomes) {
          if (o.ok) continue;
          kinds[errorKind(o.error)] = (kinds[errorKind(o.error)] ?? 0) + 1;
          if (o.error instanceof ConnectionTimeoutError) {
            const cause = o.error.cause === undefined ? 'none' : errorKind(o.error.cause);
            timeoutCauses[cause] = (timeoutCauses[cause] ?? 0) + 1;
          }
        }
        const stats = pool.statistics();
        report_(`mariadb ${how}`, {
          calls: result.outcomes.length,
          errors: kinds,
          timeoutCauses,
          destroyed: stats.destroyedByReason,
          createErrors: createErrors.length,
          slowestCallMs: Math.round(Math.max(...result.outcomes.map((o) => o.durationMs))),
        });
        expect(result.hung, 'calls that ran past every deadline').toBe(0);
        expect(result.stuck).toBe(0);
        expect(load.errorsBetween(outageStart, outageEnd).length, 'callers saw errors during the outage').toBeGreaterThan(0);
        const unclear = result.outcomes.filter((o) => !o.ok && !isClearError(o.error)).map((o) => errorKind(o.error));
        expect(unclear, 'errors that are not clear (TypeError, no message...)').toEqual([]);
        // Waiting callers get the pool's timeout, after exactly the time they asked for.
        for (const o of result.outcomes) {
          if (o.error instanceof ConnectionTimeoutError) expect(o.error.timeoutMs).toBe(ACQUIRE_TIMEOUT);
        }
        expect(
          result.outcomes.some((o) => !o.ok && isPoolError(o.error)),
          'some callers got a PoolError',
        ).toBe(true);
        // No busy loop: reconnect attempts are spaced by the backoff (a loop without one makes hundreds a second).
        const perSecond = new Map<number, number>();
        for (const t of createErrors) perSecond.set(Math.floor(t / 1000), (perSecond.get(Math.floor(t / 1000)) ?? 0) + 1);
        expect(Math.max(0, ...perSecond.values()), 'failed connects in any one second').toBeLessThanOrEqual(5 * MAX_SIZE);
        // Connections cut by the outage were retired and replaced, not handed out again.
        expect(stats.destroyedByReason.broken + stats.destroyedByReason.destroyed, 'connections retired').toBeGreaterThan(0);
      } finally {
        await load.stop();
        clearInterval(sampler);
        await pool.close();
      }
      expect(bookErrors, "the pool's books while the server went down and came back").toEqual([]);
      const s = pool.statistics();
      expect(s.connectionsCreated, 'every connection object opened was closed').toBe(s.connectionsDestroyed);
      expect(s.acquired).toBe(s.released);
      expect(pool.size()).toMatchObject({ total: 0, pending: 0 });
      expect(await sessionsAfterClose(db.url), 'sessions left on the server after close').toBe(0);
    }, 60_000);
  }

  for (const [how, outage] of Object.entries(outages)) {
    it(`${how} and started again while connections are idle: the next caller gets a working connection`, async () => {
      const db = server as PrivateMariadb;
      const pool = await ConnectionPool.create(
        { minSize: 3, maxSize: 4, acquireTimeoutMs: 10_000, createRetryMaxDelayMs: 500 },
        mysqlFactory(db.url, {}),
      );
      try {
        expect(await sessions(db.url)).toBe(3);
        await outage(db);
        await db.startAgain();
        // The idle sessions ended with the old server: they are retired, not handed out.
        const [rows] = await pool.use((c: MysqlConnection) => c.query('SELECT 1 AS one'));
        expect((rows as { one: number }[])[0]?.one).toBe(1);
        const s = pool.statistics();
        expect(s.destroyedByReason.broken, 'idle connections cut by the outage were retired').toBe(3);
        expect(s.acquireFailures).toBe(0);
      } finally {
        await pool.close();
      }
      const s = pool.statistics();
      expect(s.connectionsCreated).toBe(s.connectionsDestroyed);
      expect(await sessionsAfterClose(db.url), 'sessions left on the server after close').toBe(0);
    }, 60_000);
  }
});
