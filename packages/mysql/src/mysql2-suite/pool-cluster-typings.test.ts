// Port of sidorares/node-mysql2 test/tsc-build/mysql/createPoolCluster/** and
// test/tsc-build/promise/createPoolCluster/**: what TypeScript accepts and refuses on the cluster,
// checked by `tsc` (the package's typecheck covers the tests); the calls also run here.
import type mysql from 'mysql2';
import type { PoolCluster as PromisePoolCluster } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { createMysqlPoolCluster } from '../pool-cluster.js';
import { MYSQL_URL } from '../test-support/mysql.js';
import { config } from './common.js';

describe('typings of createMysqlPoolCluster, as mysql2 checks its own', () => {
  it('add: (group, uri) and (config), never a URI alone', async () => {
    const uriAccess = MYSQL_URL;
    const access = config;
    for (const poolCluster of [createMysqlPoolCluster(), createMysqlPoolCluster().promise()]) {
      // Overload: poolCluster.add(group, connectionUri)
      poolCluster.add('cluster1', uriAccess);
      // Overload: poolCluster.add(config)
      poolCluster.add(access);

      // @ts-expect-error: The option to pass only `URI` doesn't exists
      expect(() => poolCluster.add(uriAccess)).toThrow(
        /config = undefined: must be a mysql2 pool config or a mysql:\/\/ URL, for node 'mysql:/,
      );
      await poolCluster.end();
    }
  });

  it('is a mysql2 PoolCluster to TypeScript, and its promise() a mysql2/promise PoolCluster', async () => {
    // Not one of mysql2's type tests: code that annotates mysql2's types takes ours as they are.
    const cluster: mysql.PoolCluster = createMysqlPoolCluster();
    const promiseCluster: PromisePoolCluster = createMysqlPoolCluster().promise();
    cluster.add('a', MYSQL_URL);
    const [rows] = await promiseCluster
      .of('*')
      .query('SELECT 1 AS n')
      .catch((error: unknown) => [error]);
    expect(rows).toMatchObject({ code: 'POOL_NOEXIST' });
    await new Promise<void>((resolve) => cluster.end(() => resolve()));
    await promiseCluster.end();
  });

  it('of: a namespace, not a connection', async () => {
    for (const poolCluster of [createMysqlPoolCluster(), createMysqlPoolCluster().promise()]) {
      poolCluster.add('cluster1', MYSQL_URL);
      poolCluster.add('cluster2', config);

      const conn = poolCluster.of('cluster1');

      /** @ts-expect-error: PoolNamespace can't be a `PoolConnection` */
      expect(() => conn.release()).toThrow(TypeError);
      await poolCluster.end();
    }
  });

  // Port of test/tsc-build/strict-checks/enableKeepAlive-and-keepAliveInitialDelay.test.ts (its cluster part).
  it('add takes mysql2 pool options typed as mysql2 types them (enableKeepAlive, keepAliveInitialDelay)', async () => {
    const poolOptions: mysql.PoolOptions = {
      ...config,
      enableKeepAlive: true,
      keepAliveInitialDelay: 0,
    };
    const cluster = createMysqlPoolCluster();
    cluster.add(poolOptions);
    const promiseCluster = createMysqlPoolCluster().promise();
    promiseCluster.add(poolOptions);
    const [rows] = await promiseCluster.query('SELECT 1 AS n');
    expect(rows).toEqual([{ n: 1 }]);
    await Promise.all([cluster.end(), promiseCluster.end()]);
  });
});
