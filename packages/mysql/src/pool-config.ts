import {
  type ConnectionPool,
  type PoolConfig,
  PoolConfig as PoolConfigClass,
  type PoolConfigOptions,
  type PoolOptions,
  RecyclingStrategy,
} from '@pool/core';
import { checkBoolean, checkInteger, checkMilliseconds, optionConflict, PoolConfigMapping } from '@pool/core/adapter';
import type { ConnectionOptions } from 'mysql2';
import type { MysqlConnection } from './connection.js';
import { type MysqlFactoryOptions, statementCacheSizeOf } from './factory.js';

/** The mysql2 pool options {@link createMysqlPool} understands, mapped onto `@pool/core`'s config. */
export interface MysqlPoolCompatOptions {
  /** Maximum connections (`maxSize`), connecting ones included. mysql2 default 10, ours 10. */
  connectionLimit?: number;
  /**
   * At most this many idle connections are kept (mysql2 default: `connectionLimit`, keep them all).
   * Below `connectionLimit`, idle connections beyond it are closed by maintenance, oldest first, and so
   * is any connection idle longer than `idleTimeout`.
   */
  maxIdle?: number;
  /** With `maxIdle` below `connectionLimit`: close a connection idle this long, in ms. mysql2 default 60000. */
  idleTimeout?: number;
  /** Callers allowed to wait at once (`maxWaitQueueSize`); `0`: no limit, as in mysql2. */
  queueLimit?: number;
  /** `false`: never wait for a connection, fail at once with mysql2's `No connections available.` (`maxWaitQueueSize: 0`). */
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

/** The prepared statements a connection of `createMysqlPool` keeps when nothing says otherwise (mysql2: 16 000). */
export const DEFAULT_POOL_STATEMENT_CACHE_SIZE = 256;

const COMPAT_KEYS = ['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'] as const;
const FACTORY_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'trackSessionState', 'onConnect', 'logger'] as const;

/** @internal What {@link mapMysqlPoolOptions} makes of `createMysqlPool`'s options. */
export interface MappedPoolOptions {
  connection: ConnectionOptions;
  factory: MysqlFactoryOptions;
  config: PoolConfig;
  poolOptions: PoolOptions;
  /** mysql2's pool settings as given (or mysql2's defaults), for `pool.config`. */
  compat: Required<Omit<MysqlPoolCompatOptions, 'resetOnRelease'>> & { resetOnRelease: boolean };
}

/** @internal Splits `createMysqlPool` options into the connection config, factory options, pool config and pool options. */
export function mapMysqlPoolOptions(options: MysqlPoolOptions | string): MappedPoolOptions {
  const mapping = new PoolConfigMapping(
    typeof options === 'string' ? { uri: options } : options,
    'must be a mysql:// URL or an object (a mysql2 pool config)',
  );
  const given: Record<string, unknown> = mapping.rest;
  const builtConfig = typeof options === 'object' && options !== null && options.poolConfig instanceof PoolConfigClass;
  const limit = given.connectionLimit === undefined ? undefined : checkInteger('connectionLimit', given.connectionLimit, 1);
  if (limit !== undefined) mapping.set('connectionLimit', 'maxSize', limit);
  const effectiveLimit = limit ?? (mapping.get('maxSize') as number | undefined) ?? 10;
  const idleTimeout = given.idleTimeout === undefined ? undefined : checkMilliseconds('idleTimeout', given.idleTimeout, 1);
  let maxIdle = effectiveLimit;
  if (given.maxIdle !== undefined) {
    maxIdle = checkInteger('maxIdle', given.maxIdle, 0);
    if (maxIdle >= effectiveLimit) mapping.set('maxIdle', 'idleTimeoutMs', null);
    else {
      mapping.set('maxIdle', 'idleTimeoutMs', idleTimeout ?? 60_000);
      mapping.set('maxIdle', 'maxIdle', maxIdle);
    }
  } else if (idleTimeout !== undefined) mapping.set('idleTimeout', 'idleTimeoutMs', idleTimeout);
  const reap = mapping.get('idleTimeoutMs');
  if (typeof reap === 'number') mapping.maintainFor(Math.min(reap, 2_000));
  if (given.waitForConnections !== undefined) checkBoolean('waitForConnections', given.waitForConnections);
  const waitForConnections = given.waitForConnections !== false;
  let queueLimit = 0;
  if (!waitForConnections) {
    if (given.queueLimit !== undefined && given.queueLimit !== 0) {
      throw optionConflict('queueLimit', given.queueLimit, 'waitForConnections: false (nobody waits)');
    }
    mapping.set('waitForConnections', 'maxWaitQueueSize', 0);
  } else if (given.queueLimit !== undefined) {
    queueLimit = checkInteger('queueLimit', given.queueLimit, 0);
    mapping.set('queueLimit', 'maxWaitQueueSize', queueLimit === 0 ? Number.MAX_SAFE_INTEGER : queueLimit);
  }
  let resetOnRelease = false;
  if (given.resetOnRelease !== undefined) {
    resetOnRelease = checkBoolean('resetOnRelease', given.resetOnRelease);
    mapping.setOption('resetOnRelease', 'recyclingStrategy', resetOnRelease ? RecyclingStrategy.Checked : RecyclingStrategy.Adaptive);
  }
  mapping.take(COMPAT_KEYS);
  const { maxPreparedStatements } = mapping.take(['maxPreparedStatements']);
  const factory = mapping.take(FACTORY_KEYS) as MysqlFactoryOptions;
  // One logger for the engine (connect failures, leaks, retirements) and the adapter, given either way.
  if (factory.logger != null) {
    mapping.setOption('logger', 'logger', factory.logger, 'give one logger: the pool and the adapter both log to it');
  } else if (mapping.poolOptions.logger != null) factory.logger = mapping.poolOptions.logger;
  const size = statementCacheSizeOf(factory.statementCacheSize, maxPreparedStatements);
  if (size !== undefined)
    mapping.set(maxPreparedStatements === undefined ? 'statementCacheSize' : 'maxPreparedStatements', 'statementCacheSize', size);
  else if (!builtConfig && !mapping.given('statementCacheSize')) {
    // A built PoolConfig has a statementCacheSize whether or not it was chosen: it is kept.
    mapping.set('statementCacheSize', 'statementCacheSize', DEFAULT_POOL_STATEMENT_CACHE_SIZE);
  }
  const config = mapping.build();
  factory.statementCacheSize = config.statementCacheSize;
  return {
    connection: mapping.rest as ConnectionOptions,
    factory,
    config,
    poolOptions: mapping.poolOptions,
    compat: {
      connectionLimit: config.maxSize,
      maxIdle,
      idleTimeout: idleTimeout ?? 60_000,
      queueLimit,
      waitForConnections,
      resetOnRelease,
    },
  };
}

