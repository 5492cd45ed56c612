// node-pg-migrate on a client borrowed from createPgPool (its `dbClient` option), as its users run
// it: migrations up (schema, table, insert, in one transaction under its advisory lock), a failing
// migration rolled back, one migration down; the session it changed (search_path, the lock) is reset
// before the connection is lent again.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runner } from 'node-pg-migrate';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../pool.js';
import { admin, PG_URL, uniqueName } from '../test-support/pg.js';

const schema = uniqueName('pool_migrate');
let root = '';
let dir = '';

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'pool-pg-migrate-'));
  await writeFile(join(root, 'package.json'), '{ "type": "module" }'); // the migrations are ES modules
  dir = join(root, 'migrations');
  await mkdir(dir);
  await writeFile(
    join(dir, '1_people.js'),
    `export const up = (pgm) => {
  pgm.createTable('person', { id: 'id', name: { type: 'text', notNull: true } });
  pgm.sql("INSERT INTO person (name) VALUES ('Ada'), ('Grace')");
};
export const down = (pgm) => pgm.dropTable('person');
`,
  );
  await writeFile(
    join(dir, '2_age.js'),
    `export const up = (pgm) => {
  pgm.addColumn('person', { age: { type: 'integer', notNull: true, default: 0 } });
};
export const down = (pgm) => pgm.dropColumn('person', 'age');
`,
  );
});

afterAll(async () => {
  await admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await rm(root, { recursive: true, force: true });
});

describe('node-pg-migrate on createPgPool (dbClient: await pool.connect())', () => {
  it('migrates up, rolls back a failing migration, migrates down, and the session is reset after', async () => {
    const pool = createPgPool({ connectionString: PG_URL, max: 1, statementCacheSize: 100 });
    const quiet = { debug() {}, info() {}, warn() {}, error() {} };
    const migrate = async (direction: 'up' | 'down', count?: number) => {
      const client = await pool.connect();
      try {
        return await runner({
          dbClient: client, // pg's own Client, as pg.Pool lends it
          dir,
          schema,
          createSchema: true,
          migrationsTable: 'pgmigrations',
          direction,
          ...(count === undefined ? {} : { count }),
          logger: quiet,
        });
      } finally {
        client.release();
      }
    };

    const up = await migrate('up');
    expect(up.map((m) => m.name)).toEqual(['1_people', '2_age']);
    expect((await pool.query(`SELECT name, age FROM ${schema}.person ORDER BY id`)).rows).toEqual([
      { name: 'Ada', age: 0 },
      { name: 'Grace', age: 0 },
    ]);
    // The runner set search_path and took an advisory lock on the session: both gone for the next borrower.
    const session = await pool.query<{ path: string; locks: number }>(
      "SELECT current_setting('search_path') AS path, (SELECT count(*)::int FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()) AS locks",
    );
    expect(session.rows).toEqual([{ path: '"$user", public', locks: 0 }]);

    // A failing migration: an error, and its transaction is rolled back (nothing of it stays).
    await writeFile(
      join(dir, '3_broken.js'),
      `export const up = (pgm) => {
  pgm.createTable('pet', { id: 'id' });
  pgm.sql('INSERT INTO no_such_table_for_migrations VALUES (1)');
};
`,
    );
    await expect(migrate('up')).rejects.toThrow(/no_such_table_for_migrations/);
    const tables = await pool.query<{ t: string }>(
      'SELECT table_name AS t FROM information_schema.tables WHERE table_schema = $1 ORDER BY 1',
      [schema],
    );
    expect(tables.rows.map((r) => r.t)).toEqual(['person', 'pgmigrations']);
    await rm(join(dir, '3_broken.js'));

    const down = await migrate('down', 1);
    expect(down.map((m) => m.name)).toEqual(['2_age']);
    const columns = await pool.query<{ c: string }>(
      "SELECT column_name AS c FROM information_schema.columns WHERE table_schema = $1 AND table_name = 'person' ORDER BY ordinal_position",
      [schema],
    );
    expect(columns.rows.map((r) => r.c)).toEqual(['id', 'name']);
    expect((await pool.query(`SELECT name FROM ${schema}.pgmigrations ORDER BY id`)).rows).toEqual([{ name: '1_people' }]);

    await pool.end();
    expect(pool.totalCount).toBe(0);
  });
});
