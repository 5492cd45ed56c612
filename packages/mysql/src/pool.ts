import { tracingChannel } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import {
  type AcquireOptions,
  ConnectionCreateError,
  ConnectionPool,
  InvalidArgumentError,
  PoolClosedError,
  PoolExhaustedError,
  type PooledConnection,
} from '@pool/core';
import { callbackFrom, DriverPool, impersonate, rethrowLater } from '@pool/core/adapter';
import mysql, { type FieldPacket, type PrepareStatementInfo, type QueryOptions, type QueryResult } from 'mysql2';
import mysqlPromise, { type Pool as PromisePool, type PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import { copyConnectionConfig, kAbandoned, Mysql2Connection, Mysql2ConnectionConfig, type ObservedClient } from './client.js';
import { kInternals, type MysqlConnection } from './connection.js';
import { type MysqlFactory, MysqlFactory as MysqlFactoryClass } from './factory.js';
import { MysqlPoolConfig, type MysqlPoolOptions, mapMysqlPoolOptions } from './pool-config.js';
import { kConnection, kOwner, kPooled, MysqlPoolConnection } from './pool-connection.js';
import type { PoolQuery } from './pool-query.js';
import { type GetConnectionCallback, poolExecute, poolQuery, type QueryCallback } from './pool-statements.js';

/** mysql2's pool events, with mysql2's arguments. */
export interface MysqlPoolEvents {
  /** A new connection opened (before its first borrower gets it). Statements queued on it here are its session setup. */
  connection: [connection: MysqlPoolConnection];
  /** A caller got a connection that was free or opened for it (not one handed over from a release while it waited). */
  acquire: [connection: MysqlPoolConnection];
  /** A connection came back and is free for the next caller (not handed straight to a waiting one). */
  release: [connection: MysqlPoolConnection];
  /** A caller started waiting: every connection is in use. */
  enqueue: [];
}

export type { GetConnectionCallback, QueryCallback } from './pool-statements.js';

/** The parts of mysql2's `PoolConnection` the pool reads and writes. */
interface Mysql2PoolConnectionState {
  _released: boolean;
  _pool: unknown;
  lastActiveTime: number;
}

/** mysql2's tracing channel for getting a connection from a pool, as mysql2's pool publishes it. */
const poolConnectChannel = tracingChannel<unknown, PoolConnectContext>('mysql2:pool:connect');

interface PoolConnectContext {
  database: string;
  serverAddress: string;
  serverPort: number | undefined;
}

/** mysql2/promise's pool class (it wraps any pool with mysql2's callback API). */
const PromisePoolClass = (mysqlPromise as unknown as { PromisePool: new (pool: object, promiseImpl?: PromiseConstructor) => PromisePool })
  .PromisePool;

/** @internal The cluster's way to borrow from a node's pool (see `MysqlPool[kClusterGetConnection]`). */
export const kClusterGetConnection: unique symbol = Symbol('pool.mysql.clusterGetConnection');

const FAIL_FAST: AcquireOptions = Object.freeze({ failFast: true });

function closedError(cause?: unknown): Error {
  return new Error('Pool is closed.', cause === undefined ? undefined : { cause });
}

/**
 * A MySQL / MariaDB pool that is a drop-in for mysql2's: `createMysqlPool(config)` in place of
 * `mysql.createPool(config)` keeps code written for mysql2 working, callbacks and promises alike, and
 * libraries that take a mysql2 pool (Kysely's `MysqlDialect`, Drizzle's `mysql2` driver) work on it.
 * `instanceof mysql.Pool` holds.
 *
 * - `getConnection(callback)`, `query(sql, values?, callback)`, `execute(...)`, `end(callback)` as in
 *   mysql2; without a callback they return promises (`query()` returns mysql2's `Query` command, which
 *   can also be awaited: see {@link PoolQuery}). `promise()` gives mysql2/promise's pool on top.
 * - The borrowed connection is mysql2's `PoolConnection` ({@link MysqlPoolConnection}).
 * - mysql2's events (`connection`, `acquire`, `release`, `enqueue`), `config`, `escape`, `escapeId`,
 *   `format`, `releaseConnection`, the `mysql2:pool:connect` tracing channel, and the internal lists
 *   monitoring code reads (`_allConnections`, `_freeConnections`, `_connectionQueue`, `_closed`).
 *
 * On top, @pool's engine (`pool.pool`): a connection its borrower left dirty is reset before reuse,
 * waits are bounded, broken and read-only connections are replaced, and everything is observable.
 */
export class MysqlPool extends DriverPool<MysqlConnection, MysqlFactory, MysqlPoolEvents> {
  /** mysql2's pool config: `connectionConfig` and the pool options (see {@link MysqlPoolConfig}). */
  readonly config: MysqlPoolConfig;
  readonly #connections: Set<MysqlPoolConnection>;
  #closed = false;
  /** Borrows for one pool-level statement (`query`, `execute`). */
  readonly #borrow = (done: GetConnectionCallback): void => this.getConnection(done);
  #ended: Promise<void> | undefined;
  /** Callers waiting because every connection was in use when they asked (mysql2's queue). */
  #queued = 0;

  /** @internal Use {@link createMysqlPool}. */
  constructor(
    pool: ConnectionPool<MysqlConnection>,
    factory: MysqlFactory,
    config: MysqlPoolConfig,
    connections: Set<MysqlPoolConnection>,
  ) {
    super('MysqlPool', pool, factory);
    this.config = config;
    this.#connections = connections;
  }

  /** True once `end()` was called (mysql2's `pool._closed`). */
  get _closed(): boolean {
    return this.#closed;
  }

  /** Every connection, connecting ones included in `length` (mysql2's `pool._allConnections`, read-only). */
  get _allConnections(): ConnectionList {
    const size = this.pool.size();
    return new ConnectionList(size.total + size.pending, [...this.#connections]);
  }

  /** The free connections, least recently released first (mysql2's `pool._freeConnections`, read-only). */
  get _freeConnections(): ConnectionList {
    const free = [...this.#connections]
      .filter((c) => c[kPooled] === null && c[kConnection]?.[kInternals].lifecycle.status === 'open')
      .sort(
        (a, b) => (a as unknown as Mysql2PoolConnectionState).lastActiveTime - (b as unknown as Mysql2PoolConnectionState).lastActiveTime,
      );
    return new ConnectionList(this.pool.size().idle, free);
  }

  /** The callers waiting for a connection (mysql2's `pool._connectionQueue`, read-only: `length` only). */
  get _connectionQueue(): ConnectionList {
    return new ConnectionList(this.#queued, []);
  }

  /**
   * Borrows a connection, as mysql2's `pool.getConnection(callback)` does: `callback(err, conn)` is
   * called once, never synchronously; give the connection back with `conn.release()`. Without a
   * callback, resolves with mysql2/promise's `PoolConnection` around it (`acquireOptions` then apply:
   * `timeoutMs`, `signal`, `priority`...).
   *
   * Errors: mysql2's `Pool is closed.`, `No connections available.` (`waitForConnections: false`) and
   * `Queue limit reached.`; `ConnectionTimeoutError` when no connection came within `acquireTimeoutMs`.
   */
  getConnection(callback: GetConnectionCallback): void;
  getConnection(options?: AcquireOptions): Promise<PromisePoolConnection>;
  getConnection(arg?: GetConnectionCallback | AcquireOptions): Promise<PromisePoolConnection> | undefined {
    if (typeof arg === 'function') {
      this.#traced(undefined, arg);
      return undefined;
    }
    return new Promise((resolve, reject) => {
      this.#traced(arg, (err, conn) => (err ? reject(err) : resolve(conn.promise())));
    });
  }

  /**
   * Gives a borrowed connection back (mysql2's `pool.releaseConnection`; the same as `conn.release()`).
   * Takes the connection or mysql2/promise's wrapper of it; a connection already given back is ignored.
   */
  releaseConnection(connection: MysqlPoolConnection | PromisePoolConnection): void {
    const client = connection instanceof MysqlPoolConnection ? connection : (connection as { connection?: unknown } | null)?.connection;
    if (!(client instanceof MysqlPoolConnection)) {
      throw new InvalidArgumentError('connection', connection, 'must be a connection from this pool (getConnection)');
    }
    if (client[kOwner] !== this) throw new InvalidArgumentError('connection', String(client.threadId), 'belongs to another pool');
    const pooled = client[kPooled];
    if (pooled === null) return;
    client[kPooled] = null;
    const state = client as unknown as Mysql2PoolConnectionState;
    state._released = true;
    state.lastActiveTime = Date.now();
    if (pooled.released) return;
    const handedOver = this.pool.size().waiting > 0;
    const failure = client[kConnection]?.[kInternals].takeFailure();
    pooled.release(failure === undefined ? undefined : { error: failure });
    if (!handedOver && !this.#closed) rethrowLater(() => this.emit('release', client));
  }

  /**
   * @internal Called by mysql2's `PoolConnection` when the connection leaves the pool: its socket ended
   * or failed, or its borrower called `destroy()` (or `end()` with `gracefulEnd`). Counts drop at once.
   */
  _removeConnection(client: MysqlPoolConnection): void {
    const pooled = client[kPooled];
    if (pooled !== null) {
      client[kPooled] = null;
      if (!pooled.released) void pooled.destroy(client[kConnection]?.brokenError);
      return;
    }
    client[kConnection]?.[kInternals].lifecycle.markBroken(new Error('The connection was destroyed while idle in the pool'));
  }

  /**
   * Runs one statement on a connection of the pool on the text protocol, as mysql2's `pool.query`:
   * with a callback, `callback(err, result, fields)`; the `Query` command is returned either way (for
   * `.on(...)` and `.stream()`), and without a callback it can be awaited (`[result, fields]`). The
   * connection is released when the statement ends; after a read-only error (1290, 1792, 1836) it is
   * closed instead.
   */
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, callback: QueryCallback<T>): mysql.Query;
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values: unknown, callback: QueryCallback<T>): mysql.Query;
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): PoolQuery<T>;
  query(sql: string | QueryOptions, values?: unknown, callback?: unknown): mysql.Query {
    return poolQuery(this.#borrow, this.config.connectionConfig, sql, values, callback);
  }

  /**
   * Runs one statement as a prepared statement (cached per connection, up to `maxPreparedStatements`),
   * as mysql2's `pool.execute`: with a callback, `callback(err, result, fields)`; without one, resolves
   * with `[result, fields]`. The connection is released when the statement ends; after a read-only
   * error (1290, 1792, 1836) it is closed instead. With a callback it returns `undefined` at run time,
   * as mysql2's pool does (mysql2's typings, which these follow so that the pool fits where a mysql2
   * `Pool` is expected, say `Query`).
   */
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, callback: QueryCallback<T>): mysql.Query;
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values: unknown, callback: QueryCallback<T>): mysql.Query;
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]>;
  execute(sql: string | QueryOptions, values?: unknown, callback?: unknown): Promise<[unknown, FieldPacket[]]> | mysql.Query | undefined {
    return poolExecute(this.#borrow, sql, values, callback);
  }

  /**
   * Closes the pool, as mysql2's `pool.end(callback)`: callers still waiting fail with `Pool is
   * closed.`, idle connections close, and a borrowed connection closes once the statements already
   * queued on it have run (later ones fail, as in mysql2). Calls back (or resolves) when every
   * connection is closed. Idempotent.
   */
  override end(): Promise<void>;
  override end(callback: (err?: Error | null) => void): void;
  override end(callback?: (err?: Error | null) => void): Promise<void> | undefined {
    if (callback === undefined) return this.#end();
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback', callback, 'must be a function');
    callbackFrom(this.#end(), callback, () => []);
    return undefined;
  }

  /**
   * mysql2/promise's pool on top of this one (mysql2's `pool.promise()`): `query()` and `execute()`
   * resolve with `[result, fields]`, `getConnection()` with mysql2/promise's `PoolConnection`, and its
   * `pool` is this pool. What libraries written for mysql2/promise take (Drizzle calls it itself).
   */
  promise(promiseImpl?: PromiseConstructor): PromisePool {
    return new PromisePoolClass(this, promiseImpl);
  }

  /** `using pool = createMysqlPool(...)` ends it at the end of the scope (mysql2's `Symbol.dispose`). */
  [Symbol.dispose](): void {
    if (!this.#closed) void this.end();
  }

  /**
   * Closes the prepared statement `sql` (or `{ sql, nestTables?, rowsAsArray? }`) on every connection
   * of the pool that keeps it, idle or borrowed (a borrowed one closes it after its queued statements).
   * mysql2's typings declare `pool.unprepare`, which mysql2's pool does not implement. Returns the
   * statement closed last, or `undefined` when no connection had it (as mysql2's `connection.unprepare`).
   */
  unprepare(sql: string | { sql: string; nestTables?: unknown; rowsAsArray?: unknown }): PrepareStatementInfo {
    let closed: PrepareStatementInfo | undefined;
    for (const client of this.#connections) {
      if (client[kConnection]?.[kInternals].lifecycle.status !== 'open') continue;
      closed = (client.unprepare as (sql: unknown) => PrepareStatementInfo | undefined)(sql) ?? closed;
    }
    return closed as PrepareStatementInfo;
  }

  /** Escapes a value for SQL text with the connection config's `stringifyObjects` and `timezone` (mysql2's `pool.escape`). */
  escape(value: unknown): string {
    const c = this.config.connectionConfig;
    return mysql.escape(value as never, c.stringifyObjects as boolean | undefined, c.timezone as never);
  }

  /** Escapes an identifier (mysql2's `pool.escapeId`). */
  escapeId(value: string | string[]): string {
    return mysql.escapeId(value, false);
  }

  /** Formats SQL with `?` / `??` placeholders (mysql2's `pool.format`). */
  format(sql: string, values?: unknown): string {
    const c = this.config.connectionConfig;
    return mysql.format(sql, values as never, c.stringifyObjects as boolean | undefined, c.timezone as never);
  }

  /** `getConnection` through mysql2's `mysql2:pool:connect` tracing channel, when someone subscribes to it. */
  #traced(options: AcquireOptions | undefined, done: GetConnectionCallback, refused?: (retryInMs: number | null) => void): void {
    if (!poolConnectChannel.hasSubscribers) {
      this.#getConnection(options, done, refused);
      return;
    }
    const config = this.config.connectionConfig;
    const context: PoolConnectContext = {
      database: config.database || '',
      serverAddress: config.socketPath || config.host || 'localhost',
      serverPort: config.socketPath ? undefined : config.port || 3306,
    };
    poolConnectChannel.traceCallback((cb: GetConnectionCallback) => this.#getConnection(options, cb, refused), 0, context, this, done);
  }

  /**
   * @internal `getConnection(callback)` for a cluster node: on an error, `refused` is called first with
   * the engine's `retryInMs` (a number when the node refused the caller without a connect attempt
   * because it backs off after a failed one; `null` otherwise).
   */
  [kClusterGetConnection](done: GetConnectionCallback, refused: (retryInMs: number | null) => void): void {
    this.#traced(undefined, done, refused);
  }

  #getConnection(options: AcquireOptions | undefined, done: GetConnectionCallback, refused?: (retryInMs: number | null) => void): void {
    if (this.#closed) {
      process.nextTick(done, closedError(), undefined);
      return;
    }
    const size = this.pool.size();
    const free = size.idle > 0 && size.waiting === 0;
    let queued = false;
    if (!free && size.total + size.pending >= this.pool.config.maxSize) {
      const refuse = (message: string, reason: string): void => {
        const cause = new PoolExhaustedError({
          active: size.total - size.idle,
          max: this.pool.config.maxSize,
          waiting: this.#queued,
          reason,
        });
        process.nextTick(done, new Error(message, { cause }), undefined);
      };
      if (!this.config.waitForConnections) {
        refuse('No connections available.', 'waitForConnections is false');
        return;
      }
      if (this.config.queueLimit > 0 && this.#queued >= this.config.queueLimit) {
        refuse('Queue limit reached.', `queueLimit (${this.config.queueLimit}) callers are already waiting`);
        return;
      }
      queued = true;
      this.#queued++;
      rethrowLater(() => this.emit('enqueue'));
    }
    // As mysql2: the caller whose request opened a connection gets its connect error at once.
    this.pool.acquire(options === undefined ? FAIL_FAST : { failFast: true, ...options }).then(
      (pooled) => {
        if (queued) this.#queued--;
        const client = this.#lend(pooled);
        // As mysql2: a waiter handed a released connection gets no 'acquire'.
        if (!queued || pooled.borrows === 1) rethrowLater(() => this.emit('acquire', client));
        process.nextTick(done, null, client);
      },
      (error: unknown) => {
        if (queued) this.#queued--;
        refused?.(error instanceof ConnectionCreateError ? error.retryInMs : null);
        process.nextTick(done, this.#asMysql2Error(error), undefined);
      },
    );
  }

  #lend(pooled: PooledConnection<MysqlConnection>): MysqlPoolConnection {
    const client = pooled.connection.client as MysqlPoolConnection;
    client[kPooled] = pooled;
    (client as unknown as Mysql2PoolConnectionState)._released = false;
    return client;
  }

  /** mysql2's messages for what mysql2 reports itself; the engine's error as `cause`; a failed connect's own error. */
  #asMysql2Error(error: unknown): Error {
    if (error instanceof PoolClosedError) return closedError(error);
    if (error instanceof ConnectionCreateError && error.cause instanceof Error) return error.cause;
    if (error instanceof PoolExhaustedError) {
      return new Error(this.config.waitForConnections ? 'Queue limit reached.' : 'No connections available.', { cause: error });
    }
    return error as Error;
  }

  #end(): Promise<void> {
    if (this.#ended !== undefined) return this.#ended;
    this.#closed = true;
    for (const client of this.#connections) {
      const pooled = client[kPooled];
      if (pooled === null || pooled.released) continue;
      // As mysql2's pool: COM_QUIT after the statements already queued on it.
      (client as ObservedClient)[kAbandoned] = true;
      Mysql2Connection.prototype.end.call(client, () => {
        client[kPooled] = null;
        if (!pooled.released) void pooled.destroy();
      });
    }
    this.#ended = this.pool.close();
    return this.#ended;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

impersonate(MysqlPool, (mysql as unknown as { Pool: abstract new (...args: never[]) => object }).Pool);

/**
 * A read-only view of one of the pool's connection lists, shaped like mysql2's internal queues
 * (`length`, `get(i)`), for code that reads `pool._allConnections.length` and the like.
 */
export class ConnectionList {
  /** How many connections (or callers) the list holds. */
  readonly length: number;
  readonly #items: readonly MysqlPoolConnection[];

  /** @internal */
  constructor(length: number, items: readonly MysqlPoolConnection[]) {
    this.length = length;
    this.#items = items;
  }

  /** The connection at `index`, or `undefined` (a connection still connecting has no object yet). */
  get(index: number): MysqlPoolConnection | undefined {
    return this.#items[index];
  }

  /** The connections as an array. */
  toArray(): MysqlPoolConnection[] {
    return [...this.#items];
  }
}

/**
 * Makes a MySQL / MariaDB pool from a mysql2 pool config: `mysql.createPool(config)` becomes
 * `createMysqlPool(config)` (a URL string works too), and the code using it stays as it is — see
 * {@link MysqlPool}. Nothing connects until first use, as with mysql2.
 *
 * @example
 * ```ts
 * const pool = createMysqlPool({ uri: process.env.DATABASE_URL, connectionLimit: 20 });
 * const [rows] = await pool.execute('SELECT * FROM users WHERE id = ?', [42]);
 * pool.query('SELECT 1 AS one', (err, rows) => console.log(err ?? rows));
 * await pool.end();
 * ```
 */
export function createMysqlPool(options: MysqlPoolOptions | string = {}): MysqlPool {
  const { connection, factory: factoryOptions, config, poolOptions, compat } = mapMysqlPoolOptions(options);
  const connections = new Set<MysqlPoolConnection>();
  let facade: MysqlPool | undefined;
  let connectionConfig: (ConnectionOptionsRecord & object) | undefined;
  const factory = new MysqlFactoryClass(connection, factoryOptions, {
    client: () => new MysqlPoolConnection(null, { config: copyConnectionConfig(connectionConfig as object) }),
    created: (conn) => {
      const client = conn.client as MysqlPoolConnection;
      const owner = facade as MysqlPool;
      client[kConnection] = conn;
      client[kOwner] = owner;
      (client as unknown as Mysql2PoolConnectionState)._pool = owner;
      connections.add(client);
      rethrowLater(() => owner.emit('connection', client));
    },
    closing: (conn) => {
      connections.delete(conn.client as MysqlPoolConnection);
    },
  });
  connectionConfig = new Mysql2ConnectionConfig(factory.connectionOptions) as ConnectionOptionsRecord;
  const engine = ConnectionPool.open(config, factory, poolOptions);
  facade = new MysqlPool(engine, factory, new MysqlPoolConfig(connectionConfig, compat, engine), connections);
  return facade;
}

type ConnectionOptionsRecord = mysql.ConnectionOptions & Record<string, unknown>;
