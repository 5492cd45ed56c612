// Port of node-postgres packages/pg-pool/test/index.js (brianc/node-postgres c9e57617), run against createPgPool.
import { describe, expect, it } from 'vitest';
import { Pool, withDone } from './support.js';

describe('pool', () => {
  describe('with callbacks', () => {
    it('works totally unconfigured', () =>
      withDone((done) => {
        const pool = Pool();
        pool.connect((err, client, release) => {
          if (err) return done(err);
          client?.query('SELECT NOW()', (err, res) => {
            release();
            if (err) return done(err);
            expect(res.rows).toHaveLength(1);
            pool.end(done);
          });
        });
      }));

    it('passes props to clients', () =>
      withDone((done) => {
        const pool = Pool({ binary: true });
        pool.connect((err, client, release) => {
          release();
          if (err) return done(err);
          expect((client as unknown as { binary: boolean }).binary).toEqual(true);
          pool.end(done);
        });
      }));

    it('can run a query with a callback without parameters', () =>
      withDone((done) => {
        const pool = Pool();
        pool.query('SELECT 1 as num', (err, res) => {
          expect(res?.rows[0]).toEqual({ num: 1 });
          pool.end(() => {
            done(err);
          });
        });
      }));

    it('can run a query with a callback', () =>
      withDone((done) => {
        const pool = Pool();
        pool.query('SELECT $1::text as name', ['brianc'], (err, res) => {
          expect(res?.rows[0]).toEqual({ name: 'brianc' });
          pool.end(() => {
            done(err);
          });
        });
      }));

    it('passes connection errors to callback', () =>
      withDone((done) => {
        const pool = Pool({ port: 53922 });
        pool.query('SELECT $1::text as name', ['brianc'], (err, res) => {
          expect(res).toBe(undefined);
          expect(err).toBeInstanceOf(Error);
          // a connection error should not polute the pool with a dead client
          expect(pool.totalCount).toEqual(0);
          pool.end((err) => {
            done(err);
          });
        });
      }));

    it('does not pass client to error callback', () =>
      withDone((done) => {
        const pool = Pool({ port: 58242 });
        pool.connect((err, client, release) => {
          expect(err).toBeInstanceOf(Error);
          expect(client).toBe(undefined);
          expect(release).toBeTypeOf('function');
          pool.end(done);
        });
      }));

    it('removes client if it errors in background', () =>
      withDone((done) => {
        const pool = Pool();
        pool.connect((err, client, release) => {
          release();
          if (err) return done(err);
          (client as unknown as { testString: string }).testString = 'foo';
          setTimeout(() => {
            client?.emit('error', new Error('on purpose'));
          }, 10);
        });
        pool.on('error', (err) => {
          expect(err.message).toBe('on purpose');
          expect(err.client).not.toBe(undefined);
          expect((err.client as unknown as { testString: string }).testString).toBe('foo');
          (err.client as unknown as { connection: { stream: NodeJS.EventEmitter } }).connection.stream.on('end', () => {
            pool.end(done);
          });
        });
      }));

    it('should not change given options', () =>
      withDone((done) => {
        const options = { max: 10 };
        const pool = Pool(options);
        pool.connect((err, _client, release) => {
          release();
          if (err) return done(err);
          expect(options).toEqual({ max: 10 });
          pool.end(done);
        });
      }));

    it('does not create promises when connecting', () =>
      withDone((done) => {
        const pool = Pool();
        const returnValue = pool.connect((err, _client, release) => {
          release();
          if (err) return done(err);
          pool.end(done);
        });
        expect(returnValue).toBe(undefined);
      }));

    it('does not create promises when querying', () =>
      withDone((done) => {
        const pool = Pool();
        const returnValue = pool.query('SELECT 1 as num', (err) => {
          pool.end(() => {
            done(err);
          });
        });
        expect(returnValue).toBe(undefined);
      }));

    it('does not create promises when ending', () =>
      withDone((done) => {
        const pool = Pool();
        const returnValue = pool.end(done);
        expect(returnValue).toBe(undefined);
      }));

    it('never calls callback syncronously', () =>
      withDone((done) => {
        const pool = Pool();
        pool.connect((err, client) => {
          if (err) throw err;
          client?.release();
          setImmediate(() => {
            let called = false;
            pool.connect((err, client) => {
              if (err) throw err;
              called = true;
              client?.release();
              setImmediate(() => {
                pool.end(done);
              });
            });
            expect(called).toEqual(false);
          });
        });
      }));
  });

  describe('with promises', () => {
    it('connects, queries, and disconnects', () => {
      const pool = Pool();
      return pool.connect().then((client) =>
        client.query('select $1::text as name', ['hi']).then((res) => {
          expect(res.rows).toEqual([{ name: 'hi' }]);
          client.release();
          return pool.end();
        }),
      );
    });

    it('executes a query directly', () => {
      const pool = Pool();
      return pool.query<{ name: string }>('SELECT $1::text as name', ['hi']).then((res) => {
        expect(res.rows).toHaveLength(1);
        expect(res.rows[0]?.name).toEqual('hi');
        return pool.end();
      });
    });

    it('properly pools clients', () => {
      const pool = Pool({ poolSize: 9 });
      const promises = Array.from({ length: 30 }, () =>
        pool.connect().then((client) =>
          client.query('select $1::text as name', ['hi']).then((res) => {
            client.release();
            return res;
          }),
        ),
      );
      return Promise.all(promises).then((res) => {
        expect(res).toHaveLength(30);
        expect(pool.totalCount).toBe(9);
        return pool.end();
      });
    });

    it('supports just running queries', () => {
      const pool = Pool({ poolSize: 9 });
      const text = 'select $1::text as name';
      const values = ['hi'];
      const query = { text: text, values: values };
      const promises = Array.from({ length: 30 }, () => pool.query(query));
      return Promise.all(promises).then((queries) => {
        expect(queries).toHaveLength(30);
        return pool.end();
      });
    });

    it('enables pipeline on clients when configured', async () => {
      const pool = Pool({ pipeline: true });
      const client = await pool.connect();
      expect((client as unknown as { pipeline: boolean }).pipeline).toBe(true);

      const [r1, r2, r3] = await Promise.all([
        client.query('SELECT 1 AS num'),
        client.query('SELECT 2 AS num'),
        client.query('SELECT 3 AS num'),
      ]);

      expect(r1.rows[0].num).toEqual(1);
      expect(r2.rows[0].num).toEqual(2);
      expect(r3.rows[0].num).toEqual(3);

      client.release();
      return pool.end();
    });

    it('does not enable pipeline by default', async () => {
      const pool = Pool();
      const client = await pool.connect();
      expect((client as unknown as { pipeline: boolean }).pipeline).toBe(false);
      client.release();
      return pool.end();
    });

    // DELIBERATE DIFFERENCE (docs/migrating.md, "A query error keeps the connection"): pg.Pool closes the
    // client after every failed pool.query(), so 30 failed queries leave totalCount 0; createPgPool keeps
    // the connection (its session is reset when needed), so totalCount is 1 here. Marked `it.fails`.
    it.fails('recovers from query errors', () => {
      const pool = Pool();

      const errors: unknown[] = [];
      const promises = Array.from({ length: 30 }, () =>
        pool.query('SELECT asldkfjasldkf').catch((e) => {
          errors.push(e);
        }),
      );
      return Promise.all(promises).then(() => {
        expect(errors).toHaveLength(30);
        expect(pool.totalCount).toEqual(0);
        expect(pool.idleCount).toEqual(0);
        return pool.query('SELECT $1::text as name', ['hi']).then((res) => {
          expect(res.rows).toEqual([{ name: 'hi' }]);
          return pool.end();
        });
      });
    });
  });
});
