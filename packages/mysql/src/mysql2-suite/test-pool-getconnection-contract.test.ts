// Port of sidorares/node-mysql2 test/integration/test-pool-getconnection-contract.test.mts: what
// getConnection() gives (mysql2's classes), connection reuse and limits, waitForConnections: false,
// and the error paths of query() and execute().
import assert from 'node:assert';
import driver, { type PoolConnection as PoolConnectionContract, type RowDataPacket } from 'mysql2';
import promiseDriver from 'mysql2/promise';
import { describe, it } from 'vitest';
import { createMysqlPool } from '../pool.js';
import { config, createPool } from './common.js';

// mysql2's classes, reached through its public exports (its package exports no deep paths).
const Connection = driver.Connection;
const PoolConnection = driver.PoolConnection;
const BaseConnection = Object.getPrototypeOf(Connection.prototype).constructor;
const Pool = (driver as unknown as { Pool: new () => object }).Pool;
const BasePool = Object.getPrototypeOf(Pool.prototype).constructor as { new (): object; prototype: { getConnection: unknown } };
const PromiseConnection = promiseDriver.Connection;
const PromisePoolConnection = promiseDriver.PoolConnection;

describe('Pool getConnection contract', () => {
  const pool = createPool({ connectionLimit: 2 });

  it('should not expose _getConnection as a method', () => {
    assert.strictEqual(typeof (pool as unknown as { _getConnection: unknown })._getConnection, 'undefined');
  });

  it('should expose getConnection as a function', () => {
    assert.strictEqual(typeof pool.getConnection, 'function');
  });

  it('should be an instance of Pool and BasePool', () => {
    assert.ok(pool instanceof Pool, 'pool should be instance of Pool');
    assert.ok(pool instanceof BasePool, 'pool should be instance of BasePool');
  });

  // DIFFERENCE: mysql2's test checks that getConnection is mysql2's own BasePool.prototype.getConnection
  // (a refactoring guard inside mysql2). Ours is the pool's own method, on the engine; mysql2's classes
  // are in the prototype chain for `instanceof` only. docs/migrating.md, "instanceof mysql.Pool".
  // mysql2's test, as it is, fails against createMysqlPool:
  it.fails('should inherit getConnection from the prototype chain', () => {
    assert.strictEqual(Object.hasOwn(pool, 'getConnection'), false, 'getConnection should not be an own property');
    assert.strictEqual(typeof BasePool.prototype.getConnection, 'function', 'getConnection should exist on BasePool.prototype');
    assert.strictEqual(
      pool.getConnection,
      BasePool.prototype.getConnection,
      'pool.getConnection should reference BasePool.prototype.getConnection',
    );
  });

  // ... and ours: getConnection is inherited from the pool's class, not an own property, not mysql2's.
  it("has getConnection from its class's prototype, not mysql2's (our behaviour)", () => {
    assert.strictEqual(Object.hasOwn(pool, 'getConnection'), false);
    assert.notStrictEqual(pool.getConnection, BasePool.prototype.getConnection);
    assert.strictEqual(pool.getConnection, Object.getPrototypeOf(pool).getConnection);
  });

  it('PoolConnection should derive from Connection (issue #3273)', () => {
    assert.ok(PoolConnection.prototype instanceof Connection, 'PoolConnection.prototype should be instanceof Connection');
    assert.ok(PoolConnection.prototype instanceof BaseConnection, 'PoolConnection.prototype should be instanceof BaseConnection');
  });

  it('should export Connection and PoolConnection as constructors', () => {
    assert.strictEqual(typeof driver.Connection, 'function', 'driver.Connection should be a constructor');
    assert.strictEqual(typeof driver.PoolConnection, 'function', 'driver.PoolConnection should be a constructor');
  });

  it('exported PoolConnection should derive from exported Connection (issue #3273)', () => {
    assert.ok(
      driver.PoolConnection.prototype instanceof driver.Connection,
      'driver.PoolConnection.prototype should be instanceof driver.Connection',
    );
  });

  it('pool connection instance should be instanceof Connection', async () => {
    const conn = await new Promise<PoolConnectionContract>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        resolve(conn);
      });
    });

    assert.ok(conn instanceof Connection, 'conn should be instanceof Connection');
    assert.ok(conn instanceof PoolConnection, 'conn should be instanceof PoolConnection');
    conn.release();
  });

  it('should acquire and release a connection', async () => {
    const rows = await new Promise<RowDataPacket[]>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        conn.query('SELECT 1 AS result', (qErr: Error | null, results: RowDataPacket[]) => {
          conn.release();
          if (qErr) return reject(qErr);
          resolve(results);
        });
      });
    });

    assert.strictEqual(rows[0]?.result, 1);
  });

  it('should reuse released connections', async () => {
    const [threadId1, threadId2] = await new Promise<[number, number]>((resolve, reject) => {
      pool.getConnection((err, conn1) => {
        if (err) return reject(err);
        const id1 = conn1.threadId;
        conn1.release();

        pool.getConnection((err2, conn2) => {
          if (err2) return reject(err2);
          const id2 = conn2.threadId;
          conn2.release();
          resolve([id1, id2]);
        });
      });
    });

    assert.strictEqual(threadId2, threadId1, 'should reuse the same underlying connection');
  });

  it('should respect connectionLimit', async () => {
    const allConnections = await new Promise<number>((resolve, reject) => {
      pool.getConnection((err, conn1) => {
        if (err) return reject(err);
        pool.getConnection((err2, conn2) => {
          if (err2) {
            conn1.release();
            return reject(err2);
          }

          const count = pool._allConnections.length;

          conn1.release();
          conn2.release();
          resolve(count);
        });
      });
    });

    assert.strictEqual(allConnections, 2);
  });

  it('ends', async () => {
    await pool.promise().end();
  });
});

