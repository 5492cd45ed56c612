// Port of node-postgres packages/pg-pool/test/lifetime-timeout.js (brianc/node-postgres c9e57617), run against createPgPool.
import { describe, expect, it } from 'vitest';
import { elapse, useFakeTime } from './fake-time.js';
import { Pool, withDone } from './support.js';

describe('lifetime timeout', () => {
  it('connection lifetime should expire and remove the client', () =>
    withDone((done) => {
      const pool = Pool({ maxLifetimeSeconds: 1 });
      pool.query('SELECT NOW()');
      pool.on('remove', () => {
        expect(pool.expiredCount).toEqual(0);
        expect(pool.totalCount).toEqual(0);
        done();
      });
    }));

  it('connection lifetime should expire and remove the client after the client is done working', () =>
    withDone((done) => {
      const pool = Pool({ maxLifetimeSeconds: 1 });
      pool.query('SELECT pg_sleep(1.4)');
      pool.on('remove', () => {
        expect(pool.expiredCount).toEqual(0);
        expect(pool.totalCount).toEqual(0);
        done();
      });
    }));

  // The lifetime runs on fake time, moved past 1 s while the server sleeps 1.4 s (real), so the client
  // always expires while busy, as upstream intends; upstream's 100 ms sleep is fake time too.
  it('can remove expired clients and recreate them', async () => {
    useFakeTime();
    const pool = Pool({ maxLifetimeSeconds: 1 });
    const query = pool.query('SELECT pg_sleep(1.4)');
    expect(pool.expiredCount).toEqual(0);
    expect(pool.totalCount).toEqual(1);
    await elapse(1000);
    await query;
    await elapse(100);
    expect(pool.expiredCount).toEqual(0);
    expect(pool.totalCount).toEqual(0);
    await pool.query('SELECT NOW()');
    expect(pool.expiredCount).toEqual(0);
    expect(pool.totalCount).toEqual(1);
  });
});
