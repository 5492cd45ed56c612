import { inspect } from 'node:util';
import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext, ValidateContext } from '@pool/core';
import { InvalidConfigError } from '@pool/core';
import pg from 'pg';
import { type ConnectionHost, kInternals, PgConnection } from './connection.js';
import { redactUrl, scrub } from './redact.js';

/** How `reset()` cleans a session. */
export type PgResetMode = 'session' | 'all';

/** Options of {@link pgFactory} (beside the `pg` client config). Every field is optional. */
export interface PgFactoryOptions {
  /**
   * Prepared statements cached per connection (LRU); `0` switches the cache off. Queries with a `values`
   * array run as named prepared statements; an evicted one is deallocated on the server. Default `0`.
   */
  statementCacheSize?: number;
  /**
   * How `reset()` cleans a dirty session. `'session'` (default): `ROLLBACK` if a transaction is open,
   * then, when the session was changed, `CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL;
   * UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES` — everything
   * `DISCARD ALL` does except dropping prepared statements, so the statement cache survives (statements
   * the borrower prepared itself are deallocated). `'all'`: `DISCARD ALL`, and the cache starts over.
   */
  resetMode?: PgResetMode;
  /** The query `validate()` runs when the pool's validator gives none. Default `'SELECT 1'`. */
  validationQuery?: string;
  /**
   * Runs on every new connection before the pool gets it, and again after a reset that cleared the
   * session (so settings made here survive resets), e.g. `(conn) => conn.query("SET search_path TO app")`.
   * Session settings that never change are cheaper as the client config's `options: '-c search_path=app'`.
   */
  onConnect?: ((conn: PgConnection) => Promise<void> | void) | null;
  /** Lets the process exit while connections are open but idle (pg.Pool's `allowExitOnIdle`). Default `false`. */
  allowExitOnIdle?: boolean;
  /** The client class (for instrumented or native clients). Default `pg.Client`. */
  Client?: new (
    config: pg.ClientConfig,
  ) => pg.Client;
}

/** A `pg` client config, or a connection string (`postgres://user:password@host:5432/db`). */
export type PgConfig = string | pg.ClientConfig;

const OPTION_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'onConnect', 'allowExitOnIdle', 'Client'];
const RESET_MODES: readonly PgResetMode[] = ['session', 'all'];

/** Throws `InvalidConfigError` unless `url` is a usable connection string; never shows its password. */
function checkConnectionString(field: string, url: unknown): string {
  if (typeof url !== 'string' || url.trim() === '')
    throw new InvalidConfigError(field, url, 'must be a non-empty postgres:// connection string');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidConfigError(field, redactUrl(url), 'is not a valid URL; expected postgres://user:password@host:5432/database');
  }
  if (!['postgres:', 'postgresql:', 'socket:'].includes(parsed.protocol)) {
    throw new InvalidConfigError(field, redactUrl(url), "must start with 'postgres://' or 'postgresql://' (or 'socket:')");
  }
  return url;
}

