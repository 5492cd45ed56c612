import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext, ValidateContext } from '@pool/core';
import { InvalidConfigError } from '@pool/core';
import { LineKvClient, LineKvError } from './client.js';

/** Options of {@link linekvFactory}. */
export interface LineKvFactoryOptions {
  /** The command `validate()` sends when the pool's `ConnectionValidator` gives none. Default `'PING'`. */
  validationCommand?: string;
}

const OPTION_KEYS = ['validationCommand'];

/**
 * A pooled LineKV connection: the driver's client plus what the adapter tracks about its session, so
 * the pool knows when a borrower left something behind.
 */
export class LineKvConnection {
  /** The server's id of this session (`KILL <id>` ends it). */
  readonly id: number;
  /** The driver client, for anything the wrapper does not cover. */
  readonly client: LineKvClient;
  #namespace = 'default';
  #inTransaction = false;
  #broken: Error | null = null;
  readonly #onQueryError: () => void;

  /** @internal Made by the factory. */
  constructor(client: LineKvClient, id: number, onQueryError: () => void) {
    this.client = client;
    this.id = id;
    this.#onQueryError = onQueryError;
  }

  /**
   * Runs one command (`conn.command('SET', 'greeting', 'hello')`) and resolves with the reply. The
   * adapter watches `USE`, `BEGIN`, `COMMIT`, `ROLLBACK` and `RESET` to know the session's state.
   */
  async command(verb: string, ...args: string[]): Promise<string | null> {
    return this.#run(undefined, verb, args);
  }

  /** The session's namespace, as last set through this connection. */
  get namespace(): string {
    return this.#namespace;
  }

  /** True while a transaction opened through this connection is open. */
  get inTransaction(): boolean {
    return this.#inTransaction;
  }

  /** True when the session differs from a fresh one: a `reset` is needed before someone else uses it. */
  get dirty(): boolean {
    return this.#inTransaction || this.#namespace !== 'default';
  }

  /** True once the connection broke (killed by the server, cut by the network). */
  get broken(): boolean {
    return this.#broken !== null || this.client.closed;
  }

  toString(): string {
    return `LineKvConnection(${this.id})`;
  }

  /** @internal */
  async run(signal: AbortSignal | undefined, verb: string, args: string[]): Promise<string | null> {
    return this.#run(signal, verb, args);
  }

  /** @internal The session is back to a fresh one (after `RESET`). */
  markClean(): void {
    this.#namespace = 'default';
    this.#inTransaction = false;
  }

  /** @internal */
  markBroken(error: Error): void {
    this.#broken ??= error;
  }

  async #run(signal: AbortSignal | undefined, verb: string, args: string[]): Promise<string | null> {
    const command = verb.toUpperCase();
    try {
      const reply = await this.client.command({ signal }, verb, ...args);
      // Track what the server accepted.
      if (command === 'USE') this.#namespace = args[0] ?? this.#namespace;
      else if (command === 'BEGIN') this.#inTransaction = true;
      else if (command === 'COMMIT' || command === 'ROLLBACK') this.#inTransaction = false;
      else if (command === 'RESET') this.markClean();
      return reply;
    } catch (error) {
      if (error instanceof LineKvError && error.code !== 'ECLOSED') this.#onQueryError(); // the server refused it
      throw error;
    }
  }
}

/**
 * The `@pool` adapter for LineKV: a `ConnectionFactory<LineKvConnection>` for `ConnectionPool.create`.
 *
 * @example
 * ```ts
 * import { ConnectionPool } from '@pool/core';
 * import { linekvFactory } from 'pool-adapter-linekv';
 *
 * const pool = await ConnectionPool.create({ maxSize: 10 }, linekvFactory('linekv://:secret@127.0.0.1:7379'));
 * const value = await pool.use((kv) => kv.command('GET', 'greeting'));
 * ```
 */
export class LineKvFactory implements ConnectionFactory<LineKvConnection> {
  readonly host: string;
  readonly port: number;
  readonly validationCommand: string;
  // Private fields: util.inspect and JSON never show them, so the password cannot leak that way.
  readonly #password: string | undefined;
  readonly #open = new Set<LineKvConnection>();
  #queryErrors = 0;

