import { ConnectionPool } from '@pool/core';
import { type PgConnection, pgFactory } from '@pool/pg';
import pg from 'pg';
import { afterEach, describe, expect, it } from 'vitest';
import { isClearError, sleep } from '../support/load.js';
import { report } from '../support/report.js';

/**
 * Server-side kills of our own sessions on the shared PostgreSQL. Every pool here connects with a
 * unique `application_name`, and only backends carrying it are terminated: other packages' tests run
 * against the same server at the same time.
 */

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let counter = 0;
const pools: ConnectionPool<PgConnection>[] = [];

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: PG_URL, application_name: `rel_admin_${process.pid}` });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Terminates our backends with this application name (optionally only these pids); returns how many. */
function terminate(applicationName: string, pids?: number[]): Promise<number> {
  return admin(async (c) => {
    const { rows } = await c.query<{ ok: boolean }>(
      `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity
        WHERE application_name = $1 AND pid <> pg_backend_pid() AND ($2::int[] IS NULL OR pid = ANY($2::int[]))`,
      [applicationName, pids ?? null],
    );
    return rows.filter((r) => r.ok).length;
  });
}

function sessions(applicationName: string): Promise<number> {
  return admin(async (c) => {
    const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
      applicationName,
    ]);
    return rows[0]?.n ?? -1;
  });
}

async function open(
  minSize: number,
  extra: { validateOnAcquire?: boolean } = {},
): Promise<{ pool: ConnectionPool<PgConnection>; app: string }> {
  const app = `rel_kill_${process.pid}_${++counter}`;
  const factory = pgFactory({ connectionString: PG_URL, application_name: app, query_timeout: 5_000 });
  const pool = await ConnectionPool.create({ minSize, maxSize: 4, acquireTimeoutMs: 5_000, createRetryMaxDelayMs: 500, ...extra }, factory);
  pool.on('error', () => {});
  pools.push(pool);
  return { pool, app };
}

async function waitFor(predicate: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  const end = performance.now() + timeoutMs;
  while (performance.now() < end && !predicate()) await sleep(20);
  return predicate();
}

describe('pg_terminate_backend on our own sessions', () => {
  it('retires idle connections killed by the server and hands the next caller a working one', async () => {
    const { pool, app } = await open(3);
    expect(pool.size().idle).toBe(3);
    expect(await terminate(app)).toBe(3);
    // The clients' 'error' events reach the pool: the dead connections leave at once and are replaced.
    expect(await waitFor(() => pool.statistics().destroyedByReason.broken === 3), 'killed idle connections retired').toBe(true);
    const { rows } = await pool.use((c) => c.query<{ one: number }>('SELECT 1 AS one'));
    expect(rows[0]?.one).toBe(1);
    expect(pool.statistics().acquireFailures, 'no caller saw the kill').toBe(0);
    expect(await waitFor(() => pool.size().total === 3), 'refilled to minSize').toBe(true);
  });

  it('fails the borrower of a killed connection with a clear error and never hands that connection out again', async () => {
    const { pool, app } = await open(1);
    const conn = await pool.acquire();
    const { rows } = await conn.connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const pid = rows[0]?.pid as number;
    expect(await terminate(app, [pid])).toBe(1);
    const error = await conn.connection.query('SELECT 1').then(
      () => null,
      (e: unknown) => e,
    );
    report('pg_terminate_backend of a borrowed connection', { error: String(error) });
    expect(isClearError(error), `query on a killed connection: ${String(error)}`).toBe(true);
    const killedId = conn.id;
    conn.release({ error });
    // The next borrower gets another, working connection.
    const again = await pool.acquire();
    try {
      expect(again.id).not.toBe(killedId);
      const r = await again.connection.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
      expect(r.rows[0]?.pid).not.toBe(pid);
    } finally {
      again.release();
    }
    expect(pool.connections().some((c) => c.id === killedId)).toBe(false);
  });

  it('kills a connection in the middle of a long query: the query rejects, pool.use rethrows, the pool stays consistent', async () => {
    const { pool, app } = await open(2);
    const running = pool.use((c) => c.query('SELECT pg_sleep(30)'));
    const caught = running.then(
      () => null,
      (e: unknown) => e,
    );
    // Wait until the sleep is running on the server, then kill exactly that backend.
    expect(await waitFor(() => pool.size().active === 1, 5_000), 'the query is running').toBe(true);
    await sleep(100);
    const killed = await admin(async (c) => {
      const { rows } = await c.query<{ ok: boolean }>(
        "SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE application_name = $1 AND query LIKE 'SELECT pg_sleep(30)%'",
        [app],
      );
      return rows.length;
    });
    expect(killed).toBe(1);
    const error = await caught;
    expect(isClearError(error), String(error)).toBe(true);
    expect(await waitFor(() => pool.size().active === 0)).toBe(true);
    const s = pool.statistics();
    expect(s.acquired - s.released).toBe(0);
    expect(s.connectionsCreated - s.connectionsDestroyed).toBe(pool.size().total);
    await pool.use((c) => c.query('SELECT 1'));
  });

  it('with validateOnAcquire, a caller acquiring right after the kill never gets a dead connection', async () => {
    const { pool, app } = await open(2, { validateOnAcquire: true });
    // Whichever notices first (the clients' 'error' events or the validation query), no caller sees the kill.
    expect(await terminate(app)).toBe(2);
    const r = await pool.use((c) => c.query<{ one: number }>('SELECT 1 AS one'));
    expect(r.rows[0]?.one).toBe(1);
    expect(pool.statistics().acquireFailures).toBe(0);
  });

  it('leaves no session behind on the server once the pool is closed', async () => {
    const { pool, app } = await open(3);
    await Promise.all([pool.use((c) => c.query('SELECT 1')), pool.use((c) => c.query('SELECT 1'))]);
    await pool.close();
    let left = -1;
    for (let i = 0; i < 50 && left !== 0; i++) {
      left = await sessions(app);
      if (left !== 0) await sleep(100);
    }
    expect(left).toBe(0);
  });
});
