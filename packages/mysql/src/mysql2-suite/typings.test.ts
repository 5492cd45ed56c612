// Port of sidorares/node-mysql2 test/tsc-build/mysql/createPool/** and test/tsc-build/promise/createPool/**:
// what TypeScript accepts and refuses on the pool, checked by `tsc` (the package's typecheck covers
// the tests); the calls also run against the server here.
import type mysql from 'mysql2';
import type { Pool as PromisePool } from 'mysql2/promise';
import { describe, expect, it } from 'vitest';
import { createMysqlPool } from '../pool.js';
import { MYSQL_URL } from '../test-support/mysql.js';
import { config } from './common.js';

describe('typings of createMysqlPool, as mysql2 checks its own', () => {
  it('accepts what mysql2 accepts and refuses what it refuses', async () => {
    // createPool(uri) and createPool(options); a mysql2 Pool to TypeScript.
    const pool: mysql.Pool = createMysqlPool(MYSQL_URL);
    const fromOptions: mysql.Pool = createMysqlPool(config);

    const connection = await new Promise<mysql.PoolConnection>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        conn.connection;
        // @ts-expect-error: The pool can't be a connection itself
        pool.connection;
        // @ts-expect-error: The connection can't get another connection
        conn.getConnection;
        resolve(conn);
      });
    });
    const promiseConnection = connection.promise();
    // `.promise()` resolves to a promise-based PoolConnection
    promiseConnection.release();
    // @ts-expect-error: it is a pooled connection, not a Pool
    promiseConnection.getConnection;

    // @ts-expect-error: The pool isn't a connection itself, so it doesn't have the connection methods
    pool.release;

    /** A `Pool` exposes the same escaping helpers as a `Connection`. */
    const escapedValue: string = pool.escape(1);
    const escapedId: string = pool.escapeId('table');
    const escapedIds: string = pool.escapeId(['database', 'table']);
    const formatted: string = pool.format('SELECT ? AS a', [1]);
    expect([escapedValue, escapedId, escapedIds, formatted]).toEqual(['1', '`table`', '`database`, `table`', 'SELECT 1 AS a']);

    // The promise pool.
    const promisePool: PromisePool = createMysqlPool(MYSQL_URL).promise();
    const promiseConn = await promisePool.getConnection();
    promiseConn.connection;
    promiseConn.release();
    // @ts-expect-error: The pool can't be a connection itself
    promisePool.connection;

    await Promise.all([pool.promise().end(), fromOptions.promise().end(), promisePool.end()]);
  });
});
