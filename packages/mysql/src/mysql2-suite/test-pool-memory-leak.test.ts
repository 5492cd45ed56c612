// Port of sidorares/node-mysql2 test/integration/test-pool-memory-leak.test.mts (issue #3904): a pool
// connection carries mysql2's own listeners only, however many queries ran.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import type { MysqlPool as Pool } from '../pool.js';
import type { MysqlPoolConnection as PoolConnection } from '../pool-connection.js';
import { createPool } from './common.js';

/** Returns the raw `PoolConnection` with access to `EventEmitter` listeners. */
const getConnection = (pool: Pool) =>
  new Promise<PoolConnection>((resolve, reject) => {
    pool.getConnection((err, conn) => {
      if (err) return reject(err);
      resolve(conn);
    });
  });

describe('Pool Memory Leak: single connection (issue #3904)', () => {
  it('should not retain stale connect/error listeners after pool connection is established', async () => {
    const pool = createPool({ connectionLimit: 1 });
    const conn = await getConnection(pool);
    const errorListenerCount = conn.listenerCount('error');
    conn.release();

    strict.strictEqual(errorListenerCount, 1, `Expected 1 error listener, but found ${errorListenerCount}.`);

    await pool.promise().end();
  });
});

describe('Pool Memory Leak: multiple queries (issue #3904)', () => {
  it('should not accumulate listeners across multiple pool.query calls', async () => {
    const pool = createPool({ connectionLimit: 1 });
    const promisePool = pool.promise();
    await promisePool.query('SELECT 1');

    const conn = await getConnection(pool);
    const errorListeners = conn.listenerCount('error');
    const connectListeners = conn.listenerCount('connect');
    conn.release();

    strict.strictEqual(errorListeners, 1, `Expected 1 error listener after queries, but found ${errorListeners}.`);

    strict.strictEqual(connectListeners, 0, `Expected 0 connect listeners, but found ${connectListeners}.`);

    await promisePool.end();
  });
});

describe('Pool Memory Leak: result references (issue #3904)', () => {
  it('should release query result references after query completes', async () => {
    const pool = createPool({ connectionLimit: 1 });
    const promisePool = pool.promise();
    await promisePool.query('SELECT REPEAT("x", 1024) AS padding FROM (SELECT 1 UNION SELECT 2 UNION SELECT 3 UNION SELECT 4) t');

    const conn = await getConnection(pool);
    const errorListeners = conn.rawListeners('error');
    conn.release();

    const hasStaleListener = errorListeners.some((listener) => {
      const original = (listener as { listener?: unknown }).listener ?? listener;
      return String(original).includes('connectCalled');
    });

    strict(!hasStaleListener, 'Found a stale callbackOnce error listener that retains query result references.');

    await promisePool.end();
  });
});
