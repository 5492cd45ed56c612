import { inspect } from 'node:util';
import { InvalidArgumentError } from '@pool/core';
import { abortable, ConnectionLifecycle, type FactoryCounters } from '@pool/core/adapter';
import { LRUCache } from 'lru-cache';
import type { Connection, FieldPacket, QueryOptions, QueryResult } from 'mysql2';
import { classify } from './classify.js';

/** A statement as mysql2 takes it: SQL text, or an options object (`{ sql, values?, rowsAsArray?, nestTables?, typeCast?... }`). */
export type MysqlQuery = string | QueryOptions;

/** How `reset()` cleaned the session: COM_RESET_CONNECTION, or COM_CHANGE_USER (re-authentication). */
export type MysqlResetCommand = 'reset' | 'changeUser';

/** @internal What a connection shares with its factory. */
export interface ConnectionHost {
  readonly trackSessionState: boolean;
  /** Statement-cache and query-error counts, and the cache capacity. */
  readonly counters: FactoryCounters<MysqlConnection>;
  readonly describe: string;
}

/** @internal */
export const kInternals: unique symbol = Symbol('mysql.internals');

/** The parts of mysql2's callback `Connection` (and its commands) this adapter drives. */
interface RawClient {
  threadId: number | null;
  config: { charsetNumber: number };
  stream?: { destroy(error?: Error): void; destroyed?: boolean };
  query(options: QueryOptions, values: unknown, cb: Callback): unknown;
  execute(options: QueryOptions, values: unknown, cb: Callback): { statement?: { query: string } };
  unprepare(options: { sql: string; nestTables?: unknown; rowsAsArray?: unknown }): unknown;
  ping(cb: (err: Error | null) => void): unknown;
  reset(cb: (err: Error | null) => void): unknown;
  changeUser(options: Record<string, never>, cb: (err: Error | null) => void): unknown;
  end(cb: (err?: Error | null) => void): unknown;
  destroy(): void;
  on(event: string, listener: (...args: unknown[]) => void): unknown;
}
type Callback = (err: Error | null, result?: unknown, fields?: unknown) => void;

/** What the statement cache remembers to close a statement on the server (mysql2's statement key). */
interface CachedStatement {
  readonly sql: string;
  readonly nestTables: unknown;
  readonly rowsAsArray: unknown;
}

// Server status flags of an OK packet (MySQL and MariaDB client/server protocol).
const SERVER_STATUS_IN_TRANS = 0x0001;
const SERVER_SESSION_STATE_CHANGED = 0x4000;

let connectionCounter = 0;

/** The status flags of the last OK packet in a result (a statement, or several with `multipleStatements`). */
function statusOf(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  if (Array.isArray(result)) {
    for (let i = result.length - 1; i >= 0; i--) {
      const status = statusOf(result[i]);
      if (status !== undefined) return status;
    }
    return undefined;
  }
  const status = (result as { serverStatus?: unknown }).serverStatus;
  return typeof status === 'number' ? status : undefined;
}

/**
 * Checks parameters before anything is sent. `query()` escapes whatever mysql2 can format (an array,
 * an object for `SET ?`, a single value; `undefined` becomes NULL); `execute()` binds an array (no
 * `undefined`, which mysql2 refuses) or, with `namedPlaceholders`, an object.
 */
function checkValues(values: unknown, kind: 'query' | 'execute'): void {
  if (values === undefined) return;
  if (typeof values === 'function') throw new InvalidArgumentError('values', values, 'must not be a function (this API returns a promise)');
  if (kind === 'query') return;
  if (Array.isArray(values)) {
    for (let i = 0; i < values.length; i++) {
      const v: unknown = values[i];
      if (v === undefined) throw new InvalidArgumentError(`values[${i}]`, v, 'must not be undefined; pass null for SQL NULL');
      if (typeof v === 'function') throw new InvalidArgumentError(`values[${i}]`, v, 'must not be a function');
    }
    return;
  }
  if (typeof values === 'object' && values !== null) return;
  throw new InvalidArgumentError('values', values, 'must be an array of parameters, or an object with namedPlaceholders');
}

