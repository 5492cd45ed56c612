// Port of node-postgres packages/pg/test/integration/connection-pool/*.js (brianc/node-postgres c9e57617):
// connection-pool-size-tests, error-tests, idle-timeout-tests, native-instance-tests, tls-tests and
// yield-support-tests, run against createPgPool (pg's `new pg.Pool(...)` is `Pool(...)` here). The
// assertions are node's `assert`, as upstream; `success` and `calls` are pg's test-helper assertions.
import assert from 'node:assert';
import fs from 'node:fs';
import type pg from 'pg';
import { describe, it } from 'vitest';
import type { PgPoolClient } from '../pool.js';
import { Pool, withDone } from './support.js';

const native = false; // pg-native is not used here: createPgPool lends pg's JavaScript client

/** pg's `assert.success(fn)`: a callback that asserts no error and passes the rest on. */
function success<A extends unknown[]>(fn: (...args: A) => void): (err: unknown, ...args: A) => void {
  return (err, ...args) => {
    assert.ifError(err);
    fn(...args);
  };
}

/** pg's `assert.calls(fn)`: the callback must be called (here: it is the callback itself). */
function calls<A extends unknown[]>(fn: (...args: A) => void): (...args: A) => void {
  return fn;
}

/** pg's `helper.versionGTE(client, version, cb)`. */
function versionGTE(client: PgPoolClient, version: number, cb: (err: Error | null, isGreater?: boolean) => void): void {
  client.query('SHOW server_version_num', (err: Error | null, result: pg.QueryResult<{ server_version_num: string }>) => {
    if (err) return cb(err);
    cb(null, Number.parseInt(result.rows[0]?.server_version_num ?? '0', 10) >= version);
  });
}

describe('connection-pool-size-tests', () => {
  const testPoolSize = (max: number) => {
    it(`test ${max} queries executed on a pool rapidly`, async () => {
      const pool = Pool({ max: 10 });

      let count = 0;

      return new Promise<void>((resolve) => {
        for (let i = 0; i < max; i++) {
          pool.connect((err, client, release) => {
            assert(!err);
            client?.query('SELECT * FROM NOW()');
            client?.query('select generate_series(0, 25)', (_err: Error, result: pg.QueryResult) => {
              assert.strictEqual(result.rows.length, 26);
            });
            client?.query('SELECT * FROM NOW()', (err: Error) => {
              assert(!err);
              release();
              if (++count === max) {
                resolve();
                pool.end();
              }
            });
          });
        }
      });
    });
  };

  testPoolSize(1);

  testPoolSize(2);

  testPoolSize(40);

  testPoolSize(200);
});

