import { inspect } from 'node:util';
import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext, ValidateContext } from '@pool/core';
import { InvalidConfigError } from '@pool/core';
import mysql, { type Connection, type ConnectionOptions } from 'mysql2';
import { type ConnectionHost, kInternals, MysqlConnection, type MysqlResetCommand } from './connection.js';
import { redactUrl, scrub } from './redact.js';

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
}

/** A mysql2 connection config (`ConnectionOptions`), or a URL (`mysql://user:password@host:3306/db?charset=utf8mb4`). */
export type MysqlConfig = string | ConnectionOptions;

const OPTION_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'trackSessionState', 'onConnect'];
const RESET_MODES: readonly MysqlResetMode[] = ['auto', 'reset', 'changeUser'];
/** mysql2 pool options: they configure a pool, not a connection. */
const POOL_KEYS = ['connectionLimit', 'maxIdle', 'idleTimeout', 'queueLimit', 'waitForConnections', 'resetOnRelease'];
/** The server does not know COM_RESET_CONNECTION (ER_UNKNOWN_COM_ERROR, ER_NOT_SUPPORTED_YET). */
const UNSUPPORTED_ERRNOS = new Set([1047, 1235]);

/** Throws `InvalidConfigError` unless `url` is a usable connection URL; never shows its password. */
function checkUrl(field: string, url: unknown): string {
  if (typeof url !== 'string' || url.trim() === '') throw new InvalidConfigError(field, url, 'must be a non-empty mysql:// URL');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidConfigError(field, redactUrl(url), 'is not a valid URL; expected mysql://user:password@host:3306/database');
  }
  if (parsed.protocol !== 'mysql:' && parsed.protocol !== 'mariadb:') {
    throw new InvalidConfigError(field, redactUrl(url), "must start with 'mysql://' (or 'mariadb://')");
  }
  return url;
}

function secretsOf(config: ConnectionOptions): string[] {
  const out: string[] = [];
  for (const key of ['password', 'password1', 'password2', 'password3'] as const) {
    const value = config[key];
    if (typeof value === 'string' && value !== '') out.push(value);
  }
  if (typeof config.uri === 'string') {
    try {
      const url = new URL(config.uri);
      if (url.password !== '') out.push(decodeURIComponent(url.password), url.password);
      for (const [key, value] of url.searchParams) if (/^password\d?$/i.test(key) && value !== '') out.push(value);
    } catch {
      // checked earlier
    }
  }
  return [...new Set(out)];
}

function describeConfig(config: ConnectionOptions): string {
  if (typeof config.uri === 'string') {
    try {
      const url = new URL(config.uri);
      url.password = '';
      url.search = '';
      return url.toString();
    } catch {
      return redactUrl(config.uri);
    }
  }
  const host = config.socketPath ?? `${config.host ?? 'localhost'}:${config.port ?? 3306}`;
  const user = config.user ?? '';
  return `mysql://${user}${user === '' ? '' : '@'}${host}/${config.database ?? ''}`;
}

/** Settles with the signal's reason when it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function destroySocket(client: Connection): void {
  try {
    client.destroy();
  } catch {
    // already closed
  }
  (client as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
}

function errnoOf(error: unknown): number | undefined {
  const errno = (error as { errno?: unknown } | null)?.errno;
  return typeof errno === 'number' ? errno : undefined;
}

/**
 * The `ConnectionFactory<MysqlConnection>` made by {@link mysqlFactory}. Besides the factory contract it
 * reports statement-cache figures through `statistics()`.
 */
export class MysqlFactory implements ConnectionFactory<MysqlConnection> {
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
  readonly #open = new Set<MysqlConnection>();
  /** The reset command in use: `'reset'` until the server refuses it in `'auto'` mode. */
  #resetCommand: MysqlResetCommand;

