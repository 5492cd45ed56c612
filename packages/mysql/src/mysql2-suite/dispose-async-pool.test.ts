// Port of sidorares/node-mysql2 test/integration/dispose/async/pool.test.mts: `await using` with the
// promise pool (mysql2/promise's createPool) and its connections.
import { strict } from 'node:assert';
import type { RowDataPacket } from 'mysql2';
import type { PoolConnection } from 'mysql2/promise';
import { describe, it } from 'vitest';
import { config, createPromisePool as createPool } from './common.js';

/** The callback pool under mysql2/promise's pool (`pool.pool`), whose internal lists the tests read. */
const core = (pool: { pool: unknown }) =>
  pool.pool as { _freeConnections: { length: number }; _allConnections: { length: number }; _closed: boolean };

describe('PromisePoolConnection should implement Symbol.asyncDispose', () => {
  it('should be a function', async () => {
    await using pool = createPool({ ...config, connectionLimit: 1 });
    await using conn: PoolConnection = await pool.getConnection();

    strict.strictEqual(typeof conn[Symbol.asyncDispose], 'function');
  });
});

describe('PromisePool should implement Symbol.asyncDispose', () => {
  it('should be a function', async () => {
    await using pool = createPool({ ...config, connectionLimit: 1 });

    strict.strictEqual(typeof pool[Symbol.asyncDispose], 'function');
  });
});

describe('await using should release the connection back to the pool', () => {
  it('should use and dispose the connection, then have returned it to the free pool', async () => {
    await using pool = createPool({ ...config, connectionLimit: 1 });
    {
      await using conn: PoolConnection = await pool.getConnection();

      const [rows] = await conn.query<RowDataPacket[]>('SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }

    // should have returned the connection to the free pool
    strict.strictEqual(core(pool)._freeConnections.length, 1);
  });
});

describe('Pool should serve a new connection after await using releases the previous one', () => {
  it('should use and dispose two connections with a single pool slot', async () => {
    await using pool = createPool({ ...config, connectionLimit: 1 });
    {
      await using conn: PoolConnection = await pool.getConnection();

      const [rows] = await conn.query<RowDataPacket[]>('SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }
    {
      await using conn: PoolConnection = await pool.getConnection();

      const [rows] = await conn.query<RowDataPacket[]>('SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }

    // should have served both connections with a single pool slot
    strict.strictEqual(core(pool)._allConnections.length, 1);
  });
});

describe('asyncDispose should end the pool', () => {
  it('should have received the query result and closed the pool', async () => {
    await using pool = createPool({ ...config, connectionLimit: 1 });
    const [rows] = await pool.query<RowDataPacket[]>('SELECT 1');

    await pool[Symbol.asyncDispose]();

    strict.deepStrictEqual(rows, [{ 1: 1 }]);
    strict.strictEqual(core(pool)._closed, true);
  });
});

describe('asyncDispose should handle manual end before asyncDispose on pool', () => {
  it('should have closed the pool', async () => {
    await using pool = createPool({ ...config, connectionLimit: 1 });

    await pool.end();
    await pool[Symbol.asyncDispose]();

    strict.strictEqual(core(pool)._closed, true);
  });
});

describe('await using should handle manual `destroy` before automatic dispose on pool connection', () => {
  it('should not error when connection is destroyed within await using, and remove it from the pool', async () => {
    await using pool = createPool({ ...config, connectionLimit: 1 });
    {
      await using conn: PoolConnection = await pool.getConnection();

      const [rows] = await conn.query<RowDataPacket[]>('SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
      conn.destroy();
    }

    // should have removed the destroyed connection from the pool
    strict.strictEqual(core(pool)._allConnections.length, 0);
  });
});
