// Drizzle ORM's node-postgres driver on createPgPool, as Drizzle's users run it: schema, insert,
// select, a transaction (committed, rolled back, nested through a savepoint), an error, and close.
// (Drizzle's node-postgres driver has no streaming API.)
import { asc, eq, gt, sql } from 'drizzle-orm';
import { drizzle } from 'drizzle-orm/node-postgres';
import { integer, pgSchema, serial, text } from 'drizzle-orm/pg-core';
import type pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../pool.js';
import { admin, PG_URL, uniqueName } from '../test-support/pg.js';

const schemaName = uniqueName('pool_drizzle');
const app = pgSchema(schemaName);
const person = app.table('person', {
  id: serial('id').primaryKey(),
  firstName: text('first_name').notNull(),
  age: integer('age').notNull(),
});

afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schemaName} CASCADE`));

describe("Drizzle's node-postgres driver on createPgPool", () => {
  it('runs schema, insert, select, transactions, an error, and close on our pool', async () => {
    const pool = createPgPool({ connectionString: PG_URL, max: 3, statementCacheSize: 100 });
    // Drizzle types `client` as pg.Pool | pg.PoolClient, whose types have fields PgPool lacks; at run time
    // it calls query(), connect() and release(), and treats a class named *Pool as a pool.
    const db = drizzle({ client: pool as unknown as pg.Pool, schema: { person } });

    await db.execute(
      sql.raw(
        `CREATE SCHEMA ${schemaName}; CREATE TABLE ${schemaName}.person (id serial PRIMARY KEY, first_name text NOT NULL, age int NOT NULL)`,
      ),
    );

    const [ada] = await db.insert(person).values({ firstName: 'Ada', age: 36 }).returning();
    expect(ada).toEqual({ id: 1, firstName: 'Ada', age: 36 });
    await db.insert(person).values([
      { firstName: 'Grace', age: 45 },
      { firstName: 'Linus', age: 21 },
    ]);
    expect(await db.select({ name: person.firstName }).from(person).where(gt(person.age, 30)).orderBy(asc(person.age))).toEqual([
      { name: 'Ada' },
      { name: 'Grace' },
    ]);
    expect(await db.query.person.findFirst({ where: eq(person.firstName, 'Linus') })).toEqual({ id: 3, firstName: 'Linus', age: 21 });

    // A transaction runs on one borrowed connection: committed; rolled back on an error; a nested one
    // rolled back to its savepoint alone.
    await db.transaction(async (tx) => {
      await tx.update(person).set({ age: 37 }).where(eq(person.firstName, 'Ada'));
      await expect(
        tx.transaction(async (inner) => {
          await inner.update(person).set({ age: 0 });
          throw new Error('inner changed its mind');
        }),
      ).rejects.toThrow('inner changed its mind');
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.update(person).set({ age: 99 });
        tx.rollback();
      }),
    ).rejects.toThrow(/Rollback/);
    const ages = await db.select({ age: person.age }).from(person).orderBy(asc(person.id));
    expect(ages.map((r) => r.age)).toEqual([37, 45, 21]);

    // An error from the server (a unique violation), and the pool is fine afterwards.
    await expect(db.insert(person).values({ id: 1, firstName: 'Again', age: 1 })).rejects.toMatchObject({
      cause: expect.objectContaining({ code: '23505' }),
    });
    expect(await db.$count(person)).toBe(3);
    expect(pool.statistics().destroyedByReason.reset).toBe(0);

    await pool.end();
    expect(pool.totalCount).toBe(0);
  });
});
