// pool.query(submittable) on the real PostgreSQL: pg-query-stream and pg-cursor run on a client of
// the pool, which comes back when the submittable is done (ended, failed, closed or destroyed).
import { once } from 'node:events';
import { Writable } from 'node:stream';
import { finished, pipeline } from 'node:stream/promises';
import { useCleanup } from '@pool/testkit/conformance';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import { describe, expect, it, vi } from 'vitest';
import { createPgPool, type PgPool } from './pool.js';
import { PG_URL, terminate } from './test-support/pg.js';

const cleanup = useCleanup();

function pool(options: Parameters<typeof createPgPool>[0] = {}): PgPool {
  const p = createPgPool({ connectionString: PG_URL, ...options });
  cleanup.defer(() => p.close());
  return p;
}

/** Rejects when `promise` takes longer than `ms`: a hang (a connection never given back, or lent while busy) fails the test. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** Consumes a stream of `{ g }` rows; resolves with the g values. */
async function collect(stream: NodeJS.ReadableStream): Promise<number[]> {
  const seen: number[] = [];
  await pipeline(
    stream,
    new Writable({
      objectMode: true,
      write(row: { g: number }, _encoding, done) {
        seen.push(row.g);
        done();
      },
    }),
  );
  return seen;
}

const series = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe('pool.query(new QueryStream(...))', () => {
  it('returns the stream itself, streams every row, and gives the connection back at its end', async () => {
    const db = pool({ max: 1 });
    const stream = new QueryStream('SELECT g FROM generate_series(1, 2500) AS g', [], { batchSize: 100 });
    const returned = db.query(stream);
    expect(returned).toBe(stream);
    expect(db.idleCount).toBe(0);
    expect(await within(collect(returned), 5_000, 'the stream')).toEqual(series(2500));
    expect(db.totalCount).toBe(1);
    expect(db.idleCount).toBe(1);
    // The same connection, clean: the next query runs on it.
    expect((await db.query('SELECT 1 AS one')).rows).toEqual([{ one: 1 }]);
    expect(db.totalCount).toBe(1);
  });

  it('calls back once with the stream’s result after its end, the client released before', async () => {
    const db = pool({ max: 1 });
    const events: string[] = [];
    db.on('acquire', () => events.push('acquire'));
    db.on('release', (err) => events.push(err === undefined ? 'release' : 'release with error'));
    const calls: [unknown, unknown][] = [];
    const called = new Promise<void>((resolve) => {
      const stream = db.query(new QueryStream('SELECT g FROM generate_series(1, 10) AS g'), (err, result) => {
        calls.push([err, result]);
        events.push('callback');
        resolve();
      });
      stream.resume(); // consumed, rows dropped
    });
    await within(called, 5_000, 'the callback');
    await new Promise((resolve) => setImmediate(resolve));
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[0]).toBeUndefined();
    expect(calls[0]?.[1]).toMatchObject({ command: 'SELECT', rowCount: 10 });
    expect(events).toEqual(['acquire', 'release', 'callback']);
    expect(db.idleCount).toBe(1);
  });

  it('delivers a query error to the stream and the callback, and releases the connection (kept: it is still good)', async () => {
    const db = pool({ max: 1 });
    const released: unknown[] = [];
    db.on('release', (err) => released.push(err));
    let callbackError: unknown;
    let consumed: Promise<number[]> = Promise.resolve([]);
    const called = new Promise<void>((resolve) => {
      const stream = db.query(new QueryStream('SELECT * FROM no_such_table_for_pool_streams'), (err) => {
        callbackError = err;
        resolve();
      });
      consumed = collect(stream);
    });
    // The error is emitted on the stream: its consumer sees it.
    await expect(within(consumed, 5_000, 'the stream')).rejects.toMatchObject({ code: '42P01' });
    await within(called, 5_000, 'the callback');
    expect(callbackError).toMatchObject({ code: '42P01' });
    expect(released).toHaveLength(1);
    expect(released[0]).toMatchObject({ code: '42P01' });
    expect(db.totalCount).toBe(1);
    await vi.waitFor(() => expect(db.idleCount).toBe(1));
    expect((await db.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
  });

  it('is never lent while busy when destroyed half-way: the cursor is closed, then the connection is reused', async () => {
    const db = pool({ max: 1 });
    const pids: (number | null)[] = [];
    db.on('acquire', (client) => pids.push(client.processID));
    const stream = db.query(new QueryStream('SELECT g FROM generate_series(1, 100000) AS g', [], { batchSize: 10 }));
    let read = 0;
    for await (const _row of stream) if (++read === 15) break; // for-await destroys the stream
    expect(stream.destroyed).toBe(true);
    // Asked at once, while the portal may still be closing: they wait for it, and get their own rows.
    const answers = await within(
      Promise.all([1, 2, 3].map((n) => db.query<{ n: number }>('SELECT $1::int AS n', [n]))),
      5_000,
      'queries after a destroyed stream',
    );
    expect(answers.map((r) => r.rows)).toEqual([[{ n: 1 }], [{ n: 2 }], [{ n: 3 }]]);
    // The cursor was closed cleanly: the same connection served them, and it is idle again.
    expect(new Set(pids).size).toBe(1);
    expect(db.totalCount).toBe(1);
    expect(db.idleCount).toBe(1);
  });

  it('runs nothing for a stream destroyed before it got a connection', async () => {
    const db = pool({ max: 1 });
    const holder = await db.connect();
    let acquired = 0;
    db.on('acquire', () => acquired++);
    const stream = db.query(new QueryStream('SELECT g FROM generate_series(1, 10) AS g'));
    stream.destroy();
    await finished(stream).catch(() => {});
    holder.release();
    await vi.waitFor(() => expect(db.idleCount).toBe(1));
    expect(acquired).toBe(0);
    expect((await within(db.query('SELECT 3 AS three'), 5_000, 'a query after')).rows).toEqual([{ three: 3 }]);
    expect(db.totalCount).toBe(1);
  });

  it('retires the connection of a stream abandoned half-way with its cursor still open', async () => {
    /** A stream whose destroy does not close its cursor: the connection stays busy behind it. */
    class LeakyStream extends QueryStream {
      override _destroy(err: Error, cb: (err?: Error | null) => void): void {
        cb(err);
      }
    }
    const db = pool({ max: 1 });
    const removed = once(db, 'remove');
    const stream = db.query(new LeakyStream('SELECT g FROM generate_series(1, 100000) AS g', [], { batchSize: 10 }));
    let read = 0;
    for await (const _row of stream) if (++read === 15) break;
    await within(removed, 5_000, "the busy connection's removal");
    expect((await within(db.query('SELECT 4 AS four'), 5_000, 'a query after')).rows).toEqual([{ four: 4 }]);
    expect(db.totalCount).toBe(1);
  });

  it('runs many concurrent streams on max: 2, every one to its end', async () => {
    const db = pool({ max: 2 });
    let borrowed = 0;
    let most = 0;
    db.on('acquire', () => {
      most = Math.max(most, ++borrowed);
    });
    db.on('release', () => borrowed--);
    const runs = Array.from({ length: 12 }, (_, i) =>
      collect(db.query(new QueryStream('SELECT g FROM generate_series(1, $1::int) AS g', [200 + i], { batchSize: 50 }))),
    );
    const results = await within(Promise.all(runs), 20_000, 'the streams');
    expect(results).toEqual(results.map((_, i) => series(200 + i)));
    expect(most).toBe(2);
    expect(borrowed).toBe(0);
    expect(db.totalCount).toBe(2);
    expect(db.idleCount).toBe(2);
  });

  it('gives the connection up when the server ends the session mid-stream; the error reaches the callback', async () => {
    const db = pool({ max: 1 });
    const acquired = once(db, 'acquire');
    let callbackError: unknown;
    const called = new Promise<void>((resolve) => {
      const stream = db.query(new QueryStream('SELECT g FROM generate_series(1, 100000) AS g', [], { batchSize: 10 }), (err) => {
        callbackError = err;
        resolve();
      });
      stream.resume();
    });
    const [client] = (await acquired) as [{ processID: number | null }];
    await terminate(client.processID);
    await within(called, 5_000, 'the callback');
    // (The stream itself is destroyed; pg-query-stream then waits for a ReadyForQuery the dead
    // connection never sends, so it emits no 'error' — the same on a client of pg.Pool.)
    expect(callbackError).toMatchObject({ code: '57P01' });
    await vi.waitFor(() => expect(db.totalCount).toBe(0));
    expect((await db.query('SELECT 5 AS five')).rows).toEqual([{ five: 5 }]);
  });

  it('delivers a connect error to the stream and the callback', async () => {
    const url = new URL(PG_URL);
    url.pathname = '/no_such_database_for_pool_streams';
    const db = pool({ connectionString: url.href, max: 1 });
    const stream = db.query(new QueryStream('SELECT 1'));
    expect(stream).toBeInstanceOf(QueryStream);
    await expect(within(collect(stream), 5_000, 'the stream')).rejects.toMatchObject({ code: '3D000' });
    const err = await within(new Promise((resolve) => db.query(new QueryStream('SELECT 1'), resolve)), 5_000, 'the callback');
    expect(err).toMatchObject({ code: '3D000' });
    expect(db.totalCount).toBe(0);
  });

  it('fails a stream given to an ended pool, as pg.Pool fails its query', async () => {
    const db = pool();
    await db.end();
    const stream = db.query(new QueryStream('SELECT 1'));
    expect(stream).toBeInstanceOf(QueryStream);
    await expect(collect(stream)).rejects.toThrow('Cannot use a pool after calling end on the pool');
    const err = await new Promise((resolve) => db.query(new QueryStream('SELECT 1'), resolve));
    expect(err).toMatchObject({ message: 'Cannot use a pool after calling end on the pool' });
  });
});

describe('pool.query(new Cursor(...))', () => {
  it('returns the cursor, reads in batches, and gives the connection back when it is closed', async () => {
    const db = pool({ max: 1 });
    const cursor = db.query(new Cursor('SELECT g FROM generate_series(1, 100) AS g'));
    expect(cursor).toBeInstanceOf(Cursor);
    expect(await cursor.read(3)).toEqual([{ g: 1 }, { g: 2 }, { g: 3 }]);
    expect(db.idleCount).toBe(0); // still open: the connection is busy
    await cursor.close();
    expect(db.totalCount).toBe(1);
    expect(db.idleCount).toBe(1);
    expect((await db.query('SELECT 6 AS six')).rows).toEqual([{ six: 6 }]);
    expect(db.totalCount).toBe(1);
  });

  it('gives the connection back after the last row, and an error reaches the cursor’s reads', async () => {
    const db = pool({ max: 1 });
    const cursor = db.query(new Cursor('SELECT g FROM generate_series(1, 5) AS g'));
    expect(await cursor.read(10)).toHaveLength(5);
    await vi.waitFor(() => expect(db.idleCount).toBe(1));
    const released: unknown[] = [];
    db.on('release', (err) => released.push(err));
    const failing = db.query(new Cursor('SELECT 1/0 AS boom'));
    await expect(failing.read(1)).rejects.toMatchObject({ code: '22012' });
    await vi.waitFor(() => expect(db.idleCount).toBe(1));
    expect(released).toEqual([expect.objectContaining({ code: '22012' })]);
    expect(db.totalCount).toBe(1);
  });
});
