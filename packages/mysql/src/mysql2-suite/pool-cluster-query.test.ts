// Port of sidorares/node-mysql2 test/unit/pool-cluster/test-query.test.mts: a query through a
// namespace of three nodes, on the real server; every node stays serviceable.
import { strict } from 'node:assert';
import type { RowDataPacket } from 'mysql2';
import { describe, it } from 'vitest';
import { createPoolCluster, getConfig } from './common.js';

describe('pool cluster connection query', () => {
  it('should execute query through pool cluster', async () => {
    const cluster = createPoolCluster();
    const poolConfig = getConfig();

    cluster.add('MASTER', poolConfig);
    cluster.add('SLAVE1', poolConfig);
    cluster.add('SLAVE2', poolConfig);

    const connection = cluster.of('*');

    const rows = await new Promise<RowDataPacket[]>((resolve, reject) => {
      connection.query<RowDataPacket[]>('SELECT 1', (err, _rows) => (err ? reject(err) : resolve(_rows)));
    });

    strict.equal(rows.length, 1);
    strict.equal(rows[0]?.['1'], 1);
    strict.deepEqual(cluster._serviceableNodeIds, ['MASTER', 'SLAVE1', 'SLAVE2']);

    await cluster.end();
  });
});
