import {
  type AcquireOptions,
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
  RecyclingStrategy,
} from '@pool/core';
import type { ConnectionOptions, FieldPacket, QueryResult } from 'mysql2';
import type { MysqlConnection, MysqlQuery } from './connection.js';
import { type MysqlFactory, type MysqlFactoryOptions, mysqlFactory } from './factory.js';

/** The mysql2 pool options {@link createMysqlPool} understands, mapped onto `@pool/core`'s config. */
export interface MysqlPoolCompatOptions {
  /** Maximum connections (`maxSize`). mysql2 default 10, ours 10. */
  connectionLimit?: number;
  /**
   * mysql2 closes idle connections only when `maxIdle` < `connectionLimit`. Here: `maxIdle` >=
   * `connectionLimit` keeps idle connections open (`idleTimeoutMs: null`); below it, idle connections
   * are closed after `idleTimeout` (down to `minSize`, default 0).
   */
  maxIdle?: number;
  /** Close a connection idle this long, in ms (`idleTimeoutMs`). mysql2 default 60000. */
  idleTimeout?: number;
  /** Callers allowed to wait at once (`maxWaitQueueSize`); `0`: no limit, as in mysql2. */
  queueLimit?: number;
  /** `false`: never wait for a connection, fail at once with `PoolExhaustedError` (`maxWaitQueueSize: 0`). */
  waitForConnections?: boolean;
  /** `true`: reset every connection on release (`RecyclingStrategy.Checked`); `false` (mysql2's default): reset only dirty ones (`Adaptive`). */
  resetOnRelease?: boolean;
}

/**
 * Options of {@link createMysqlPool}: a mysql2 pool config as you have it (the mysql2 connection
 * options and the pool options above), plus this adapter's options, plus, for anything else,
 * `@pool/core`'s `poolConfig` and `poolOptions`. Other keys are handed to mysql2's connection, as
 * mysql2's `createPool` does.
 */
export interface MysqlPoolOptions extends ConnectionOptions, MysqlPoolCompatOptions, MysqlFactoryOptions {
  /** `@pool/core` config (sizes, timeouts, validation...). A field also set through a mysql2 option is an error. */
  poolConfig?: PoolConfig | PoolConfigOptions;
  /** `@pool/core` pool options (name, agingPolicy, recyclingStrategy, validator, waitQueue...). */
  poolOptions?: PoolOptions;
}

const COMPAT_KEYS = ['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'] as const;
const FACTORY_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'trackSessionState', 'onConnect'] as const;

function count(field: string, v: unknown, min: number): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min) throw new InvalidConfigError(field, v, `must be an integer >= ${min}`);
  return v;
}

function millis(field: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isFinite(v) || v < 1 || v > MAX_TIMER_MS) {
    throw new InvalidConfigError(field, v, `must be a number of milliseconds between 1 and ${MAX_TIMER_MS}`);
  }
  return v;
}

