// Port of node-postgres packages/pg-pool/test/sizing.js (brianc/node-postgres c9e57617), run against createPgPool.
// The fixed sleeps upstream waits for the idle timeout run on fake time (see fake-time.ts).
import { describe, expect, it, vi } from 'vitest';
import { elapse, useFakeTime } from './fake-time.js';
import { Pool } from './support.js';

describe('pool size of 1', () => {
  it('can create a single client and use it once', async () => {
    const pool = Pool({ max: 1 });
    expect(pool.waitingCount).toEqual(0);
    const client = await pool.connect();
    const res = await client.query('SELECT $1::text as name', ['hi']);
    expect(res.rows[0].name).toEqual('hi');
    client.release();
    pool.end();
  });

  it('can create a single client and use it multiple times', async () => {
    const pool = Pool({ max: 1 });
    expect(pool.waitingCount).toEqual(0);
    const client = await pool.connect();
    const wait = pool.connect();
    expect(pool.waitingCount).toEqual(1);
    client.release();
    const client2 = await wait;
    expect(client).toEqual(client2);
    client2.release();
    return await pool.end();
  });

  it('can only send 1 query at a time', async () => {
    const pool = Pool({ max: 1 });

    // the query text column name changed in PostgreSQL 9.2
    const versionResult = await pool.query<{ server_version_num: string }>('SHOW server_version_num');
    const version = Number.parseInt(versionResult.rows[0]?.server_version_num ?? '', 10);
    const queryColumn = version < 90200 ? 'current_query' : 'query';

    const queryText = `SELECT COUNT(*) as counts FROM pg_stat_activity WHERE ${queryColumn} = $1`;
    const queries = Array.from({ length: 20 }, () => pool.query<{ counts: string }>(queryText, [queryText]));
    const results = await Promise.all(queries);
    const counts = results.map((res) => Number.parseInt(res.rows[0]?.counts ?? '', 10));
    expect(counts).toEqual(Array.from({ length: 20 }, () => 1));
    return await pool.end();
  });

  it('does not remove clients when at or below min', async () => {
    useFakeTime();
    const pool = Pool({ max: 1, min: 1, idleTimeoutMillis: 10 });
    const client = await pool.connect();
    client.release();
    await elapse(20);
    expect(pool.idleCount).toEqual(1);
    return await pool.end();
  });

  // DELIBERATE DIFFERENCE (docs/migrating.md, "`min` connections are kept open"): pg.Pool's `min` only
  // stops the idle timeout below it, so a client retired by maxUses leaves the pool empty; createPgPool
  // opens a replacement to keep `min` open, so idleCount is 1. Marked `it.fails`; the added wait for the
  // replacement's connect makes the difference show every time.
  it.fails('does remove clients when at or below min if maxUses is reached', async () => {
    useFakeTime();
    const pool = Pool({ max: 1, min: 1, idleTimeoutMillis: 10, maxUses: 1 });
    const client = await pool.connect();
    client.release();
    await elapse(20);
    await vi.waitFor(() => expect(pool.pool.size().pending).toBe(0)); // added: the replacement's connect ends
    expect(pool.idleCount).toEqual(0);
    return await pool.end();
  });

  // DELIBERATE DIFFERENCE: the same as above, for a client retired by maxLifetimeSeconds.
  it.fails('does remove clients when at or below min if maxLifetimeSeconds is reached', async () => {
    useFakeTime();
    const pool = Pool({ max: 1, min: 1, idleTimeoutMillis: 10, maxLifetimeSeconds: 1 });
    const client = await pool.connect();
    client.release();
    await elapse(1020);
    await vi.waitFor(() => expect(pool.pool.size().pending).toBe(0)); // added: the replacement's connect ends
    expect(pool.idleCount).toEqual(0);
    return await pool.end();
  });
});

describe('pool size of 2', () => {
  it('does not remove clients when at or below min', async () => {
    useFakeTime();
    const pool = Pool({ max: 2, min: 2, idleTimeoutMillis: 10 });
    const client = await pool.connect();
    const client2 = await pool.connect();
    client.release();
    await elapse(20);
    client2.release();
    await elapse(20);
    expect(pool.idleCount).toEqual(2);
    return await pool.end();
  });

  it('does remove clients when above min', async () => {
    useFakeTime();
    const pool = Pool({ max: 2, min: 1, idleTimeoutMillis: 10 });
    const client = await pool.connect();
    const client2 = await pool.connect();
    client.release();
    await elapse(20);
    client2.release();
    await elapse(20);
    expect(pool.idleCount).toEqual(1);
    return await pool.end();
  });
});

describe('pool min size', () => {
  it('does not drop below min when clients released at same time', async () => {
    useFakeTime();
    const pool = Pool({ max: 2, min: 1, idleTimeoutMillis: 10 });
    const client = await pool.connect();
    const client2 = await pool.connect();
    client.release();
    client2.release();
    await elapse(20);
    expect(pool.idleCount).toEqual(1);
    return await pool.end();
  });
});
