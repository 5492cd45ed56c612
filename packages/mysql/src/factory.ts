import type { CreateContext, CreateErrorKind, LogLevel, OperationContext, PoolLogger, ValidateContext } from '@pool/core';
import { InvalidConfigError, writeLog } from '@pool/core';
import {
  abortable,
  checkBoolean,
  checkInteger,
  checkOneOf,
  checkOptionalFunction,
  checkOptionKeys,
  collectSecrets,
  DriverFactory,
  describeEndpoint,
  describeUrl,
  endOrDestroy,
  FactoryCounters,
  optionConflict,
  parseConnectionUrl,
  runOrAbandon,
  scrubSecrets,
} from '@pool/core/adapter';
import type { Connection, ConnectionOptions } from 'mysql2';
import { kAbandoned, Mysql2Connection, Mysql2ConnectionConfig, type ObservedClient, ObservedConnection } from './client.js';
import { type ConnectionHost, kInternals, MysqlConnection, type MysqlResetCommand } from './connection.js';
import { classifyMysqlCreateError } from './create-errors.js';

/**
 * How `reset()` cleans a session. `'auto'` (default): `COM_RESET_CONNECTION` when the driver and the
 * server support it (mysql2 `connection.reset()`, MySQL 5.7.3+, MariaDB 10.2.4+), falling back to
 * `'changeUser'` for good when the server refuses the command. `'changeUser'`: `ROLLBACK` when a
 * transaction is open, then `COM_CHANGE_USER` with the same credentials (a re-authentication).
 */
export type MysqlResetMode = 'auto' | MysqlResetCommand;

/** Options of {@link mysqlFactory} (beside the mysql2 connection config). Every field is optional. */
export interface MysqlFactoryOptions {
  /**
   * Prepared statements cached per connection (LRU) by `execute()`; the least recently used one is
   * closed on the server when the cache is full. `0`: each `execute()` closes its statement right after
   * it ran. Default `0` (mysql2 alone caches up to 16 000 per connection, which can exhaust the server's
   * `max_prepared_stmt_count` across a pool). mysql2's `maxPreparedStatements` is accepted as an alias.
   */
  statementCacheSize?: number;
  /** How `reset()` cleans a dirty session (see {@link MysqlResetMode}). Default `'auto'`. */
  resetMode?: MysqlResetMode;
  /** The statement `validate()` runs when the pool's validator gives none; `null` sends `COM_PING`. Default `null`. */
  validationQuery?: string | null;
  /**
   * Ask the server to report every session state change in its OK packets
   * (`SET SESSION session_track_state_change = ON`, one round trip per new connection and per reset),
   * so a stored procedure that sets a variable or creates a temp table is seen. Servers without session
   * tracking are detected and fall back to recognising statements. Default `true`.
   */
  trackSessionState?: boolean;
  /**
   * Runs on every new connection before the pool gets it, and again after each reset (which clears
   * the session), e.g. `(conn) => conn.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'")`; may throw
   * to refuse the connection.
   */
  onConnect?: ((conn: MysqlConnection) => Promise<void> | void) | null;
  /**
   * Where the adapter reports what an operator should know: `warn` when the server or the network cuts
   * a pooled connection (`KILL`, a restart, a failover, `wait_timeout`) and when a read-only error
   * (1290, 1792, 1836: a writer demoted by a failover) retires one; `info` when the server refuses
   * `COM_RESET_CONNECTION` and resets switch to `COM_CHANGE_USER`; `debug`, once, the reset command in
   * use. Any object with `debug`, `info`, `warn` and `error` (`console`, pino, winston, bunyan...).
   * `createMysqlPool` gives its pool's `logger` here (the engine logs connect failures there). Default: none.
   */
  logger?: PoolLogger | null;
}

/**
 * @internal How `createMysqlPool` makes the factory's connections the mysql2 pool connections its users
 * borrow, and sees each one open.
 */
