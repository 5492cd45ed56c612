// Port of sidorares/node-mysql2 test/integration/pool-cluster/test-promise-wrapper.test.mts: the
// promise cluster (mysql2/promise's createPoolCluster, here `createMysqlPoolCluster().promise()`)
// forwards the cluster's events to itself, and its namespaces query, execute and fail as mysql2's.
import { strict } from 'node:assert';
import type { QueryError, RowDataPacket } from 'mysql2';
import { describe, it } from 'vitest';
import { config, createPromisePoolCluster as createPoolCluster } from './common.js';

type TestRow = RowDataPacket & { a: number };

/** The cluster's `emit`, untyped, as mysql2's test calls it (some events without their arguments). */
const emitOn = (cluster: { emit: unknown }, event: string, ...args: unknown[]): void => {
  (cluster.emit as (event: string, ...args: unknown[]) => boolean).call(cluster, event, ...args);
};

describe('Pool cluster: warn event', () => {
  it('propagates', async () => {
    const poolCluster = createPoolCluster();

    const seen = new Promise<void>((resolve) => {
      poolCluster.once('warn', async function (this: unknown) {
        await new Promise((resolve) => {
          strict.equal(this, poolCluster, 'should propagate warn event to promise wrapper');
          resolve(true);
        });
        resolve();
      });
    });

    emitOn(poolCluster.poolCluster, 'warn', new Error());
    await seen;
  });
});

describe('Pool cluster: remove event', () => {
  it('propagates', async () => {
    const poolCluster = createPoolCluster();

    const seen = new Promise<void>((resolve) => {
      poolCluster.once('remove', async function (this: unknown) {
        await new Promise((resolve) => {
          strict.equal(this, poolCluster, 'should propagate remove event to promise wrapper');
          resolve(true);
        });
        resolve();
      });
    });

    emitOn(poolCluster.poolCluster, 'remove');
    await seen;
  });
});

describe('Pool cluster: offline event', () => {
  it('propagates', async () => {
    const poolCluster = createPoolCluster();

    const seen = new Promise<void>((resolve) => {
      poolCluster.once('offline', async function (this: unknown) {
        await new Promise((resolve) => {
          strict.equal(this, poolCluster, 'should propagate offline event to promise wrapper');
          resolve(true);
        });
        resolve();
      });
    });

    emitOn(poolCluster.poolCluster, 'offline');
    await seen;
  });
});

describe('Pool cluster: online event', () => {
  it('propagates', async () => {
    const poolCluster = createPoolCluster();

    const seen = new Promise<void>((resolve) => {
      poolCluster.once('online', async function (this: unknown) {
        await new Promise((resolve) => {
          strict.equal(this, poolCluster, 'should propagate online event to promise wrapper');
          resolve(true);
        });
        resolve();
      });
    });

    emitOn(poolCluster.poolCluster, 'online');
    await seen;
  });
});

describe('Pool cluster: namespace query and execute', () => {
  it('queries and executes', async () => {
    const poolCluster = createPoolCluster();
    poolCluster.add('MASTER', config);

    const poolNamespace = poolCluster.of('MASTER');

    strict.equal(poolNamespace.poolNamespace, poolCluster.poolCluster.of('MASTER'));

    const connection = await poolNamespace.getConnection();

    strict.ok(connection, 'should get connection');
    connection.release();

    const [result] = await poolNamespace.query<TestRow[]>('SELECT 1 as a from dual where 1 = ?', [1]);
    strict.equal(result[0]?.a, 1, 'should query successfully');

    const [result2] = await poolNamespace.execute<TestRow[]>('SELECT 1 as a from dual where 1 = ?', [1]);
    strict.equal(result2[0]?.a, 1, 'should execute successfully');

    await poolCluster.end();
  });
});

describe('Pool cluster: POOL_NOEXIST error', () => {
  it('rejects', async () => {
    const poolCluster = createPoolCluster();
    poolCluster.add('SLAVE', config);

    let threw = false;
    let errorCode: string | undefined;

    try {
      await poolCluster.getConnection('SLAVE1');
    } catch (error: unknown) {
      threw = true;
      errorCode = (error as QueryError).code;
    }

    strict(threw, 'An error was expected');
    strict.equal(errorCode, 'POOL_NOEXIST', 'should throw when PoolNamespace does not exist');

    await poolCluster.end();
  });
});

describe('Pool cluster: regex pattern matching', () => {
  it('matches', async () => {
    const poolCluster = createPoolCluster();
    poolCluster.add('SLAVE1', config);

    const connection = await poolCluster.getConnection(/SLAVE[12]/);
    strict.equal((connection.connection as unknown as { _clusterId: string })._clusterId, 'SLAVE1', 'should match regex pattern');
    connection.release();

    await poolCluster.end();
  });
});
