import { ConnectionPool, ConnectionValidator, type PooledConnection, RecyclingStrategy } from '@pool/core';
import * as genericPool from 'generic-pool';
import pg from 'pg';
import { Pool as TarnPool } from 'tarn';
import { closeFake, type FakeConnection, FakePgClient, openFake, validateFake } from './fake.js';
import { FloorPool } from './floor-pool.js';

/**
 * One pool library behind the same four calls, so every scenario drives every library the same way.
 * Each child process loads exactly one subject, so these call sites stay monomorphic and inline.
 */
export interface Adapter<R = unknown> {
  acquire(): Promise<R>;
  /** Gives the item back for reuse. */
  release(item: R): void;
  /** Ends the borrow and has the pool close the item instead of reusing it (churn). */
  destroy(item: R): void;
  close(): Promise<void>;
}

/** How a scenario wants its pool. Every library gets the same numbers, translated to its options. */
export interface PoolParams {
  /** Most connections open at once. */
  max: number;
  /** Connections opened (and left idle) before measuring. Default `max`. */
  warm?: number;
  /** How long a caller may wait, when the scenario measures timeouts; else the library's default. */
  acquireTimeoutMs?: number;
  /** Validate on borrow: `every` borrow, or with core's fast validation where the library has one. */
  validate?: 'every' | 'fast';
  /** Every release closes the connection and the pool opens a new one (create/destroy churn). */
  replace?: boolean;
}

/** The subjects of the in-memory scenarios: the floor, @pool/core and the peers. */
export const POOL_SUBJECTS = ['floor', 'core', 'generic-pool', 'tarn', 'pg-pool'] as const;
export type PoolSubject = (typeof POOL_SUBJECTS)[number];

async function prewarm<R>(a: Adapter<R>, n: number): Promise<Adapter<R>> {
  const items = await Promise.all(Array.from({ length: n }, () => a.acquire()));
  for (const item of items) a.release(item);
  // Let any asynchronous bookkeeping of the releases settle before the clock starts.
  await new Promise((resolve) => setImmediate(resolve));
  return a;
}

/** Builds `subject`'s pool of {@link FakeConnection}s with `params`, warmed (idle connections ready). */
export async function makeAdapter(subject: PoolSubject, params: PoolParams): Promise<Adapter> {
  const warm = params.warm ?? params.max;
  switch (subject) {
    case 'floor':
      return prewarm(floorAdapter(params), warm);
    case 'core':
      return prewarm(await coreAdapter(params), warm);
    case 'generic-pool':
      return prewarm(genericPoolAdapter(params), warm);
    case 'tarn':
      return prewarm(tarnAdapter(params), warm);
    case 'pg-pool':
      return prewarm(pgPoolAdapter(params), warm);
  }
}

function floorAdapter(params: PoolParams): Adapter<FakeConnection> {
  if (params.acquireTimeoutMs !== undefined) throw new Error('the floor has no acquire timeouts');
  const pool = new FloorPool<FakeConnection>({ create: openFake, destroy: closeFake }, params.max);
  if (params.validate !== undefined) {
    // The floor has no validation feature: the least a pool that validates must do is await the check.
    return {
      acquire: async () => {
        for (;;) {
          const c = await pool.acquire();
          if (await validateFake(c)) return c;
          pool.destroy(c);
        }
      },
      release: (c) => pool.release(c),
      destroy: (c) => pool.destroy(c),
      close: async () => {},
    };
  }
  if (params.replace === true) {
    return { acquire: () => pool.acquire(), release: (c) => pool.destroy(c), destroy: (c) => pool.destroy(c), close: async () => {} };
  }
  return { acquire: () => pool.acquire(), release: (c) => pool.release(c), destroy: (c) => pool.destroy(c), close: async () => {} };
}

async function coreAdapter(params: PoolParams): Promise<Adapter<PooledConnection<FakeConnection>>> {
  const pool = await ConnectionPool.create(
    {
      maxSize: params.max,
      minSize: 0,
      maxWaitQueueSize: 1_000_000,
      validateOnAcquire: params.validate !== undefined,
      ...(params.acquireTimeoutMs === undefined ? {} : { acquireTimeoutMs: params.acquireTimeoutMs }),
    },
    { create: openFake, close: closeFake, validate: validateFake },
    {
      ...(params.validate === 'fast' ? { validator: new ConnectionValidator().withFastValidation(true) } : {}),
      ...(params.replace === true ? { recyclingStrategy: RecyclingStrategy.Replace } : {}),
    },
  );
  return {
    acquire: () => pool.acquire(),
    release: (c) => c.release(),
    destroy: (c) => void c.destroy(),
    close: () => pool.close(),
  };
}

function genericPoolAdapter(params: PoolParams): Adapter<FakeConnection> {
  const pool = genericPool.createPool<FakeConnection>(
    { create: openFake, destroy: closeFake, validate: validateFake },
    {
      max: params.max,
      min: 0,
      testOnBorrow: params.validate !== undefined,
      ...(params.acquireTimeoutMs === undefined ? {} : { acquireTimeoutMillis: params.acquireTimeoutMs }),
    },
  );
  const destroy = (c: FakeConnection): void => void pool.destroy(c);
  return {
    acquire: () => pool.acquire(),
    release: params.replace === true ? destroy : (c) => void pool.release(c),
    destroy,
    close: async () => {
      await pool.drain();
      await pool.clear();
    },
  };
}

interface TarnItem {
  conn: FakeConnection;
  retired: boolean;
}

function tarnAdapter(params: PoolParams): Adapter<TarnItem> {
  // tarn's validate is synchronous and runs on every acquire of a free resource; it is also how a
  // borrower gets a resource replaced (tarn has no destroy-this-one call): mark it, and the next acquire
  // throws it away and creates a new one.
  const pool = new TarnPool<TarnItem>({
    create: () => openFake().then((conn) => ({ conn, retired: false })),
    destroy: (item) => closeFake(item.conn),
    min: 0,
    max: params.max,
    ...(params.validate !== undefined || params.replace === true
      ? { validate: (item: TarnItem) => !item.retired && !item.conn.closed }
      : {}),
    ...(params.acquireTimeoutMs === undefined ? {} : { acquireTimeoutMillis: params.acquireTimeoutMs }),
  });
  const destroy = (item: TarnItem): void => {
    item.retired = true;
    pool.release(item);
  };
  return {
    acquire: () => pool.acquire().promise,
    release: params.replace === true ? destroy : (item) => void pool.release(item),
    destroy,
    close: async () => {
      await pool.destroy();
    },
  };
}

type PgPoolClient = pg.PoolClient & FakePgClient;

function pgPoolAdapter(params: PoolParams): Adapter<PgPoolClient> {
  if (params.validate !== undefined) throw new Error('pg-pool has no validate-on-borrow');
  const pool = new pg.Pool({
    max: params.max,
    Client: FakePgClient as unknown as typeof pg.Client,
    ...(params.acquireTimeoutMs === undefined ? {} : { connectionTimeoutMillis: params.acquireTimeoutMs }),
  });
  const destroy = (c: PgPoolClient): void => c.release(true);
  return {
    acquire: () => pool.connect() as Promise<PgPoolClient>,
    release: params.replace === true ? destroy : (c) => c.release(),
    destroy,
    close: () => pool.end(),
  };
}