export interface MysqlFactoryHooks {
  /** Makes the (not yet connected) mysql2 connection for the factory's connection options. */
  client(options: ConnectionOptions): Connection;
  /** A connection opened, before the pool gets it. Statements it queues on the connection are its session setup. */
  created(conn: MysqlConnection): void;
  /** The pool is closing a connection. */
  closing(conn: MysqlConnection): void;
}

/** A mysql2 connection config (`ConnectionOptions`), or a URL (`mysql://user:password@host:3306/db?charset=utf8mb4`). */
export type MysqlConfig = string | ConnectionOptions;

const OPTION_KEYS: readonly string[] = ['statementCacheSize', 'resetMode', 'validationQuery', 'trackSessionState', 'onConnect', 'logger'];
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];
const RESET_MODES: readonly MysqlResetMode[] = ['auto', 'reset', 'changeUser'];
/** mysql2 pool options: they configure a pool, not a connection. */
const POOL_KEYS = ['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'];
/** The server does not know COM_RESET_CONNECTION (ER_UNKNOWN_COM_ERROR, ER_NOT_SUPPORTED_YET). */
const RESET_COMMAND_NAMES: Readonly<Record<MysqlResetCommand, string>> = {
  reset: 'COM_RESET_CONNECTION',
  changeUser: 'COM_CHANGE_USER',
};
const UNSUPPORTED_ERRNOS = new Set([1047, 1235]);

const URL_RULES = { schemes: ['mysql://', 'mariadb://'], example: 'mysql://user:password@host:3306/database' };

/** Throws `InvalidConfigError` unless `url` is a usable connection URL; never shows its password. */
function checkUrl(url: unknown): string {
  parseConnectionUrl('uri', url, URL_RULES);
  return url as string;
}

function describeConfig(config: ConnectionOptions): string {
  if (typeof config.uri === 'string') return describeUrl(config.uri, { query: false });
  return describeEndpoint({
    scheme: 'mysql',
    user: config.user,
    host: config.host ?? 'localhost',
    port: config.port ?? 3306,
    socketPath: config.socketPath,
    database: config.database,
  });
}

/**
 * @internal The statement-cache size from `statementCacheSize` or mysql2's `maxPreparedStatements`
 * (an alias); both given and different is an error naming both.
 */
export function statementCacheSizeOf(statementCacheSize: unknown, maxPreparedStatements: unknown): unknown {
  if (maxPreparedStatements !== undefined && statementCacheSize !== undefined && maxPreparedStatements !== statementCacheSize) {
    throw optionConflict('maxPreparedStatements', maxPreparedStatements, `statementCacheSize (${String(statementCacheSize)})`);
  }
  return statementCacheSize ?? maxPreparedStatements;
}

/**
 * Closes the socket. Only the socket: mysql2 then fails the commands still queued ('Connection lost'),
 * which `connection.destroy()` would leave waiting forever (it marks the connection as closing first),
 * and a pool connection's `destroy()` would also take it out of its pool again.
 */
function destroySocket(client: Connection): void {
  const stream = (client as unknown as { stream?: { destroy?: () => void } }).stream;
  if (stream?.destroy !== undefined) stream.destroy();
  else Mysql2Connection.prototype.destroy.call(client);
}

/** Resolves when the connection's socket has closed. */
function socketClosed(client: Connection): Promise<void> {
  const stream = (
    client as unknown as { stream?: { destroyed?: boolean; closed?: boolean; once(event: 'close', listener: () => void): unknown } }
  ).stream;
  if (stream === undefined || stream.destroyed === true || stream.closed === true) return Promise.resolve();
  return new Promise((resolve) => stream.once('close', () => resolve()));
}

