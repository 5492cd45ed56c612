// Port of sidorares/node-mysql2 test/integration/dispose/sync/pool-cluster.test.mts and
// test/integration/dispose/async/pool-cluster.test.mts: `using` ends the callback cluster,
// `await using` the promise cluster, also after an explicit end().
import { strict } from 'node:assert';
import type { RowDataPacket } from 'mysql2';
import { describe, it } from 'vitest';
import type { MysqlPoolCluster as PoolCluster } from '../pool-cluster.js';
import { config, createPoolCluster, createPromisePoolCluster, getConfig } from './common.js';

const clusterQuery = (cluster: PoolCluster, sql: string) =>
  new Promise<RowDataPacket[]>((resolve, reject) => {
    cluster.of('*').query<RowDataPacket[]>(sql, (err, rows) => {
      if (err) return reject(err);
      resolve(rows);
    });
  });

describe('PoolCluster should implement Symbol.dispose', () => {
  it('should be a function', () => {
    using cluster = createPoolCluster();

    cluster.add('MASTER', getConfig());

    strict.strictEqual(typeof cluster[Symbol.dispose], 'function');
  });
});

describe('dispose should end the pool cluster', () => {
  it('should have received the query result and closed the pool cluster', async () => {
    using cluster = createPoolCluster();

    cluster.add('MASTER', getConfig());

    const rows = await clusterQuery(cluster, 'SELECT 1');

    cluster[Symbol.dispose]();

    strict.deepStrictEqual(rows, [{ 1: 1 }]);
    strict.strictEqual(cluster._closed, true);
  });
});

describe('dispose should handle manual end before dispose on pool cluster', () => {
  it('should have closed the pool cluster', async () => {
    using cluster = createPoolCluster();

    cluster.add('MASTER', getConfig());

    await new Promise<void>((resolve, reject) => {
      cluster.end((err) => (err ? reject(err) : resolve()));
    });

    cluster[Symbol.dispose]();

    strict.strictEqual(cluster._closed, true);
  });
});

describe('PromisePoolCluster should implement Symbol.asyncDispose', () => {
  it('should be a function', async () => {
    await using cluster = createPromisePoolCluster();

    cluster.add('MASTER', config);

    strict.strictEqual(typeof cluster[Symbol.asyncDispose], 'function');
  });
});

describe('asyncDispose should end the pool cluster', () => {
  it('should have received the query result and closed the pool cluster', async () => {
    await using cluster = createPromisePoolCluster();

    cluster.add('MASTER', config);

    const [rows] = await cluster.of('*').query<RowDataPacket[]>('SELECT 1');

    await cluster[Symbol.asyncDispose]();

    strict.deepStrictEqual(rows, [{ 1: 1 }]);
    strict.strictEqual(cluster.poolCluster._closed, true);
  });
});

describe('asyncDispose should handle manual end before asyncDispose on pool cluster', () => {
  it('should have closed the pool cluster', async () => {
    await using cluster = createPromisePoolCluster();

    cluster.add('MASTER', config);
    await cluster.end();
    await cluster[Symbol.asyncDispose]();

    strict.strictEqual(cluster.poolCluster._closed, true);
  });
});
