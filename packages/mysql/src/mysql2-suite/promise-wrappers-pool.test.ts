// Port of the pool tests of sidorares/node-mysql2 test/integration/promise-wrappers/test-promise-wrappers.test.mts
// (testBasicPool, testErrorsPool, testObjParamsPool, testPromiseLibrary, testEventsPool,
// testPoolConnectionDestroy), with mysql2/promise's createPool made as mysql2 makes it.
import { strict } from 'node:assert';
import type { RowDataPacket } from 'mysql2';
import { describe, it } from 'vitest';
import { config, createPromisePool as createPool } from './common.js';

type TttRow = RowDataPacket & { ttt: number };
type QqqRow = RowDataPacket & { qqq: number };

describe('testBasicPool', () => {
  it('gets, releases and queries', async () => {
    const pool = createPool(config);
    const connResolved = await pool.getConnection();
    pool.releaseConnection(connResolved);
    const result1 = await pool.query<TttRow[]>('select 1+2 as ttt');
    strict.equal(result1[0][0]?.ttt, 3);
    const result2 = await pool.query<QqqRow[]>('select 2+2 as qqq');
    strict.equal(result2[0][0]?.qqq, 4);
    await pool.end();
  });
});

describe('testErrorsPool', () => {
  it('rejects a bad statement', async () => {
    const pool = createPool(config);
    const result1 = await pool.query<TttRow[]>('select 1+2 as ttt');
    strict.equal(result1[0][0]?.ttt, 3);
    let threw = false;
    try {
      await pool.query<TttRow[]>('bad sql');
    } catch {
      threw = true;
    }
    strict(threw, 'Expected query to fail');
    await pool.end();
  });
});

describe('testObjParamsPool', () => {
  it('takes options objects', async () => {
    const pool = createPool(config);
    const result1 = await pool.query<TttRow[]>({
      sql: 'select ?-? as ttt',
      values: [5, 2],
    });
    strict.equal(result1[0][0]?.ttt, 3);
    const result2 = await pool.execute<TttRow[]>({
      sql: 'select ?-? as ttt',
      values: [8, 5],
    });
    strict.equal(result2[0][0]?.ttt, 3);
    await pool.end();
  });
});

describe('testPromiseLibrary', () => {
  it("returns the pool's Promise", async () => {
    const pool = createPool(config);
    const promise = pool.execute<TttRow[]>({
      sql: 'select ?-? as ttt',
      values: [8, 5],
    });
    strict.ok(promise instanceof (pool as unknown as { Promise: PromiseConstructor }).Promise);
    await promise;
    const endPromise = pool.end();
    strict.ok(endPromise instanceof (pool as unknown as { Promise: PromiseConstructor }).Promise);
    await endPromise;
  });
});

describe('testEventsPool', () => {
  it("forwards the pool's events", async () => {
    const pool = createPool(config);
    let events = 0;

    const expectedListeners: Record<string, number> = {
      acquire: 0,
      connection: 0,
      enqueue: 0,
      release: 0,
    };
    for (const eventName in expectedListeners) {
      strict.equal(pool.pool.listenerCount(eventName), expectedListeners[eventName], eventName);
    }

    pool
      .once(
        'acquire',
        function (this: unknown) {
          strict.equal(this, pool);
          ++events;
        }.bind(pool),
      )
      .once(
        'connection',
        function (this: unknown) {
          strict.equal(this, pool);
          ++events;
        }.bind(pool),
      )
      .once(
        'enqueue',
        function (this: unknown) {
          strict.equal(this, pool);
          ++events;
        }.bind(pool),
      )
      .once(
        'release',
        function (this: unknown) {
          strict.equal(this, pool);
          ++events;
        }.bind(pool),
      );

    pool.pool.emit('acquire');
    pool.pool.emit('connection');
    pool.pool.emit('enqueue');
    pool.pool.emit('release');

    strict.equal(events, 4, 'wrong number of pool connection events');

    for (const eventName in expectedListeners) {
      strict.equal(pool.pool.listenerCount(eventName), expectedListeners[eventName], eventName);
    }
    await pool.end();
  });
});

describe('testPoolConnectionDestroy', () => {
  it('serves a new connection after destroy()', async () => {
    const options = Object.assign({ connectionLimit: 1 }, config);
    const pool = createPool(options);
    const connection = await pool.getConnection();
    connection.destroy();

    const bomb = setTimeout(() => {
      throw new Error('Timebomb not defused within 2000ms');
    }, 2000);

    await pool.getConnection();
    clearTimeout(bomb);
    await pool.end();
  });
});