function errnoOf(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/**
 * The `ConnectionFactory<MysqlConnection>` made by {@link mysqlFactory}. Besides the factory contract it
 * reports statement-cache figures through `statistics()`.
 */
export class MysqlFactory extends DriverFactory<MysqlConnection> {
  /** The per-connection statement cache capacity. */
  readonly statementCacheSize: number;
  /** How `reset()` cleans a session, as configured. */
  readonly resetMode: MysqlResetMode;
  /** The default validation statement (`null`: `COM_PING`). */
  readonly validationQuery: string | null;
  readonly #connectionConfig: ConnectionOptions;
  readonly #secrets: string[];
  readonly #onConnect: ((conn: MysqlConnection) => Promise<void> | void) | null;
  readonly #host: ConnectionHost;
  readonly #hooks: MysqlFactoryHooks | null;
  /** The reset command in use: `'reset'` until the server refuses it in `'auto'` mode. */
  #resetCommand: MysqlResetCommand;
  /** Writes to the logger (with the server), or null without one. */
  readonly #log: ConnectionHost['log'] | null;
  #resetReported = false;

  /** @internal Use {@link mysqlFactory}. `hooks` is for `createMysqlPool`. */
  constructor(config: MysqlConfig, options: MysqlFactoryOptions = {}, hooks: MysqlFactoryHooks | null = null) {
    let connectionConfig: ConnectionOptions;
    if (typeof config === 'string') connectionConfig = { uri: checkUrl(config) };
    else if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
      connectionConfig = { ...config };
      if (connectionConfig.uri !== undefined) checkUrl(connectionConfig.uri);
      if (connectionConfig.port !== undefined) checkInteger('port', connectionConfig.port, 1, 65_535);
      for (const key of POOL_KEYS) {
        if (key in connectionConfig) {
          throw new InvalidConfigError(
            key,
            (connectionConfig as Record<string, unknown>)[key],
            'is a mysql2 pool option, not a connection option; give it to createMysqlPool, or set the PoolConfig instead',
          );
        }
      }
    } else {
      throw new InvalidConfigError('config', config, 'must be a mysql:// URL or a mysql2 connection config object');
    }
    checkOptionKeys(options, OPTION_KEYS, 'mysqlFactory');
    const alias = connectionConfig.maxPreparedStatements;
    delete connectionConfig.maxPreparedStatements;
    const size = checkInteger(
      alias !== undefined ? 'maxPreparedStatements' : 'statementCacheSize',
      statementCacheSizeOf(options.statementCacheSize, alias) ?? 0,
      0,
      1_000_000,
    );
    const mode = checkOneOf('resetMode', options.resetMode ?? 'auto', RESET_MODES);
    const query = options.validationQuery ?? null;
    if (query !== null && (typeof query !== 'string' || query.trim() === '')) {
      throw new InvalidConfigError('validationQuery', query, 'must be a non-empty SQL string, or null for COM_PING');
    }
    const track = checkBoolean('trackSessionState', options.trackSessionState ?? true);
    const onConnect = checkOptionalFunction('onConnect', options.onConnect);
    const logger = options.logger ?? null;
    if (logger !== null && (typeof logger !== 'object' || LOG_LEVELS.some((level) => typeof logger[level] !== 'function'))) {
      throw new InvalidConfigError(
        'logger',
        logger,
        'must be an object with debug, info, warn and error methods (console, pino, winston, bunyan...)',
      );
    }

    // mysql2 keeps its own statement LRU; sized like ours, both evict the same statement (ours closes it
    // when mysql2 has not already). Without a cache of ours, execute() closes each statement itself.
    if (size > 0) connectionConfig.maxPreparedStatements = size;
    super(new FactoryCounters<MysqlConnection>(size, (conn) => conn.cachedStatements));
    this.statementCacheSize = size;
    this.resetMode = mode;
    this.validationQuery = query;
    this.#resetCommand = mode === 'changeUser' ? 'changeUser' : 'reset';
    this.#connectionConfig = connectionConfig;
    this.#secrets = collectSecrets(
      [connectionConfig.password, connectionConfig.password1, connectionConfig.password2, connectionConfig.password3],
      connectionConfig.uri,
    );
    this.#onConnect = onConnect;
    this.#hooks = hooks;
    const server = describeConfig(connectionConfig);
    this.#log = logger === null ? null : (level, message, fields) => writeLog(logger, level, message, { server, ...fields });
    this.#host = {
      trackSessionState: track,
      counters: this.counters,
      describe: server,
      log: this.#log ?? (() => {}),
    };
  }

  /** @internal The mysql2 connection options every connection is opened with (passwords included: never show them). */
  get connectionOptions(): ConnectionOptions {
    return { ...this.#connectionConfig };
  }

  /** The reset command in use now (`'auto'` settles on `'changeUser'` if the server refuses `COM_RESET_CONNECTION`). */
  get resetCommand(): MysqlResetCommand {
    return this.#resetCommand;
  }

  /**
   * Opens a connection. The signal aborts a slow connect (the socket is destroyed). An `'error'` or
   * `'end'` the connection emits later (`KILL`, server restart, network failure, `wait_timeout`) is
   * handled: it is reported through `ctx.markBroken`, so the pool replaces the connection, and never
   * crashes the process.
   */
  async create(ctx: CreateContext): Promise<MysqlConnection> {
    const { signal } = ctx;
    if (signal.aborted) throw signal.reason;
    const hooks = this.#hooks;
    const client =
      hooks === null
        ? new ObservedConnection({ config: new Mysql2ConnectionConfig({ ...this.#connectionConfig }) })
        : hooks.client({ ...this.#connectionConfig });
    const conn = new MysqlConnection(client, this.#host, ctx.markBroken);
    const internals = conn[kInternals];
    const setUp = async (): Promise<void> => {
      await abortable(new Promise<void>((resolve, reject) => client.connect((err) => (err ? reject(err) : resolve()))), signal);
      await internals.enableTracking(signal);
      if (this.#onConnect !== null) await abortable(this.#onConnect(conn), signal);
      internals.clean();
      if (conn.broken) throw conn.brokenError;
    };
    const abandon = (): void => {
      internals.lifecycle.markClosing();
      destroySocket(client);
    };
    await runOrAbandon(signal, setUp, abandon).catch((error: unknown) => {
      throw scrubSecrets(error, this.#secrets);
    });
    internals.lifecycle.markLive();
    this.counters.opened(conn);
    if (hooks !== null) internals.recordSetup(() => hooks.created(conn));
    return conn;
  }

  /**
   * Runs `ctx.query` (the pool validator's query) or `validationQuery`, or sends `COM_PING`; resolves
   * `true` when it succeeds, `false` when it fails or the connection is known to be broken. Rejects
   * with the signal's reason when the signal aborts first.
   */
  async validate(conn: MysqlConnection, ctx: ValidateContext): Promise<boolean> {
    if (conn.broken) return false;
    const internals = conn[kInternals];
    const query = ctx.query ?? this.validationQuery;
    try {
      if (query === null) await internals.ping(ctx.signal);
      else await internals.run(query, ctx.signal);
      return true;
    } catch {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return false;
    }
  }

  /**
   * Returns the session to the state of a new connection (see {@link MysqlResetMode}), then re-applies
   * `onConnect`. The statement cache starts over (the server closed every statement). Rejects on a
   * broken connection, so the pool discards it.
   */
  async reset(conn: MysqlConnection, ctx: OperationContext): Promise<void> {
    const internals = conn[kInternals];
    const command = this.#resetCommand;
    if (!this.#resetReported) {
      this.#resetReported = true;
      this.#log?.('debug', `Dirty MySQL sessions are reset with ${RESET_COMMAND_NAMES[command]} before reuse`, {
        resetMode: this.resetMode,
        command,
      });
    }
    try {
      await internals.reset(command, ctx.signal);
    } catch (error) {
      const unsupported = command === 'reset' && this.resetMode === 'auto' && UNSUPPORTED_ERRNOS.has(errnoOf(error) ?? 0);
      if (!unsupported || conn.broken) throw scrubSecrets(error, this.#secrets);
      this.#resetCommand = 'changeUser';
      this.#log?.(
        'info',
        'The server refuses COM_RESET_CONNECTION: dirty MySQL sessions are reset with COM_CHANGE_USER (a re-authentication) from now on',
        { errno: errnoOf(error), connection: conn.serial, threadId: conn.threadId },
      );
      await internals.reset('changeUser', ctx.signal).catch((e: unknown) => Promise.reject(scrubSecrets(e, this.#secrets)));
    }
    if (this.#onConnect !== null) {
      await abortable(this.#onConnect(conn), ctx.signal);
      internals.clean();
    }
  }

  /**
   * Fatal for connect errors no retry fixes (wrong password, unknown account or database, a host the
   * server refuses, TLS the server does not offer or a certificate that does not verify), transient for
   * the rest (refused, reset, timed out, `Too many connections`...). See {@link classifyMysqlCreateError}.
   */
  classifyCreateError(error: unknown): CreateErrorKind {
    return classifyMysqlCreateError(error);
  }

  /** See {@link MysqlConnection.dirty}. */
  isDirty(conn: MysqlConnection): boolean {
    return conn.dirty;
  }

  /**
   * Ends the session (`COM_QUIT`); safe on a broken connection. When the signal aborts first, the
   * socket is destroyed. A connection its borrower is closing itself (`destroy()`, `end()`) is given
   * the time to do it.
   */
  async close(conn: MysqlConnection, ctx: OperationContext): Promise<void> {
    this.counters.closed(conn);
    this.#hooks?.closing(conn);
    const internals = conn[kInternals];
    const client = conn.client;
    const destroy = (): void => destroySocket(client);
    if ((client as ObservedClient)[kAbandoned] === true) {
      internals.lifecycle.markClosing();
      await endOrDestroy(ctx.signal, () => socketClosed(client), destroy);
      return;
    }
    // A statement still running (one whose caller gave up) would hold COM_QUIT back: close the socket.
    // So does a connection mysql2 already closes.
    const busy = internals.busy() || (client as unknown as { _closing?: boolean })._closing === true;
    internals.lifecycle.markClosing();
    // mysql2's own end (COM_QUIT): a pool connection's `end()` means "release".
    const quit = (): Promise<void> =>
      new Promise((resolve, reject) => Mysql2Connection.prototype.end.call(client, (err: unknown) => (err ? reject(err) : resolve())));
    await endOrDestroy(ctx.signal, conn.broken || busy ? null : quit, destroy);
  }

  /** A short description (the password is never shown). */
  override toString(): string {
    return `MysqlFactory(${this.#host.describe}, statementCacheSize ${this.statementCacheSize}, resetMode ${this.resetMode})`;
  }
}

/**
 * Makes a `ConnectionFactory` for MySQL and MariaDB through mysql2: each connection is a mysql2
 * connection wrapped in a {@link MysqlConnection}. Give it to `ConnectionPool.create`, or use
 * {@link createMysqlPool} for a mysql2-like pool in one call.
 *
 * @example
 * ```ts
 * const config = PoolConfig.builder().minSize(2).maxSize(20).statementCacheSize(100).build();
 * const factory = mysqlFactory('mysql://app:secret@127.0.0.1:3306/app', { statementCacheSize: config.statementCacheSize });
 * const pool = await ConnectionPool.create(config, factory);
 * const [rows] = await pool.use((db) => db.execute('SELECT * FROM users WHERE id = ?', [42]));
 * ```
 */
export function mysqlFactory(config: MysqlConfig, options: MysqlFactoryOptions = {}): MysqlFactory {
  return new MysqlFactory(config, options);
}