  constructor(url: string, options: LineKvFactoryOptions = {}) {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new InvalidConfigError('url', redactUrl(url), 'must be a URL like linekv://:password@host:port');
    }
    if (parsed.protocol !== 'linekv:') throw new InvalidConfigError('url', redactUrl(url), "must use the 'linekv:' scheme");
    if (parsed.port === '') throw new InvalidConfigError('url', redactUrl(url), 'must name a port');
    if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', options, 'must be an object');
    for (const key of Object.keys(options)) {
      if (!OPTION_KEYS.includes(key))
        throw new InvalidConfigError(key, '[given]', `is not a linekvFactory option; known: ${OPTION_KEYS.join(', ')}`);
    }
    const validationCommand = options.validationCommand ?? 'PING';
    if (typeof validationCommand !== 'string' || validationCommand.trim() === '' || validationCommand.includes('\n')) {
      throw new InvalidConfigError('validationCommand', validationCommand, 'must be a one-line command');
    }
    this.host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
    this.port = Number(parsed.port);
    this.#password = parsed.password === '' ? undefined : decodeURIComponent(parsed.password);
    this.validationCommand = validationCommand;
  }

  /**
   * Connects under the pool's signal, reads the session id, and reports a connection that dies later
   * (killed, cut, server restarted) through `ctx.markBroken`, so an idle one is replaced at once.
   */
  async create(ctx: CreateContext): Promise<LineKvConnection> {
    const client = await LineKvClient.connect({ host: this.host, port: this.port, password: this.#password, signal: ctx.signal });
    let conn: LineKvConnection | undefined;
    client.on('close', (error) => {
      const reason = error ?? new LineKvError('ECLOSED', 'LineKV: the server closed the connection');
      conn?.markBroken(reason);
      if (conn !== undefined && this.#open.has(conn)) ctx.markBroken(reason); // not when we closed it ourselves
    });
    try {
      const id = Number(await client.command({ signal: ctx.signal }, 'ID'));
      conn = new LineKvConnection(client, id, () => {
        this.#queryErrors += 1;
      });
    } catch (error) {
      client.destroy();
      throw ctx.signal.aborted ? ctx.signal.reason : error;
    }
    this.#open.add(conn);
    return conn;
  }

  /** Sends the validator's query (or `validationCommand`); `false` when it fails or the connection is broken. */
  async validate(conn: LineKvConnection, ctx: ValidateContext): Promise<boolean> {
    if (conn.broken) return false;
    const [verb = 'PING', ...args] = (ctx.query ?? this.validationCommand).trim().split(' ');
    try {
      await conn.run(ctx.signal, verb, args);
      return true;
    } catch {
      if (ctx.signal.aborted) throw ctx.signal.reason;
      return false;
    }
  }

  /** `RESET` on the server: rolls back an open transaction and returns to the `default` namespace. */
  async reset(conn: LineKvConnection, ctx: OperationContext): Promise<void> {
    await conn.run(ctx.signal, 'RESET', []);
  }

  /** Synchronous and cheap, as the pool needs: flags only. */
  isDirty(conn: LineKvConnection): boolean {
    return conn.dirty;
  }

  /**
   * `QUIT`, or drops the socket when the connection is broken, a command is still unanswered (a `QUIT`
   * would wait behind it), or the signal aborts first. Safe on a broken connection.
   */
  async close(conn: LineKvConnection, ctx: OperationContext): Promise<void> {
    this.#open.delete(conn);
    if (conn.broken || conn.client.inFlight > 0 || ctx.signal.aborted) {
      conn.client.destroy();
      return;
    }
    const onAbort = (): void => conn.client.destroy();
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    try {
      await conn.client.quit();
    } finally {
      ctx.signal.removeEventListener('abort', onAbort);
    }
  }

  /** Commands that failed on pooled connections (read by `@pool/monitoring`). */
  statistics(): FactoryStatistics {
    return { queryErrors: this.#queryErrors };
  }

  toString(): string {
    return `LineKvFactory(linekv://${this.host}:${this.port})`;
  }
}

/**
 * Makes the LineKV adapter for `url` (`linekv://[:password@]host:port`).
 *
 * @example
 * ```ts
 * const pool = await ConnectionPool.create({ maxSize: 10 }, linekvFactory(process.env.LINEKV_URL ?? 'linekv://127.0.0.1:7379'));
 * ```
 */
export function linekvFactory(url: string, options?: LineKvFactoryOptions): LineKvFactory {
  return new LineKvFactory(url, options);
}

function redactUrl(url: unknown): string {
  return String(url).replace(/:\/\/([^@/]*)@/, '://***@');
}