/**
 * One MySQL / MariaDB connection from {@link mysqlFactory}: a mysql2 connection plus what the pool needs
 * to reuse it safely — its transaction status and session changes (read from the server's OK packets,
 * completed by the statement text), and a per-connection LRU cache of prepared statements.
 *
 * Run statements through {@link MysqlConnection.query} (text protocol) and {@link MysqlConnection.execute}
 * (prepared, cached): that keeps dirty tracking and the statement cache right. `client` is the raw
 * mysql2 connection for what this class does not wrap (streams, `LOAD DATA` streams, binlog); a session
 * change made through it should be followed by {@link MysqlConnection.markDirty}.
 *
 * @example
 * ```ts
 * await pool.use(async (db) => {
 *   const [rows] = await db.execute('SELECT * FROM users WHERE id = ?', [42]); // prepared once, then cached
 *   return rows;
 * });
 * ```
 */
export class MysqlConnection {
  /** The underlying mysql2 connection (callback API). */
  readonly client: Connection;
  /** A number unique in this process, for logs. */
  readonly serial: number;
  readonly #raw: RawClient;
  readonly #host: ConnectionHost;
  readonly #cache: LRUCache<string, CachedStatement> | null;
  readonly #lifecycle: ConnectionLifecycle;
  readonly #charsetNumber: number;
  #inTransaction = false;
  #sessionDirty = false;
  #tracking = false;
  #inflight = 0;

  /** @internal Made by the factory only. */
  constructor(client: Connection, host: ConnectionHost, markBroken: (error?: unknown) => void) {
    this.client = client;
    this.#raw = client as unknown as RawClient;
    this.serial = ++connectionCounter;
    this.#host = host;
    this.#lifecycle = new ConnectionLifecycle(markBroken);
    this.#charsetNumber = this.#raw.config.charsetNumber;
    const size = host.counters.statementCacheCapacity;
    this.#cache =
      size > 0
        ? new LRUCache<string, CachedStatement>({
            max: size,
            dispose: (value, _key, reason) => {
              if (reason !== 'evict') return;
              host.counters.evictions++;
              this.#close(value);
            },
          })
        : null;
    // Always listened to: an 'error' nobody listens to would crash the process (a connection killed
    // while idle, a network failure, a server restart).
    this.#raw.on('error', (error) => this.#lifecycle.markBroken(error));
    const lost = (): void =>
      this.#lifecycle.markBroken(
        Object.assign(new Error('Connection lost: the server closed the connection'), { code: 'PROTOCOL_CONNECTION_LOST' }),
      );
    this.#raw.on('end', lost);
    // A socket error while a command runs goes to that command's callback only (no 'error' event);
    // the socket's 'close' always comes.
    (this.#raw.stream as { on?: (event: string, listener: () => void) => unknown } | undefined)?.on?.('close', lost);
  }

  /** The server's id of this session (`CONNECTION_ID()`, what `KILL` takes), once connected. */
  get threadId(): number | null {
    return this.#raw.threadId ?? null;
  }

  /** True while a transaction is open, as the server reported it in its last OK packet. */
  get inTransaction(): boolean {
    return this.#inTransaction;
  }

  /** True once the connection broke (`KILL`, server restart, network error). */
  get broken(): boolean {
    return this.#lifecycle.broken;
  }

  /** Why it broke, if it did. */
  get brokenError(): unknown {
    return this.#lifecycle.brokenError;
  }

  /** True when the server reports session state changes (session_track_state_change), so dirty tracking is exact. */
  get sessionTracking(): boolean {
    return this.#tracking;
  }

  /**
   * True when the session carries state a reset must clear: an open transaction (the server's
   * `SERVER_STATUS_IN_TRANS`), a session change the server reported (`SERVER_SESSION_STATE_CHANGED`:
   * variables, default schema, temp tables, SQL prepared statements) or one seen in the statement text
   * (`SET`, `USE`, `LOCK TABLES`, `GET_LOCK()`, `HANDLER`, `CREATE TEMPORARY TABLE`...), or a statement
   * still running (also one whose caller gave up).
   */
  get dirty(): boolean {
    return this.#lifecycle.broken || this.#inflight > 0 || this.#inTransaction || this.#sessionDirty;
  }

  /** Prepared statements cached on this connection right now. */
  get cachedStatements(): number {
    return this.#cache?.size ?? 0;
  }

  /** Tells the pool this session was changed outside {@link query} / {@link execute} (through `client`), so it is reset before reuse. */
  markDirty(): void {
    this.#sessionDirty = true;
  }

