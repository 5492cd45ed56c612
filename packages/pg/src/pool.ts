import {
  type AcquireOptions,
  AgingPolicy,
  ConnectionPool,
  InvalidConfigError,
  MAX_TIMER_MS,
  type PoolConfig,
  type PoolConfigOptions,
  type PoolOptions,
} from '@pool/core';
import {
  checkInteger,
  checkMilliseconds,
  DriverPool,
  DriverPoolClient,
  optionConflict,
  PoolConfigMapping,
  poolLogger,
} from '@pool/core/adapter';
import type pg from 'pg';
import { isSubmittable, type PgConnection, type PgQuery, type PgSubmittable } from './connection.js';
import { type PgFactory, type PgFactoryOptions, pgFactory } from './factory.js';

/** The `pg.Pool` options {@link createPgPool} understands, mapped onto `@pool/core`'s config. */
export interface PgPoolCompatOptions {
  /** Maximum connections (`maxSize`). pg.Pool default 10, ours 10. */
  max?: number;
  /** Connections kept open even when idle (`minSize`). Default 0. */
  min?: number;
  /** Close a connection idle this long (`idleTimeoutMs`); `0` never. Maintenance runs at half this interval (at most every 30 s). */
  idleTimeoutMillis?: number;
  /** How long `query()` / `connect()` wait for a connection (`acquireTimeoutMs`), and a connect may take (`createTimeoutMs`); `0` waits without a limit. */
  connectionTimeoutMillis?: number;
  /** Retire a connection this many seconds after it opened (`maxLifetimeMs`); `0` never. */
  maxLifetimeSeconds?: number;
  /** Retire a connection after this many borrows (`AgingPolicy.UsageBased`); `Infinity` never. */
  maxUses?: number;
  /** pg's old name for `max`, still honoured. */
  poolSize?: number;
}

/**
 * Options of {@link createPgPool}: a `pg.Pool` config as you have it (the `pg` client settings and the
 * pg.Pool options above), plus this adapter's options, plus, for anything else, `@pool/core`'s
 * `poolConfig` and `poolOptions`. Keys that are neither are handed to `pg.Client`, as pg.Pool does.
 */
export interface PgPoolOptions extends Omit<pg.ClientConfig, 'connectionTimeoutMillis'>, PgPoolCompatOptions, PgFactoryOptions {
  /** `@pool/core` config (sizes, timeouts, validation...). A field also set through a pg.Pool option is an error. */
  poolConfig?: PoolConfig | PoolConfigOptions;
  /** `@pool/core` pool options (name, agingPolicy, recyclingStrategy, validator, waitQueue...). */
  poolOptions?: PoolOptions;
}

const COMPAT_KEYS = ['max', 'poolSize', 'min', 'idleTimeoutMillis', 'connectionTimeoutMillis', 'maxLifetimeSeconds', 'maxUses'] as const;
const FACTORY_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'onConnect', 'allowExitOnIdle', 'Client', 'logger'] as const;
const UNSUPPORTED: Record<string, string> = {
  verify: 'is not supported; run checks in onConnect (it may throw to refuse the connection)',
  log: 'is not supported; listen to pool events instead (pool.on(...))',
  Promise: 'is not supported; the pool uses the global Promise (pg deprecated this option)',
};

/** @internal Splits `createPgPool` options into the client config, factory options, pool config and pool options. */
export function mapPgPoolOptions(options: PgPoolOptions): {
  client: pg.ClientConfig;
  factory: PgFactoryOptions;
  config: PoolConfig;
  poolOptions: PoolOptions;
} {
  const mapping = new PoolConfigMapping(options, 'must be an object (a pg.Pool config)');
  const given = mapping.rest;
  for (const key of Object.keys(UNSUPPORTED)) {
    if (given[key] !== undefined) throw new InvalidConfigError(key, given[key], UNSUPPORTED[key] as string);
  }
  if (given.max !== undefined) mapping.set('max', 'maxSize', checkInteger('max', given.max, 1));
  if (given.poolSize !== undefined) {
    // pg's old name for max: honoured rather than passed to the client and silently ignored.
    const size = checkInteger('poolSize', given.poolSize, 1);
    if (given.max !== undefined && given.max !== size) throw optionConflict('poolSize', size, `max (${String(given.max)})`);
    mapping.set('poolSize', 'maxSize', size);
  }
  if (given.min !== undefined) mapping.set('min', 'minSize', checkInteger('min', given.min, 0));
  if (given.idleTimeoutMillis !== undefined) {
    const ms = checkMilliseconds('idleTimeoutMillis', given.idleTimeoutMillis);
    mapping.set('idleTimeoutMillis', 'idleTimeoutMs', ms === 0 ? null : ms);
    if (ms > 0) mapping.maintainFor(ms);
  }
  if (given.connectionTimeoutMillis !== undefined) {
    const ms = checkMilliseconds('connectionTimeoutMillis', given.connectionTimeoutMillis);
    mapping.set('connectionTimeoutMillis', 'acquireTimeoutMs', ms === 0 ? MAX_TIMER_MS : ms);
    if (ms > 0) mapping.setUnlessGiven('createTimeoutMs', ms);
  }
  if (given.maxLifetimeSeconds !== undefined) {
    const s = given.maxLifetimeSeconds;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s * 1000 > MAX_TIMER_MS) {
      throw new InvalidConfigError('maxLifetimeSeconds', s, `must be a number of seconds between 0 and ${Math.floor(MAX_TIMER_MS / 1000)}`);
    }
    mapping.set('maxLifetimeSeconds', 'maxLifetimeMs', s === 0 ? null : s * 1000);
  }
  if (given.maxUses !== undefined && given.maxUses !== Number.POSITIVE_INFINITY) {
    const maxBorrows = checkInteger('maxUses', given.maxUses, 1);
    mapping.setOption(
      'maxUses',
      'agingPolicy',
      AgingPolicy.UsageBased({ maxBorrows }),
      'use AgingPolicy.UsageBased / Combined there instead',
    );
  }
  mapping.take(COMPAT_KEYS);
  const factory = mapping.take(FACTORY_KEYS) as PgFactoryOptions;
  if (factory.statementCacheSize !== undefined) mapping.set('statementCacheSize', 'statementCacheSize', factory.statementCacheSize);
  const config = mapping.build();
  factory.statementCacheSize = config.statementCacheSize;
  return { client: mapping.rest as pg.ClientConfig, factory, config, poolOptions: mapping.poolOptions };
}

