// pg-boss on createPgPool through its `db` adapter (`executeSql`), as its users run it: pg-boss
// installs its schema, a queue gets jobs (one sent inside the application's own transaction, one in a
// transaction rolled back), a worker completes them, a failing job is recorded as failed, and stop().
import { PgBoss } from 'pg-boss';
import { afterAll, describe, expect, it } from 'vitest';
import type { PgPoolClient } from '../pool.js';
import { createPgPool } from '../pool.js';
import { admin, PG_URL, uniqueName } from '../test-support/pg.js';

const schema = uniqueName('pool_boss');

afterAll(() => admin(`DROP SCHEMA IF EXISTS ${schema} CASCADE`));

/** pg-boss's documented adapter: anything with `executeSql(text, values)` resolving `{ rows }`. */
function adapter(db: { query(text: string, values?: unknown[]): Promise<{ rows: unknown[] }> }) {
  return { executeSql: (text: string, values?: unknown[]) => db.query(text, values) };
}

/** Polls `condition` (bounded). */
async function until(condition: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not within 15 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('pg-boss on createPgPool (db: { executeSql })', () => {
  it('installs, queues, works, fails, sends in a transaction, and stops', async () => {
    const pool = createPgPool({ connectionString: PG_URL, max: 5, statementCacheSize: 100 });
    const boss = new PgBoss({ db: adapter(pool), schema, supervise: false, schedule: false });
    const errors: unknown[] = [];
    boss.on('error', (error) => errors.push(error));
    await boss.start();
    await boss.createQueue('email');

    const sent = await boss.send('email', { to: 'ada@example.com' });
    expect(typeof sent).toBe('string');

    // Sent inside the application's transaction: committed with it, or gone with its rollback.
    const client: PgPoolClient = await pool.connect();
    let committed: string | null;
    let rolledBack: string | null;
    try {
      await client.query('BEGIN');
      committed = await boss.send('email', { to: 'grace@example.com' }, { db: adapter(client) });
      await client.query('COMMIT');
      await client.query('BEGIN');
      rolledBack = await boss.send('email', { to: 'nobody@example.com' }, { db: adapter(client) });
      await client.query('ROLLBACK');
    } finally {
      client.release();
    }
    expect(await boss.getJobById('email', committed as string)).toMatchObject({ data: { to: 'grace@example.com' } });
    expect(await boss.getJobById('email', rolledBack as string)).toBeNull();

    // A worker completes them.
    const done: string[] = [];
    await boss.work<{ to: string }>('email', { pollingIntervalSeconds: 0.5 }, async ([job]) => {
      if (job) done.push(job.data.to);
    });
    await until(async () => done.length === 2, 'the worker to complete both jobs');
    expect(done.sort()).toEqual(['ada@example.com', 'grace@example.com']);
    await until(async () => (await boss.getJobById('email', sent as string))?.state === 'completed', 'the job to be completed');

    // A job that fails is recorded as failed, with the error.
    await boss.createQueue('report');
    const failing = (await boss.send('report', { id: 1 }, { retryLimit: 0 })) as string;
    const [job] = await boss.fetch('report');
    expect(job?.id).toBe(failing);
    await boss.fail('report', failing, { message: 'printer on fire' });
    expect(await boss.getJobById('report', failing)).toMatchObject({ state: 'failed', output: { message: 'printer on fire' } });

    // An error from SQL through the adapter reaches the caller; the pool is fine afterwards.
    await expect(boss.getJobById('no_such_queue_for_boss', failing)).rejects.toThrow();
    expect((await pool.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);

    await boss.stop({ graceful: true, timeout: 5_000 });
    expect(errors).toEqual([]);
    expect(pool.statistics().destroyedByReason.reset).toBe(0);
    await pool.end();
    expect(pool.totalCount).toBe(0);
  });
});
