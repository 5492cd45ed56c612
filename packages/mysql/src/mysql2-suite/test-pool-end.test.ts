// Port of sidorares/node-mysql2 test/integration/test-pool-end.test.mts: a connection whose socket
// ends leaves the pool at once; end() closes everything; ending a saturated promise pool rejects the
// queued queries with 'Pool is closed.' and lets the running ones finish.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import { createPool } from './common.js';

function timeoutAfter(ms: number, message: string): Promise<never> {
  return new Promise((_, reject) => {
    setTimeout(() => reject(new Error(message)), ms);
  });
}

function getConnectionQueueLength(pool: unknown): number {
  return (pool as { pool: { _connectionQueue: { length: number } } }).pool._connectionQueue.length;
}

describe('Pool End', () => {
  it('should handle pool end correctly', async () => {
    const pool = createPool();
    await new Promise<void>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);

        // (read through a function: TypeScript would narrow the getter's value across the assertions)
        const internals = (): { _allConnections: { length: number }; _freeConnections: { length: number } } => pool;
        strict(internals()._allConnections.length === 1);
        strict(internals()._freeConnections.length === 0);

        // emit the end event, so the connection gets removed from the pool
        (conn as unknown as { stream: { emit(event: string): void } }).stream.emit('end');

        strict(internals()._allConnections.length === 0);
        strict(internals()._freeConnections.length === 0);

        // As the connection has not really ended we need to do this ourselves
        conn.destroy();
        resolve();
      });
    });

    await pool.end();
  });
});

describe('Pool end should close all connections and mark as closed', () => {
  it('should close all connections and mark pool as closed', async () => {
    const pool = createPool();
    await new Promise<void>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        conn.release();

        pool.end((endErr) => {
          if (endErr) return reject(endErr);
          resolve();
        });
      });
    });

    strict(pool._closed === true, 'pool should be closed');
  });
});

describe('Promise Pool End', () => {
  it('should reject queued queries when ending a saturated pool', async () => {
    const pool = createPool({
      connectionLimit: 2,
      gracefulEnd: true,
    } as never).promise();

    const warmedConnections = await Promise.all([pool.getConnection(), pool.getConnection()]);

    for (const conn of warmedConnections) {
      conn.release();
    }

    let enqueued = 0;
    const waitForQueuedQueries = new Promise<void>((resolve) => {
      pool.on('enqueue', () => {
        enqueued++;

        if (enqueued === 2) {
          process.nextTick(resolve);
        }
      });
    });

    const queries = [
      pool.query('SELECT SLEEP(2)'),
      pool.query('SELECT SLEEP(2)'),
      pool.query('SELECT SLEEP(2)'),
      pool.query('SELECT SLEEP(2)'),
    ];
    const activeResultsPromise = Promise.allSettled(queries.slice(0, 2));
    const queuedResultsPromise = Promise.allSettled(queries.slice(2));

    await waitForQueuedQueries;

    strict.equal(getConnectionQueueLength(pool), 2);

    const endPromise = pool.end();

    const queuedResults = await Promise.race([
      queuedResultsPromise,
      timeoutAfter(1000, `timed out waiting for queued queries to settle; queue length=${getConnectionQueueLength(pool)}`),
    ]);

    for (const result of queuedResults) {
      strict.equal(result.status, 'rejected');

      if (result.status === 'rejected') {
        strict.equal(result.reason.message, 'Pool is closed.');
      }
    }

    strict.equal(getConnectionQueueLength(pool), 0);

    const activeResults = await activeResultsPromise;

    for (const result of activeResults) {
      strict.equal(result.status, 'fulfilled');
    }

    await endPromise;
  });
});