/**
 * One borrowed connection from {@link PgPool.connect}, shaped like `pg.PoolClient`: `query()`, and
 * `release(err?)` — a truthy `err` destroys the connection instead of reusing it, as in pg.
 */
export class PgPoolClient extends DriverPoolClient<PgConnection> {
  /** The server process id of the session. */
  get processID(): number | null {
    return this.pooled.connection.processID;
  }

  /**
   * Runs a query (see {@link PgConnection.query}). A failure is reported to the pool at release, for
   * adaptive aging. A submittable (pg-cursor, pg-query-stream) is returned as it is, synchronously, as
   * `pg.Client#query` does.
   */
  query<S extends PgSubmittable>(submittable: S): S;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow>(query: PgQuery | PgSubmittable, values?: unknown[]): Promise<pg.QueryResult<R>> | PgSubmittable {
    if (isSubmittable(query)) return this.connection.query(query);
    return this.track((conn) => conn.query<R>(query, values));
  }

  /**
   * Gives the connection back. As in pg, a truthy `err` (an `Error` or `true`) destroys it instead.
   * Throws `ConnectionReleasedError` when called twice.
   */
  override release(err?: Error | boolean): void {
    if (err) {
      void this.pooled.destroy(err === true ? new Error('released with release(true)') : err);
      return;
    }
    super.release();
  }
}

/**
 * A PostgreSQL pool with `pg.Pool`'s everyday API (`query`, `connect`, `end`, `totalCount`...) on
 * `@pool/core`'s engine. `pool` is the underlying `ConnectionPool` for everything else (events,
 * statistics, `acquire`, `resize`...); `factory` has the statement-cache figures (`factory.statistics()`).
 */
export class PgPool extends DriverPool<PgConnection, PgFactory> {
  /** @internal Use {@link createPgPool}. */
  constructor(pool: ConnectionPool<PgConnection>, factory: PgFactory) {
    super('PgPool', pool, factory);
  }

  /**
   * Acquires a connection, runs one query, releases the connection — like `pg.Pool#query`. A query
   * error is reported to the pool with the release (adaptive aging retires connections that keep
   * failing) and rethrown as `pg` raised it. Rejects with `ConnectionTimeoutError` (and the other
   * `PoolError`s of `acquire`) when no connection comes in time.
   */
  query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>> {
    return this.use((conn) => conn.query<R>(query, values));
  }

  /** Borrows a connection, as `pg.Pool#connect` does; give it back with `client.release()`. */
  async connect(options?: AcquireOptions): Promise<PgPoolClient> {
    return new PgPoolClient(await this.pool.acquire(options));
  }

  /** Open connections (pg.Pool's `totalCount`). */
  get totalCount(): number {
    return this.pool.size().total;
  }

  /** Idle connections (pg.Pool's `idleCount`). */
  get idleCount(): number {
    return this.pool.size().idle;
  }

  /** Callers waiting for a connection (pg.Pool's `waitingCount`). */
  get waitingCount(): number {
    return this.pool.size().waiting;
  }

  /** True once `end()` was called. */
  get ended(): boolean {
    return this.pool.state !== 'open';
  }
}

/**
 * Makes a PostgreSQL pool from a `pg.Pool` config, so a pg.Pool user switches with little change:
 * `new Pool(config)` becomes `createPgPool(config)`, and `pool.query`, `pool.connect` /
 * `client.release`, `pool.end` work as before. Nothing connects until first use (like pg.Pool);
 * `minSize` connections are then kept by background maintenance.
 *
 * @example
 * ```ts
 * const pool = createPgPool({ connectionString: process.env.DATABASE_URL, max: 20, idleTimeoutMillis: 30_000, statementCacheSize: 100 });
 * const { rows } = await pool.query('SELECT * FROM users WHERE id = $1', [42]);
 * await pool.end();
 * ```
 */
export function createPgPool(options: PgPoolOptions = {}): PgPool {
  const { client, factory: factoryOptions, config, poolOptions } = mapPgPoolOptions(options);
  // One logger for the engine and the adapter, given either way.
  const logger = poolLogger(factoryOptions.logger, poolOptions.logger);
  const factory = pgFactory(client, { ...factoryOptions, logger });
  return new PgPool(ConnectionPool.open(config, factory, logger === null ? poolOptions : { ...poolOptions, logger }), factory);
}