describe('Promise Pool getConnection contract', () => {
  const pool = createPool({ connectionLimit: 1 });
  const promisePool = pool.promise();

  it('PromisePoolConnection should derive from PromiseConnection', () => {
    assert.ok(
      PromisePoolConnection.prototype instanceof PromiseConnection,
      'PromisePoolConnection.prototype should be instanceof PromiseConnection',
    );
  });

  it('promise pool connection instance should be instanceof PromiseConnection', async () => {
    const conn = await promisePool.getConnection();

    assert.ok(conn instanceof PromiseConnection, 'conn should be instanceof PromiseConnection');
    assert.ok(conn instanceof PromisePoolConnection, 'conn should be instanceof PromisePoolConnection');
    conn.release();
  });

  it('should export Connection and PoolConnection as constructors', () => {
    assert.strictEqual(typeof promiseDriver.Connection, 'function', 'promiseDriver.Connection should be a constructor');
    assert.strictEqual(typeof promiseDriver.PoolConnection, 'function', 'promiseDriver.PoolConnection should be a constructor');
  });

  it('exported PoolConnection should derive from exported Connection', () => {
    assert.ok(
      promiseDriver.PoolConnection.prototype instanceof promiseDriver.Connection,
      'promiseDriver.PoolConnection.prototype should be instanceof promiseDriver.Connection',
    );
  });

  it('ends', async () => {
    await promisePool.end();
  });
});

describe('Pool getConnection edge cases', () => {
  describe('waitForConnections disabled', () => {
    // createPool helper from common.test.mjs does not forward waitForConnections
    const pool = createMysqlPool({
      ...config,
      connectionLimit: 1,
      waitForConnections: false,
    });

    it('should return error when no connections available', async () => {
      const conn = await pool.promise().getConnection();
      const err = await new Promise<Error | null>((resolve) => {
        pool.getConnection((err2) => {
          resolve(err2 || null);
        });
      });

      conn.release();

      assert.ok(err instanceof Error, 'should receive an error');
      assert.ok((err as Error).message.includes('No connections available'), 'should indicate no connections available');
    });

    it('ends', async () => {
      await pool.promise().end();
    });
  });
});

describe('Pool query error paths', () => {
  it('should emit error in event-emitter mode when pool is closed', async () => {
    const closedPool = createPool({ connectionLimit: 1 });
    await closedPool.promise().end();

    const err = await new Promise<Error>((resolve) => {
      const query = closedPool.query('SELECT 1');
      query.on('error', (err: Error) => resolve(err));
    });

    assert.ok(err instanceof Error, 'should receive an error');
    assert.ok(err.message.includes('Pool is closed'), 'should indicate pool is closed');
  });
});

describe('Pool execute error paths', () => {
  it('should return error when pool is closed', async () => {
    const closedPool = createPool({ connectionLimit: 1 });
    await closedPool.promise().end();

    const err = await new Promise<Error | null>((resolve) => {
      closedPool.execute('SELECT 1', (err: Error | null) => {
        resolve(err);
      });
    });

    assert.ok(err instanceof Error, 'should receive an error');
    assert.ok((err as Error).message.includes('Pool is closed'), 'should indicate pool is closed');
  });

  describe('synchronous execute error', () => {
    const pool = createPool({ connectionLimit: 1 });

    it('should catch synchronous errors from conn.execute()', async () => {
      const err = await new Promise<Error | null>((resolve) => {
        pool.execute('SELECT ?', { invalid: 'object' }, (err: Error | null) => {
          resolve(err);
        });
      });

      assert.ok(err instanceof TypeError, 'should receive a TypeError');
    });

    it('ends', async () => {
      await pool.promise().end();
    });
  });
});
