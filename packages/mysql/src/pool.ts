import {
  type AcquireOptions,
  ConnectionPool,
  type PoolConfig,
  type PoolConfigOptions,
  type PoolOptions,
  RecyclingStrategy,
} from '@pool/core';
import {
  checkBoolean,
  checkInteger,
  checkMilliseconds,
  DriverPool,
  DriverPoolClient,
  optionConflict,
  PoolConfigMapping,
} from '@pool/core/adapter';
import type { ConnectionOptions, FieldPacket, QueryResult } from 'mysql2';
import type { MysqlConnection, MysqlQuery } from './connection.js';
import { type MysqlFactory, type MysqlFactoryOptions, mysqlFactory, statementCacheSizeOf } from './factory.js';

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

/** @internal Splits `createMysqlPool` options into the connection config, factory options, pool config and pool options. */
export function mapMysqlPoolOptions(options: MysqlPoolOptions | string): {
  connection: ConnectionOptions;
  factory: MysqlFactoryOptions;
  config: PoolConfig;
  poolOptions: PoolOptions;
} {
  const mapping = new PoolConfigMapping(
    typeof options === 'string' ? { uri: options } : options,
    'must be a mysql:// URL or an object (a mysql2 pool config)',
  );
  const given = mapping.rest;
  const limit = given.connectionLimit === undefined ? undefined : checkInteger('connectionLimit', given.connectionLimit, 1);
  if (limit !== undefined) mapping.set('connectionLimit', 'maxSize', limit);
  const effectiveLimit = limit ?? (mapping.get('maxSize') as number | undefined) ?? 10;
  const idleTimeout = given.idleTimeout === undefined ? undefined : checkMilliseconds('idleTimeout', given.idleTimeout, 1);
  if (given.maxIdle !== undefined) {
    const maxIdle = checkInteger('maxIdle', given.maxIdle, 0);
    if (maxIdle >= effectiveLimit) mapping.set('maxIdle', 'idleTimeoutMs', null);
    else mapping.set('maxIdle', 'idleTimeoutMs', idleTimeout ?? 60_000);
  } else if (idleTimeout !== undefined) mapping.set('idleTimeout', 'idleTimeoutMs', idleTimeout);
  const reap = mapping.get('idleTimeoutMs');
  if (typeof reap === 'number') mapping.maintainFor(reap);
  if (given.waitForConnections !== undefined) checkBoolean('waitForConnections', given.waitForConnections);
  if (given.waitForConnections === false) {
    if (given.queueLimit !== undefined && given.queueLimit !== 0) {
      throw optionConflict('queueLimit', given.queueLimit, 'waitForConnections: false (nobody waits)');
    }
    mapping.set('waitForConnections', 'maxWaitQueueSize', 0);
  } else if (given.queueLimit !== undefined) {
    const q = checkInteger('queueLimit', given.queueLimit, 0);
    mapping.set('queueLimit', 'maxWaitQueueSize', q === 0 ? Number.MAX_SAFE_INTEGER : q);
  }
  if (given.resetOnRelease !== undefined) {
    const strategy = checkBoolean('resetOnRelease', given.resetOnRelease) ? RecyclingStrategy.Checked : RecyclingStrategy.Adaptive;
    mapping.setOption('resetOnRelease', 'recyclingStrategy', strategy);
  }
  mapping.take(COMPAT_KEYS);
  const { maxPreparedStatements } = mapping.take(['maxPreparedStatements']);
  const factory = mapping.take(FACTORY_KEYS) as MysqlFactoryOptions;
  const size = statementCacheSizeOf(factory.statementCacheSize, maxPreparedStatements);
  if (size !== undefined)
    mapping.set(maxPreparedStatements === undefined ? 'statementCacheSize' : 'maxPreparedStatements', 'statementCacheSize', size);
  const config = mapping.build();
  factory.statementCacheSize = config.statementCacheSize;
  return { connection: mapping.rest as ConnectionOptions, factory, config, poolOptions: mapping.poolOptions };
}

/**
 * One borrowed connection from {@link MysqlPool.getConnection}, shaped like mysql2/promise's
 * `PoolConnection`: `query()`, `execute()`, transactions, and `release()`. A failed statement is
 * reported to the pool at release (adaptive aging counts it). `destroy()` closes it instead of reusing it.
 */
export class MysqlPoolConnection extends DriverPoolClient<MysqlConnection> {
  /** The server's id of the session (what `KILL` takes). */
  get threadId(): number | null {
    return this.pooled.connection.threadId;
  }

  /** See {@link MysqlConnection.query}. */
  query<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.track((conn) => conn.query<T>(sql, values));
  }

  /** See {@link MysqlConnection.execute}. */
  execute<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.track((conn) => conn.execute<T>(sql, values));
  }

  /** `START TRANSACTION`. */
  beginTransaction(): Promise<void> {
    return this.track((conn) => conn.beginTransaction());
  }

  /** `COMMIT`. */
  commit(): Promise<void> {
    return this.track((conn) => conn.commit());
  }

  /** `ROLLBACK`. */
  rollback(): Promise<void> {
    return this.track((conn) => conn.rollback());
  }

  /** Closes the connection instead of giving it back (mysql2's `connection.destroy()`). */
  destroy(error?: unknown): Promise<void> {
    return this.pooled.destroy(error ?? this.failure);
  }
}

/**
 * A MySQL / MariaDB pool with mysql2/promise's everyday API (`query`, `execute`, `getConnection`, `end`)
 * on `@pool/core`'s engine. `pool` is the underlying `ConnectionPool` for everything else (events,
 * statistics, `acquire`, `resize`...); `factory` has the statement-cache figures (`factory.statistics()`).
 */
export class MysqlPool extends DriverPool<MysqlConnection, MysqlFactory> {
  /** @internal Use {@link createMysqlPool}. */
  constructor(pool: ConnectionPool<MysqlConnection>, factory: MysqlFactory) {
    super('MysqlPool', pool, factory);
  }

  /**
   * Acquires a connection, runs one statement on the text protocol, releases the connection — like
   * mysql2's `pool.query`. A statement error is reported to the pool with the release and rethrown as
   * mysql2 raised it. Rejects with `ConnectionTimeoutError` (and the other `PoolError`s of `acquire`)
   * when no connection comes in time.
   */
  query<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.use((conn) => conn.query<T>(sql, values));
  }

  /** Like {@link query}, as a prepared statement cached per connection (mysql2's `pool.execute`). */
  execute<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.use((conn) => conn.execute<T>(sql, values));
  }

  /** Borrows a connection, as mysql2's `pool.getConnection` does; give it back with `conn.release()`. */
  async getConnection(options?: AcquireOptions): Promise<MysqlPoolConnection> {
    return new MysqlPoolConnection(await this.pool.acquire(options));
  }

  /** Same as {@link getConnection}, named like `@pool/pg`'s. */
  connect(options?: AcquireOptions): Promise<MysqlPoolConnection> {
    return this.getConnection(options);
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