/**
 * `pool.config`, shaped like mysql2's pool config: `connectionConfig` is mysql2's connection config
 * (what `escape()` / `format()` use, and what every connection is opened with: each gets its own
 * copy), and the pool options as mysql2 names them. As in mysql2, they are read at each use:
 * `waitForConnections` and `queueLimit` take effect on the next `getConnection()`, and setting
 * `connectionLimit` resizes the pool (`pool.pool.resize`).
 */
export class MysqlPoolConfig {
  /** mysql2's connection config (a `ConnectionConfig`), never shown with its password by `toString()`. */
  readonly connectionConfig: ConnectionOptions & Record<string, unknown>;
  /** `false`: a `getConnection()` that would wait fails at once with `No connections available.`. */
  waitForConnections: boolean;
  /** Idle connections kept at most (see {@link MysqlPoolCompatOptions.maxIdle}); fixed when the pool is made. */
  readonly maxIdle: number;
  /** Idle time after which a connection is closed when `maxIdle` < `connectionLimit`; fixed when the pool is made. */
  readonly idleTimeout: number;
  /** Callers allowed to wait at once; `0`: no limit. */
  queueLimit: number;
  /** Whether every connection is reset on release (`true`) or only one its borrower left dirty (`false`); fixed when the pool is made. */
  readonly resetOnRelease: boolean;
  readonly #engine: ConnectionPool<MysqlConnection>;

  /** @internal Made by `createMysqlPool`. */
  constructor(
    connectionConfig: ConnectionOptions & Record<string, unknown>,
    compat: MappedPoolOptions['compat'],
    engine: ConnectionPool<MysqlConnection>,
  ) {
    this.connectionConfig = connectionConfig;
    this.waitForConnections = compat.waitForConnections;
    this.maxIdle = compat.maxIdle;
    this.idleTimeout = compat.idleTimeout;
    this.queueLimit = compat.queueLimit;
    this.resetOnRelease = compat.resetOnRelease;
    this.#engine = engine;
  }

  /** Maximum connections; setting it resizes the pool (`InvalidConfigError` unless an integer >= 1). */
  get connectionLimit(): number {
    return this.#engine.config.maxSize;
  }

  set connectionLimit(value: number) {
    this.#engine.resize({ maxSize: checkInteger('connectionLimit', value, 1) });
  }

  /** The pool options, never the connection config (which holds the password). */
  toJSON(): Record<string, unknown> {
    return {
      connectionLimit: this.connectionLimit,
      maxIdle: this.maxIdle,
      idleTimeout: this.idleTimeout,
      queueLimit: this.queueLimit,
      waitForConnections: this.waitForConnections,
      resetOnRelease: this.resetOnRelease,
    };
  }
}
