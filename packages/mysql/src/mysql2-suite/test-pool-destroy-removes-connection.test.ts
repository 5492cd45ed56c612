// Port of sidorares/node-mysql2 test/integration/test-pool-destroy-removes-connection.test.mts.
import { strict } from 'node:assert';
import type { RowDataPacket } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { MysqlPool } from '../pool.js';
import { createPool } from './common.js';

const queueSizes = (pool: MysqlPool): { all: number; free: number } => ({
  all: pool._allConnections.length,
  free: pool._freeConnections.length,
});

describe('Pool removes destroyed connections from its queues', () => {
  const pool = createPool({ connectionLimit: 3 });
  const promisePool = pool.promise();
  let first: PoolConnection;
  let second: PoolConnection;
  let third: PoolConnection;

  beforeAll(async () => {
    first = await promisePool.getConnection();
    second = await promisePool.getConnection();
    third = await promisePool.getConnection();

    second.release();
    third.release();
  });
  afterAll(() => promisePool.end());

  it('holds three connections, two of them free', () => {
    strict.deepEqual(queueSizes(pool), { all: 3, free: 2 });
  });

  it('drops a destroyed held connection from the pool', () => {
    first.destroy();
    strict.deepEqual(queueSizes(pool), { all: 2, free: 2 });
  });

  it('drops a destroyed free connection from both queues', () => {
    second.destroy();
    strict.deepEqual(queueSizes(pool), { all: 1, free: 1 });
  });

  it('still serves queries afterwards', async () => {
    const [rows] = await promisePool.query<RowDataPacket[]>('SELECT 1 AS ok');

    strict.equal(rows[0]?.ok, 1);
  });
});
