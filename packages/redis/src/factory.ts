import type { CreateContext, OperationContext, PoolLogger, ValidateContext } from '@pool/core';
import { InvalidConfigError } from '@pool/core';
import {
  abortable,
  adapterLog,
  checkInteger,
  checkOneOf,
  checkOptionalFunction,
  checkOptionalLogger,
  checkOptionKeys,
  collectSecrets,
  DriverFactory,
  describeEndpoint,
  endOrDestroy,
  FactoryCounters,
  parseConnectionUrl,
  redactUrl,
  runOrAbandon,
  scrubSecrets,
} from '@pool/core/adapter';
import IORedis, { type RedisOptions } from 'ioredis';
import { type ConnectionHost, kInternals, RedisConnection, type RedisResetCommand, type RestoreSteps } from './connection.js';

/**
 * How `reset()` cleans a dirty connection. `'auto'` (default): `'reset'` when the server is Redis 6.2
 * or newer (its version is read once per factory), else `'commands'`. `'reset'`: the `RESET` command
 * (leaves `MULTI`, unwatches, unsubscribes, selects db 0, ends tracking and other client modes), then
 * the connection's setup again (`HELLO 3` / `AUTH`, `SELECT`, `CLIENT SETNAME`). `'commands'`:
 * `UNSUBSCRIBE`/`PUNSUBSCRIBE`, `DISCARD` (when a `MULTI` is open), `UNWATCH`, `SELECT`, and, after a
 * session change, `CLIENT SETNAME`, `CLIENT TRACKING OFF` and `AUTH`.
 */
export type RedisResetMode = 'auto' | RedisResetCommand;

/** The ioredis client class (ioredis 5 or 6's `Redis`, or a subclass of it). */
export type RedisClass = new (options: RedisOptions) => IORedis;

/** Options of {@link redisFactory} (beside the ioredis options). Every field is optional. */
export interface RedisFactoryOptions {
  /** How `reset()` cleans a dirty connection (see {@link RedisResetMode}). Default `'auto'`. */
  resetMode?: RedisResetMode;
  /** The command `validate()` sends when the pool's validator gives none, as text (`'PING'`, `'EXISTS health'`). Default `'PING'`. */
  validationCommand?: string;
  /**
   * Runs on every new connection before the pool gets it, and again after each reset, e.g.
   * `(conn) => conn.client.client('NO-EVICT', 'on')`; may throw to refuse the connection. What it
   * changes is the clean state (not counted as dirty).
   */
  onConnect?: ((conn: RedisConnection) => Promise<void> | void) | null;
  /** The client class. Default: ioredis's `Redis`. */
  Redis?: RedisClass;
  /**
   * Where the factory reports what happens to its connections below the pool (a connection the server
   * or the network cut, how sessions are reset): the pool's `logger` (`console`, pino, winston,
   * bunyan...). `createRedisPool` passes its pool's `logger` here. Default: none.
   */
  logger?: PoolLogger | null;
}

/** ioredis options, or a URL (`redis://user:password@host:6379/0`, `rediss://` for TLS). */
export type RedisConfig = string | RedisOptions;

const OPTION_KEYS: readonly string[] = ['resetMode', 'validationCommand', 'onConnect', 'Redis', 'logger'];
const RESET_MODES: readonly RedisResetMode[] = ['auto', 'reset', 'commands'];

/**
 * ioredis options every pooled connection gets, and why: the pool replaces a dead connection, so the
 * client must fail fast instead of reconnecting or buffering. Giving another value is an error.
 */
const FORCED: Readonly<Record<string, { value: unknown; why: string }>> = {
  lazyConnect: { value: true, why: 'the factory connects, with the pool’s signal' },
  enableOfflineQueue: { value: false, why: 'a dead connection must fail commands at once instead of queueing them until it reconnects' },
  retryStrategy: {
    value: null,
    why: 'the pool replaces a broken connection; a client reconnecting on its own would lose its session state unnoticed',
  },
  reconnectOnError: { value: null, why: 'the pool replaces a broken connection' },
  autoResubscribe: { value: false, why: 'a pooled connection never reconnects' },
  autoResendUnfulfilledCommands: { value: false, why: 'a pooled connection never reconnects, so nothing is resent' },
};

