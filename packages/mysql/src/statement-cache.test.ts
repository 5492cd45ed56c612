import { timeoutContext, useCleanup } from '@pool/testkit/conformance';
import type { RowDataPacket } from 'mysql2';
import { describe, expect, it } from 'vitest';
import type { MysqlConnection } from './connection.js';
import { type MysqlFactoryOptions, mysqlFactory } from './factory.js';
import { createMysqlPool } from './pool.js';
import { MYSQL_URL } from './test-support/mysql.js';

const cleanup = useCleanup();

async function connect(statementCacheSize: number, options: MysqlFactoryOptions = {}, url = MYSQL_URL) {
  const factory = mysqlFactory(url, { statementCacheSize, ...options });
  const { conn } = await cleanup.open(factory);
  return { factory, conn };
}

/** This session's prepared-statement counters, as the server counts them (`SHOW SESSION STATUS`). */
async function serverCounts(conn: MysqlConnection): Promise<{ prepared: number; closed: number; executed: number; open: number }> {
  const [rows] = await conn.query<RowDataPacket[]>(
    "SHOW SESSION STATUS WHERE Variable_name IN ('Com_stmt_prepare', 'Com_stmt_close', 'Com_stmt_execute')",
  );
  const get = (name: string): number => Number(rows.find((r) => r.Variable_name === name)?.Value);
  const prepared = get('Com_stmt_prepare');
  const closed = get('Com_stmt_close');
  return { prepared, closed, executed: get('Com_stmt_execute'), open: prepared - closed };
}

