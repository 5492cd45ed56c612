import { once } from 'node:events';
import { AgingPolicy } from '@pool/core';
import { useCleanup } from '@pool/testkit/conformance';
import pg from 'pg';
import { describe, expect, it, vi } from 'vitest';
import { createPgPool, type PgPool } from './pool.js';
import { admin, PG_URL, uniqueName } from './test-support/pg.js';

const cleanup = useCleanup();

function pool(options: Parameters<typeof createPgPool>[0] = {}): PgPool {
  const p = createPgPool({ connectionString: PG_URL, ...options });
  cleanup.defer(() => (p.ending ? undefined : p.end()));
  return p;
}

describe('createPgPool as pg.Pool', () => {
  it('passes instanceof pg.Pool (what @prisma/adapter-pg and Drizzle check), with on / removeListener and events.once', async () => {
    const db = pool({ max: 1 });
    expect(db).toBeInstanceOf(pg.Pool);
    const onError = (): void => {};
    expect(db.on('error', onError)).toBe(db);
    expect(db.listenerCount('error')).toBe(1);
    expect(db.removeListener('error', onError)).toBe(db);
    expect(db.listenerCount('error')).toBe(0);
    const connected = once(db, 'connect');
    const client = await db.connect();
    const [emitted] = await connected;
    expect(emitted).toBe(client);
    client.release();
  });

  it("lends pg's own Client, the same object for the same connection on every borrow", async () => {
    const db = pool({ max: 1 });
    const first = await db.connect();
    expect(first).toBeInstanceOf(pg.Client);
    first.release();
    const second = await db.connect();
    expect(second).toBe(first);
    second.release();
  });

  it("keeps the session set-up of 'connect' listeners and onConnect through the reset of a dirty session", async () => {
    const schema = uniqueName('pool_setup');
    await admin(`CREATE SCHEMA ${schema}`);
    cleanup.defer(() => admin(`DROP SCHEMA IF EXISTS ${schema}`));
    const db = pool({ max: 1, onConnect: (client) => client.query("SET application_name TO 'from_on_connect'") });
    db.on('connect', (client) => {
      client.query(`SET search_path TO ${schema}`);
    });
    const client = await db.connect();
    await client.query('SET statement_timeout = 1234'); // the borrower dirties the session: it is reset at release
    client.release();
    const { rows } = await db.query<{ search_path: string; application_name: string; statement_timeout: string }>(
      "SELECT current_setting('search_path') AS search_path, current_setting('application_name') AS application_name, current_setting('statement_timeout') AS statement_timeout",
    );
    expect(rows[0]).toEqual({ search_path: schema, application_name: 'from_on_connect', statement_timeout: '0' });
    expect(db.statistics().resets).toBeGreaterThanOrEqual(1);
  });

  it("returns the pool's Promise class (pg.Pool's Promise option)", async () => {
    class TrackedPromise<T> extends Promise<T> {}
    const db = pool({ Promise: TrackedPromise as PromiseConstructor });
    const result = db.query('SELECT 1 AS one');
    expect(result).toBeInstanceOf(TrackedPromise);
    expect((await result).rows).toEqual([{ one: 1 }]);
    const client = await db.connect();
    client.release();
  });

  it('never crashes on an idle client error without an error listener (pg.Pool would)', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    client.release();
    expect(db.listenerCount('error')).toBe(0);
    expect(() => client.emit('error', new Error('idle failure'))).not.toThrow();
    expect(db.totalCount).toBe(0);
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
  });

  it('a Client that opens its socket after the connect timeout leaves no session open after end()', async () => {
    const name = uniqueName('late_client');
    let lateConnect: Promise<void> | undefined;
    class LateClient extends pg.Client {
      // @ts-expect-error pg's typings give connect() overloads; this one is pg.Pool's callback form only
      override connect(callback?: (err: Error) => void): void {
        // e.g. fetching an IAM token first: the socket opens after the pool gave up on this connect
        lateConnect = new Promise<void>((resolve) => {
          setTimeout(() => {
            super.connect((err: Error) => {
              callback?.(err);
              resolve();
            });
          }, 300);
        });
      }
    }
    const db = createPgPool({
      connectionString: PG_URL,
      application_name: name,
      Client: LateClient as unknown as typeof pg.Client,
      connectionTimeoutMillis: 50,
    });
    await expect(db.query('SELECT 1')).rejects.toThrow(/timeout/);
    await db.end();
    await lateConnect; // end() already waited for it; without the fix the session it opened would stay
    await vi.waitFor(async () => expect(await admin('SELECT pid FROM pg_stat_activity WHERE application_name = $1', [name])).toEqual([]), {
      timeout: 5_000,
    });
  });

  it('counts a connection being opened in totalCount at once, as pg.Pool', async () => {
    const db = pool({ max: 2 });
    const query = db.query('SELECT 1');
    expect(db.totalCount).toBe(1);
    expect(db._clients).toHaveLength(1);
    await query;
    await vi.waitFor(() => expect(db.idleCount).toBe(1));
  });
});

