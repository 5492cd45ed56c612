// Port of sidorares/node-mysql2 test/unit/pool-cluster/test-connection-rr.test.mts: with the RR
// selector the nodes take turns, on the real server.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import { createPoolCluster, getConfig } from './common.js';

describe('pool cluster connection RR', () => {
  it('should get connections in round-robin order', async () => {
    const cluster = createPoolCluster();

    const order: string[] = [];

    const poolConfig = getConfig();
    cluster.add('SLAVE1', poolConfig);
    cluster.add('SLAVE2', poolConfig);

    const pool = cluster.of('SLAVE*', 'RR');

    await new Promise<void>((resolve, reject) => {
      let count = 0;

      function getConnection(i: number) {
        pool.getConnection((err, conn) => {
          if (err) return reject(err);
          order[i] = (conn as unknown as { _clusterId: string })._clusterId;
          conn.release();

          count += 1;

          if (count <= 4) {
            getConnection(count);
          } else {
            resolve();
          }
        });
      }

      getConnection(0);
    });

    strict.deepEqual(order, ['SLAVE1', 'SLAVE2', 'SLAVE1', 'SLAVE2', 'SLAVE1']);
    await cluster.end();
  });
});
