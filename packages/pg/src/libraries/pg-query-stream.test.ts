// pg-query-stream on a client borrowed from createPgPool, as its users run it: a table, rows piped
// through a stream pipeline, a transaction, an error, a stream destroyed half-way, and end().
import { Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import QueryStream from 'pg-query-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { createPgPool } from '../pool.js';
import { admin, PG_URL, uniqueName } from '../test-support/pg.js';

const schema = uniqueName('pool_qstream');

afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

/** Rejects when `promise` takes longer than `ms`, so a hang fails the test. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe('pg-query-stream on createPgPool', () => {
  it('streams rows through a pipeline, in and out of a transaction, survives an error and an early destroy', async () => {
    const pool = createPgPool({ connectionString: PG_URL, max: 2, statementCacheSize: 100 });
    await pool.query(`CREATE SCHEMA ${schema}; CREATE TABLE ${schema}.event (id int PRIMARY KEY, kind text NOT NULL)`);
    await pool.query(
      `INSERT INTO ${schema}.event SELECT g, CASE WHEN g % 3 = 0 THEN 'click' ELSE 'view' END FROM generate_series(1, 5000) g`,
    );

    // Stream every row through a pipeline that counts the kinds.
    const client = await pool.connect();
    const kinds = new Map<string, number>();
    await pipeline(
      client.query(new QueryStream(`SELECT id, kind FROM ${schema}.event WHERE id > $1 ORDER BY id`, [0], { batchSize: 250 })),
      new Writable({
        objectMode: true,
        write(row: { kind: string }, _encoding, done) {
          kinds.set(row.kind, (kinds.get(row.kind) ?? 0) + 1);
          done();
        },
      }),
    );
    expect(Object.fromEntries(kinds)).toEqual({ click: 1666, view: 3334 });

    // Inside a transaction: the stream sees the transaction's own writes.
    await client.query('BEGIN');
    await client.query(`DELETE FROM ${schema}.event WHERE kind = $1`, ['view']);
    const ids: number[] = [];
    await pipeline(
      client.query(new QueryStream(`SELECT id FROM ${schema}.event ORDER BY id LIMIT 3`)),
      new Transform({ objectMode: true, transform: (row: { id: number }, _e, done) => done(null, row.id) }),
      new Writable({
        objectMode: true,
        write(id: number, _e, done) {
          ids.push(id);
          done();
        },
      }),
    );
    expect(ids).toEqual([3, 6, 9]);
    await client.query('ROLLBACK');

    // An error: the stream fails, the client stays usable.
    await expect(
      pipeline(
        client.query(new QueryStream('SELECT * FROM no_such_table_for_streams')),
        new Writable({ objectMode: true, write: (_row, _e, done) => done() }),
      ),
    ).rejects.toMatchObject({ code: '42P01' });
    expect((await client.query(`SELECT count(*)::int AS n FROM ${schema}.event`)).rows).toEqual([{ n: 5000 }]);
    client.release();

    // Destroyed half-way and released at once: the next borrowers never wait behind it.
    const early = await pool.connect();
    const stream = early.query(new QueryStream(`SELECT id FROM ${schema}.event ORDER BY id`, [], { batchSize: 10 }));
    let read = 0;
    for await (const _row of stream) if (++read === 15) break; // for-await destroys the stream
    early.release();
    const answers = await within(
      Promise.all([1, 2, 3].map((n) => pool.query<{ n: number }>('SELECT $1::int AS n', [n]))),
      5_000,
      'queries after a destroyed stream',
    );
    expect(answers.map((r) => r.rows[0]?.n)).toEqual([1, 2, 3]);

    await pool.end();
    expect(pool.totalCount).toBe(0);
  });
});
