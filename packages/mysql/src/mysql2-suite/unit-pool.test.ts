// Ports of sidorares/node-mysql2's unit tests of its pool class (test/unit/pool/*.test.mts). mysql2's
// build their BasePool by hand (Object.create(BasePool.prototype)) to test its internals; these run
// each scenario on a real createMysqlPool, keeping mysql2's assertions on what the scenario observes.
import { strict } from 'node:assert';
import mysql from 'mysql2';
import { afterEach, describe, it, vi } from 'vitest';
import type { MysqlPool } from '../pool.js';
import { createMysqlPool } from '../pool.js';
import type { MysqlPoolConnection } from '../pool-connection.js';
import { config, createPool } from './common.js';

const ConnectionConfig = (mysql as unknown as { ConnectionConfig: new (options: object) => object }).ConnectionConfig;

const getConnection = (pool: MysqlPool) =>
  new Promise<MysqlPoolConnection>((resolve, reject) => {
    pool.getConnection((err, conn) => (err ? reject(err) : resolve(conn)));
  });

type Config = { user?: string; database?: string; charsetNumber?: number };

// test/unit/pool/test-pool-connection-config-isolation.test.mts: each connection gets its own copy of
// the pool's connection config (mysql2's _createConnectionConfig()), here read from the connections.
describe('pool connection config isolation', () => {
  it('creates a new config object for every connection', async () => {
    const pool = createPool({ connectionLimit: 2 });
    const [a, b] = await Promise.all([getConnection(pool), getConnection(pool)]);
    const first = a.config;
    const second = b.config;

    strict.notStrictEqual(first, pool.config.connectionConfig);
    strict.notStrictEqual(second, pool.config.connectionConfig);
    strict.notStrictEqual(first, second);
    a.release();
    b.release();
    await pool.end();
  });

  it('keeps the values and the prototype of the pool config', async () => {
    const pool = createPool({ connectionLimit: 1, user: 'root', database: 'test' });
    const conn = await getConnection(pool);
    const config = conn.config as Config;

    strict.ok(config instanceof ConnectionConfig);
    strict.strictEqual(config.user, 'root');
    strict.strictEqual(config.database, 'test');
    strict.strictEqual(config.charsetNumber, (pool.config.connectionConfig as Config).charsetNumber);
    conn.release();
    await pool.end();
  });

  it('does not leak changeUser mutations to other connections', async () => {
    const pool = createPool({ connectionLimit: 2, user: 'root', database: 'test' });
    const changedConn = await getConnection(pool);
    const changed = changedConn.config as Config;

    // `ChangeUser` rewrites `connection.config` in place,
    // see `lib/commands/change_user.js`.
    changed.user = 'changeuser1';
    changed.database = 'other';

    const freshConn = await getConnection(pool);
    const fresh = freshConn.config as Config;

    strict.strictEqual((pool.config.connectionConfig as Config).user, 'root');
    strict.strictEqual((pool.config.connectionConfig as Config).database, 'test');
    strict.strictEqual(fresh.user, 'root');
    strict.strictEqual(fresh.database, 'test');
    changedConn.destroy();
    freshConn.release();
    await pool.end();
  });
});

// test/unit/pool/test-pool-end-clears-idle-timer.test.mts: the idle sweeper runs while the pool is open
// (maxIdle < connectionLimit) and stops at end(). mysql2 reads its sweeper's timer; here the sweeps
// are counted (the engine's maintenance events) under a fake clock.
describe('Pool end clears the idle sweeper timer', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('sweeps while open when maxIdle < connectionLimit, and never after end', async () => {
    vi.useFakeTimers();
    const pool = createPool({ connectionLimit: 2, maxIdle: 1 });
    let sweeps = 0;
    pool.pool.on('maintenance', () => sweeps++);

    await vi.advanceTimersByTimeAsync(5_000);
    // starts the sweeper on construction when maxIdle < connectionLimit
    strict.ok(sweeps > 0, 'sweeper timer should be running');

    await pool.promise().end();
    const atEnd = sweeps;
    await vi.advanceTimersByTimeAsync(60_000);

    // destroys the sweeper on end so the process can exit
    strict.equal(sweeps, atEnd);
    strict.equal(vi.getTimerCount(), 0);
  });
});

// test/unit/pool/test-query-error-propagation.test.mts: a connection whose query() throws while the
// statement is dispatched (here: the config's queryFormat throws, as mysql2's stub query() does).
describe('pool.query() error propagation', () => {
  const createStubbedPool = () => {
    const released: string[] = [];
    // (mysql2's test helper createPool passes a fixed list of options, without queryFormat.)
    const pool = createMysqlPool({
      ...config,
      connectionLimit: 1,
      queryFormat: (sql: string) => {
        if (sql === 'SELECT 1') throw new Error('Simulated error.');
        return sql;
      },
    });
    pool.on('release', () => released.push('released'));
    return { pool, released };
  };

  it('forwards dispatch errors to the callback', async () => {
    const { pool, released } = createStubbedPool();

    const error = await new Promise<Error>((resolve) => {
      pool.query('SELECT 1', [], resolve as never);
    });

    strict.strictEqual(error.message, 'Simulated error.');
    strict.deepStrictEqual(released, ['released']);
    await pool.end();
  });

  it('emits an error event without a callback', async () => {
    const { pool, released } = createStubbedPool();

    const error = await new Promise<Error>((resolve) => {
      pool.query('SELECT 1').once('error', resolve);
    });

    strict.strictEqual(error.message, 'Simulated error.');
    strict.deepStrictEqual(released, ['released']);
    await pool.end();
  });
});
