import { ConnectionValidator, RecyclingStrategy } from '@pool/core';
import { useCleanup } from '@pool/testkit/conformance';
import pg from 'pg';
import Cursor from 'pg-cursor';
import QueryStream from 'pg-query-stream';
import { describe, expect, it } from 'vitest';
import { createPgPool, type PgPool } from './pool.js';
import { PG_URL } from './test-support/pg.js';

const cleanup = useCleanup();

function pool(options: Parameters<typeof createPgPool>[0] = {}): PgPool {
  const p = createPgPool({ connectionString: PG_URL, ...options });
  cleanup.defer(() => p.end());
  return p;
}

/** Rejects when `promise` takes longer than `ms`: a hang fails the test instead of stalling it. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (the connection was lent while busy)`)), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

describe('client.query(submittable)', () => {
  it('returns the submittable itself, synchronously, as pg.Client#query does', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    try {
      const cursor = new Cursor('SELECT g FROM generate_series(1, 5) AS g');
      const returned = client.query(cursor);
      expect(returned).toBe(cursor);
      expect(returned).not.toBeInstanceOf(Promise);
      expect(await cursor.read(2)).toEqual([{ g: 1 }, { g: 2 }]);
      expect(await cursor.read(10)).toEqual([{ g: 3 }, { g: 4 }, { g: 5 }]);
      await cursor.close();
      // A pg.Query is a submittable too: it comes back as it went in.
      const query = new pg.Query('SELECT 1 AS one');
      expect(client.query(query)).toBe(query);
      const rows = await new Promise<unknown[]>((resolve, reject) => {
        const seen: unknown[] = [];
        query.on('row', (row: unknown) => seen.push(row));
        query.on('end', () => resolve(seen));
        query.on('error', reject);
      });
      expect(rows).toEqual([{ one: 1 }]);
      expect((await client.query('SELECT 2 AS two')).rows).toEqual([{ two: 2 }]);
    } finally {
      client.release();
    }
  });

  it('streams rows through pg-query-stream and then lends the connection again', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    const pid = client.processID;
    const stream = client.query(new QueryStream('SELECT g FROM generate_series(1, 1000) AS g', [], { batchSize: 100 }));
    let sum = 0;
    for await (const row of stream) sum += (row as { g: number }).g;
    expect(sum).toBe(500_500);
    client.release();
    // Consumed to the end: the connection was ready, so it is kept.
    const again = await db.connect();
    expect(again.processID).toBe(pid);
    again.release();
  });
});

describe('session changes made through a submittable', () => {
  it('are seen in the text of a stream on a lent client, and reset before the next borrower', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    try {
      const stream = client.query(new QueryStream("SELECT set_config('application_name', 'streamed', false) AS v"));
      for await (const _row of stream) {
        // consumed to the end: the connection is ready again, but its session changed
      }
    } finally {
      client.release();
    }
    const { rows } = await db.query<{ name: string }>("SELECT current_setting('application_name') AS name");
    expect(rows[0]?.name).not.toBe('streamed');
  });

  it('are seen in the text of a cursor or a stream run through PgConnection.query', async () => {
    const db = pool({ max: 1 });
    await db.use(async (conn) => {
      const stream = conn.query(new QueryStream("SELECT set_config('application_name', 'streamed', false) AS v"));
      for await (const _row of stream) {
        // consumed to the end
      }
      expect(conn.notReadyReason).toBeNull();
      expect(conn.dirty).toBe(true);
    });
    const { rows } = await db.query<{ name: string }>("SELECT current_setting('application_name') AS name");
    expect(rows[0]?.name).not.toBe('streamed');
  });
});

describe('a connection not ready for a query is never lent again', () => {
  it('retires one released with a cursor still open; the next borrower does not hang', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    const pid = client.processID;
    const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 100) AS g'));
    expect(await cursor.read(1)).toEqual([{ g: 1 }]);
    client.release(); // the cursor is still open
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after an open cursor');
    expect(rows[0]?.pid).not.toBe(pid);
    expect(db.statistics().destroyedByReason.reset).toBe(1);
    expect(db.statistics().resetFailures).toBe(1);
  });

  it('retires one released with a stream not consumed; the next borrower does not hang', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    const pid = client.processID;
    const stream = client.query(new QueryStream('SELECT g FROM generate_series(1, 100000) AS g', [], { batchSize: 10 }));
    await new Promise<void>((resolve) => stream.once('data', () => resolve()));
    stream.pause();
    client.release();
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after an unconsumed stream');
    expect(rows[0]?.pid).not.toBe(pid);
  });

  it('lets a query released still running finish (as pg.Pool does), then lends the connection again', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    const pid = client.processID;
    const running = client.query<{ done: boolean }>('SELECT pg_sleep(0.2) IS NOT NULL AS done');
    client.release(); // not awaited: createPgPool lets it finish before the connection goes back
    expect((await within(running, 5_000, 'the running query')).rows).toEqual([{ done: true }]);
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after a running query');
    expect(rows[0]?.pid).toBe(pid);
    expect(db.statistics().destroyedByReason.reset).toBe(0);
  });

  it('retires one whose running query outlasts the reset timeout; the next borrower gets another', async () => {
    const db = pool({ max: 1, poolConfig: { resetTimeoutMs: 300 } });
    const client = await db.connect();
    const pid = client.processID;
    const slow = client.query('SELECT pg_sleep(30)').catch((error: unknown) => error);
    client.release();
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after a running query');
    expect(rows[0]?.pid).not.toBe(pid);
    expect(db.statistics().destroyedByReason.reset).toBe(1);
    // The abandoned query ends with its connection.
    expect(await within(slow, 5_000, 'the abandoned query')).toBeInstanceOf(Error);
  });

  it('retires one whose borrower ended the client', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    const pid = client.processID;
    const ending = client.end();
    client.release();
    await ending;
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after client.end()');
    expect(rows[0]?.pid).not.toBe(pid);
  });

  it('retires one whose transaction status is unknown', async () => {
    // A client that lost track of the status (as pg reports before any ReadyForQuery): it cannot be
    // known whether a transaction is open, so the connection is not lent again.
    let lost = false;
    class ForgetfulClient extends pg.Client {
      override getTransactionStatus(): 'I' | 'T' | 'E' | null {
        return lost ? null : (super.getTransactionStatus() as 'I' | 'T' | 'E' | null);
      }
    }
    const db = pool({ max: 1, Client: ForgetfulClient });
    const borrowed = await db.pool.acquire(); // the engine's borrow: its PgConnection says why
    const pid = borrowed.connection.processID;
    lost = true;
    expect(borrowed.connection.notReadyReason).toBe('its transaction status is unknown');
    borrowed.release();
    await within(
      (async () => {
        while (db.statistics().destroyedByReason.reset === 0) await new Promise((resolve) => setTimeout(resolve, 5));
      })(),
      5_000,
      'the retirement',
    );
    lost = false;
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after an unknown status');
    expect(rows[0]?.pid).not.toBe(pid);
  });

  it('with the Fast recycling strategy (no reset), validation on release retires it', async () => {
    const db = pool({
      max: 1,
      poolConfig: { validateOnRelease: true },
      poolOptions: { recyclingStrategy: RecyclingStrategy.Fast, validator: new ConnectionValidator().withQuery('SELECT 1') },
    });
    const client = await db.connect();
    const pid = client.processID;
    const cursor = client.query(new Cursor('SELECT g FROM generate_series(1, 100) AS g'));
    await cursor.read(1);
    client.release();
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after an open cursor');
    expect(rows[0]?.pid).not.toBe(pid);
    expect(db.statistics().destroyedByReason.validation).toBe(1);
  });

  it('keeps one released between a server error and its ReadyForQuery (the reset waits for it)', async () => {
    // The server sends ErrorResponse and ReadyForQuery together; a busy machine or network can split
    // them, and pg settles the failed query on the first. This client holds the second back a while.
    class SlowReadyClient extends pg.Client {
      constructor(config: pg.ClientConfig) {
        super(config);
        const protocol = (this as unknown as { connection: NodeJS.EventEmitter }).connection;
        const emit = protocol.emit.bind(protocol);
        let afterError = false;
        protocol.emit = (event: string | symbol, ...args: unknown[]): boolean => {
          if (event === 'errorMessage') afterError = true;
          if (event === 'readyForQuery' && afterError) {
            afterError = false;
            setTimeout(() => emit(event, ...args), 100);
            return true;
          }
          return emit(event, ...args);
        };
      }
    }
    const { logger, lines } = (() => {
      const seen: string[] = [];
      const keep = (message: unknown): void => void seen.push(String(message));
      return { logger: { debug: keep, info: keep, warn: keep, error: keep }, lines: seen };
    })();
    const db = pool({ max: 1, Client: SlowReadyClient, logger });
    const client = await db.connect();
    const pid = client.processID;
    await client.query('BEGIN');
    await expect(client.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    client.release(); // the ReadyForQuery ('E': a failed transaction) has not arrived yet
    const { rows } = await within(db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid'), 5_000, 'query after an error');
    expect(rows[0]?.pid).toBe(pid); // kept: reset (ROLLBACK) once the status came, not retired
    expect(db.statistics().destroyedByReason.reset).toBe(0);
    expect(lines.filter((l) => l.includes('retires it'))).toEqual([]);
  });

  it('tells why through notReadyReason, and validation refuses such a connection', async () => {
    const db = pool({ max: 1, statementCacheSize: 10 });
    const borrowed = await db.pool.acquire(); // the engine's borrow: its PgConnection says why
    const conn = borrowed.connection;
    const client = conn.client;
    try {
      expect(conn.notReadyReason).toBeNull();
      const cursor = client.query(new Cursor('SELECT 1 AS one'));
      await cursor.read(1);
      expect(conn.notReadyReason).toMatch(/cursor or stream is still active/);
      expect(conn.dirty).toBe(true);
      expect(await db.factory.validate(conn, { signal: new AbortController().signal, query: 'SELECT 1' } as never)).toBe(false);
      await cursor.close();
      expect(conn.notReadyReason).toBeNull();
      expect(conn.dirty).toBe(false);
    } finally {
      borrowed.release();
    }
  });
});