  /** @internal Use {@link mysqlFactory}. */
  constructor(config: MysqlConfig, options: MysqlFactoryOptions = {}) {
    let connectionConfig: ConnectionOptions;
    if (typeof config === 'string') connectionConfig = { uri: checkUrl('uri', config) };
    else if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
      connectionConfig = { ...config };
      if (connectionConfig.uri !== undefined) checkUrl('uri', connectionConfig.uri);
      const port = connectionConfig.port;
      if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)) {
        throw new InvalidConfigError('port', port, 'must be an integer between 1 and 65535');
      }
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
    if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', options, 'must be an object');
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new InvalidConfigError(
          key,
          (options as Record<string, unknown>)[key],
          `is not a mysqlFactory option; known: ${OPTION_KEYS.join(', ')}`,
        );
      }
    }
    const alias = connectionConfig.maxPreparedStatements;
    delete connectionConfig.maxPreparedStatements;
    if (alias !== undefined && options.statementCacheSize !== undefined && alias !== options.statementCacheSize) {
      throw new InvalidConfigError(
        'maxPreparedStatements',
        alias,
        `conflicts with statementCacheSize (${String(options.statementCacheSize)}); give one of them`,
      );
    }
    const size = options.statementCacheSize ?? alias ?? 0;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 1_000_000) {
      throw new InvalidConfigError(
        alias !== undefined ? 'maxPreparedStatements' : 'statementCacheSize',
        size,
        'must be an integer between 0 and 1000000',
      );
    }
    const mode = options.resetMode ?? 'auto';
    if (!RESET_MODES.includes(mode)) throw new InvalidConfigError('resetMode', mode, "must be 'auto', 'reset' or 'changeUser'");
    const query = options.validationQuery ?? null;
    if (query !== null && (typeof query !== 'string' || query.trim() === '')) {
      throw new InvalidConfigError('validationQuery', query, 'must be a non-empty SQL string, or null for COM_PING');
    }
    const track = options.trackSessionState ?? true;
    if (typeof track !== 'boolean') throw new InvalidConfigError('trackSessionState', track, 'must be true or false');
    const onConnect = options.onConnect ?? null;
    if (onConnect !== null && typeof onConnect !== 'function') throw new InvalidConfigError('onConnect', onConnect, 'must be a function');

    // mysql2 keeps its own statement LRU; sized like ours, both evict the same statement (ours closes it
    // when mysql2 has not already). Without a cache of ours, execute() closes each statement itself.
    if (size > 0) connectionConfig.maxPreparedStatements = size;
    this.statementCacheSize = size;
    this.resetMode = mode;
    this.validationQuery = query;
    this.#resetCommand = mode === 'changeUser' ? 'changeUser' : 'reset';
    this.#connectionConfig = connectionConfig;
    this.#secrets = secretsOf(connectionConfig);
    this.#onConnect = onConnect;
    this.#host = {
      statementCacheSize: size,
      trackSessionState: track,
      stats: { hits: 0, misses: 0, evictions: 0, queryErrors: 0 },
      describe: describeConfig(connectionConfig),
    };
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
    const client = mysql.createConnection({ ...this.#connectionConfig });
    const conn = new MysqlConnection(client, this.#host, ctx.markBroken);
    const internals = conn[kInternals];
    const onAbort = (): void => {
      internals.closing();
      destroySocket(client);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const connecting = new Promise<void>((resolve, reject) => client.connect((err) => (err ? reject(err) : resolve())));
      connecting.catch(() => {});
      await Promise.race([connecting, aborted(signal)]);
      await internals.enableTracking(signal);
      if (this.#onConnect !== null) await Promise.race([Promise.resolve(this.#onConnect(conn)), aborted(signal)]);
      internals.clean();
      if (conn.broken) throw conn.brokenError;
    } catch (error) {
      internals.closing();
      destroySocket(client);
      throw scrub(error, this.#secrets);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    internals.live();
    this.#open.add(conn);
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
    try {
      await internals.reset(command, ctx.signal);
    } catch (error) {
      const unsupported = command === 'reset' && this.resetMode === 'auto' && UNSUPPORTED_ERRNOS.has(errnoOf(error) ?? 0);
      if (!unsupported || conn.broken) throw scrub(error, this.#secrets);
      this.#resetCommand = 'changeUser';
      await internals.reset('changeUser', ctx.signal).catch((e: unknown) => Promise.reject(scrub(e, this.#secrets)));
    }
    if (this.#onConnect !== null) {
      await Promise.race([Promise.resolve(this.#onConnect(conn)), aborted(ctx.signal)]);
      internals.clean();
    }
  }

  /** See {@link MysqlConnection.dirty}. */
  isDirty(conn: MysqlConnection): boolean {
    return conn.dirty;
  }

  /** Ends the session (`COM_QUIT`); safe on a broken connection. When the signal aborts first, the socket is destroyed. */
  async close(conn: MysqlConnection, ctx: OperationContext): Promise<void> {
    this.#open.delete(conn);
    const internals = conn[kInternals];
    // A statement still running (one whose caller gave up) would hold COM_QUIT back: close the socket.
    const busy = internals.busy();
    internals.closing();
    const client = conn.client;
    if (ctx.signal.aborted || conn.broken || busy) {
      destroySocket(client);
      return;
    }
    try {
      await Promise.race([
        new Promise<void>((resolve, reject) => client.end((err) => (err ? reject(err) : resolve()))),
        aborted(ctx.signal),
      ]);
    } catch {
      destroySocket(client);
    }
  }

  /** Statement-cache figures (summed over open connections) and query errors. Never contains secrets. */
  statistics(): FactoryStatistics {
    const s = this.#host.stats;
    const out: FactoryStatistics = { queryErrors: s.queryErrors };
    if (this.statementCacheSize > 0) {
      let size = 0;
      for (const conn of this.#open) size += conn[kInternals].cacheSize();
      out.statementCache = { hits: s.hits, misses: s.misses, evictions: s.evictions, size, capacity: this.statementCacheSize };
    }
    return out;
  }

  /** Connections opened by this factory and not closed yet. */
  get openConnections(): number {
    return this.#open.size;
  }

  /** A short description (the password is never shown). */
  toString(): string {
    return `MysqlFactory(${this.#host.describe}, statementCacheSize ${this.statementCacheSize}, resetMode ${this.resetMode})`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
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
