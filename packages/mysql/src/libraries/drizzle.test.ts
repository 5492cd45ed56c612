// Drizzle ORM's mysql2 driver on createMysqlPool, as Drizzle's users run it: schema, insert, select,
// transaction, an error, iterator() (conn.connection.query(...).stream() underneath), and the end.
import { eq, gt, sql } from 'drizzle-orm';
import { int, mysqlTable, varchar } from 'drizzle-orm/mysql-core';
import { drizzle } from 'drizzle-orm/mysql2';
import { afterAll, describe, expect, it } from 'vitest';
import { createMysqlPool } from '../pool.js';
import { admin, MYSQL_URL, uniqueName } from '../test-support/mysql.js';

const tableName = uniqueName('pool_drizzle_users');
const users = mysqlTable(tableName, {
  id: int('id').primaryKey().autoincrement(),
  name: varchar('name', { length: 50 }).notNull(),
  score: int('score').notNull(),
});

afterAll(() => admin(`DROP TABLE IF EXISTS ${tableName}`));

describe('drizzle(createMysqlPool(...)) with the mysql2 driver', () => {
  it('runs schema, insert, select, transaction, error, iterator and end on our pool, leaking no connection', async () => {
    const pool = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 2 });
    const db = drizzle(pool);

    await db.execute(
      sql.raw(`CREATE TABLE ${tableName} (id INT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(50) NOT NULL, score INT NOT NULL)`),
    );
    const [header] = await db.insert(users).values([
      { name: 'ada', score: 10 },
      { name: 'grace', score: 20 },
      { name: 'linus', score: 5 },
    ]);
    expect(header.affectedRows).toBe(3);

    expect(await db.select({ name: users.name }).from(users).where(gt(users.score, 7)).orderBy(users.id)).toEqual([
      { name: 'ada' },
      { name: 'grace' },
    ]);

    await db.transaction(async (tx) => {
      await tx.update(users).set({ score: 11 }).where(eq(users.name, 'ada'));
    });
    await expect(
      db.transaction(async (tx) => {
        await tx.update(users).set({ score: 0 });
        tx.rollback();
      }),
    ).rejects.toThrow(/Rollback/);
    expect((await db.select({ score: users.score }).from(users).orderBy(users.id)).map((r) => r.score)).toEqual([11, 20, 5]);

    await expect(db.execute(sql`SELECT * FROM no_such_table_for_drizzle`)).rejects.toMatchObject({
      cause: expect.objectContaining({ code: 'ER_NO_SUCH_TABLE' }),
    });

    // iterator(): mysql2's callback connection under the promise one (conn.connection), streamed.
    const names: string[] = [];
    for await (const row of db.select({ name: users.name }).from(users).orderBy(users.id).iterator()) names.push(row.name);
    expect(names).toEqual(['ada', 'grace', 'linus']);
    // Left early, it still gives its connection back (Drizzle calls conn.end(), mysql2's release).
    for await (const row of db.select({ name: users.name }).from(users).orderBy(users.id).iterator()) {
      expect(row.name).toBe('ada');
      break;
    }
    expect(await db.select({ name: users.name }).from(users).where(eq(users.score, 5))).toEqual([{ name: 'linus' }]);
    expect(pool.size().active).toBe(0);

    // end() returns promptly: nothing is left borrowed.
    const ending = pool.end();
    const late = new Promise((resolve) => setTimeout(resolve, 5_000, 'late')).then(() => 'late');
    expect(await Promise.race([ending.then(() => 'ended'), late])).toBe('ended');
    expect(pool.size().total).toBe(0);
  });
});
