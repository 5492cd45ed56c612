// Kysely's PostgresDialect on createPgPool, as Kysely's users run it: schema, insert, select,
// transaction, an error, .stream() through pg-cursor (also left early), and destroy().
import { type Generated, Kysely, PostgresDialect, sql } from 'kysely';
import Cursor from 'pg-cursor';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../pool.js';
import { admin, PG_URL, uniqueName } from '../test-support/pg.js';

const schema = uniqueName('pool_kysely');

interface Database {
  person: { id: Generated<number>; first_name: string; age: number };
}

afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

describe('Kysely PostgresDialect({ pool: createPgPool(...), cursor: Cursor })', () => {
  it('runs schema, insert, select, transaction, error, stream, and destroy on our pool', async () => {
    // The README's quick start: a statement cache. Kysely sends [] as the parameters of plain SQL.
    const pool = createPgPool({ connectionString: PG_URL, max: 3, statementCacheSize: 100 });
    const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool, cursor: Cursor }) }).withSchema(schema);

    await db.schema.createSchema(schema).execute();
    await db.schema
      .createTable('person')
      .addColumn('id', 'serial', (c) => c.primaryKey())
      .addColumn('first_name', 'varchar(50)', (c) => c.notNull())
      .addColumn('age', 'integer', (c) => c.notNull())
      .execute();

    const inserted = await db.insertInto('person').values({ first_name: 'Ada', age: 36 }).returning('id').executeTakeFirstOrThrow();
    expect(inserted.id).toBe(1);
    await db
      .insertInto('person')
      .values([
        { first_name: 'Grace', age: 45 },
        { first_name: 'Linus', age: 21 },
      ])
      .execute();

    const adults = await db.selectFrom('person').select(['first_name', 'age']).where('age', '>', 30).orderBy('age').execute();
    expect(adults).toEqual([
      { first_name: 'Ada', age: 36 },
      { first_name: 'Grace', age: 45 },
    ]);

    // A transaction: committed, and rolled back by an error thrown inside it.
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('person').set({ age: 37 }).where('first_name', '=', 'Ada').execute();
    });
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.updateTable('person').set({ age: 99 }).execute();
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const ages = await db.selectFrom('person').select('age').orderBy('id').execute();
    expect(ages.map((r) => r.age)).toEqual([37, 45, 21]);

    // An error from the server, and the pool is fine afterwards.
    await expect(sql`SELECT * FROM no_such_table_for_kysely`.execute(db)).rejects.toMatchObject({ code: '42P01' });
    // Several statements in one raw query (values []): the simple protocol, never prepared.
    await sql`SELECT 1; SELECT 2`.execute(db);

    // .stream() through pg-cursor, read to the end in chunks.
    await db
      .insertInto('person')
      .columns(['first_name', 'age'])
      .expression(
        db
          .selectFrom(sql<{ g: number }>`generate_series(1, 200)`.as('g'))
          .select([sql<string>`'p' || g`.as('first_name'), sql<number>`g % 90`.as('age')]),
      )
      .execute();
    let streamed = 0;
    for await (const row of db.selectFrom('person').select(['id', 'first_name']).orderBy('id').stream(7)) {
      expect(typeof row.first_name).toBe('string');
      streamed++;
    }
    expect(streamed).toBe(203);
    // Left early: Kysely closes the cursor; every connection stays usable.
    let seen = 0;
    for await (const _row of db.selectFrom('person').selectAll().stream(5)) {
      if (++seen === 3) break;
    }
    expect(seen).toBe(3);
    const counts = await Promise.all(
      [1, 2, 3, 4, 5, 6].map(() =>
        db
          .selectFrom('person')
          .select((eb) => eb.fn.countAll<string>().as('n'))
          .executeTakeFirstOrThrow(),
      ),
    );
    expect(counts.map((c) => Number(c.n))).toEqual([203, 203, 203, 203, 203, 203]);
    expect(pool.statistics().destroyedByReason.reset).toBe(0);

    await db.destroy(); // ends the pool
    expect(pool.ended).toBe(true);
    expect(pool.totalCount).toBe(0);
  });
});
