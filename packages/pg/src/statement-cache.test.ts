import { timeoutContext, useCleanup } from '@pool/testkit/conformance';
import { describe, expect, it } from 'vitest';
import type { PgConnection } from './connection.js';
import { type PgFactory, pgFactory } from './factory.js';
import { createPgPool } from './pool.js';
import { PG_URL } from './test-support/pg.js';

const cleanup = useCleanup();

async function connect(
  statementCacheSize: number,
  resetMode: 'session' | 'all' = 'session',
): Promise<{ factory: PgFactory; conn: PgConnection }> {
  const factory = pgFactory(PG_URL, { statementCacheSize, resetMode });
  const { conn } = await cleanup.open(factory);
  return { factory, conn };
}

/** Our statements on the server, as the session itself sees them. */
async function serverStatements(conn: PgConnection): Promise<string[]> {
  const { rows } = await conn.query<{ name: string; statement: string }>(
    "SELECT name, statement FROM pg_prepared_statements WHERE name LIKE '\\_\\_pool\\_%' ORDER BY prepare_time, name",
  );
  return rows.map((r) => r.statement);
}

describe('statement cache', () => {
  it('prepares a parameterised query once and reuses it (hits and misses)', async () => {
    const { factory, conn } = await connect(10);
    for (let i = 0; i < 3; i++) expect((await conn.query<{ n: number }>('SELECT $1::int + 1 AS n', [i])).rows).toEqual([{ n: i + 1 }]);
    expect(await serverStatements(conn)).toEqual(['SELECT $1::int + 1 AS n']);
    expect(factory.statistics().statementCache).toEqual({ hits: 2, misses: 1, evictions: 0, size: 1, capacity: 10 });
    expect(conn.cachedStatements).toBe(1);
  });

  it('runs a query with values [] on the simple protocol, as pg does: several statements allowed, nothing prepared', async () => {
    const { factory, conn } = await connect(100);
    const results = (await conn.query('SELECT 1 AS a; SELECT 2 AS b', [])) as unknown as { rows: unknown[] }[];
    expect(results.map((r) => r.rows)).toEqual([[{ a: 1 }], [{ b: 2 }]]);
    await conn.query({ text: 'SELECT 3 AS c; SELECT 4 AS d', values: [] });
    expect(await serverStatements(conn)).toEqual([]);
    expect(factory.statistics().statementCache).toMatchObject({ hits: 0, misses: 0, size: 0 });
  });

  it('never caches queries without values (the simple protocol) or with a name of their own', async () => {
    const { factory, conn } = await connect(10);
    await conn.query('SELECT 1; SELECT 2');
    await conn.query({ text: 'SELECT $1::int AS v', values: [1], name: 'mine' });
    expect(await serverStatements(conn)).toEqual([]);
    expect(factory.statistics().statementCache).toMatchObject({ hits: 0, misses: 0, size: 0 });
  });

  it('evicts the least recently used statement and deallocates it on the server', async () => {
    const { factory, conn } = await connect(3);
    const texts = [1, 2, 3, 4, 5].map((i) => `SELECT $1::int * ${i} AS v`);
    for (const t of texts.slice(0, 3)) await conn.query(t, [1]);
    await conn.query(texts[0] as string, [1]); // 1 is now the most recent: 2 goes first
    await conn.query(texts[3] as string, [1]);
    await conn.query(texts[4] as string, [1]);
    expect((await serverStatements(conn)).sort()).toEqual([texts[0], texts[3], texts[4]].sort());
    expect(factory.statistics().statementCache).toEqual({ hits: 1, misses: 5, evictions: 2, size: 3, capacity: 3 });
    // An evicted statement comes back as a miss and works.
    expect((await conn.query<{ v: number }>(texts[1] as string, [2])).rows).toEqual([{ v: 4 }]);
    expect(await serverStatements(conn)).toHaveLength(3);
  });

  it('defers deallocation inside a transaction and catches up at reset', async () => {
    const { factory, conn } = await connect(2);
    await conn.query('BEGIN');
    for (let i = 1; i <= 4; i++) await conn.query(`SELECT $1::int + ${i} AS v`, [0]);
    expect(await serverStatements(conn)).toHaveLength(4); // nothing deallocated inside the transaction
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(await serverStatements(conn)).toHaveLength(2);
    expect(factory.isDirty(conn)).toBe(false);
  });

  it("keeps statements across a 'session' reset, so the next borrower gets hits", async () => {
    const { factory, conn } = await connect(5);
    await conn.query('SELECT $1::text AS t', ['a']);
    await conn.query("SET application_name = 'dirty'");
    await factory.reset(conn, timeoutContext());
    await conn.query('SELECT $1::text AS t', ['b']);
    expect(factory.statistics().statementCache).toMatchObject({ hits: 1, misses: 1 });
    expect(await serverStatements(conn)).toEqual(['SELECT $1::text AS t']);
  });

  it("empties the cache with 'all' (DISCARD ALL) and stays consistent with the server", async () => {
    const { factory, conn } = await connect(5, 'all');
    await conn.query('SELECT $1::text AS t', ['a']);
    await conn.query('BEGIN');
    await factory.reset(conn, timeoutContext());
    expect(await serverStatements(conn)).toEqual([]);
    expect(conn.cachedStatements).toBe(0);
    expect((await conn.query<{ t: string }>('SELECT $1::text AS t', ['b'])).rows).toEqual([{ t: 'b' }]);
    expect(await serverStatements(conn)).toEqual(['SELECT $1::text AS t']);
  });

  it("survives the borrower's own DEALLOCATE ALL, and drops the borrower's PREPAREd statements at reset", async () => {
    const { factory, conn } = await connect(5);
    await conn.query('SELECT $1::int AS a', [1]);
    await conn.query('PREPARE mine AS SELECT 42');
    await conn.query('DEALLOCATE ALL');
    expect((await conn.query<{ a: number }>('SELECT $1::int AS a', [2])).rows).toEqual([{ a: 2 }]);
    await conn.query('PREPARE mine AS SELECT 43');
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    const { rows } = await conn.query<{ name: string }>('SELECT name FROM pg_prepared_statements ORDER BY name');
    expect(rows.map((r) => r.name)).toHaveLength(1);
    expect(rows[0]?.name).toMatch(/^__pool_/);
    expect((await conn.query<{ a: number }>('SELECT $1::int AS a', [3])).rows).toEqual([{ a: 3 }]);
  });

  it('does not cache a statement the server refused to parse', async () => {
    const { factory, conn } = await connect(5);
    for (let i = 0; i < 2; i++) await expect(conn.query('SELEC $1::int', [1])).rejects.toThrow(/syntax error/);
    expect(conn.cachedStatements).toBe(0);
    expect(factory.statistics()).toMatchObject({ queryErrors: 2, statementCache: { size: 0 } });
  });

  it('reports no statementCache figures when the cache is off', async () => {
    const { factory, conn } = await connect(0);
    await conn.query('SELECT $1::int AS v', [1]);
    expect(factory.statistics()).toEqual({ queryErrors: 0 });
    expect(await serverStatements(conn)).toEqual([]);
  });

  it('takes statementCacheSize from the pool config in createPgPool', async () => {
    const pool = createPgPool({ connectionString: PG_URL, poolConfig: { statementCacheSize: 7, maxSize: 1 } });
    try {
      expect(pool.factory.statementCacheSize).toBe(7);
      await pool.query('SELECT $1::int AS v', [1]);
      await pool.query('SELECT $1::int AS v', [2]);
      expect(pool.factory.statistics().statementCache).toMatchObject({ hits: 1, misses: 1, size: 1, capacity: 7 });
    } finally {
      await pool.end();
    }
  });
});
