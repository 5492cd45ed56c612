// Kysely's MysqlDialect on createMysqlPool, as Kysely's users run it: schema, insert, select,
// transaction, an error, a stream, and destroy() (which ends the pool through its callback).
import { type Generated, Kysely, MysqlDialect, sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { createMysqlPool } from '../pool.js';
import { admin, MYSQL_URL, uniqueName } from '../test-support/mysql.js';

const table = uniqueName('pool_kysely_person');

interface Database {
  [table]: { id: Generated<number>; first_name: string; age: number };
}

afterAll(() => admin(`DROP TABLE IF EXISTS ${table}`));

describe('Kysely MysqlDialect({ pool: createMysqlPool(...) })', () => {
  it('runs schema, insert, select, transaction, error, stream, and destroy on our pool', async () => {
    const pool = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 3 });
    // Session setup that must hold for every borrower goes in mysql2's 'connection' event: it runs
    // again after each reset. (Kysely's onCreateConnection runs once per connection, on its first
    // borrow; a reset clears what it set: docs/migrating.md.)
    pool.on('connection', (conn) => {
      conn.query("SET SESSION time_zone = '+03:00'");
    });
    const created: unknown[] = [];
    const db = new Kysely<Database>({
      dialect: new MysqlDialect({
        pool,
        onCreateConnection: async (connection) => {
          created.push(connection);
        },
      }),
    });

    await db.schema
      .createTable(table)
      .addColumn('id', 'integer', (c) => c.primaryKey().autoIncrement())
      .addColumn('first_name', 'varchar(50)', (c) => c.notNull())
      .addColumn('age', 'integer', (c) => c.notNull())
      .execute();

    const inserted = await db.insertInto(table).values({ first_name: 'Ada', age: 36 }).executeTakeFirstOrThrow();
    expect(Number(inserted.insertId)).toBeGreaterThan(0);
    await db
      .insertInto(table)
      .values([
        { first_name: 'Grace', age: 45 },
        { first_name: 'Linus', age: 21 },
      ])
      .execute();

    const adults = await db.selectFrom(table).select(['first_name', 'age']).where('age', '>', 30).orderBy('age').execute();
    expect(adults).toEqual([
      { first_name: 'Ada', age: 36 },
      { first_name: 'Grace', age: 45 },
    ]);

    // A transaction: committed, and rolled back by an error thrown inside it.
    await db.transaction().execute(async (trx) => {
      await trx.updateTable(table).set({ age: 37 }).where('first_name', '=', 'Ada').execute();
    });
    await expect(
      db.transaction().execute(async (trx) => {
        await trx.updateTable(table).set({ age: 99 }).execute();
        throw new Error('changed my mind');
      }),
    ).rejects.toThrow('changed my mind');
    const ages = await db.selectFrom(table).select('age').orderBy('id').execute();
    expect(ages.map((r) => r.age)).toEqual([37, 45, 21]);

    // An error from the server, and the pool is fine afterwards.
    await expect(sql`SELECT * FROM no_such_table_for_kysely`.execute(db)).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
    // A borrower that changes its session gets it reset; the 'connection' setup is in force again after.
    await db.connection().execute(async (conn) => {
      await sql`SET @kysely_leftover = 1`.execute(conn);
    });
    const session = await db
      .connection()
      .execute(
        async (conn) =>
          (await sql<{ tz: string; v: unknown }>`SELECT @@session.time_zone AS tz, @kysely_leftover AS v`.execute(conn)).rows[0],
      );
    expect(session).toEqual({ tz: '+03:00', v: null });
    expect(pool.statistics().resets).toBeGreaterThanOrEqual(1);

    // A stream (Kysely runs it as conn.query(...).stream() on the borrowed mysql2 connection).
    const streamed: string[] = [];
    for await (const row of db.selectFrom(table).select('first_name').orderBy('id').stream(1)) streamed.push(row.first_name);
    expect(streamed).toEqual(['Ada', 'Grace', 'Linus']);
    // A stream left early gives its connection back too.
    for await (const row of db.selectFrom(table).select('first_name').orderBy('id').stream(1)) {
      expect(row.first_name).toBe('Ada');
      break;
    }
    expect((await db.selectFrom(table).select('first_name').where('age', '=', 21).executeTakeFirst())?.first_name).toBe('Linus');

    // onCreateConnection ran once per connection (the same object comes back for the same connection), not once per acquire.
    expect(created.length).toBeGreaterThan(0);
    expect(created.length).toBeLessThanOrEqual(pool.statistics().connectionsCreated);
    expect(new Set(created).size).toBe(created.length);
    expect(pool.statistics().acquired).toBeGreaterThan(created.length + 5);
    expect(pool.size().active).toBe(0);

    await db.destroy(); // pool.end(callback)
    expect(pool._closed).toBe(true);
    expect(pool.size().total).toBe(0);
  });
});
