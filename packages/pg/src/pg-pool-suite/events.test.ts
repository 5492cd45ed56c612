// Port of node-postgres packages/pg-pool/test/events.js (brianc/node-postgres c9e57617), run against createPgPool.
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { PgPoolClient } from '../pool.js';
import { Pool, withDone } from './support.js';

describe('events', () => {
  it('emits connect before callback', () =>
    withDone((done) => {
      const pool = Pool();
      let emittedClient: unknown = false;
      pool.on('connect', (client) => {
        emittedClient = client;
      });

      pool.connect((err, client, release) => {
        if (err) return done(err);
        release();
        pool.end();
        expect(client).toBe(emittedClient);
        done();
      });
    }));

  it('emits "connect" only with a successful connection', () => {
    const pool = Pool({
      // This client will always fail to connect
      Client: mockClient({
        connect: (cb: (err: Error) => void) => {
          process.nextTick(() => {
            cb(new Error('bad news'));
          });
        },
      }),
    });
    pool.on('connect', () => {
      throw new Error('should never get here');
    });
    return pool.connect().catch((e) => expect(e.message).toEqual('bad news'));
  });

  // Upstream waits a fixed 100 ms for the 20 borrows to end; here the test waits for the 20th release
  // (event ordering), so it neither depends on the machine's speed nor waits longer than needed.
  it('emits acquire every time a client is acquired', () =>
    withDone((done) => {
      const pool = Pool();
      let acquireCount = 0;
      pool.on('acquire', (client) => {
        expect(client).toBeTruthy();
        acquireCount++;
      });
      let releases = 0;
      pool.on('release', () => {
        if (++releases < 20) return;
        setImmediate(() => {
          expect(acquireCount).toBe(20);
          pool.end(done);
        });
      });
      for (let i = 0; i < 10; i++) {
        pool.connect((err, _client, release) => {
          if (err) return done(err);
          release();
        });
        pool.query('SELECT now()');
      }
    }));

  it('emits release every time a client is released', () =>
    withDone((done) => {
      const pool = Pool();
      let releaseCount = 0;
      pool.on('release', (err, client) => {
        expect(err instanceof Error).not.toBe(true);
        expect(client).toBeTruthy();
        releaseCount++;
      });
      const promises: Promise<unknown>[] = [];
      for (let i = 0; i < 10; i++) {
        pool.connect((err, _client, release) => {
          if (err) return done(err);
          release();
        });
        promises.push(pool.query('SELECT now()'));
      }
      Promise.all(promises).then(() => {
        pool.end(() => {
          expect(releaseCount).toBe(20);
          done();
        });
      });
    }));

  it('emits release with an error if client is released due to an error', () =>
    withDone((done) => {
      const pool = Pool();
      pool.connect((err, client, release) => {
        expect(err).toEqual(undefined);
        const releaseError = new Error('problem');
        pool.once('release', (err, errClient) => {
          expect(err).toEqual(releaseError);
          expect(errClient).toEqual(client);
          pool.end(done);
        });
        release(releaseError);
      });
    }));

  it('emits error and client if an idle client in the pool hits an error', () =>
    withDone((done) => {
      const pool = Pool();
      pool.connect((err, client) => {
        expect(err).toEqual(undefined);
        client?.release();
        setImmediate(() => {
          client?.emit('error', new Error('problem'));
        });
        pool.once('error', (err, errClient: PgPoolClient) => {
          expect(err.message).toEqual('problem');
          expect(errClient).toEqual(client);
          done();
        });
      });
    }));
});

function mockClient(methods: Record<string, unknown>): never {
  // biome-ignore lint/complexity/useArrowFunction: pg.Pool calls `new Client(...)`; an arrow function is not a constructor
  return function () {
    const client = new EventEmitter();
    Object.assign(client, methods);
    return client;
  } as never;
}
