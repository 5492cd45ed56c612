// Port of sidorares/node-mysql2 test/integration/dispose/sync/pool.test.mts: `using` with the callback
// pool and its connections.
import { strict } from 'node:assert';
import type { RowDataPacket } from 'mysql2';
import { describe, it } from 'vitest';
import type { MysqlPool as Pool } from '../pool.js';
import type { MysqlPoolConnection as PoolConnection } from '../pool-connection.js';
import { createPool } from './common.js';

const getConnection = (pool: Pool) =>
  new Promise<PoolConnection>((resolve, reject) => {
    pool.getConnection((err, conn) => {
      if (err) return reject(err);
      resolve(conn);
    });
  });

const query = (conn: PoolConnection, sql: string) =>
  new Promise<RowDataPacket[]>((resolve, reject) => {
    conn.query<RowDataPacket[]>(sql, (err, rows) => {
      if (err) return reject(err);
      resolve(rows);
    });
  });

describe('PoolConnection should implement Symbol.dispose', () => {
  it('should be a function', async () => {
    using pool = createPool({ connectionLimit: 1 });
    using conn = await getConnection(pool);

    strict.strictEqual(typeof conn[Symbol.dispose], 'function');
  });
});

describe('using should release the connection back to the pool', () => {
  it('should use and dispose the connection, then have returned it to the free pool', async () => {
    using pool = createPool({ connectionLimit: 1 });
    {
      using conn = await getConnection(pool);
      const rows = await query(conn, 'SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }

    strict.strictEqual(pool._freeConnections.length, 1);
  });
});

describe('Pool should serve a new connection after using releases the previous one', () => {
  it('should use and dispose two connections with a single pool slot', async () => {
    using pool = createPool({ connectionLimit: 1 });
    {
      using conn = await getConnection(pool);
      const rows = await query(conn, 'SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }
    {
      using conn = await getConnection(pool);
      const rows = await query(conn, 'SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }

    strict.strictEqual(pool._allConnections.length, 1);
  });
});

describe('dispose should release the connection', () => {
  it('should have received the query result and returned the connection to the free pool', async () => {
    using pool = createPool({ connectionLimit: 1 });
    using conn = await getConnection(pool);
    const rows = await query(conn, 'SELECT 1');

    conn[Symbol.dispose]();

    strict.deepStrictEqual(rows, [{ 1: 1 }]);
    strict.strictEqual(pool._freeConnections.length, 1);
  });
});

describe('using should handle manual `destroy` before automatic dispose', () => {
  it('should not error when connection is destroyed within using, and remove it from the pool', async () => {
    using pool = createPool({ connectionLimit: 1 });
    {
      using conn = await getConnection(pool);
      const rows = await query(conn, 'SELECT 1');

      conn.destroy();
      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }

    strict.strictEqual(pool._allConnections.length, 0);
  });
});

describe('destroy should close the underlying connection', () => {
  it('should mark the connection as closing after destroy', async () => {
    using pool = createPool({ connectionLimit: 1 });
    const conn = await getConnection(pool);
    conn.destroy();

    strict.strictEqual(conn.state, 'disconnected', 'connection should be disconnected');
  });
});

describe('Pool should implement Symbol.dispose', () => {
  it('should be a function', () => {
    using pool = createPool({ connectionLimit: 1 });

    strict.strictEqual(typeof pool[Symbol.dispose], 'function');
  });
});

describe('dispose should end the pool', () => {
  it('should query, release, and close the pool', async () => {
    using pool = createPool({ connectionLimit: 1 });
    {
      using conn = await getConnection(pool);
      const rows = await query(conn, 'SELECT 1');

      strict.deepStrictEqual(rows, [{ 1: 1 }]);
    }

    pool[Symbol.dispose]();

    strict.strictEqual(pool._closed, true);
  });
});

describe('dispose should handle manual end before dispose on pool', () => {
  it('should have closed the pool', async () => {
    using pool = createPool({ connectionLimit: 1 });

    await pool.promise().end();
    pool[Symbol.dispose]();

    strict.strictEqual(pool._closed, true);
  });
});