describe('statement cache', () => {
  it('prepares a statement once and reuses it (hits and misses, checked against the server)', async () => {
    const { factory, conn } = await connect(10);
    for (let i = 0; i < 3; i++) expect((await conn.execute<RowDataPacket[]>('SELECT ? + 1 AS n', [i]))[0]).toEqual([{ n: i + 1 }]);
    expect(await serverCounts(conn)).toEqual({ prepared: 1, closed: 0, executed: 3, open: 1 });
    expect(factory.statistics().statementCache).toEqual({ hits: 2, misses: 1, evictions: 0, size: 1, capacity: 10 });
    expect(conn.cachedStatements).toBe(1);
  });

  it('never prepares query() statements (text protocol)', async () => {
    const { factory, conn } = await connect(10);
    await conn.query('SELECT ? AS v', [1]);
    expect(await serverCounts(conn)).toMatchObject({ prepared: 0, executed: 0 });
    expect(factory.statistics().statementCache).toMatchObject({ hits: 0, misses: 0, size: 0 });
  });

  it('evicts the least recently used statement and closes it on the server', async () => {
    const { factory, conn } = await connect(3);
    const texts = [1, 2, 3, 4, 5].map((i) => `SELECT ? * ${i} AS v`);
    for (const t of texts.slice(0, 3)) await conn.execute(t, [1]);
    await conn.execute(texts[0] as string, [1]); // 1 is now the most recent: 2 goes first
    await conn.execute(texts[3] as string, [1]);
    await conn.execute(texts[4] as string, [1]);
    expect(await serverCounts(conn)).toEqual({ prepared: 5, closed: 2, executed: 6, open: 3 });
    expect(factory.statistics().statementCache).toEqual({ hits: 1, misses: 5, evictions: 2, size: 3, capacity: 3 });
    // text 1 stayed cached (a hit, no prepare); text 2 was evicted (a miss, prepared again, evicting another).
    await conn.execute(texts[0] as string, [2]);
    expect((await conn.execute<RowDataPacket[]>(texts[1] as string, [2]))[0]).toEqual([{ v: 4 }]);
    expect(await serverCounts(conn)).toMatchObject({ prepared: 6, closed: 3, open: 3 });
    expect(factory.statistics().statementCache).toMatchObject({ hits: 2, misses: 6, evictions: 3, size: 3 });
  });

  it('keys statements by their text with named placeholders too, and closes evicted ones', async () => {
    const { factory, conn } = await connect(1, {}, `${MYSQL_URL}${MYSQL_URL.includes('?') ? '&' : '?'}namedPlaceholders=true`);
    expect((await conn.execute<RowDataPacket[]>('SELECT :a + :b AS s', { a: 1, b: 2 }))[0]).toEqual([{ s: 3 }]);
    expect((await conn.execute<RowDataPacket[]>('SELECT :a + :b AS s', { a: 2, b: 2 }))[0]).toEqual([{ s: 4 }]);
    await conn.execute('SELECT :x AS x', { x: 1 });
    expect(await serverCounts(conn)).toMatchObject({ prepared: 2, closed: 1, open: 1 });
    expect(factory.statistics().statementCache).toMatchObject({ hits: 1, misses: 2, evictions: 1, size: 1 });
  });

  it('closes each statement right after it ran when the cache is off', async () => {
    const { factory, conn } = await connect(0);
    for (let i = 0; i < 3; i++) await conn.execute('SELECT ? AS v', [i]);
    expect(await serverCounts(conn)).toEqual({ prepared: 3, closed: 3, executed: 3, open: 0 });
    expect(factory.statistics()).toEqual({ queryErrors: 0 });
    expect(conn.cachedStatements).toBe(0);
  });

  it('does not cache a statement the server refused to prepare', async () => {
    const { factory, conn } = await connect(5);
    for (let i = 0; i < 2; i++) await expect(conn.execute('SELEC ?', [1])).rejects.toMatchObject({ code: 'ER_PARSE_ERROR' });
    expect(conn.cachedStatements).toBe(0);
    expect(factory.statistics()).toMatchObject({ queryErrors: 2, statementCache: { size: 0, misses: 2 } });
    expect((await conn.execute<RowDataPacket[]>('SELECT ? AS ok', [1]))[0]).toEqual([{ ok: 1 }]);
  });

  it('keeps a statement whose execution failed after it was prepared', async () => {
    const { factory, conn } = await connect(5);
    await conn.query('CREATE TEMPORARY TABLE t_unique (id INT PRIMARY KEY)');
    await conn.execute('INSERT INTO t_unique VALUES (?)', [1]);
    await expect(conn.execute('INSERT INTO t_unique VALUES (?)', [1])).rejects.toMatchObject({ code: 'ER_DUP_ENTRY' });
    expect(factory.statistics().statementCache).toMatchObject({ hits: 1, misses: 1, size: 1 });
    expect(await serverCounts(conn)).toMatchObject({ prepared: 1, open: 1 });
  });

  it('starts over after a reset, which closes every statement on the server', async () => {
    const { factory, conn } = await connect(5);
    await conn.execute('SELECT ? AS t', ['a']);
    await conn.query('SET @dirty = 1');
    await factory.reset(conn, timeoutContext());
    expect(conn.cachedStatements).toBe(0);
    // A reset zeroes the session counters too: only what happened after it is counted.
    expect((await conn.execute<RowDataPacket[]>('SELECT ? AS t', ['b']))[0]).toEqual([{ t: 'b' }]);
    expect(factory.statistics().statementCache).toMatchObject({ hits: 0, misses: 2, size: 1 });
  });

  it('takes statementCacheSize from the pool config, or from mysql2 maxPreparedStatements, in createMysqlPool', async () => {
    for (const options of [{ poolConfig: { statementCacheSize: 7, maxSize: 1 } }, { maxPreparedStatements: 7, connectionLimit: 1 }]) {
      const pool = createMysqlPool({ uri: MYSQL_URL, ...options });
      try {
        expect(pool.factory.statementCacheSize).toBe(7);
        await pool.execute('SELECT ? AS v', [1]);
        await pool.execute('SELECT ? AS v', [2]);
        expect(pool.factory.statistics().statementCache).toMatchObject({ hits: 1, misses: 1, size: 1, capacity: 7 });
      } finally {
        await pool.end();
      }
    }
  });
});
