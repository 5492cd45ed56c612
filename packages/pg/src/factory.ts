import type { CreateContext, CreateErrorKind, OperationContext, PoolLogger, ValidateContext } from '@pool/core';
import { InvalidConfigError } from '@pool/core';
import {
  abortable,
  adapterLog,
  checkBoolean,
  checkInteger,
  checkOneOf,
  checkOptionalFunction,
  checkOptionalLogger,
  checkOptionKeys,
  collectSecrets,
  DriverFactory,
  describeEndpoint,
  describeUrl,
  endOrDestroy,
  FactoryCounters,
  parseConnectionUrl,
  runOrAbandon,
  scrubSecrets,
} from '@pool/core/adapter';
import pg from 'pg';
import { type ConnectionHost, kInternals, PgConnection } from './connection.js';
import { classifyPgCreateError } from './create-errors.js';

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
  /**
   * Where the factory reports what happens to its connections below the pool: `warn` when the server
   * or the network cuts a pooled connection, `info` when one released with a cursor, stream or query
   * still open (or ended by its borrower) is retired, `debug` for each session reset and each failed
   * connect (the pool itself logs failed connects at `warn`, with backoff). Any object with `debug`,
   * `info`, `warn` and `error` (`console`, pino, winston, bunyan...); `createPgPool` gives its pool's
   * `logger` here. Default: none.
   */
  logger?: PoolLogger | null;
  /** The client class (for instrumented or native clients). Default `pg.Client`. */
  Client?: new (
    config: pg.ClientConfig,
  ) => pg.Client;
}

/** @internal What `createPgPool`'s facade learns from its factory. */
export interface PgFactoryHooks {
  /** A client object was made; it is connecting. */
  constructed?(client: pg.Client): void;
  /** A client is gone: its connect failed or was abandoned (`conn` null), or its connection was closed. */
  closed?(client: pg.Client, conn: PgConnection | null): void;
}

/** Connects `client` through its callback API (what pg.Pool calls, so a `Client` class that only has that works too). */
function connectClient(client: pg.Client): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    (client.connect as unknown as (cb: (err?: Error | null) => void) => unknown)((err) => (err ? reject(err) : resolve()));
  });
}

/** A `pg` client config, or a connection string (`postgres://user:password@host:5432/db`). */
export type PgConfig = string | pg.ClientConfig;

/** @internal The option keys of {@link PgFactory} (a multi-host factory takes the same). */
export const PG_FACTORY_OPTION_KEYS: readonly string[] = [
  'statementCacheSize',
  'resetMode',
  'validationQuery',
  'onConnect',
  'allowExitOnIdle',
  'Client',
  'logger',
];
const RESET_MODES: readonly PgResetMode[] = ['session', 'all'];

const URL_RULES = { schemes: ['postgres://', 'postgresql://', 'socket:'], example: 'postgres://user:password@host:5432/database' };

/** Throws `InvalidConfigError` unless `url` is a usable connection string; never shows its password. */
function checkConnectionString(url: unknown): string {
  parseConnectionUrl('connectionString', url, URL_RULES);
  return url as string;
}

