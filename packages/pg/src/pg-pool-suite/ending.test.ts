// Port of node-postgres packages/pg-pool/test/ending.js (brianc/node-postgres c9e57617), run against createPgPool.
import { describe, expect, it } from 'vitest';
import { Pool, withDone } from './support.js';

describe('pool ending', () => {
  it('ends without being used', () =>
    withDone((done) => {
      const pool = Pool();
      pool.end(done);
    }));

  it('ends with a promise', () => {
    return Pool().end();
  });

  it('ends with clients', async () => {
    const pool = Pool();
    const res = await pool.query<{ name: string }>('SELECT $1::text as name', ['brianc']);
    expect(res.rows[0]?.name).toEqual('brianc');
    return pool.end();
  });

  it('allows client to finish', async () => {
    const pool = Pool();
    const query = pool.query<{ name: string }>('SELECT $1::text as name', ['brianc']);
    await pool.end();
    const res = await query;
    expect(res.rows[0]?.name).toEqual('brianc');
  });

  it('pool.end() - finish pending queries', async () => {
    const pool = Pool({ max: 20 });
    let completed = 0;
    for (let x = 1; x <= 20; x++) {
      pool.query('SELECT $1::text as name', ['brianc']).then(() => completed++);
    }
    await pool.end();
    expect(completed).toEqual(20);
  });
});
