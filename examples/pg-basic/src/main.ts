/**
 * @pool/core with @pool/pg, end to end against a real PostgreSQL:
 *
 *   1. `createPgPool`: the pg.Pool-shaped entry point (`pool.query`, `pool.connect`).
 *   2. `ConnectionPool.create(config, pgFactory(url))`: the engine itself, with `pool.use()` and
 *      `await using` scopes for connections and pools.
 *   3. A transaction left open by a failing handler is rolled back before the connection is reused.
 *   4. Error handling: what a query error, a timeout, a full queue, a wrong address and a closed pool
 *      look like, and how to tell them apart.
 *
 * Run it with `pnpm --filter @pool/example-pg-basic start` (PG_URL overrides the server).
 */
import {
  ConnectionCreateError,
  ConnectionPool,
  ConnectionTimeoutError,
  isPoolError,
  PoolConfig,
  PoolError,
  PoolExhaustedError,
} from '@pool/core';
import { createPgPool, pgFactory } from '@pool/pg';
import pg from 'pg';

const url = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
// A table name of our own, so several runs (or CI jobs) on one server never collide.
const table = `pool_example_pg_basic_${process.pid}_${Date.now().toString(36)}`;

async function run(): Promise<void> {
  // ---------------------------------------------------------------- 1. the pg.Pool-shaped pool
  const pool = createPgPool({
    connectionString: url,
    max: 5,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000, // acquire and connect timeout, as in pg.Pool
    statementCacheSize: 50, // parameterised queries are prepared once per connection
  });
  try {
    const { rows } = await pool.query<{ version: string }>('SELECT version()');
    console.log(`connected: ${rows[0]?.version.split(' ').slice(0, 2).join(' ')} at ${redact(url)}`);

    await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text NOT NULL, balance int NOT NULL)`);
    const inserted = await pool.query(`INSERT INTO ${table} (name, balance) VALUES ($1, $2), ($3, $4), ($5, $6)`, [
      'ada',
      100,
      'grace',
      50,
      'alan',
      75,
    ]);
    console.log(`query: inserted ${inserted.rowCount} rows into ${table}`);

    // pool.connect() hands out a client for several statements; release() gives it back.
    const client = await pool.connect();
    try {
      const { rows: rich } = await client.query<{ name: string }>(`SELECT name FROM ${table} WHERE balance > $1 ORDER BY name`, [60]);
      console.log(`connect: ${rich.map((r) => r.name).join(', ')} have more than 60`);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
  }

  // ---------------------------------------------------------------- 2. the engine: use and await using
  const config = PoolConfig.builder().minSize(1).maxSize(4).acquireTimeoutMs(5_000).maxLifetimeMs(1_800_000).build();
  // `await using` on the pool itself: it is closed when main() leaves this scope, however it leaves.
  await using engine = await ConnectionPool.create(config, pgFactory(url), { name: 'pg-basic' });

  // use(): acquire, run, release, also when the callback throws.
  const total = await engine.use(async (db) => {
    const { rows } = await db.query<{ total: number }>(`SELECT sum(balance)::int AS total FROM ${table}`);
    return rows[0]?.total;
  });
  console.log(`use: total balance is ${total}`);

  // await using on a connection: it goes back to the pool at the end of the block, whatever happens inside.
  {
    await using conn = await engine.acquire();
    const db = conn.connection;
    await db.query('BEGIN');
    await db.query(`UPDATE ${table} SET balance = balance - 30 WHERE name = $1`, ['ada']);
    await db.query(`UPDATE ${table} SET balance = balance + 30 WHERE name = $1`, ['grace']);
    await db.query('COMMIT');
    console.log(`await using: moved 30 from ada to grace on connection ${conn.id}, committed`);
  }

  // ---------------------------------------------------------------- 3. a transaction left open
  // A borrower that fails before COMMIT: the pool rolls the transaction back before the connection is
  // reused, so the next borrower never inherits it. One connection makes it easy to see.
  {
    await using single = await ConnectionPool.create(PoolConfig.builder().maxSize(1).build(), pgFactory(url), { name: 'single' });
    let firstId = -1;
    try {
      await using conn = await single.acquire();
      firstId = conn.id;
      await conn.connection.query('BEGIN');
      await conn.connection.query(`INSERT INTO ${table} (name, balance) VALUES ($1, $2)`, ['mallory', 1_000_000]);
      throw new Error('the handler failed before COMMIT');
    } catch (error) {
      await single.use(async (db, pooled) => {
        const { rows } = await db.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${table} WHERE name = 'mallory'`);
        const which = pooled.id === firstId ? 'the same connection' : 'another connection';
        console.log(
          `rollback: "${(error as Error).message}": ${which} came back idle (status ${db.transactionStatus}), ${rows[0]?.n} rows of it remain`,
        );
      });
    }
  }

  // ---------------------------------------------------------------- 4. error handling
  // a) A failing query is the driver's error, unchanged; the connection goes back to the pool.
  try {
    await engine.use((db) => db.query('SELECT * FROM no_such_table_here'));
  } catch (error) {
    if (!(error instanceof pg.DatabaseError)) throw error;
    console.log(`query error: PostgreSQL ${error.code}: ${error.message} (the driver's error; the connection went back to the pool)`);
  }

  // b) Waiting longer than the timeout: ConnectionTimeoutError (its cause: the last connect error, if any).
  await holdingEveryConnection(engine, async () => {
    try {
      await engine.acquire({ timeoutMs: 200 });
    } catch (error) {
      if (!(error instanceof ConnectionTimeoutError)) throw error;
      console.log(`timeout: ${error.code} after ${error.timeoutMs} ms (${error.message})`);
    }
  });

  // c) A full wait queue: PoolExhaustedError, at once. maxWaitQueueSize(0) means "never wait".
  {
    await using noWaiting = await ConnectionPool.create(PoolConfig.builder().maxSize(1).maxWaitQueueSize(0).build(), pgFactory(url));
    await holdingEveryConnection(noWaiting, async () => {
      try {
        await noWaiting.acquire();
      } catch (error) {
        if (!(error instanceof PoolExhaustedError)) throw error;
        console.log(`exhausted: ${error.code}: ${error.active}/${error.max} connections in use, ${error.waiting} waiting`);
      }
    });
  }

  // d) A wrong address: ConnectionPool.create opens initialSize connections first, so it fails at boot
  //    with ConnectionCreateError (cause: the driver's error), not at the first request.
  try {
    await ConnectionPool.create(PoolConfig.builder().initialSize(1).maxSize(1).build(), pgFactory('postgres://postgres@127.0.0.1:1/test'));
  } catch (error) {
    if (!(error instanceof ConnectionCreateError)) throw error;
    const cause = error.cause as NodeJS.ErrnoException | undefined;
    console.log(`create failed: ${error.code}, cause ${cause?.code ?? String(cause)}`);
  }

  // e) After close(): PoolClosedError. Branching on the stable code works as well as instanceof.
  await engine.close();
  try {
    await engine.acquire();
  } catch (error) {
    if (!isPoolError(error, 'ERR_POOL_CLOSED')) throw error;
    console.log(`closed: ${error.name} ${error.code}: ${error.message}`);
  }

  console.log(`done: pools closed (${engine.size().total} connections open)`);
}

async function main(): Promise<void> {
  try {
    await run();
  } finally {
    // Drop the table with a plain client of its own, also when something above failed.
    await dropTable().catch((error: unknown) => console.error(`could not drop ${table}: ${String(error)}`));
  }
}

async function dropTable(): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP TABLE IF EXISTS ${table}`);
  } finally {
    await client.end();
  }
}

/** Runs `fn` while every connection of `pool` is borrowed, then gives them back. */
async function holdingEveryConnection<C>(pool: ConnectionPool<C>, fn: () => Promise<void>): Promise<void> {
  const held = await Promise.all(Array.from({ length: pool.config.maxSize }, () => pool.acquire()));
  try {
    await fn();
  } finally {
    for (const conn of held) conn.release();
  }
}

/** The URL without its password, for printing. */
function redact(connectionString: string): string {
  const parsed = new URL(connectionString);
  if (parsed.password !== '') parsed.password = '***';
  return parsed.toString();
}

main().catch((error: unknown) => {
  console.error(error instanceof PoolError ? `pool error ${error.code}: ${error.message}` : error);
  process.exitCode = 1;
});