describe('error-tests', () => {
  it('connecting to invalid port', () =>
    withDone((cb) => {
      const pool = Pool({ port: 13801 });
      pool.connect().catch((_e) => cb());
    }));

  it('errors emitted on checked-out clients', () =>
    withDone((cb) => {
      // make pool hold 2 clients
      const pool = Pool({ max: 2 });
      // get first client
      pool.connect(
        success((client: PgPoolClient, done: (err?: unknown) => void) => {
          client.query('SELECT NOW()', () => {
            pool.connect(
              success((client2: PgPoolClient, done2: () => void) => {
                versionGTE(
                  client2,
                  90200,
                  success((isGreater?: boolean) => {
                    // Upstream terminates every idle session of the server; on a server other programs
                    // share, only this pool's first client (same query otherwise).
                    let killIdleQuery =
                      'SELECT pid, (SELECT pg_terminate_backend(pid)) AS killed FROM pg_stat_activity WHERE state = $1 AND pid = $2';
                    let params: unknown[] = ['idle', client.processID];
                    if (!isGreater) {
                      killIdleQuery =
                        'SELECT procpid, (SELECT pg_terminate_backend(procpid)) AS killed FROM pg_stat_activity WHERE current_query LIKE $1 AND procpid = $2';
                      params = ['%IDLE%', client.processID];
                    }

                    client.once('error', (err) => {
                      client.on('error', (_err) => {});
                      done(err);
                      cb();
                    });

                    // kill the connection from client
                    client2.query(
                      killIdleQuery,
                      params,
                      success(() => {
                        // check to make sure client connection actually was killed
                        // return client2 to the pool
                        done2();
                        pool.end();
                      }),
                    );
                  }),
                );
              }) as never,
            );
          });
        }) as never,
      );
    }));

  it('connection-level errors cause queued queries to fail', () =>
    withDone((cb) => {
      const pool = Pool();
      pool.connect(
        success((client: PgPoolClient, done: (err?: unknown) => void) => {
          client.query(
            'SELECT pg_terminate_backend(pg_backend_pid())',
            calls((err: Error & { code?: string }) => {
              if (native) {
                assert.ok(err);
              } else {
                assert.equal(err.code, '57P01');
              }
            }),
          );

          client.once(
            'error',
            calls((_err: Error) => {
              client.on('error', (_err) => {});
            }),
          );

          client.query(
            'SELECT 1',
            calls((err: Error) => {
              if (native) {
                assert.equal(err.message, 'terminating connection due to administrator command');
              } else {
                assert.equal(err.message, 'Connection terminated unexpectedly');
              }

              done(err);
              pool.end();
              cb();
            }),
          );
        }) as never,
      );
    }));

  it('connection-level errors cause future queries to fail', () =>
    withDone((cb) => {
      const pool = Pool();
      pool.connect(
        success((client: PgPoolClient, done: (err?: unknown) => void) => {
          client.query(
            'SELECT pg_terminate_backend(pg_backend_pid())',
            calls((err: Error & { code?: string }) => {
              if (native) {
                assert.ok(err);
              } else {
                assert.equal(err.code, '57P01');
              }
            }),
          );

          client.once(
            'error',
            calls((_err: Error) => {
              client.on('error', (_err) => {});
              client.query(
                'SELECT 1',
                calls((err: Error) => {
                  if (native) {
                    assert.equal(err.message, 'terminating connection due to administrator command');
                  } else {
                    assert.equal(err.message, 'Client has encountered a connection error and is not queryable');
                  }

                  done(err);
                  pool.end();
                  cb();
                }),
              );
            }),
          );
        }) as never,
      );
    }));

  // Upstream emits the socket error after a fixed 100 ms; here as soon as the query runs (event ordering).
  it('handles socket error during pool.query and destroys it immediately', () =>
    withDone((cb) => {
      const pool = Pool({ max: 1 });

      pool.query('SELECT pg_sleep(10)', [], (err) => {
        assert.equal(err?.message, 'network issue');
        assert.equal(stream.destroyed, true);
        cb();
      });

      const stream = (pool._clients[0] as unknown as { connection: { stream: NodeJS.EventEmitter & { destroyed: boolean } } }).connection
        .stream;
      pool.once('acquire', () => {
        setImmediate(() => {
          stream.emit('error', new Error('network issue'));
        });
      });
    }));
});

describe('idle-timeout-tests', () => {
  it('idle timeout', () =>
    withDone((finished) => {
      const pool = Pool({ idleTimeoutMillis: 50 });
      pool.connect(
        calls((err: Error | undefined, client: PgPoolClient | undefined, done: () => void) => {
          assert(!err);
          client?.query('SELECT NOW()');
          done();
          finished();
        }),
      );
    }));
});

describe('native-instance-tests', () => {
  it('lends a client of the kind asked for', () =>
    withDone((finished) => {
      const pool = Pool();

      pool.connect(
        calls((err: Error | undefined, client: PgPoolClient | undefined, done: () => void) => {
          assert(!err);
          if (native) {
            assert((client as unknown as { native: unknown }).native);
          } else {
            assert(!(client as unknown as { native?: unknown }).native);
          }
          done();
          pool.end();
          finished();
        }),
      );
    }));
});

describe('tls-tests', () => {
  // Runs only with a server set up for client certificates, as upstream (PG_CLIENT_CERT_TEST).
  it.skipIf(!process.env.PG_CLIENT_CERT_TEST)('client certificate', async () => {
    const pool = Pool({
      ssl: {
        ca: fs.readFileSync(process.env.PGSSLROOTCERT as string),
        cert: fs.readFileSync(process.env.PGSSLCERT as string),
        key: fs.readFileSync(process.env.PGSSLKEY as string),
      },
    });

    await pool.query('SELECT 1');
    await pool.end();
  });
});

describe('yield-support-tests', () => {
  it('using coroutines works with promises', async () => {
    const pool = Pool();
    const client = await pool.connect();
    const res = await client.query('SELECT $1::text as name', ['foo']);
    assert.equal(res.rows[0].name, 'foo');

    let threw = false;
    try {
      await client.query('SELECT LKDSJDSLKFJ');
    } catch (_e) {
      threw = true;
    }
    assert(threw);
    client.release();
    await pool.end();
  });
});
