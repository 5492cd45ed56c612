// Port of sidorares/node-mysql2 test/integration/test-pool-connect-error.test.mts: a server that
// refuses the login with "too many connections" (1040): the pool's query gets that error, as a plain
// connection does, and the pool ends.
import { strict } from 'node:assert';
import type { AddressInfo } from 'node:net';
import mysql from 'mysql2';
import { describe, it } from 'vitest';
import { createMysqlPool } from '../pool.js';

interface FakeServer {
  listen(port: number, cb: () => void): void;
  close(cb: () => void): void;
  _server: { address(): AddressInfo };
}

describe('Pool Connect Error', () => {
  it('should emit error code 1040 for connection and pool', async () => {
    let err1: NodeJS.ErrnoException | undefined;
    let err2: NodeJS.ErrnoException | undefined;

    await new Promise<void>((resolve) => {
      const server = mysql.createServer((conn) => {
        conn.serverHandshake({
          protocolVersion: 10,
          serverVersion: '5.6.10',
          connectionId: 1234,
          statusFlags: 2,
          characterSet: 8,
          capabilityFlags: 0xffffff,
          authCallback: (_params: unknown, cb: (err: null, result: { message: string; code: number }) => void) => {
            cb(null, { message: 'too many connections', code: 1040 });
          },
        });
      }) as unknown as FakeServer;

      let done = false;

      server.listen(0, () => {
        const port = server._server.address().port;

        let poolEnded = false;

        const conn = mysql.createConnection({
          user: 'test_user',
          password: 'test',
          database: 'test_database',
          port: port,
        });

        const checkDone = () => {
          if (done || err1 === undefined || err2 === undefined || !poolEnded) return;
          done = true;
          conn.destroy();
          server.close(() => resolve());
        };

        conn.on('error', (err) => {
          err1 = err;
          checkDone();
        });

        const pool = createMysqlPool({
          user: 'test_user',
          password: 'test',
          database: 'test_database',
          port: port,
        });

        pool.query('test sql', (err) => {
          err2 = err ?? undefined;
          pool.end(() => {
            poolEnded = true;
            checkDone();
          });
        });
      });
    });

    strict.equal(err1?.errno, 1040);
    strict.equal(err2?.errno, 1040);
  });
});
