import {
  type AcquireOptions,
  AgingPolicy,
  ConnectionPool,
  InvalidConfigError,
  MAX_TIMER_MS,
  PoolConfig,
  type PoolConfigOptions,
  type PoolEventMap,
  type PooledConnection,
  type PoolOptions,
  type PoolSize,
  type PoolStatistics,
} from '@pool/core';
import type pg from 'pg';
import type { PgConnection, PgQuery } from './connection.js';
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

const COMPAT_KEYS = ['max', 'min', 'idleTimeoutMillis', 'connectionTimeoutMillis', 'maxLifetimeSeconds', 'maxUses'] as const;
const FACTORY_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'onConnect', 'allowExitOnIdle', 'Client'] as const;
const UNSUPPORTED: Record<string, string> = {
  verify: 'is not supported; run checks in onConnect (it may throw to refuse the connection)',
  log: 'is not supported; listen to pool events instead (pool.on(...))',
};

function count(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InvalidConfigError(field, v, `must be an integer >= ${min}`);
  return v;
}

function millis(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > MAX_TIMER_MS) {
    throw new InvalidConfigError(field, v, `must be a number of milliseconds between 0 and ${MAX_TIMER_MS}`);
  }
  return v;
}

/** @internal Splits `createPgPool` options into the client config, factory options, pool config and pool options. */
export function mapPgPoolOptions(options: PgPoolOptions): {
  client: pg.ClientConfig;
  factory: PgFactoryOptions;
  config: PoolConfig;
  poolOptions: PoolOptions;
} {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError('options', options, 'must be an object (a pg.Pool config)');
  }
  const rest: Record<string, unknown> = { ...options };
  for (const key of Object.keys(UNSUPPORTED)) {
    if (rest[key] !== undefined) throw new InvalidConfigError(key, rest[key], UNSUPPORTED[key] as string);
  }
  const given = rest.poolConfig === undefined ? {} : rest.poolConfig instanceof PoolConfig ? rest.poolConfig.toJSON() : rest.poolConfig;
  if (typeof given !== 'object' || given === null)
    throw new InvalidConfigError('poolConfig', given, 'must be a PoolConfig or an object of pool options');
  const poolConfig: Record<string, unknown> = { ...given };
  const explicit = new Set(rest.poolConfig instanceof PoolConfig ? [] : Object.keys(poolConfig));
  const poolOptions: PoolOptions = { ...((rest.poolOptions as PoolOptions | undefined) ?? {}) };
  delete rest.poolConfig;
  delete rest.poolOptions;

  const set = (from: string, field: keyof PoolConfigOptions, value: unknown): void => {
    if (explicit.has(field) && poolConfig[field] !== value) {
      throw new InvalidConfigError(from, rest[from], `conflicts with poolConfig.${field} (${String(poolConfig[field])}); give one of them`);
    }
    poolConfig[field] = value;
  };
  if (rest.max !== undefined) set('max', 'maxSize', count('max', rest.max, 1));
  if (rest.min !== undefined) set('min', 'minSize', count('min', rest.min, 0));
  if (rest.idleTimeoutMillis !== undefined) {
    const ms = millis('idleTimeoutMillis', rest.idleTimeoutMillis);
    set('idleTimeoutMillis', 'idleTimeoutMs', ms === 0 ? null : ms);
    if (ms > 0 && !explicit.has('maintenanceIntervalMs'))
      poolConfig.maintenanceIntervalMs = Math.max(10, Math.min(30_000, Math.floor(ms / 2)));
  }
  if (rest.connectionTimeoutMillis !== undefined) {
    const ms = millis('connectionTimeoutMillis', rest.connectionTimeoutMillis);
    set('connectionTimeoutMillis', 'acquireTimeoutMs', ms === 0 ? MAX_TIMER_MS : ms);
    if (ms > 0 && !explicit.has('createTimeoutMs')) poolConfig.createTimeoutMs = ms;
  }
  if (rest.maxLifetimeSeconds !== undefined) {
    const s = rest.maxLifetimeSeconds;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0 || s * 1000 > MAX_TIMER_MS) {
      throw new InvalidConfigError('maxLifetimeSeconds', s, `must be a number of seconds between 0 and ${Math.floor(MAX_TIMER_MS / 1000)}`);
    }
    set('maxLifetimeSeconds', 'maxLifetimeMs', s === 0 ? null : s * 1000);
  }
  if (rest.maxUses !== undefined && rest.maxUses !== Number.POSITIVE_INFINITY) {
    const uses = count('maxUses', rest.maxUses, 1);
    if (poolOptions.agingPolicy != null) {
      throw new InvalidConfigError(
        'maxUses',
        uses,
        'conflicts with poolOptions.agingPolicy; use AgingPolicy.UsageBased / Combined there instead',
      );
    }
    poolOptions.agingPolicy = AgingPolicy.UsageBased({ maxBorrows: uses });
  }
  const factory: Record<string, unknown> = {};
  for (const key of FACTORY_KEYS) if (rest[key] !== undefined) factory[key] = rest[key];
  if (factory.statementCacheSize !== undefined) set('statementCacheSize', 'statementCacheSize', factory.statementCacheSize);
  const config = PoolConfig.from(poolConfig as PoolConfigOptions);
  factory.statementCacheSize = config.statementCacheSize;
  for (const key of [...COMPAT_KEYS, ...FACTORY_KEYS]) delete rest[key];
  return { client: rest as pg.ClientConfig, factory: factory as PgFactoryOptions, config, poolOptions };
}