function describeConfig(config: pg.ClientConfig): string {
  if (typeof config.connectionString === 'string') return describeUrl(config.connectionString);
  return describeEndpoint({
    scheme: 'postgres',
    user: config.user ?? process.env.PGUSER,
    host: config.host ?? process.env.PGHOST ?? 'localhost',
    port: config.port ?? process.env.PGPORT ?? 5432,
    database: config.database,
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
export class PgFactory extends DriverFactory<PgConnection> {
  /** The per-connection statement cache capacity. */
  readonly statementCacheSize: number;
  /** How `reset()` cleans a session. */
  readonly resetMode: PgResetMode;
  /** The default validation query. */
  readonly validationQuery: string;
  readonly #clientConfig: pg.ClientConfig;
  readonly #secrets: string[];
  readonly #Client: new (
    config: pg.ClientConfig,
  ) => pg.Client;
  readonly #onConnect: ((conn: PgConnection) => Promise<void> | void) | null;
  readonly #host: ConnectionHost;
  readonly #hooks: PgFactoryHooks;
  /** Connects given up on (timeout, pool closing) that have not finished yet: each ends its client when it does. */
  readonly #abandoned = new Set<Promise<void>>();

  /** @internal Use {@link pgFactory}. */
  constructor(config: PgConfig, options: PgFactoryOptions = {}, hooks: PgFactoryHooks = {}) {
    let clientConfig: pg.ClientConfig;
    if (typeof config === 'string') clientConfig = { connectionString: checkConnectionString(config) };
    else if (typeof config === 'object' && config !== null && !Array.isArray(config)) {
      clientConfig = { ...config };
      if (clientConfig.connectionString !== undefined) checkConnectionString(clientConfig.connectionString);
      if (clientConfig.port !== undefined) checkInteger('port', clientConfig.port, 1, 65_535);
    } else {
      throw new InvalidConfigError('config', config, 'must be a postgres:// connection string or a pg client config object');
    }
    checkOptionKeys(options, PG_FACTORY_OPTION_KEYS, 'pgFactory');
    const size = checkInteger('statementCacheSize', options.statementCacheSize ?? 0, 0, 1_000_000);
    const mode = checkOneOf('resetMode', options.resetMode ?? 'session', RESET_MODES);
    const query = options.validationQuery ?? 'SELECT 1';
    if (typeof query !== 'string' || query.trim() === '')
      throw new InvalidConfigError('validationQuery', query, 'must be a non-empty SQL string');
    const onConnect = checkOptionalFunction('onConnect', options.onConnect);
    const allowExitOnIdle = checkBoolean('allowExitOnIdle', options.allowExitOnIdle ?? false);
    const Client = options.Client ?? pg.Client;
    if (typeof Client !== 'function') throw new InvalidConfigError('Client', Client, 'must be a client class such as pg.Client');
    const logger = checkOptionalLogger('logger', options.logger);

    super(new FactoryCounters<PgConnection>(size, (conn) => conn.cachedStatements));
    this.statementCacheSize = size;
    this.resetMode = mode;
    this.validationQuery = query;
    this.#clientConfig = clientConfig;
    this.#secrets = collectSecrets([clientConfig.password], clientConfig.connectionString);
    this.#Client = Client;
    this.#onConnect = onConnect;
    const server = describeConfig(clientConfig);
    this.#host = { allowExitOnIdle, counters: this.counters, describe: server, log: adapterLog(logger, { server }) };
    this.#hooks = hooks;
  }

  /**
   * Resolves once every connect this factory gave up on (create timeout, pool closing) has finished and
   * its client is closed: a `Client` that opens its socket late (one that fetches a token first) is
   * ended as soon as it does, never left open and unowned.
   */
  async settled(): Promise<void> {
    while (this.#abandoned.size > 0) await Promise.all(this.#abandoned);
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
    this.#hooks.constructed?.(client);
    let connecting: Promise<void> | undefined;
    let connected = false;
    let phase: 'connect' | 'onConnect' = 'connect';
    const setUp = async (): Promise<void> => {
      connecting = connectClient(client).then(() => {
        connected = true;
      });
      await abortable(connecting, signal);
      phase = 'onConnect';
      if (this.#host.allowExitOnIdle) (client as unknown as { unref(): void }).unref();
      if (this.#onConnect !== null) {
        await abortable(this.#onConnect(conn), signal);
        internals.clean();
      }
      if (conn.broken) throw conn.brokenError;
    };
    const abandon = (): void => {
      internals.lifecycle.markClosing();
      destroySocket(client);
      if (connecting === undefined || connected) return;
      // A client whose socket opens after this (a subclass that awaits a token before connecting) is closed then.
      const late = connecting.then(
        () => destroySocket(client),
        () => {},
      );
      const tracked = late.finally(() => this.#abandoned.delete(tracked));
      this.#abandoned.add(tracked);
    };
    await runOrAbandon(signal, setUp, abandon).catch((error: unknown) => {
      this.#hooks.closed?.(client, null);
      const scrubbed = scrubSecrets(error, this.#secrets);
      if (!signal.aborted) {
        this.#host.log('debug', `A PostgreSQL connection could not be opened (${phase === 'connect' ? 'connect' : 'onConnect threw'})`, {
          phase,
          error: scrubbed,
        });
      }
      throw scrubbed;
    });
    internals.lifecycle.markLive();
    this.counters.opened(conn);
    return conn;
  }

  /**
   * Runs `ctx.query` (the pool validator's query) or `validationQuery`; resolves `true` when it
   * succeeds, `false` when it fails, the connection is known to be broken or it is not ready for a
   * query (see {@link PgConnection.notReadyReason}). Rejects with the signal's
   * reason when the signal aborts first.
   */
  async validate(conn: PgConnection, ctx: ValidateContext): Promise<boolean> {
    if (conn.broken) return false;
    // Right after a failed query, the ReadyForQuery may still be on its way: wait for it (bounded).
    await conn[kInternals].settle(ctx.signal);
    // A client busy with a cursor, a stream or a query would queue the check behind it (maybe forever).
    if (conn.broken || conn.notReadyReason !== null) return false;
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
   * connection, and on one not ready for a query (a cursor or stream left open, a query still running,
   * a client its borrower ended), so the pool discards it instead of lending it again.
   */
  async reset(conn: PgConnection, ctx: OperationContext): Promise<void> {
    const internals = conn[kInternals];
    const sessionReset = await internals.reset(this.resetMode, ctx.signal);
    if (sessionReset && this.#onConnect !== null) {
      await abortable(this.#onConnect(conn), ctx.signal);
      internals.clean();
    }
  }

  /** Fatal for connect errors no retry fixes (see {@link classifyPgCreateError}), transient for the rest. */
  classifyCreateError(error: unknown): CreateErrorKind {
    return classifyPgCreateError(error);
  }

  /** See {@link PgConnection.dirty}. */
  isDirty(conn: PgConnection): boolean {
    return conn.dirty;
  }

  /** Ends the session; safe on a broken connection. When the signal aborts first, the socket is destroyed. */
  async close(conn: PgConnection, ctx: OperationContext): Promise<void> {
    this.counters.closed(conn);
    conn[kInternals].lifecycle.markClosing();
    const client = conn.client;
    await endOrDestroy(
      ctx.signal,
      () => client.end(),
      () => destroySocket(client),
    );
    this.#hooks.closed?.(client, conn);
  }

  /** A short description (the password is never shown). */
  override toString(): string {
    return `PgFactory(${this.#host.describe}, statementCacheSize ${this.statementCacheSize}, resetMode ${this.resetMode})`;
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
