// Port of node-postgres packages/pg-pool/test/{logging,verify,connection-strings,submittable,releasing-clients}.js
// (brianc/node-postgres c9e57617), run against createPgPool.
import Cursor from 'pg-cursor';
import { describe, expect, it } from 'vitest';
import { Pool, withDone } from './support.js';

describe('logging', () => {
  it('logs to supplied log function if given', () => {
    const messages: string[] = [];
    const log = (msg: string) => {
      messages.push(msg);
    };
    const pool = Pool({ log: log });
    return pool.query('SELECT NOW()').then(() => {
      expect(messages.length).toBeGreaterThan(0);
      return pool.end();
    });
  });
});

describe('verify', () => {
  it('verifies a client with a callback', () =>
    withDone((done) => {
      const pool = Pool({
        verify: (_client, cb) => {
          cb(new Error('nope'));
        },
      });

      pool.connect((err) => {
        expect(err).toBeInstanceOf(Error);
        expect(err?.message).toBe('nope');
        pool.end();
        done();
      });
    }));
});

describe('Connection strings', () => {
  it('pool delegates connectionString property to client', () =>
    withDone((done) => {
      const connectionString = 'postgres://foo:bar@baz:1234/xur';

      const pool = Pool({
        // use a fake client so we can check we're passed the connectionString
        // biome-ignore lint/complexity/useArrowFunction: pg.Pool calls `new Client(...)`; an arrow function is not a constructor
        Client: function (args: { connectionString: string }) {
          expect(args.connectionString).toEqual(connectionString);
          return {
            connect: (cb: (err: Error) => void) => {
              cb(new Error('testing'));
            },
            on: () => {},
          };
        } as never,
        connectionString: connectionString,
      });

      pool.connect((err) => {
        expect(err).not.toBe(undefined);
        done();
      });
    }));
});

describe('submittle', () => {
  // Pending upstream (mocha's `it(title, false, fn)`): pg.Pool returns a promise there, not the
  // submittable, and the test reads with `cursor.read(cb)` (no row count). createPgPool returns the
  // submittable, as @types/pg declares; the test reads 1001 rows, and the pool gets its client back.
  it('is returned from the query method', () =>
    withDone((done) => {
      const pool = Pool();
      const cursor = pool.query(new Cursor('SELECT * from generate_series(0, 1000)'));
      expect(cursor).toBeInstanceOf(Cursor);
      cursor.read(2000, (err, rows) => {
        expect(err).toBeFalsy(); // pg-cursor passes null, upstream's expectation `undefined`
        expect(rows).toBeInstanceOf(Array);
        expect(rows).toHaveLength(1001);
        cursor.close(() => {
          expect(pool.totalCount).toBe(1);
          expect(pool.idleCount).toBe(1);
          pool.end(done);
        });
      });
    }));
});

describe('releasing clients', () => {
  it('removes a client which cannot be queried', async () => {
    // make a pool w/ only 1 client
    const pool = Pool({ max: 1 });
    expect(pool.totalCount).toEqual(0);
    const client = await pool.connect();
    expect(pool.totalCount).toEqual(1);
    expect(pool.idleCount).toEqual(0);
    // reach into the client and sever its connection
    (client as unknown as { connection: { end(): void } }).connection.end();

    // wait for the client to error out
    const err = await new Promise((resolve) => client.once('error', resolve));
    expect(err).toBeTruthy();
    expect(pool.totalCount).toEqual(1);
    expect(pool.idleCount).toEqual(0);

    // try to return it to the pool - this removes it because its broken
    client.release();
    expect(pool.totalCount).toEqual(0);
    expect(pool.idleCount).toEqual(0);

    // make sure pool still works
    const { rows } = await pool.query('SELECT NOW()');
    expect(rows).toHaveLength(1);
    await pool.end();
  });

  it('removes a client which is ending', async () => {
    // make a pool w/ only 1 client
    const pool = Pool({ max: 1 });
    expect(pool.totalCount).toEqual(0);
    const client = await pool.connect();
    expect(pool.totalCount).toEqual(1);
    expect(pool.idleCount).toEqual(0);
    // end the client gracefully (but you shouldn't do this with pooled clients)
    client.end();

    // try to return it to the pool
    client.release();
    expect(pool.totalCount).toEqual(0);
    expect(pool.idleCount).toEqual(0);

    // make sure pool still works
    const { rows } = await pool.query('SELECT NOW()');
    expect(rows).toHaveLength(1);
    await pool.end();
  });
});
