/**
 * The README's examples, run against the real server: the seed's pool creation, custom configuration,
 * acquiring connections and connection validator, translated per DESIGN.md onto @pool/pg.
 */
import { ConnectionPool, ConnectionValidator, PoolConfig } from '@pool/core';
import { useCleanup } from '@pool/testkit/conformance';
import { expect, it } from 'vitest';
import { pgFactory } from './factory.js';
import { createPgPool } from './pool.js';
import { PG_URL, uniqueName } from './test-support/pg.js';

const cleanup = useCleanup();

it('README quick start: createPgPool as a drop-in for pg.Pool', async () => {
  const pool = createPgPool({ connectionString: PG_URL, max: 20, idleTimeoutMillis: 30_000, statementCacheSize: 100 });
  cleanup.defer(() => pool.end());
  const { rows } = await pool.query('SELECT $1::int AS id, $2::text AS name', [42, 'Ada']);
  expect(rows).toEqual([{ id: 42, name: 'Ada' }]);

  const client = await pool.connect();
  try {
    await client.query('BEGIN');
    await client.query('SELECT pg_advisory_xact_lock($1)', [42]);
    await client.query('COMMIT');
  } finally {
    client.release();
  }
  await pool.end();
});

it('README seed translation: builder config, ConnectionPool.create, acquire, validator', async () => {
  const table = uniqueName('pool_pg_seed_users');
  // Custom Configuration (the seed's PoolConfig::builder())
  const config = PoolConfig.builder()
    .minSize(2)
    .maxSize(10)
    .initialSize(2)
    .acquireTimeoutMs(30_000)
    .maxLifetimeMs(3_600_000)
    .statementCacheSize(100)
    .build();
  // Basic Pool (the seed's ConnectionPool::new(config, factory))
  const factory = pgFactory(PG_URL, { statementCacheSize: config.statementCacheSize });
  const validator = new ConnectionValidator({ timeoutMs: 5_000 }).withQuery('SELECT 1').withFastValidation(true);
  const pool = await ConnectionPool.create(config, factory, { validator });
  cleanup.defer(() => pool.close());
  await pool.use((db) => db.query(`CREATE TABLE ${table} (id int, name text)`));
  cleanup.defer(() => createPgPool({ connectionString: PG_URL }).query(`DROP TABLE IF EXISTS ${table}`));

  // Acquiring Connections
  {
    await using conn = await pool.acquire();
    const result = await conn.connection.query(`SELECT * FROM ${table}`);
    expect(result.rows).toEqual([]);
    expect(conn.id).toBeGreaterThan(0);
    expect(conn.age).toBeGreaterThanOrEqual(0);
    // Connection Validator
    const isValid = await validator.validate(conn);
    expect(isValid).toBe(true);
  } // returned to the pool here
  const stats = validator.statistics();
  expect(stats.successRate).toBe(1);
  expect(pool.statistics().acquired).toBe(2);
  await pool.use((db) => db.query(`DROP TABLE ${table}`));
});
