// Port of sidorares/node-mysql2 test/integration/test-pool-double-release.test.mts: a second release()
// is a no-op, never a second free entry or a connection handed to two callers.
import { strict } from 'node:assert';
import { describe, it } from 'vitest';
import type { MysqlPoolConnection as PoolConnection } from '../pool-connection.js';
import { createPool } from './common.js';

describe('Pool Double Release', () => {
  it('should not duplicate _freeConnections on double release', async () => {
    const pool = createPool({
      connectionLimit: 5,
      maxIdle: 5,
      idleTimeout: 15000,
    });

    let freeConnectionsLength = -1;

    await new Promise<void>((resolve, reject) => {
      pool.getConnection((err: NodeJS.ErrnoException | null, connection: PoolConnection) => {
        if (err) return reject(err);

        connection.release();
        connection.release();

        freeConnectionsLength = pool._freeConnections.length;
        resolve();
      });
    });

    // should have exactly 1 free connection, not 2
    strict.equal(freeConnectionsLength, 1);

    await pool.promise().end();
  });

  it('should not give the same connection to two different handlers', async () => {
    const pool = createPool({
      connectionLimit: 2,
      idleTimeout: 15000,
    });

    let conn1!: PoolConnection;
    let conn2!: PoolConnection;

    await new Promise<void>((resolve, reject) => {
      pool.getConnection((err: NodeJS.ErrnoException | null, connection: PoolConnection) => {
        if (err) return reject(err);

        connection.release();
        connection.release();

        pool.getConnection((err1: NodeJS.ErrnoException | null, c1: PoolConnection) => {
          if (err1) return reject(err1);
          conn1 = c1;

          pool.getConnection((err2: NodeJS.ErrnoException | null, c2: PoolConnection) => {
            if (err2) return reject(err2);
            conn2 = c2;

            conn1.release();
            conn2.release();
            resolve();
          });
        });
      });
    });

    // should return unique connections
    strict.notStrictEqual(conn1, conn2);

    await pool.promise().end();
  });

  it('should not have duplicate references in _freeConnections after double release', async () => {
    const pool = createPool({
      connectionLimit: 3,
      maxIdle: 3,
      idleTimeout: 15000,
    });

    let hasDuplicates = true;

    await new Promise<void>((resolve, reject) => {
      pool.getConnection((err1: NodeJS.ErrnoException | null, c1: PoolConnection) => {
        if (err1) return reject(err1);

        pool.getConnection((err2: NodeJS.ErrnoException | null, c2: PoolConnection) => {
          if (err2) return reject(err2);

          c1.release();
          c1.release();
          c2.release();
          c2.release();

          const freeConns = pool._freeConnections;
          const seen = new Set();
          hasDuplicates = false;
          for (let i = 0; i < freeConns.length; i++) {
            const conn = freeConns.get(i);
            if (seen.has(conn)) {
              hasDuplicates = true;
              break;
            }
            seen.add(conn);
          }

          resolve();
        });
      });
    });

    // should have no duplicate connection references
    strict.equal(hasDuplicates, false);

    await pool.promise().end();
  });
});