/** @internal Splits `createMysqlPool` options into the connection config, factory options, pool config and pool options. */
export function mapMysqlPoolOptions(options: MysqlPoolOptions | string): {
  connection: ConnectionOptions;
  factory: MysqlFactoryOptions;
  config: PoolConfig;
  poolOptions: PoolOptions;
} {
  if (typeof options === 'string') options = { uri: options };
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError('options', options, 'must be a mysql:// URL or an object (a mysql2 pool config)');
  }
  const rest: Record<string, unknown> = { ...options };
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
  const limit = rest.connectionLimit === undefined ? undefined : count('connectionLimit', rest.connectionLimit, 1);
  if (limit !== undefined) set('connectionLimit', 'maxSize', limit);
  const effectiveLimit = limit ?? (poolConfig.maxSize as number | undefined) ?? 10;
  const idleTimeout = rest.idleTimeout === undefined ? undefined : millis('idleTimeout', rest.idleTimeout);
  if (rest.maxIdle !== undefined) {
    const maxIdle = count('maxIdle', rest.maxIdle, 0);
    if (maxIdle >= effectiveLimit) set('maxIdle', 'idleTimeoutMs', null);
    else set('maxIdle', 'idleTimeoutMs', idleTimeout ?? 60_000);
  } else if (idleTimeout !== undefined) set('idleTimeout', 'idleTimeoutMs', idleTimeout);
  const reap = poolConfig.idleTimeoutMs;
  if (typeof reap === 'number' && !explicit.has('maintenanceIntervalMs'))
    poolConfig.maintenanceIntervalMs = Math.max(10, Math.min(30_000, Math.floor(reap / 2)));
  if (rest.waitForConnections !== undefined && typeof rest.waitForConnections !== 'boolean') {
    throw new InvalidConfigError('waitForConnections', rest.waitForConnections, 'must be true or false');
  }
  if (rest.waitForConnections === false) {
    if (rest.queueLimit !== undefined && rest.queueLimit !== 0) {
      throw new InvalidConfigError(
        'queueLimit',
        rest.queueLimit,
        'conflicts with waitForConnections: false (nobody waits); give one of them',
      );
    }
    set('waitForConnections', 'maxWaitQueueSize', 0);
  } else if (rest.queueLimit !== undefined) {
    const q = count('queueLimit', rest.queueLimit, 0);
    set('queueLimit', 'maxWaitQueueSize', q === 0 ? Number.MAX_SAFE_INTEGER : q);
  }
  if (rest.resetOnRelease !== undefined) {
    if (typeof rest.resetOnRelease !== 'boolean')
      throw new InvalidConfigError('resetOnRelease', rest.resetOnRelease, 'must be true or false');
    const strategy = rest.resetOnRelease ? RecyclingStrategy.Checked : RecyclingStrategy.Adaptive;
    if (poolOptions.recyclingStrategy !== undefined && poolOptions.recyclingStrategy !== strategy) {
      throw new InvalidConfigError(
        'resetOnRelease',
        rest.resetOnRelease,
        `conflicts with poolOptions.recyclingStrategy ('${poolOptions.recyclingStrategy}'); give one of them`,
      );
    }
    poolOptions.recyclingStrategy = strategy;
  }
  const factory: Record<string, unknown> = {};
  for (const key of FACTORY_KEYS) if (rest[key] !== undefined) factory[key] = rest[key];
  if (rest.maxPreparedStatements !== undefined) {
    if (factory.statementCacheSize !== undefined && factory.statementCacheSize !== rest.maxPreparedStatements) {
      throw new InvalidConfigError(
        'maxPreparedStatements',
        rest.maxPreparedStatements,
        `conflicts with statementCacheSize (${String(factory.statementCacheSize)}); give one of them`,
      );
    }
    set('maxPreparedStatements', 'statementCacheSize', rest.maxPreparedStatements);
  }
  if (factory.statementCacheSize !== undefined) set('statementCacheSize', 'statementCacheSize', factory.statementCacheSize);
  const config = PoolConfig.from(poolConfig as PoolConfigOptions);
  factory.statementCacheSize = config.statementCacheSize;
  for (const key of [...COMPAT_KEYS, ...FACTORY_KEYS, 'maxPreparedStatements']) delete rest[key];
  return { connection: rest as ConnectionOptions, factory: factory as MysqlFactoryOptions, config, poolOptions };
}

/**
 * One borrowed connection from {@link MysqlPool.getConnection}, shaped like mysql2/promise's
 * `PoolConnection`: `query()`, `execute()`, transactions, and `release()`. A failed statement is
 * reported to the pool at release (adaptive aging counts it). `destroy()` closes it instead of reusing it.
 */
export class MysqlPoolConnection {
  /** The pool's handle of this borrow. */
  readonly pooled: PooledConnection<MysqlConnection>;
  #error: unknown = undefined;

  /** @internal Made by `MysqlPool.getConnection()`. */
  constructor(pooled: PooledConnection<MysqlConnection>) {
    this.pooled = pooled;
  }

  /** The connection (throws `ConnectionReleasedError` after release). */
  get connection(): MysqlConnection {
    return this.pooled.connection;
  }

  /** The server's id of the session (what `KILL` takes). */
  get threadId(): number | null {
    return this.pooled.connection.threadId;
  }

