// Port of node-postgres packages/pg-pool/test/connection-timeout.js (brianc/node-postgres c9e57617), run against createPgPool.
// Where upstream races real timers against each other (a 100 ms delay against a 200 ms timeout...), the
// test runs on fake timers (the server's I/O stays real) and moves the clock to each point in turn.
import net from 'node:net';
import pg from 'pg';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { Pool, withDone } from './support.js';

const FAKE: Parameters<typeof vi.useFakeTimers>[0] = {
  toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date', 'performance'],
};
type ConnectFn = (this: pg.Client, cb: (err?: Error) => void) => unknown;

const originalConnect = pg.Client.prototype.connect;

describe('connection timeout', () => {
  const connectionFailure = new Error('Temporary connection failure');
  const ctx: { server?: net.Server; port?: number } = {};
  const sockets = new Set<net.Socket>();

  beforeAll(
    () =>
      new Promise<void>((done) => {
        ctx.server = net.createServer((socket) => {
          sockets.add(socket);
          socket.on('data', () => {
            // discard any buffered data or the server wont terminate
          });
        });

        ctx.server.listen(() => {
          ctx.port = ((ctx.server as net.Server).address() as net.AddressInfo).port;
          done();
        });
      }),
  );

  afterAll(
    () =>
      new Promise<void>((done) => {
        for (const socket of sockets) socket.destroy(); // sockets of pools a test left (upstream's mocha exits instead)
        ctx.server?.close(() => done());
      }),
  );

  afterEach(() => {
    vi.useRealTimers();
    pg.Client.prototype.connect = originalConnect;
  });

  it('should callback with an error if timeout is passed', () =>
    withDone((done) => {
      const pool = Pool({ connectionTimeoutMillis: 10, port: ctx.port, host: 'localhost' });
      pool.connect((err, client) => {
        expect(err).toBeInstanceOf(Error);
        expect(err?.message).toContain('timeout');
        expect(client).toEqual(undefined);
        expect(pool.idleCount).toEqual(0);
        done();
      });
    }));

  it('should reject promise with an error if timeout is passed', () =>
    withDone((done) => {
      const pool = Pool({ connectionTimeoutMillis: 10, port: ctx.port, host: 'localhost' });
      pool.connect().catch((err) => {
        expect(err).toBeInstanceOf(Error);
        expect(err.message).toContain('timeout');
        expect(pool.idleCount).toEqual(0);
        done();
      });
    }));

  it('should handle multiple timeouts', async () => {
    const errors: unknown[] = [];
    const pool = Pool({ connectionTimeoutMillis: 1, port: ctx.port, host: 'localhost' });
    for (let i = 0; i < 15; i++) {
      try {
        await pool.connect();
      } catch (e) {
        errors.push(e);
      }
    }
    expect(errors).toHaveLength(15);
  });

  it('should timeout on checkout of used connection', () =>
    withDone((done) => {
      const pool = Pool({ connectionTimeoutMillis: 100, max: 1 });
      pool.connect((err, client, release) => {
        expect(err).toBe(undefined);
        expect(client).not.toBe(undefined);
        pool.connect((err, client) => {
          expect(err).toBeInstanceOf(Error);
          expect(client).toBe(undefined);
          release();
          pool.end(done);
        });
      });
    }));

  it('should not break further pending checkouts on a timeout', () =>
    withDone((done) => {
      const pool = Pool({ connectionTimeoutMillis: 200, max: 1 });
      pool.connect((err, _client, releaseOuter) => {
        expect(err).toBe(undefined);
        vi.useFakeTimers(FAKE);

        pool.connect((err, client) => {
          expect(err).toBeInstanceOf(Error);
          expect(client).toBe(undefined);
          releaseOuter();
        });

        setTimeout(() => {
          pool.connect((err, client, releaseInner) => {
            expect(err).toBe(undefined);
            expect(client).not.toBe(undefined);
            releaseInner();
            vi.useRealTimers();
            pool.end(done);
          });
        }, 100);
        void vi.advanceTimersByTimeAsync(100).then(() => vi.advanceTimersByTimeAsync(100));
      });
    }));

  it('should timeout on query if all clients are busy', () =>
    withDone((done) => {
      const pool = Pool({ connectionTimeoutMillis: 100, max: 1 });
      pool.connect((err, client, release) => {
        expect(err).toBe(undefined);
        expect(client).not.toBe(undefined);
        pool.query('select now()', (err, result) => {
          expect(err).toBeInstanceOf(Error);
          expect(result).toBe(undefined);
          release();
          pool.end(done);
        });
      });
    }));

  it('should recover from timeout errors', () =>
    withDone((done) => {
      const pool = Pool({ connectionTimeoutMillis: 100, max: 1 });
      pool.connect((err, client, release) => {
        expect(err).toBe(undefined);
        expect(client).not.toBe(undefined);
        pool.query('select now()', (err, result) => {
          expect(err).toBeInstanceOf(Error);
          expect(result).toBe(undefined);
          release();
          pool.query('select $1::text as name', ['brianc'], (err, res) => {
            expect(err).toBe(undefined);
            expect(res?.rows).toHaveLength(1);
            pool.end(done);
          });
        });
      });
    }));

  it('continues processing after a connection failure', () =>
    withDone((done) => {
      const Client = pg.Client;
      const orgConnect = Client.prototype.connect as unknown as ConnectFn;
      let called = false;
      vi.useFakeTimers(FAKE);

      (Client.prototype as unknown as { connect: ConnectFn }).connect = function (cb) {
        // Simulate a failure on first call
        if (!called) {
          called = true;

          return setTimeout(() => {
            cb(connectionFailure);
          }, 100);
        }
        // And pass-through the second call
        return orgConnect.call(this, cb);
      };

      const pool = Pool({
        Client: Client,
        connectionTimeoutMillis: 1000,
        max: 1,
      });

      pool.connect((err) => {
        expect(err).toBe(connectionFailure);

        pool.query('select $1::text as name', ['brianc'], (err, res) => {
          expect(err).toBe(undefined);
          expect(res?.rows).toHaveLength(1);
          vi.useRealTimers();
          pool.end(done);
        });
      });
      void vi.advanceTimersByTimeAsync(100);
    }));

  it('releases newly connected clients if the queued already timed out', () =>
    withDone((done) => {
      const Client = pg.Client;

      const orgConnect = Client.prototype.connect as unknown as ConnectFn;

      let connection = 0;
      vi.useFakeTimers(FAKE);

      (Client.prototype as unknown as { connect: ConnectFn }).connect = function (cb) {
        // Simulate a failure on first call
        if (connection === 0) {
          connection++;

          return setTimeout(() => {
            cb(connectionFailure);
          }, 300);
        }

        // And second connect taking > connection timeout
        if (connection === 1) {
          connection++;

          return setTimeout(() => {
            orgConnect.call(this, cb);
          }, 1000);
        }

        return orgConnect.call(this, cb);
      };

      const pool = Pool({
        Client: Client,
        connectionTimeoutMillis: 1000,
        max: 1,
      });

      // Direct connect
      pool.connect((err) => {
        expect(err).toBe(connectionFailure);
      });

      // Queued
      let called = 0;
      pool.connect((err) => {
        // Verify the callback is only called once
        expect(called++).toBe(0);
        expect(err).toBeInstanceOf(Error);

        pool.query('select $1::text as name', ['brianc'], (err, res) => {
          expect(err).toBe(undefined);
          expect(res?.rows).toHaveLength(1);
          vi.useRealTimers();
          pool.end(done);
        });
      });
      // The failure at 300 ms, the queued caller's timeout at 1000 ms, the slow connect's start at 1300 ms.
      void vi
        .advanceTimersByTimeAsync(300)
        .then(() => vi.advanceTimersByTimeAsync(700))
        .then(() => vi.advanceTimersByTimeAsync(300));
    }));

  // Needs pg-native (libpq bindings: `require('pg').native` is null without it), which this environment
  // does not install; upstream runs it only where pg-native is. Not a difference of createPgPool.
  it.skipIf(pg.native === null)('should connect if timeout is passed, but native client in connected state', () =>
    withDone((done) => {
      const Client = (pg.native as unknown as typeof pg).Client;

      (Client.prototype as unknown as { connect: ConnectFn }).connect = function (cb) {
        (this as unknown as { _connected: boolean })._connected = true;

        return setTimeout(() => {
          cb();
        }, 200);
      };

      const pool = Pool({ connectionTimeoutMillis: 100, port: ctx.port, host: 'localhost', Client });

      pool.connect((err, client) => {
        expect(err).toBe(undefined);
        expect(client).not.toBe(undefined);
        expect((client as unknown as { isConnected(): boolean }).isConnected()).toBe(true);
        done();
      });
    }),
  );
});