const URL_RULES = { schemes: ['redis://', 'rediss://'], example: 'redis://user:password@host:6379/0' };

function checkUrl(url: unknown): string {
  const parsed = parseConnectionUrl('url', url, URL_RULES);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '' && !/^\d+$/.test(db))
    throw new InvalidConfigError('url', redactUrl(url as string), 'names a database that is not a number');
  return url as string;
}

function describe(options: RedisOptions): string {
  return describeEndpoint({
    scheme: 'redis',
    user: options.username,
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 6379,
    socketPath: options.path,
    database: options.db ?? 0,
  });
}

function hangUp(client: IORedis): void {
  try {
    client.disconnect();
  } catch {
    // already closed
  }
  (client as unknown as { stream?: { destroy?: () => void } }).stream?.destroy?.();
}

function versionOf(info: string): [number, number] | null {
  const m = /redis_version:(\d+)\.(\d+)/.exec(info);
  return m === null ? null : [Number(m[1]), Number(m[2])];
}

/**
 * The `ConnectionFactory<RedisConnection>` made by {@link redisFactory}. Besides the factory contract it
 * reports command errors through `statistics()`.
 */
export class RedisFactory extends DriverFactory<RedisConnection> {
  /** How `reset()` cleans a connection, as configured. */
  readonly resetMode: RedisResetMode;
  /** The default validation command. */
  readonly validationCommand: string;
  readonly #options: RedisOptions;
  readonly #secrets: string[];
  readonly #onConnect: ((conn: RedisConnection) => Promise<void> | void) | null;
  readonly #Redis: RedisClass;
  readonly #host: ConnectionHost;
  #resetCommand: Promise<RedisResetCommand> | null = null;
  #serverVersion: string | null = null;