  /**
   * Runs a statement on the text protocol, like mysql2/promise's `connection.query` (same arguments,
   * same `[result, fields]`, same errors). `values` are escaped into the text client-side; nothing is
   * prepared on the server.
   */
  query<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.#statement<T>('query', sql, values);
  }

  /**
   * Runs a statement as a server-side prepared statement, like mysql2/promise's `connection.execute`.
   * With a `statementCacheSize`, the statement stays prepared on this connection (LRU, keyed by its
   * text): the server parses it once, later calls only send the parameters. The least recently used
   * statement is closed on the server (`COM_STMT_CLOSE`) when the cache is full. Without a cache, each
   * statement is closed right after it ran.
   */
  execute<T extends QueryResult = QueryResult>(sql: MysqlQuery, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.#statement<T>('execute', sql, values);
  }

  /** Sends `COM_PING`. */
  async ping(): Promise<void> {
    await this.#command((cb) => this.#raw.ping(cb));
  }

  /** `START TRANSACTION`. */
  async beginTransaction(): Promise<void> {
    await this.query('START TRANSACTION');
  }

  /** `COMMIT`. */
  async commit(): Promise<void> {
    await this.query('COMMIT');
  }

  /** `ROLLBACK`. */
  async rollback(): Promise<void> {
    await this.query('ROLLBACK');
  }

  /** A short description (never the password). */
  toString(): string {
    return `MysqlConnection(#${this.serial}, thread ${this.threadId ?? '-'}, ${this.#lifecycle.status}, ${this.#host.describe})`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }

  /** @internal What the factory needs. */
  get [kInternals](): {
    lifecycle: ConnectionLifecycle;
    run(sql: string, signal?: AbortSignal): Promise<unknown>;
    ping(signal?: AbortSignal): Promise<void>;
    enableTracking(signal?: AbortSignal): Promise<void>;
    reset(command: MysqlResetCommand, signal: AbortSignal): Promise<void>;
    clean(): void;
    busy(): boolean;
  } {
    return {
      lifecycle: this.#lifecycle,
      run: (sql, signal) => this.#command((cb) => this.#raw.query({ sql }, undefined, cb), signal),
      ping: (signal) => this.#command((cb) => this.#raw.ping(cb), signal).then(() => undefined),
      enableTracking: (signal) => this.#enableTracking(signal),
      reset: (command, signal) => this.#reset(command, signal),
      clean: () => {
        this.#sessionDirty = false;
        this.#inTransaction = false;
      },
      busy: () => this.#inflight > 0,
    };
  }

  async #statement<T>(kind: 'query' | 'execute', sql: MysqlQuery, values: unknown): Promise<[T, FieldPacket[]]> {
    let options: QueryOptions;
    if (typeof sql === 'string') options = { sql };
    else if (typeof sql === 'object' && sql !== null && typeof sql.sql === 'string') options = { ...sql };
    else throw new InvalidArgumentError('sql', sql, 'must be SQL text or a { sql, values? } options object');
    if (values === undefined && options.values !== undefined) values = options.values;
    checkValues(values, kind);
    delete options.values;
    const text = options.sql;
    const effects = classify(text);
    if (effects.session || (effects.routine && !this.#tracking)) this.#sessionDirty = true;
    const counters = this.#host.counters;
    const cache = kind === 'execute' ? this.#cache : null;
    const key = cache === null ? '' : `${typeof options.nestTables}/${String(options.nestTables)}/${String(options.rowsAsArray)}${text}`;
    if (cache !== null) {
      if (cache.get(key) === undefined) counters.misses++;
      else counters.hits++;
    }
    let prepared: CachedStatement | undefined;
    try {
      const [result, fields] = await this.#run(kind, options, values, (cmd) => {
        const statement = (cmd as { statement?: { query: string } } | undefined)?.statement;
        if (statement !== undefined) prepared = { sql: statement.query, nestTables: options.nestTables, rowsAsArray: options.rowsAsArray };
      });
      this.#observe(result, effects.transaction);
      return [result as T, fields as FieldPacket[]];
    } catch (error) {
      counters.queryErrors++;
      // The status of a failed statement is unknown; a statement that opens a transaction may have.
      if (effects.transaction) this.#inTransaction = true;
      throw error;
    } finally {
      if (kind === 'execute' && prepared !== undefined) {
        if (cache === null) this.#close(prepared);
        else if (!cache.has(key)) cache.set(key, prepared);
      } else if (cache !== null && prepared === undefined) cache.delete(key); // never prepared: nothing on the server
    }
  }

  /** Reads the transaction flag and the session-change flag from a result's OK packet. */
  #observe(result: unknown, opensTransaction: boolean): void {
    const status = statusOf(result);
    if (status === undefined) {
      if (opensTransaction) this.#inTransaction = true;
      return;
    }
    this.#inTransaction = (status & SERVER_STATUS_IN_TRANS) !== 0;
    if ((status & SERVER_SESSION_STATE_CHANGED) !== 0) this.#sessionDirty = true;
  }

  /** Runs one query/execute command, counting it in flight. `onCommand` sees mysql2's command object once the callback ran. */
  #run(kind: 'query' | 'execute', options: QueryOptions, values: unknown, onCommand: (cmd: unknown) => void): Promise<[unknown, unknown]> {
    return new Promise((resolve, reject) => {
      this.#inflight++;
      let cmd: unknown;
      const cb: Callback = (err, result, fields) => {
        this.#inflight--;
        onCommand(cmd);
        if (err) this.#fatal(err);
        if (err) reject(err);
        else resolve([result, fields]);
      };
      try {
        cmd = kind === 'query' ? this.#raw.query(options, values, cb) : this.#raw.execute(options, values, cb);
      } catch (error) {
        this.#inflight--;
        reject(error);
      }
    });
  }

  /** Runs a callback-style command, counting it in flight, abandoned (rejected) when `signal` aborts. */
  async #command(send: (cb: Callback) => unknown, signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) throw signal.reason;
    const running = new Promise<unknown>((resolve, reject) => {
      this.#inflight++;
      try {
        send((err, result) => {
          this.#inflight--;
          if (err) this.#fatal(err);
          if (err) reject(err);
          else resolve(result);
        });
      } catch (error) {
        this.#inflight--;
        reject(error);
      }
    });
    return abortable(running, signal);
  }

  /** Closes a prepared statement on the server (a no-op when mysql2 already did, e.g. on its own eviction). */
  #close(statement: CachedStatement): void {
    if (this.#lifecycle.broken || this.#lifecycle.closing) return;
    try {
      this.#raw.unprepare(statement);
    } catch {
      // A connection that closed meanwhile has no statements left to close.
    }
  }

  /** A command failed because the connection did (mysql2 marks those errors `fatal`). */
  #fatal(error: Error): void {
    if ((error as { fatal?: unknown }).fatal === true) this.#lifecycle.markBroken(error);
  }

  /**
   * Asks the server to report every session state change (user variables, temp tables, prepared
   * statements) in its OK packets, so `dirty` does not depend on recognising statements. Servers
   * without session tracking (MySQL < 5.7, MariaDB < 10.2) refuse; the text classification then stands alone.
   */
  async #enableTracking(signal?: AbortSignal): Promise<void> {
    if (!this.#host.trackSessionState) return;
    try {
      await this.#command((cb) => this.#raw.query({ sql: 'SET SESSION session_track_state_change = ON' }, undefined, cb), signal);
      this.#tracking = true;
    } catch (error) {
      if (this.#lifecycle.broken || signal?.aborted) throw error;
      this.#tracking = false;
    }
  }

  /**
   * Returns the session to the state of a new connection: COM_RESET_CONNECTION (rolls back, drops temp
   * tables, releases locks, resets variables, closes prepared statements), or COM_CHANGE_USER with the
   * same credentials after a ROLLBACK. Both close every prepared statement, so the cache starts over.
   */
  async #reset(command: MysqlResetCommand, signal: AbortSignal): Promise<void> {
    if (this.#lifecycle.broken) throw this.#lifecycle.brokenError;
    // The session's character set is the handshake's again after either command; mysql2 follows
    // SET NAMES but not a reset (and COM_CHANGE_USER sends the one it holds), so restore it first.
    this.#raw.config.charsetNumber = this.#charsetNumber;
    if (command === 'reset') {
      await this.#command((cb) => this.#raw.reset(cb), signal);
    } else {
      if (this.#inTransaction) await this.#command((cb) => this.#raw.query({ sql: 'ROLLBACK' }, undefined, cb), signal);
      await this.#command((cb) => this.#raw.changeUser({}, cb), signal);
    }
    // The server dropped every prepared statement and mysql2 forgot them: so do we (nothing to close).
    this.#cache?.clear();
    this.#sessionDirty = false;
    this.#inTransaction = false;
    await this.#enableTracking(signal);
  }
}
