// Port of sidorares/node-mysql2 test/integration/test-pool-disconnect.test.mts: connections killed by
// the server (KILL) while idle leave the pool, and the pool serves a new connection afterwards.
import { strict } from 'node:assert';
import type { QueryError, RowDataPacket } from 'mysql2';
import { describe, it } from 'vitest';
import type { MysqlPoolConnection } from '../pool-connection.js';
import { createConnection, createPool } from './common.js';

describe('Pool Disconnect', () => {
  it('should handle pool connection kills', async () => {
    const pool = createPool();
    const conn = createConnection({ multipleStatements: true });
    pool.config.connectionLimit = 5;

    const numSelectToPerform = 10;
    const tids: number[] = [];
    let numSelects = 0;
    let killCount = 0;

    await new Promise<void>((resolve) => {
      const kill = () => {
        setTimeout(() => {
          const id = tids.shift();
          if (typeof id !== 'undefined') {
            // sleep required to give mysql time to close connection,
            // and callback called after connection with id is really closed
            conn.query('kill ?; select sleep(0.05)', [id], (err) => {
              strict.ifError(err);
              killCount++;
              if (killCount === pool.config.connectionLimit) {
                resolve();
              }
            });
          }
        }, 5);
      };

      pool.on('connection', (poolConn: MysqlPoolConnection) => {
        tids.push(poolConn.threadId);
        poolConn.on('error', () => {
          setTimeout(kill, 5);
        });
      });

      for (let i = 0; i < numSelectToPerform; i++) {
        pool.query('select 1 as value', (err: QueryError | null, rows: RowDataPacket[]) => {
          numSelects++;
          strict.ifError(err);
          strict.equal(rows[0]?.value, 1);

          // after all queries complete start killing connections
          if (numSelects === numSelectToPerform) {
            kill();
          }
        });
      }
    });

    strict.equal(numSelects, numSelectToPerform);
    strict.equal(killCount, pool.config.connectionLimit);

    conn.end();
    await pool.end();
  });
});

describe('Pool recovery after disconnect', () => {
  it('should serve a new connection after the previous one is killed', async () => {
    const pool = createPool({ connectionLimit: 1 });
    const killer = createConnection({ multipleStatements: true });

    const tid = await new Promise<number>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        const id = conn.threadId;
        conn.release();
        resolve(id);
      });
    });

    await new Promise<void>((resolve, reject) => {
      killer.query('kill ?; select sleep(0.05)', [tid], (err) => {
        if (err) return reject(err);
        resolve();
      });
    });

    const newTid = await new Promise<number>((resolve, reject) => {
      pool.getConnection((err, conn) => {
        if (err) return reject(err);
        const id = conn.threadId;
        conn.release();
        resolve(id);
      });
    });

    strict.notEqual(newTid, tid, 'should get a different connection after kill');

    await killer.promise().end();
    await pool.promise().end();
  });
});