function passwordOf(config: pg.ClientConfig): string | undefined {
  if (typeof config.password === 'string' && config.password !== '') return config.password;
  if (typeof config.connectionString === 'string') {
    try {
      const url = new URL(config.connectionString);
      const p = url.password !== '' ? decodeURIComponent(url.password) : url.searchParams.get('password');
      if (p !== null && p !== '') return p;
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function describeConfig(config: pg.ClientConfig): string {
  if (typeof config.connectionString === 'string') {
    try {
      const url = new URL(config.connectionString);
      url.password = '';
      url.searchParams.delete('password');
      return url.toString();
    } catch {
      return redactUrl(config.connectionString);
    }
  }
  const host = config.host ?? process.env.PGHOST ?? 'localhost';
  const user = config.user ?? process.env.PGUSER ?? '';
  return `postgres://${user}${user === '' ? '' : '@'}${host}:${config.port ?? process.env.PGPORT ?? 5432}/${config.database ?? ''}`;
}

/** Settles with the signal's reason when it aborts. */
function aborted(signal: AbortSignal): Promise<never> {
  return new Promise((_, reject) => {
    if (signal.aborted) reject(signal.reason);
    else signal.addEventListener('abort', () => reject(signal.reason), { once: true });
  });
}

function destroySocket(client: pg.Client): void {
  const stream = (client as unknown as { connection?: { stream?: { destroy?: () => void } } }).connection?.stream;
  stream?.destroy?.();
}

/**
 * The `ConnectionFactory<PgConnection>` made by {@link pgFactory}. Besides the factory contract it
 * reports statement-cache figures through `statistics()`.
 */
export class PgFactory implements ConnectionFactory<PgConnection> {
  /** The per-connection statement cache capacity. */
  readonly statementCacheSize: number;
  /** How `reset()` cleans a session. */
  readonly resetMode: PgResetMode;
  /** The default validation query. */
  readonly validationQuery: string;
  readonly #clientConfig: pg.ClientConfig;
  readonly #secret: string | undefined;
  readonly #Client: new (
    config: pg.ClientConfig,
  ) => pg.Client;
  readonly #onConnect: ((conn: PgConnection) => Promise<void> | void) | null;
  readonly #host: ConnectionHost;
  readonly #open = new Set<PgConnection>();

  /** @internal Use {@link pgFactory}. */
  constructor(config: PgConfig, options: PgFactoryOptions = {}) {
    let clientConfig: pg.ClientConfig;
    if (typeof config === 'string') clientConfig = { connectionString: checkConnectionString('connectionString', config) };
    else if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
      clientConfig = { ...config };
      if (clientConfig.connectionString !== undefined) checkConnectionString('connectionString', clientConfig.connectionString);
      const port = clientConfig.port;
      if (port !== undefined && (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65_535)) {
        throw new InvalidConfigError('port', port, 'must be an integer between 1 and 65535');
      }
    } else {
      throw new InvalidConfigError('config', config, 'must be a postgres:// connection string or a pg client config object');
    }
    if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', options, 'must be an object');
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key)) {
        throw new InvalidConfigError(
          key,
          (options as Record<string, unknown>)[key],
          `is not a pgFactory option; known: ${OPTION_KEYS.join(', ')}`,
        );
      }
    }
    const size = options.statementCacheSize ?? 0;
    if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 1_000_000) {
      throw new InvalidConfigError('statementCacheSize', size, 'must be an integer between 0 and 1000000');
    }
    const mode = options.resetMode ?? 'session';
    if (!RESET_MODES.includes(mode)) throw new InvalidConfigError('resetMode', mode, "must be 'session' or 'all'");
    const query = options.validationQuery ?? 'SELECT 1';
    if (typeof query !== 'string' || query.trim() === '')
      throw new InvalidConfigError('validationQuery', query, 'must be a non-empty SQL string');
    const onConnect = options.onConnect ?? null;
    if (onConnect !== null && typeof onConnect !== 'function') throw new InvalidConfigError('onConnect', onConnect, 'must be a function');
    const allowExitOnIdle = options.allowExitOnIdle ?? false;
    if (typeof allowExitOnIdle !== 'boolean') throw new InvalidConfigError('allowExitOnIdle', allowExitOnIdle, 'must be true or false');
    const Client = options.Client ?? pg.Client;
    if (typeof Client !== 'function') throw new InvalidConfigError('Client', Client, 'must be a client class such as pg.Client');

    this.statementCacheSize = size;
    this.resetMode = mode;
    this.validationQuery = query;
    this.#clientConfig = clientConfig;
    this.#secret = passwordOf(clientConfig);
    this.#Client = Client;
    this.#onConnect = onConnect;
    this.#host = {
      statementCacheSize: size,
      allowExitOnIdle,
      stats: { hits: 0, misses: 0, evictions: 0, queryErrors: 0 },
      describe: describeConfig(clientConfig),
    };
  }

  /**
   * Opens a connection. The signal aborts a slow connect (the socket is destroyed). An `'error'` the
   * client emits later (server restart, `pg_terminate_backend`, network failure) is handled: it is
   * reported through `ctx.markBroken`, so the pool replaces the connection, and never crashes the process.
   */
  async create(ctx: CreateContext): Promise<PgConnection> {
    const { signal } = ctx;
    if (signal.aborted) throw signal.reason;
    const client = new this.#Client(this.#clientConfig);
    const conn = new PgConnection(client, this.#host, ctx.markBroken);
    const internals = conn[kInternals];
    const onAbort = (): void => {
      internals.closing();
      destroySocket(client);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      const connecting = client.connect();
      connecting.catch(() => {});
      await Promise.race([connecting, aborted(signal)]);
      if (this.#host.allowExitOnIdle) (client as unknown as { unref(): void }).unref();
      if (this.#onConnect !== null) {
        await Promise.race([Promise.resolve(this.#onConnect(conn)), aborted(signal)]);
        internals.clean();
      }
      if (conn.broken) throw conn.brokenError;
    } catch (error) {
      internals.closing();
      destroySocket(client);
      throw scrub(error, this.#secret);
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    internals.live();
    this.#open.add(conn);
    return conn;
  }

  /**
   * Runs `ctx.query` (the pool validator's query) or `validationQuery`; resolves `true` when it
   * succeeds, `false` when it fails or the connection is known to be broken. Rejects with the signal's
   * reason when the signal aborts first.
   */
  async validate(conn: PgConnection, ctx: ValidateContext): Promise<boolean> {
    if (conn.broken) return false;
    try {
      await conn[kInternals].run(ctx.query ?? this.validationQuery, ctx.signal);
      return true;
    } catch {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return false;
    }
  }

  /**
   * Rolls back an open transaction and clears session state (see `resetMode`), keeping the statement
   * cache consistent with the server; re-applies `onConnect` after a session reset. Rejects on a broken
   * connection, so the pool discards it.
   */
  async reset(conn: PgConnection, ctx: OperationContext): Promise<void> {
    const internals = conn[kInternals];
    const sessionReset = await internals.reset(this.resetMode, ctx.signal);
    if (sessionReset && this.#onConnect !== null) {
      await Promise.race([Promise.resolve(this.#onConnect(conn)), aborted(ctx.signal)]);
      internals.clean();
    }
  }

  /** See {@link PgConnection.dirty}. */
  isDirty(conn: PgConnection): boolean {
    return conn.dirty;
  }

  /** Ends the session; safe on a broken connection. When the signal aborts first, the socket is destroyed. */
  async close(conn: PgConnection, ctx: OperationContext): Promise<void> {
    this.#open.delete(conn);
    conn[kInternals].closing();
    const client = conn.client;
    if (ctx.signal.aborted) {
      destroySocket(client);
      return;
    }
    try {
      await Promise.race([client.end(), aborted(ctx.signal)]);
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
    return `PgFactory(${this.#host.describe}, statementCacheSize ${this.statementCacheSize}, resetMode ${this.resetMode})`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

/**
 * Makes a `ConnectionFactory` for PostgreSQL through node-postgres (`pg`): each connection is a
 * `pg.Client` wrapped in a {@link PgConnection}. Give it to `ConnectionPool.create`, or use
 * {@link createPgPool} for a `pg.Pool`-like pool in one call.
 *
 * @example
 * ```ts
 * const config = PoolConfig.builder().minSize(2).maxSize(20).statementCacheSize(100).build();
 * const factory = pgFactory('postgres://app:secret@127.0.0.1:5432/app', { statementCacheSize: config.statementCacheSize });
 * const pool = await ConnectionPool.create(config, factory, { validator: new ConnectionValidator().withQuery('SELECT 1') });
 * const { rows } = await pool.use((db) => db.query('SELECT now() AS now'));
 * ```
 */
export function pgFactory(config: PgConfig, options: PgFactoryOptions = {}): PgFactory {
  return new PgFactory(config, options);
}
