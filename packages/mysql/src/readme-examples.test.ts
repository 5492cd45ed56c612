/**
 * The README's examples, run against the real server: the quick start, and the seed's pool creation,
 * custom configuration, acquiring connections and connection validator translated onto @pool/mysql.
 */
import { ConnectionPool, ConnectionValidator, PoolConfig } from '@pool/core';
import { useCleanup } from '@pool/testkit/conformance';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import { expect, it } from 'vitest';
import { mysqlFactory } from './factory.js';
import { createMysqlPool } from './pool.js';
import { createMysqlPoolCluster } from './pool-cluster.js';
import { admin, MYSQL_URL, uniqueName } from './test-support/mysql.js';

const cleanup = useCleanup();

it('README quick start: createMysqlPool in place of mysql.createPool', async () => {
  const accounts = uniqueName('pool_mysql_accounts');
  await admin(`CREATE TABLE ${accounts} (id INT PRIMARY KEY, balance INT) ENGINE=InnoDB`);
  cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${accounts}`));
  await admin(`INSERT INTO ${accounts} VALUES (1, 500)`);

  const pool = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 20, statementCacheSize: 100 });
  cleanup.defer(() => pool.end());
  const [rows] = await pool.execute<RowDataPacket[]>('SELECT ? AS id, ? AS name', [42, 'Ada']);
  expect(rows).toEqual([{ id: 42, name: 'Ada' }]);

  const conn = await pool.getConnection();
  try {
    await conn.beginTransaction();
    await conn.execute(`UPDATE ${accounts} SET balance = balance - ? WHERE id = ?`, [100, 1]);
    await conn.commit();
  } finally {
    conn.release();
  }
  expect((await pool.query<RowDataPacket[]>(`SELECT balance FROM ${accounts}`))[0]).toEqual([{ balance: 400 }]);
  await pool.end();
});

it('README seed translation: builder config, ConnectionPool.create, acquire, validator, statement cache figures', async () => {
  const users = uniqueName('pool_mysql_seed_users');
  await admin(`CREATE TABLE ${users} (id INT, active INT)`);
  cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${users}`));
  // Custom Configuration (the seed's PoolConfig::builder()), sized down for a test.
  const config = PoolConfig.builder()
    .minSize(2)
    .maxSize(10)
    .initialSize(2)
    .acquireTimeoutMs(30_000)
    .maxLifetimeMs(3_600_000)
    .statementCacheSize(100)
    .build();
  // Basic Pool (the seed's ConnectionPool::new(config, factory))
  const factory = mysqlFactory(MYSQL_URL, { statementCacheSize: config.statementCacheSize });
  const validator = new ConnectionValidator({ timeoutMs: 5_000 }).withQuery('SELECT 1').withFastValidation(true);
  const pool = await ConnectionPool.create(config, factory, { validator });
  cleanup.defer(() => pool.close());

  // Acquiring Connections
  {
    await using conn = await pool.acquire();
    const [found] = await conn.connection.execute(`SELECT * FROM ${users} WHERE active = ?`, [1]);
    expect(found).toEqual([]);
    // Connection Validator
    const isValid = await validator.validate(conn);
    expect(isValid).toBe(true);
  } // released here
  expect(validator.statistics().successRate).toBe(1);
  expect(factory.statistics().statementCache).toEqual({ hits: 0, misses: 1, evictions: 0, size: 1, capacity: 100 });
  expect(pool.statistics().acquired).toBe(1);
});

it('README PoolCluster example: a primary and two replicas, reads in turn, a write on the primary', async () => {
  const users = uniqueName('pool_mysql_cluster_users');
  await admin(`CREATE TABLE ${users} (id INT PRIMARY KEY, seen DATETIME NULL)`);
  cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${users}`));
  await admin(`INSERT INTO ${users} VALUES (42, NULL)`);

  // The three "servers" are the test server here.
  const cluster = createMysqlPoolCluster({ removeNodeErrorCount: 3, restoreNodeTimeout: 10_000 });
  cleanup.defer(() => cluster.end());
  cluster.add('primary', { uri: MYSQL_URL, connectionLimit: 20 });
  cluster.add('replica1', MYSQL_URL);
  cluster.add('replica2', MYSQL_URL);
  const offline: string[] = [];
  cluster.on('offline', (id) => offline.push(id));

  const [rows] = await cluster.of('replica*', 'RR').query<RowDataPacket[]>(`SELECT * FROM ${users} WHERE id = ?`, [42]);
  expect(rows).toEqual([{ id: 42, seen: null }]);
  const affected = await new Promise<number>((resolve, reject) => {
    cluster.getConnection('primary', (err, conn) => {
      if (err) return reject(err);
      expect((conn as unknown as { _clusterId: string })._clusterId).toBe('primary');
      conn.query<ResultSetHeader>(`UPDATE ${users} SET seen = NOW() WHERE id = ?`, [42], (qerr, result) => {
        conn.release();
        if (qerr) reject(qerr);
        else resolve(result.affectedRows);
      });
    });
  });
  expect(affected).toBe(1);
  // The turn went on to the other replica.
  const conn = await cluster.of('replica*', 'RR').getConnection();
  expect((conn.connection as unknown as { _clusterId: string })._clusterId).toBe('replica2');
  conn.release();
  expect(offline).toEqual([]);
  await cluster.end();
});