  /** See {@link MysqlConnection.query}. */
  query<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.#track(this.pooled.connection.query<T>(sql, values));
  }

  /** See {@link MysqlConnection.execute}. */
  execute<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.#track(this.pooled.connection.execute<T>(sql, values));
  }

  /** `START TRANSACTION`. */
  beginTransaction(): Promise<void> {
    return this.#track(this.pooled.connection.beginTransaction());
  }

  /** `COMMIT`. */
  commit(): Promise<void> {
    return this.#track(this.pooled.connection.commit());
  }

  /** `ROLLBACK`. */
  rollback(): Promise<void> {
    return this.#track(this.pooled.connection.rollback());
  }

  /** Gives the connection back (it is reset first if dirty). Throws `ConnectionReleasedError` when called twice. */
  release(): void {
    this.pooled.release(this.#error === undefined ? undefined : { error: this.#error });
  }

  /** Closes the connection instead of giving it back (mysql2's `connection.destroy()`). */
  destroy(error?: unknown): Promise<void> {
    return this.pooled.destroy(error ?? this.#error);
  }

  /** `await using conn = await pool.getConnection()` releases it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.pooled.released) this.release();
  }

  async #track<T>(running: Promise<T>): Promise<T> {
    try {
      return await running;
    } catch (error) {
      this.#error = error;
      throw error;
    }
  }
}

/**
 * A MySQL / MariaDB pool with mysql2/promise's everyday API (`query`, `execute`, `getConnection`, `end`)
 * on `@pool/core`'s engine. `pool` is the underlying `ConnectionPool` for everything else (events,
 * statistics, `acquire`, `resize`...).
 */
export class MysqlPool {
  /** The engine. */
  readonly pool: ConnectionPool<MysqlConnection>;
  /** The factory (statement-cache figures: `factory.statistics()`). */
  readonly factory: MysqlFactory;

  /** @internal Use {@link createMysqlPool}. */
  constructor(pool: ConnectionPool<MysqlConnection>, factory: MysqlFactory) {
    this.pool = pool;
    this.factory = factory;
  }

  /**
   * Acquires a connection, runs one statement on the text protocol, releases the connection — like
   * mysql2's `pool.query`. A statement error is reported to the pool with the release and rethrown as
   * mysql2 raised it. Rejects with `ConnectionTimeoutError` (and the other `PoolError`s of `acquire`)
   * when no connection comes in time.
   */
  query<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.#once((conn) => conn.query<T>(sql, values));
  }

  /** Like {@link query}, as a prepared statement cached per connection (mysql2's `pool.execute`). */
  execute<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.#once((conn) => conn.execute<T>(sql, values));
  }

  /** Borrows a connection, as mysql2's `pool.getConnection` does; give it back with `conn.release()`. */
  async getConnection(options?: AcquireOptions): Promise<MysqlPoolConnection> {
    return new MysqlPoolConnection(await this.pool.acquire(options));
  }

  /** Same as {@link getConnection}, named like `@pool/pg`'s. */
  connect(options?: AcquireOptions): Promise<MysqlPoolConnection> {
    return this.getConnection(options);
  }

  /** Runs `fn` with a connection and always releases it (also when `fn` throws; the error is reported and rethrown). */
  use<T>(fn: (conn: MysqlConnection, pooled: PooledConnection<MysqlConnection>) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    return this.pool.use(fn, options);
  }

  /** Closes the pool (mysql2's `pool.end`): waiters fail, idle connections close, borrowed ones when released. Idempotent. */
  end(): Promise<void> {
    return this.pool.close();
  }

  /** Same as {@link end}. */
  close(): Promise<void> {
    return this.pool.close();
  }

  /** `await using pool = createMysqlPool(...)` ends it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.pool.close();
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
  on<K extends keyof PoolEventMap<MysqlConnection>>(event: K, listener: (payload: PoolEventMap<MysqlConnection>[K]) => void): this {
    this.pool.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof PoolEventMap<MysqlConnection>>(event: K, listener: (payload: PoolEventMap<MysqlConnection>[K]) => void): this {
    this.pool.off(event, listener);
    return this;
  }

  /** A short description (never the password). */
  toString(): string {
    return `MysqlPool(${String(this.pool)}, ${String(this.factory)})`;
  }

  async #once<T>(run: (conn: MysqlConnection) => Promise<T>): Promise<T> {
    const pooled = await this.pool.acquire();
    let result: T;
    try {
      result = await run(pooled.connection);
    } catch (error) {
      if (!pooled.released) pooled.release({ error });
      throw error;
    }
    pooled.release();
    return result;
  }
}

/**
 * Makes a MySQL / MariaDB pool from a mysql2 pool config, so a mysql2 user switches with little change:
 * `mysql.createPool(config).promise()` becomes `createMysqlPool(config)`, and `pool.query`,
 * `pool.execute`, `pool.getConnection` / `conn.release`, `pool.end` work as before. Nothing connects
 * until first use (like mysql2); `minSize` connections are then kept by background maintenance.
 *
 * @example
 * ```ts
 * const pool = createMysqlPool({ uri: process.env.DATABASE_URL, connectionLimit: 20, statementCacheSize: 100 });
 * const [rows] = await pool.execute('SELECT * FROM users WHERE id = ?', [42]);
 * await pool.end();
 * ```
 */
export function createMysqlPool(options: MysqlPoolOptions | string = {}): MysqlPool {
  const { connection, factory: factoryOptions, config, poolOptions } = mapMysqlPoolOptions(options);
  const factory = mysqlFactory(connection, factoryOptions);
  return new MysqlPool(ConnectionPool.open(config, factory, poolOptions), factory);
}
