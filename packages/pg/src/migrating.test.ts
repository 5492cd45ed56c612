// docs/migrating.md, "From pg.Pool", tried end to end: one script written for pg.Pool (events, session
// set-up in 'connect', callbacks, transactions with and without errors, a connect error, an idle
// client's error, counts, end) runs on `new pg.Pool(...)` and on `createPgPool(...)`; results, errors
// and events must be the same. The one deliberate difference a typical program meets (a failed
// pool.query() keeps its connection) is checked last, as the guide describes it.
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from './pool.js';
import { admin, PG_URL, uniqueName } from './test-support/pg.js';

const table = uniqueName('pool_migrating');
afterAll(() => admin(`DROP TABLE IF EXISTS ${table}`));

type AnyPool = pg.Pool;
type MakePool = (config: pg.PoolConfig) => AnyPool;

/** What a callback API gives, as a promise (the script itself uses the callbacks). */
function called<T>(start: (cb: (err: Error | undefined, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => start((err, value) => (err ? reject(err) : resolve(value as T))));
}

const errorOf = (e: unknown) => ({ code: (e as { code?: string }).code, message: (e as Error).message });

/** A pg.Pool application's pool code, as it is: what it observes is returned. */
async function beforeScript(makePool: MakePool) {
  const events: string[] = [];
  const errors: unknown[] = [];
  const pool = makePool({ connectionString: PG_URL, max: 2, idleTimeoutMillis: 30_000 });
  pool.on('connect', (client) => {
    events.push('connect');
    client.query("SET application_name TO 'migrated_app'");
  });
  pool.on('acquire', () => events.push('acquire'));
  pool.on('release', (err) => events.push(err ? `release(${(err as Error).message})` : 'release'));
  pool.on('remove', () => events.push('remove'));
  pool.on('error', (err, client) => events.push(`error(${err.message}, ${client instanceof pg.Client})`));

  // Callbacks: a query with values, a DDL statement.
  const first = await called<pg.QueryResult>((cb) =>
    pool.query("SELECT $1::int AS n, current_setting('application_name') AS app", [1], cb),
  );
  await called((cb) => pool.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`, cb));

  // A transaction on a borrowed client, with callbacks.
  const committed = await new Promise<number>((resolve, reject) => {
    pool.connect((err, client, done) => {
      if (err || client === undefined) return reject(err);
      client.query('BEGIN', (err1) => {
        if (err1) return reject(err1);
        client.query(`INSERT INTO ${table} VALUES ($1, $2), ($3, $4)`, [1, 'one', 2, 'two'], (err2, res) => {
          if (err2) return reject(err2);
          client.query('COMMIT', (err3) => {
            done();
            if (err3) return reject(err3);
            resolve(res.rowCount ?? -1);
          });
        });
      });
    });
  });

  // A transaction that fails, with promises: rolled back, the client given back.
  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query(`INSERT INTO ${table} VALUES ($1, $2)`, [3, 'three']);
    await client.query(`INSERT INTO ${table} VALUES ($1, $2)`, [1, 'duplicate']);
    await client.query('COMMIT');
  } catch (e) {
    errors.push(errorOf(e));
    await client.query('ROLLBACK');
  } finally {
    client.release();
  }

  // A query config object, array rows; the same client comes back for the same connection.
  const rows = await pool.query({ text: `SELECT id, note FROM ${table} ORDER BY id`, rowMode: 'array' });
  const a = await pool.connect();
  a.release();
  const b = await pool.connect();
  const sameClient = a === b;
  b.release();
  const countsIdle = { total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount };

  // An idle client that fails: the pool says so and replaces it.
  const idle = await pool.connect();
  idle.release();
  const removed = new Promise((resolve) => pool.once('remove', resolve));
  idle.emit('error', new Error('idle client failure'));
  await removed;
  const afterIdleError = await pool.query("SELECT current_setting('application_name') AS app");

  // A pool that cannot connect: the connect error, at once.
  const unreachable = makePool({ host: '127.0.0.1', port: 1, user: 'nobody', database: 'none' });
  await called((cb) => unreachable.connect((err) => cb(err))).catch((e: unknown) => errors.push(errorOf(e)));
  await unreachable.end();

  // A failed pool.query (the deliberate difference is checked by the caller).
  const before = events.length;
  await pool.query('SELECT * FROM no_such_table_for_migrating').catch((e: unknown) => errors.push(errorOf(e)));
  const queryErrorEvents = events.slice(before);
  const totalAfterQueryError = pool.totalCount;
  const eventsBeforeQueryError = events.slice(0, before);

  // end with a callback; later calls fail.
  await called<void>((cb) => pool.end(cb as never));
  const ended = { ending: pool.ending, ended: pool.ended };
  await pool.query('SELECT 1').catch((e: unknown) => errors.push(errorOf(e)));
  await pool.end().catch((e: unknown) => errors.push(errorOf(e)));

  return {
    results: { first: first.rows, committed, rows: rows.rows, sameClient, countsIdle, afterIdleError: afterIdleError.rows, ended },
    errors,
    events: eventsBeforeQueryError,
    queryErrorEvents,
    totalAfterQueryError,
  };
}

describe('docs/migrating.md: a pg.Pool program, unchanged, on createPgPool', () => {
  it('gives the same results, errors and events', async () => {
    const original = await beforeScript((config) => new pg.Pool(config));
    await admin(`DROP TABLE IF EXISTS ${table}`);
    const migrated = await beforeScript((config) => createPgPool(config as never) as unknown as AnyPool);

    expect(migrated.results).toEqual(original.results);
    expect(migrated.errors).toEqual(original.errors);
    expect(migrated.events).toEqual(original.events);
    // The script saw what pg.Pool users rely on.
    expect(original.results.first).toEqual([{ n: 1, app: 'migrated_app' }]);
    expect(original.results.afterIdleError).toEqual([{ app: 'migrated_app' }]);
    expect(original.errors.map((e) => (e as { code?: string }).code)).toEqual(['23505', 'ECONNREFUSED', '42P01', undefined, undefined]);
    expect(original.events).toContain('error(idle client failure, true)');

    // The deliberate difference: pg.Pool closes the client after a failed pool.query(), createPgPool keeps it.
    const failure = 'release(relation "no_such_table_for_migrating" does not exist)';
    expect(original.queryErrorEvents.slice(0, 2)).toEqual(['acquire', failure]);
    expect(migrated.queryErrorEvents).toEqual(['acquire', failure]);
    expect(migrated.totalAfterQueryError).toBe(original.totalAfterQueryError + 1);
  });
});
