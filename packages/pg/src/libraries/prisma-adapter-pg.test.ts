// @prisma/adapter-pg on createPgPool, on the real server: Prisma 7's driver adapter is what the
// Prisma client runs its SQL through (the client itself needs `prisma generate`, whose engines this
// offline machine cannot download, so the test drives the adapter directly, as the client does:
// queryRaw / executeRaw / executeScript / startTransaction, rowMode 'array' with custom type parsers).
// The adapter takes a pool only if `pool instanceof pg.Pool`; otherwise it silently builds its own
// pg.Pool from `pool.options` — the test checks it used ours.

import { useCleanup } from '@pool/testkit/conformance';
import { PrismaPg } from '@prisma/adapter-pg';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { createPgPool } from '../pool.js';
import { admin, PG_URL, uniqueName } from '../test-support/pg.js';

const cleanup = useCleanup();
const INT = { scalarType: 'int', dbType: 'INTEGER', arity: 'scalar' } as const;
const TEXT = { scalarType: 'string', dbType: 'TEXT', arity: 'scalar' } as const;

describe('@prisma/adapter-pg on createPgPool', () => {
  it('uses our pool (instanceof pg.Pool) for queries, a transaction, errors, and leaves it open at dispose', async () => {
    const table = uniqueName('pool_prisma');
    cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${table}`));
    const pool = createPgPool({ connectionString: PG_URL, max: 3 });
    cleanup.defer(() => (pool.ending ? undefined : pool.end()));
    expect(pool).toBeInstanceOf(pg.Pool);
    const acquired: unknown[] = [];
    pool.on('acquire', (client) => acquired.push(client));

    const factory = new PrismaPg(pool as unknown as pg.Pool);
    const adapter = await factory.connect();
    expect(adapter.underlyingDriver()).toBe(pool); // not a pg.Pool of its own
    expect(pool.listenerCount('error')).toBe(1); // the adapter's idle-client error listener

    await adapter.executeScript(`CREATE TABLE ${table} (id int PRIMARY KEY, name text); CREATE INDEX ON ${table} (name)`);
    const inserted = await adapter.executeRaw({
      sql: `INSERT INTO ${table} VALUES ($1, $2), ($3, $4)`,
      args: [1, 'Ada', 2, 'Grace'],
      argTypes: [INT, TEXT, INT, TEXT],
    });
    expect(inserted).toBe(2);

    const tx = await adapter.startTransaction();
    await tx.executeRaw({ sql: `UPDATE ${table} SET name = $1 WHERE id = $2`, args: ['Ada Lovelace', 1], argTypes: [TEXT, INT] });
    await tx.executeRaw({ sql: 'COMMIT', args: [], argTypes: [] });
    await tx.commit();

    const failed = await adapter.startTransaction();
    await failed.executeRaw({ sql: `DELETE FROM ${table} WHERE id = $1`, args: [1], argTypes: [INT] });
    await expect(
      failed.executeRaw({ sql: `INSERT INTO ${table} VALUES ($1, $2)`, args: [2, 'dup'], argTypes: [INT, TEXT] }),
    ).rejects.toMatchObject({
      name: 'DriverAdapterError',
      cause: { kind: 'UniqueConstraintViolation' },
    });
    await failed.executeRaw({ sql: 'ROLLBACK', args: [], argTypes: [] });
    await failed.rollback();

    const result = await adapter.queryRaw({ sql: `SELECT id, name FROM ${table} WHERE id >= $1 ORDER BY id`, args: [1], argTypes: [INT] });
    expect(result.columnNames).toEqual(['id', 'name']);
    expect(result.rows).toEqual([
      [1, 'Ada Lovelace'],
      [2, 'Grace'],
    ]);
    await expect(adapter.queryRaw({ sql: 'SELECT * FROM no_such_table_for_prisma', args: [], argTypes: [] })).rejects.toMatchObject({
      cause: { kind: 'TableDoesNotExist' },
    });

    expect(acquired.length).toBeGreaterThanOrEqual(6);
    expect(acquired.every((c) => c instanceof pg.Client)).toBe(true);
    await adapter.dispose();
    expect(pool.listenerCount('error')).toBe(0); // removeListener worked
    expect(pool.ending).toBe(false); // an external pool stays open
    await pool.end();
  });
});