/**
 * One borrowed connection from {@link PgPool.connect}, shaped like `pg.PoolClient`: `query()`, and
 * `release(err?)` — a truthy `err` destroys the connection instead of reusing it, as in pg.
 */
export class PgPoolClient {
  /** The pool's handle of this borrow. */
  readonly pooled: PooledConnection<PgConnection>;
  #error: unknown = undefined;

  /** @internal Made by `PgPool.connect()`. */
  constructor(pooled: PooledConnection<PgConnection>) {
    this.pooled = pooled;
  }

  /** The connection (throws `ConnectionReleasedError` after release). */
  get connection(): PgConnection {
    return this.pooled.connection;
  }

  /** The server process id of the session. */
  get processID(): number | null {
    return this.pooled.connection.processID;
  }

  /** Runs a query (see {@link PgConnection.query}). A failure is reported to the pool at release, for adaptive aging. */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>> {
    try {
      return await this.pooled.connection.query<R>(query, values);
    } catch (error) {
      this.#error = error;
      throw error;
    }
  }

  /**
   * Gives the connection back. As in pg, a truthy `err` (an `Error` or `true`) destroys it instead.
   * Throws `ConnectionReleasedError` when called twice.
   */
  release(err?: Error | boolean): void {
    if (err) {
      void this.pooled.destroy(err === true ? new Error('released with release(true)') : err);
      return;
    }
    this.pooled.release(this.#error === undefined ? undefined : { error: this.#error });
  }

  /** `await using client = await pool.connect()` releases it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.pooled.released) this.release();
  }
}

/**
 * A PostgreSQL pool with `pg.Pool`'s everyday API (`query`, `connect`, `end`, `totalCount`...) on
 * `@pool/core`'s engine. `pool` is the underlying `ConnectionPool` for everything else (events,
 * statistics, `acquire`, `resize`...).
 */
export class PgPool {
  /** The engine. */
  readonly pool: ConnectionPool<PgConnection>;
  /** The factory (statement-cache figures: `factory.statistics()`). */
  readonly factory: PgFactory;

  /** @internal Use {@link createPgPool}. */
  constructor(pool: ConnectionPool<PgConnection>, factory: PgFactory) {
    this.pool = pool;
    this.factory = factory;
  }

  /**
   * Acquires a connection, runs one query, releases the connection — like `pg.Pool#query`. A query
   * error is reported to the pool with the release (adaptive aging retires connections that keep
   * failing) and rethrown as `pg` raised it. Rejects with `ConnectionTimeoutError` (and the other
   * `PoolError`s of `acquire`) when no connection comes in time.
   */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>> {
    const pooled = await this.pool.acquire();
    let result: pg.QueryResult<R>;
    try {
      result = await pooled.connection.query<R>(query, values);
    } catch (error) {
      if (!pooled.released) pooled.release({ error });
      throw error;
    }
    pooled.release();
    return result;
  }

  /** Borrows a connection, as `pg.Pool#connect` does; give it back with `client.release()`. */
  async connect(options?: AcquireOptions): Promise<PgPoolClient> {
    return new PgPoolClient(await this.pool.acquire(options));
  }

  /** Runs `fn` with a connection and always releases it (also when `fn` throws; the error is reported and rethrown). */
  use<T>(fn: (conn: PgConnection, pooled: PooledConnection<PgConnection>) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    return this.pool.use(fn, options);
  }

  /** Closes the pool (`pg.Pool#end`): waiters fail, idle connections close, borrowed ones when released. Idempotent. */
  end(): Promise<void> {
    return this.pool.close();
  }

  /** Same as {@link end}. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** `await using pool = createPgPool(...)` ends it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.pool.close();
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

  /** See `ConnectionPool.size()`. */
  size(): PoolSize {
    return this.pool.size();
  }

  /** See `ConnectionPool.statistics()`. */
  statistics(): PoolStatistics {
    return this.pool.statistics();
  }

  /** Subscribes to a pool event (see `PoolEventMap` in `@pool/core`). */
  on<K extends keyof PoolEventMap<PgConnection>>(event: K, listener: (payload: PoolEventMap<PgConnection>[K]) => void): this {
    this.pool.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof PoolEventMap<PgConnection>>(event: K, listener: (payload: PoolEventMap<PgConnection>[K]) => void): this {
    this.pool.off(event, listener);
    return this;
  }

  /** A short description (never the password). */
  toString(): string {
    return `PgPool(${String(this.pool)}, ${String(this.factory)})`;
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
  const factory = pgFactory(client, factoryOptions);
  return new PgPool(ConnectionPool.open(config, factory, poolOptions), factory);
}