describe("docs/migrating.md's one-liners for pg.Pool's behaviour", () => {
  it('an Adaptive aging policy with errorThreshold 0 closes a connection at its first failed pool.query, as pg.Pool', async () => {
    const db = pool({
      poolOptions: { agingPolicy: AgingPolicy.Adaptive({ baseLifetimeMs: 1_800_000, errorThreshold: 0, windowSize: 1, minSamples: 1 }) },
    });
    const errors: unknown[] = [];
    await Promise.all(Array.from({ length: 5 }, () => db.query('SELECT asldkfjasldkf').catch((e: unknown) => errors.push(e))));
    expect(errors).toHaveLength(5);
    expect(db.totalCount).toEqual(0);
    expect(db.idleCount).toEqual(0);
  });

  it('min: 0 leaves no connection open after a retirement, as pg.Pool', async () => {
    const db = pool({ max: 1, min: 0, maxUses: 1 });
    const client = await db.connect();
    client.release();
    expect(db.totalCount).toBe(0);
  });
});

describe('ending', () => {
  it('close() and await using end the pool once, also after end() (a second end() fails, as in pg.Pool)', async () => {
    {
      await using db = createPgPool({ connectionString: PG_URL });
      await db.query('SELECT 1');
      await db.end();
      await expect(db.close()).resolves.toBeUndefined();
    } // [Symbol.asyncDispose] here: no "Called end on pool more than once"
    const db = createPgPool({ connectionString: PG_URL });
    await Promise.all([db.close(), db.close()]);
    expect(db.ended).toBe(true);
    await expect(db.end()).rejects.toThrow('Called end on pool more than once');
  });
});

describe('dirty tracking through the lent client', () => {
  it("a SET through the raw client makes the session reset before the next borrower; the statement cache's own DEALLOCATEs do not", async () => {
    const db = pool({ max: 1, statementCacheSize: 1 });
    for (let i = 0; i < 4; i++) await db.query(`SELECT $1::int + ${i} AS n`, [i]); // each evicts the last: DEALLOCATEs
    expect(db.factory.statistics().statementCache?.evictions).toBeGreaterThanOrEqual(3);
    expect(db.statistics().resets).toBe(0);
    const client = await db.connect();
    await client.query("SET application_name TO 'dirty'");
    client.release();
    const { rows } = await db.query<{ app: string }>("SELECT current_setting('application_name') AS app");
    expect(rows[0]?.app).toBe('');
    expect(db.statistics().resets).toBe(1);
  });
});

describe('a query left running at release', () => {
  it('finishes on the released client, as with pg.Pool, when nobody waits; the client is then lent again', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    const pid = client.processID;
    const running = client.query('SELECT pg_sleep(0.2), 7 AS n');
    client.release(); // before the query is done (pg.Pool's idle-timeout integration test does this)
    expect((await running).rows[0]?.n).toBe(7);
    const again = await db.connect();
    expect(again.processID).toBe(pid);
    again.release();
  });
});
