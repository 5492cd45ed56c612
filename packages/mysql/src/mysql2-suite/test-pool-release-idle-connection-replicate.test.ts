// Port of sidorares/node-mysql2 test/integration/test-pool-release-idle-connection-replicate.test.mts
// (issue #3020): with maxIdle below connectionLimit, released connections are closed after idleTimeout.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import type { MysqlPoolConnection as PoolConnection } from '../pool-connection.js';
import { createPool } from './common.js';

describe('Pool Release Idle Connection Replicate', () => {
  let allConnsAfterTimeout = -1;
  let freeConnsAfterTimeout = -1;

  it('should destroy idle connections after timeout', async () => {
    const pool = createPool({
      connectionLimit: 3,
      maxIdle: 2,
      idleTimeout: 1000,
    });

    await new Promise<void>((resolve, reject) => {
      pool.getConnection((err1: NodeJS.ErrnoException | null, connection1: PoolConnection) => {
        if (err1) return reject(err1);

        pool.getConnection((err2: NodeJS.ErrnoException | null, connection2: PoolConnection) => {
          if (err2) return reject(err2);

          pool.getConnection((err3: NodeJS.ErrnoException | null, connection3: PoolConnection) => {
            if (err3) return reject(err3);

            connection1.release();
            connection2.release();
            connection3.release();

            setTimeout(() => {
              allConnsAfterTimeout = pool._allConnections.length;
              freeConnsAfterTimeout = pool._freeConnections.length;

              pool.end(() => resolve());
            }, 5000);
          });
        });
      });
    });
  }, 20_000);

  it('should have no connections in the pool', () => {
    strict(allConnsAfterTimeout === 0, `Expected all connections to be closed, but found ${allConnsAfterTimeout}`);
    strict(freeConnsAfterTimeout === 0, `Expected all free connections to be closed, but found ${freeConnsAfterTimeout}`);
  });
});
