import { type ConnectionFactory, ConnectionPool, ConnectionTimeoutError, type CreateContext, type OperationContext } from '@pool/core';
import { type MysqlConnection, mysqlFactory } from '@pool/mysql';
import mysql from 'mysql2/promise';
import { afterEach, describe, expect, it } from 'vitest';
import { errorKind, isClearError, Load, sleep } from '../support/load.js';
import { report } from '../support/report.js';

/**
 * MariaDB kills of this test's own sessions on the shared server: the factory is wrapped to record the
 * thread id of every connection it opens, and only those ids are ever killed (other packages' tests
 * use the same server at the same time).
 */

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const ACQUIRE_TIMEOUT = 1_500;
const MAX_SIZE = 6;
const pools: ConnectionPool<MysqlConnection>[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

/** mysqlFactory, plus the thread ids of the sessions it opened (all of them, and those still open). */
function recordingFactory(): { factory: ConnectionFactory<MysqlConnection>; everOpened: Set<number>; open: Set<number> } {
  const inner = mysqlFactory(MYSQL_URL, {});
  const everOpened = new Set<number>();
  const open = new Set<number>();
  const factory: ConnectionFactory<MysqlConnection> = {
    async create(ctx: CreateContext) {
      const conn = await inner.create(ctx);
      if (conn.threadId !== null) {
        everOpened.add(conn.threadId);
        open.add(conn.threadId);
      }
      return conn;
    },
    validate: (conn, ctx) => inner.validate(conn, ctx),
    reset: (conn, ctx) => inner.reset(conn, ctx),
    isDirty: (conn) => inner.isDirty(conn),
    async close(conn: MysqlConnection, ctx: OperationContext) {
      if (conn.threadId !== null) open.delete(conn.threadId);
      await inner.close(conn, ctx);
    },
  };
  return { factory, everOpened, open };
}

async function admin<T>(fn: (c: mysql.Connection) => Promise<T>): Promise<T> {
  const c = await mysql.createConnection(MYSQL_URL);
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

/** Kills these sessions (ignoring ones already gone); returns how many were killed. */
function kill(ids: Iterable<number>): Promise<number> {
  return admin(async (c) => {
    let n = 0;
    for (const id of ids) {
      try {
        await c.query(`KILL CONNECTION ${Number(id)}`);
        n++;
      } catch (error) {
        if ((error as { code?: string }).code !== 'ER_NO_SUCH_THREAD') throw error;
      }
    }
    return n;
  });
}

/** Of these ids, those still connected to the server. */
function alive(ids: Iterable<number>): Promise<number[]> {
  const list = [...ids].map(Number);
  if (list.length === 0) return Promise.resolve([]);
  return admin(async (c) => {
    const [rows] = await c.query(`SELECT ID AS id FROM information_schema.PROCESSLIST WHERE ID IN (${list.join(',')})`);
    return (rows as { id: number }[]).map((r) => Number(r.id));
  });
}

describe('MariaDB KILL of all of our sessions', () => {
  it('under load: callers see clear errors, none hangs past its deadline, the pool heals, nothing leaks', async () => {
    const { factory, everOpened, open } = recordingFactory();
    const pool = await ConnectionPool.create(
      { minSize: 2, maxSize: MAX_SIZE, acquireTimeoutMs: ACQUIRE_TIMEOUT, createTimeoutMs: 1_000, createRetryMaxDelayMs: 1_000 },
      factory,
    );
    pools.push(pool);
    pool.on('error', () => {});
    const load = new Load(8, () => pool.use((c) => c.query('SELECT SLEEP(0.005)')), ACQUIRE_TIMEOUT + 5_000).start();
    let killed = 0;
    try {
      expect(await load.until(() => load.okSince(0) >= 20, 20_000)).toBe(true);
      const killStart = performance.now();
      // Kill every session of ours, three times over a second: the pool replaces them as they die.
      for (let round = 0; round < 3; round++) {
        killed += await kill([...open]);
        await sleep(400);
      }
      const killEnd = performance.now();
      expect(await load.until(() => load.okSince(killEnd) >= 20, 30_000), 'calls succeed again').toBe(true);
      const result = await load.stop();
      const kinds: Record<string, number> = {};
      for (const o of result.outcomes) if (!o.ok) kinds[errorKind(o.error)] = (kinds[errorKind(o.error)] ?? 0) + 1;
      report('mariadb kill', { killed, calls: result.outcomes.length, errors: kinds, destroyed: pool.statistics().destroyedByReason });
      expect(killed).toBeGreaterThan(0);
      expect(result.hung).toBe(0);
      expect(result.stuck).toBe(0);
      expect(load.errorsBetween(killStart).length + pool.statistics().destroyedByReason.broken).toBeGreaterThan(0);
      expect(result.outcomes.filter((o) => !o.ok && !isClearError(o.error)).map((o) => errorKind(o.error))).toEqual([]);
      for (const o of result.outcomes) {
        if (o.error instanceof ConnectionTimeoutError) expect(o.error.timeoutMs).toBe(ACQUIRE_TIMEOUT);
      }
      expect(open.size).toBeLessThanOrEqual(MAX_SIZE);
    } finally {
      await load.stop();
      await pool.close();
    }
    const s = pool.statistics();
    expect(s.connectionsCreated).toBe(s.connectionsDestroyed);
    expect(s.acquired).toBe(s.released);
    let left: number[] = [];
    for (let i = 0; i < 50; i++) {
      left = await alive(everOpened);
      if (left.length === 0) break;
      await sleep(100);
    }
    expect(left, 'sessions left on the server after close').toEqual([]);
  }, 90_000);

  it('idle sessions killed: retired at once, the next caller never sees the kill', async () => {
    const { factory, open } = recordingFactory();
    const pool = await ConnectionPool.create({ minSize: 3, maxSize: 4, acquireTimeoutMs: 5_000 }, factory);
    pools.push(pool);
    expect(await kill([...open])).toBe(3);
    const end = performance.now() + 5_000;
    while (pool.statistics().destroyedByReason.broken < 3 && performance.now() < end) await sleep(20);
    expect(pool.statistics().destroyedByReason.broken).toBe(3);
    const [rows] = await pool.use((c) => c.query('SELECT 1 AS one'));
    expect((rows as { one: number }[])[0]?.one).toBe(1);
    expect(pool.statistics().acquireFailures).toBe(0);
  });

  it('a borrowed session killed mid-query: the query rejects clearly, the connection is never reused', async () => {
    const { factory } = recordingFactory();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 2, acquireTimeoutMs: 5_000 }, factory);
    pools.push(pool);
    const conn = await pool.acquire();
    const thread = conn.connection.threadId as number;
    const running = conn.connection.query('SELECT SLEEP(30)').then(
      () => null,
      (e: unknown) => e,
    );
    await sleep(200);
    expect(await kill([thread])).toBe(1);
    const error = await running;
    expect(isClearError(error), String(error)).toBe(true);
    const killedId = conn.id;
    conn.release({ error });
    const again = await pool.acquire();
    expect(again.id).not.toBe(killedId);
    expect(again.connection.threadId).not.toBe(thread);
    again.release();
  });
});