  /** @internal Use {@link redisFactory}. */
  constructor(config: RedisConfig, options: RedisFactoryOptions = {}) {
    let resolved: RedisOptions;
    // A URL is turned into options the way ioredis does, so the password and db are known here.
    if (typeof config === 'string') resolved = parseIoredisUrl(checkUrl(config));
    else if (typeof config === 'object' && config !== null && !Array.isArray(config)) resolved = { ...config };
    else throw new InvalidConfigError('config', config, 'must be a redis:// URL or an ioredis options object');
    checkOptionKeys(options, OPTION_KEYS, 'redisFactory');
    const mode = checkOneOf('resetMode', options.resetMode ?? 'auto', RESET_MODES);
    const command = options.validationCommand ?? 'PING';
    if (typeof command !== 'string' || command.trim() === '')
      throw new InvalidConfigError('validationCommand', command, "must be a non-empty command such as 'PING'");
    const onConnect = checkOptionalFunction('onConnect', options.onConnect);
    const Redis = options.Redis ?? (IORedis as unknown as RedisClass);
    if (typeof Redis !== 'function') throw new InvalidConfigError('Redis', Redis, "must be a client class such as ioredis's Redis");

    for (const [key, rule] of Object.entries(FORCED)) {
      const value = (resolved as Record<string, unknown>)[key];
      if (value !== undefined && value !== rule.value) {
        throw new InvalidConfigError(key, value, `must be ${String(rule.value)} (or left out) for pooled connections: ${rule.why}`);
      }
    }
    const retries = resolved.maxRetriesPerRequest;
    if (retries !== undefined && (typeof retries !== 'number' || !Number.isInteger(retries) || retries < 0)) {
      throw new InvalidConfigError(
        'maxRetriesPerRequest',
        retries,
        'must be a non-negative integer (null would let commands wait forever)',
      );
    }
    const logger = checkOptionalLogger('logger', options.logger);
    const db = checkInteger('db', resolved.db ?? 0, 0);
    if (resolved.port !== undefined) checkInteger('port', resolved.port, 1, 65_535);

    super(new FactoryCounters<RedisConnection>());
    this.resetMode = mode;
    this.validationCommand = command;
    this.#options = {
      ...resolved,
      ...Object.fromEntries(Object.entries(FORCED).map(([k, r]) => [k, r.value])),
      maxRetriesPerRequest: retries ?? 0,
    } as RedisOptions;
    this.#secrets = collectSecrets([resolved.password]);
    this.#onConnect = onConnect;
    this.#Redis = Redis;
    const server = describe(resolved);
    this.#host = {
      describe: server,
      db,
      counters: this.counters,
      log: adapterLog(logger, { server }),
    };
    if (mode !== 'auto') this.#resetCommand = Promise.resolve(mode);
  }

  /** The server's version (`redis_version`), once a connection was made in `'auto'` mode. */
  get serverVersion(): string | null {
    return this.#serverVersion;
  }

  /**
   * Opens a connection: an ioredis client with `lazyConnect`, no offline queue and no reconnection,
   * connected under the pool's signal (an abort destroys the socket). A connection that dies later
   * (`CLIENT KILL`, server restart, network failure) is reported through `ctx.markBroken`, so the pool
   * replaces it; the process never crashes on its `'error'`.
   */
  async create(ctx: CreateContext): Promise<RedisConnection> {
    const { signal } = ctx;
    if (signal.aborted) throw signal.reason;
    const client = new this.#Redis({ ...this.#options });
    const conn = new RedisConnection(client, this.#host, ctx.markBroken);
    const internals = conn[kInternals];
    const setUp = async (): Promise<void> => {
      await abortable(client.connect(), signal);
      const id = await internals.run(['CLIENT', 'ID'], signal);
      internals.setClientId(Number(id));
      if (this.#resetCommand === null) this.#resetCommand = this.#detect(conn, signal);
      await this.#resetCommand.catch(() => undefined);
      if (this.#onConnect !== null) await abortable(this.#onConnect(conn), signal);
      internals.clean();
      if (conn.broken) throw conn.brokenError;
    };
    const abandon = (): void => {
      internals.lifecycle.markClosing();
      hangUp(client);
    };
    await runOrAbandon(signal, setUp, abandon).catch((error: unknown) => {
      // ioredis rejects connect() with a bare "Connection is closed." and emits the cause (WRONGPASS,
      // ECONNREFUSED...) as an 'error' event, which the connection kept.
      throw scrubSecrets(signal.aborted || !conn.broken ? error : conn.brokenError, this.#secrets);
    });
    internals.lifecycle.markLive();
    this.counters.opened(conn);
    return conn;
  }

  /** Reads the server version once: RESET exists from Redis 6.2. A failed read is retried by the next connection. */
  #detect(conn: RedisConnection, signal: AbortSignal): Promise<RedisResetCommand> {
    const detecting = conn[kInternals].run(['INFO', 'server'], signal).then((info) => {
      const version = versionOf(String(info));
      this.#serverVersion = version === null ? null : version.join('.');
      const command = version !== null && (version[0] > 6 || (version[0] === 6 && version[1] >= 2)) ? 'reset' : 'commands';
      this.#host.log(
        'debug',
        `Redis ${this.#serverVersion ?? '(version unknown)'}: dirty sessions are reset with ${command === 'reset' ? 'RESET' : 'individual commands'}`,
        {
          redisVersion: this.#serverVersion,
          resetCommand: command,
        },
      );
      return command;
    });
    detecting.catch((error: unknown) => {
      if (this.#resetCommand === detecting) this.#resetCommand = null;
      if (signal.aborted) return;
      this.#host.log(
        'info',
        'Could not read the Redis server version (INFO server): dirty sessions are reset with individual commands until a later connection reads it',
        {
          error: scrubSecrets(error, this.#secrets),
        },
      );
    });
    return detecting;
  }

  /**
   * Sends `ctx.query` (the pool validator's command, as text) or `validationCommand`; resolves `true`
   * when it succeeds, `false` when it fails or the connection is known to be broken. Rejects with the
   * signal's reason when the signal aborts first.
   */
  async validate(conn: RedisConnection, ctx: ValidateContext): Promise<boolean> {
    if (conn.broken) return false;
    // Lower-case, as ioredis names its commands (its subscriber-mode check compares names).
    const [name = 'ping', ...args] = (ctx.query ?? this.validationCommand).trim().split(/\s+/);
    const parts = [name.toLowerCase(), ...args];
    try {
      await conn[kInternals].run(parts, ctx.signal);
      return true;
    } catch {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return false;
    }
  }

  /**
   * Returns the connection to the state of a new one (see {@link RedisResetMode}) and re-applies
   * `onConnect`. Rejects on a broken connection, or when a blocking command is still running on it,
   * so the pool replaces it.
   */
  async reset(conn: RedisConnection, ctx: OperationContext): Promise<void> {
    const command = this.#resetCommand === null ? 'commands' : await this.#resetCommand.catch((): RedisResetCommand => 'commands');
    try {
      await conn[kInternals].reset(command, ctx.signal, this.#restoreSteps(conn));
    } catch (error) {
      throw scrubSecrets(error, this.#secrets);
    }
    if (this.#onConnect !== null) {
      await abortable(this.#onConnect(conn), ctx.signal);
      conn[kInternals].clean();
    }
  }

  #restoreSteps(conn: RedisConnection): RestoreSteps {
    const o = conn.client.options;
    const password = typeof o.password === 'string' && o.password !== '' ? o.password : null;
    const user = typeof o.username === 'string' && o.username !== '' ? o.username : null;
    return {
      protocol: (o as { protocol?: number }).protocol === 3 ? 3 : 2,
      hello: password === null ? [] : ['AUTH', user ?? 'default', password],
      auth: password === null ? [] : user === null ? [password] : [user, password],
      name: typeof o.connectionName === 'string' && o.connectionName !== '' ? o.connectionName : null,
      readOnly: o.readOnly === true,
    };
  }

  /** See {@link RedisConnection.dirty}. */
  isDirty(conn: RedisConnection): boolean {
    return conn.dirty;
  }

  /**
   * Sends `QUIT` (the server answers and closes); safe on a broken connection. The socket is destroyed
   * instead when a command is still running on it, or when the signal aborts first.
   */
  async close(conn: RedisConnection, ctx: OperationContext): Promise<void> {
    this.counters.closed(conn);
    const internals = conn[kInternals];
    // A command still running (a BLPOP whose caller gave up) would hold QUIT back: close the socket.
    const busy = internals.busy();
    internals.lifecycle.markClosing();
    const client = conn.client;
    const canQuit = !conn.broken && !busy && client.status === 'ready';
    await endOrDestroy(ctx.signal, canQuit ? () => client.quit() : null, () => hangUp(client));
    hangUp(client); // answered or not, the socket goes
  }

  /** A short description (the password is never shown). */
  override toString(): string {
    return `RedisFactory(${this.#host.describe}, resetMode ${this.resetMode})`;
  }
}

/** Turns a redis:// URL into ioredis options, as `new Redis(url)` would (user, password, db, TLS). */
function parseIoredisUrl(url: string): RedisOptions {
  const parsed = new URL(url);
  const options: RedisOptions = { host: parsed.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1', port: Number(parsed.port || 6379) };
  if (parsed.username !== '') options.username = decodeURIComponent(parsed.username);
  if (parsed.password !== '') options.password = decodeURIComponent(parsed.password);
  const db = parsed.pathname.replace(/^\//, '');
  if (db !== '') options.db = Number(db);
  if (parsed.protocol === 'rediss:') options.tls = {};
  for (const [key, value] of parsed.searchParams) {
    if (key === 'family') options.family = Number(value);
    else if (key === 'password' && options.password === undefined) options.password = value;
  }
  return options;
}

/**
 * Makes a `ConnectionFactory` for Redis through ioredis: each connection is its own ioredis client,
 * wrapped in a {@link RedisConnection}. Use it for what one shared, multiplexed client cannot do:
 * blocking commands, `MULTI`/`WATCH`, subscribers, isolating slow commands. Give it to
 * `ConnectionPool.create`, or use {@link createRedisPool}.
 *
 * @example
 * ```ts
 * const pool = await ConnectionPool.create({ maxSize: 8 }, redisFactory('redis://127.0.0.1:6379'));
 * const job = await pool.use(({ client }) => client.brpop('jobs', 5));
 * ```
 */
export function redisFactory(config: RedisConfig, options: RedisFactoryOptions = {}): RedisFactory {
  return new RedisFactory(config, options);
}
