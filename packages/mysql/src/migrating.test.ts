// docs/migrating.md, "From mysql2's createPool", tried end to end: one script written for mysql2's pool
// (callbacks, the promise wrapper, events, a transaction, errors, a full pool, escaping, end) runs on
// mysql.createPool and on createMysqlPool; results, errors and events must be the same. Then the
// one-line ways to get mysql2's behaviour that the guide gives, each checked.
import { RecyclingStrategy } from '@pool/core';
import mysql, { type PoolOptions, type RowDataPacket } from 'mysql2';
import { afterAll, describe, expect, it } from 'vitest';
import { createMysqlPool } from './pool.js';
import { admin, MYSQL_URL, uniqueName } from './test-support/mysql.js';

const table = uniqueName('pool_migrating');
afterAll(() => admin(`DROP TABLE IF EXISTS ${table}`));

/** The pool both runs use: mysql2's createPool signature. */
type CreatePool = (config: PoolOptions) => mysql.Pool;

/** A mysql2 application's pool code, as it is: what it observes is returned. */
async function beforeScript(createPool: CreatePool) {
  const events: string[] = [];
  const pool = createPool({ uri: MYSQL_URL, connectionLimit: 2, maxIdle: 2, idleTimeout: 60_000 });
  pool.on('connection', (conn) => {
    events.push('connection');
    conn.query("SET SESSION time_zone = '+02:00'");
  });
  pool.on('acquire', () => events.push('acquire'));
  pool.on('release', () => events.push('release'));
  pool.on('enqueue', () => events.push('enqueue'));

  // Callbacks.
  const first = await new Promise<unknown>((resolve, reject) =>
    pool.query('SELECT ? AS n, @@session.time_zone AS tz', [1], (err, rows) => (err ? reject(err) : resolve(rows))),
  );
  const executed = await new Promise<unknown>((resolve, reject) =>
    pool.execute('SELECT ? + ? AS s', [2, 3], (err, rows) => (err ? reject(err) : resolve(rows))),
  );
  await new Promise<void>((resolve, reject) =>
    pool.query(`CREATE TABLE IF NOT EXISTS ${table} (id INT PRIMARY KEY, note VARCHAR(20)) ENGINE=InnoDB`, (err) =>
      err ? reject(err) : resolve(),
    ),
  );

  // A transaction on a borrowed connection, with callbacks.
  const inserted = await new Promise<unknown>((resolve, reject) => {
    pool.getConnection((err, conn) => {
      if (err) return reject(err);
      conn.beginTransaction((err1) => {
        if (err1) return reject(err1);
        conn.query(`INSERT INTO ${table} VALUES (?, ?)`, [1, 'one'], (err2, result) => {
          if (err2) return reject(err2);
          conn.commit((err3) => {
            conn.release();
            if (err3) return reject(err3);
            resolve((result as { affectedRows: number }).affectedRows);
          });
        });
      });
    });
  });

  // The promise wrapper, and errors.
  const promisePool = pool.promise();
  const [rows] = await promisePool.query<RowDataPacket[]>(`SELECT id, note FROM ${table}`);
  const duplicate = await promisePool.execute(`INSERT INTO ${table} VALUES (?, ?)`, [1, 'again']).catch((e: mysql.QueryError) => ({
    code: e.code,
    errno: e.errno,
    sqlState: e.sqlState,
  }));
  const syntax = await promisePool.query('SELEC 1').catch((e: mysql.QueryError) => ({ code: e.code, errno: e.errno }));

  // A rolled back transaction through the promise wrapper.
  const conn = await promisePool.getConnection();
  await conn.beginTransaction();
  await conn.query(`UPDATE ${table} SET note = 'changed'`);
  await conn.rollback();
  conn.release();
  const [after] = await promisePool.query<RowDataPacket[]>(`SELECT note FROM ${table} WHERE id = 1`);

  // More callers than connections: the third waits.
  const held = await Promise.all([promisePool.getConnection(), promisePool.getConnection()]);
  const waiting = promisePool.query('SELECT 3 AS third');
  const enqueuedWhileFull = events.filter((e) => e === 'enqueue').length;
  for (const c of held) c.release();
  const [third] = await waiting;

  // Escaping.
  const formatted = pool.format('SELECT ?? FROM ?? WHERE id = ?', ['note', table, 1]);
  const escaped = [pool.escape("it's"), pool.escapeId('a.b')];

  await promisePool.end();
  const closed = await promisePool.query('SELECT 1').catch((e: Error) => e.message);

  return {
    first,
    executed,
    inserted,
    rows,
    duplicate,
    syntax,
    after,
    enqueuedWhileFull,
    third,
    formatted: formatted.replace(table, 'TABLE'),
    escaped,
    closed,
    events,
  };
}

describe('docs/migrating.md: a mysql2 script, before and after', () => {
  it('gives the same results, errors and events on mysql.createPool and on createMysqlPool', async () => {
    const before = await beforeScript((config) => mysql.createPool(config));
    await admin(`DROP TABLE IF EXISTS ${table}`);
    // No cast: a MysqlPool is a mysql2 Pool to TypeScript too.
    const after = await beforeScript((config) => createMysqlPool(config));
    expect(after).toEqual(before);
    // What the script saw, so the comparison cannot pass on two empty runs.
    expect(before).toMatchObject({
      first: [{ n: 1, tz: '+02:00' }],
      executed: [{ s: 5 }],
      inserted: 1,
      rows: [{ id: 1, note: 'one' }],
      duplicate: { code: 'ER_DUP_ENTRY', errno: 1062 },
      syntax: { code: 'ER_PARSE_ERROR', errno: 1064 },
      after: [{ note: 'one' }],
      enqueuedWhileFull: 1,
      third: [{ third: 3 }],
      closed: 'Pool is closed.',
    });
    expect(before.events.filter((e) => e === 'connection')).toHaveLength(2);
  });

  it("gives mysql2's behaviour with the guide's one-liners", async () => {
    // recyclingStrategy Fast: a borrower's session reaches the next one, as in mysql2.
    const fast = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 1, poolOptions: { recyclingStrategy: RecyclingStrategy.Fast } });
    const leftover = await fast.getConnection();
    await leftover.query("SET @left = 'over'");
    leftover.release();
    expect((await fast.query<RowDataPacket[]>('SELECT @left AS v'))[0]).toEqual([{ v: 'over' }]);
    await fast.end();

    // Without it (the default), the next borrower starts clean.
    const clean = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 1 });
    const dirty = await clean.getConnection();
    await dirty.query("SET @left = 'over'");
    dirty.release();
    expect((await clean.query<RowDataPacket[]>('SELECT @left AS v'))[0]).toEqual([{ v: null }]);
    await clean.end();

    // Waiting as long as mysql2, mysql2's statement cache size.
    const patient = createMysqlPool({
      uri: MYSQL_URL,
      queueLimit: 0,
      maxPreparedStatements: 16_000,
      poolConfig: { acquireTimeoutMs: 2_147_483_647 },
    });
    expect(patient.pool.config).toMatchObject({ acquireTimeoutMs: 2_147_483_647, maxWaitQueueSize: Number.MAX_SAFE_INTEGER });
    expect(patient.factory.statementCacheSize).toBe(16_000);
    await patient.execute('SELECT 1');
    await patient.end();
  });
});
