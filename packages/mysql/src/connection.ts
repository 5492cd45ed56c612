import { inspect } from 'node:util';
import { InvalidArgumentError, type LogLevel } from '@pool/core';
import { abortable, ConnectionLifecycle, type FactoryCounters } from '@pool/core/adapter';
import { LRUCache } from 'lru-cache';
import mysql, { type Connection, type FieldPacket, type QueryOptions, type QueryResult } from 'mysql2';
import { classify, type Effects } from './classify.js';
import { kObserver, type MysqlCommand, type ObservedClient } from './client.js';

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
  /** Writes to the factory's logger (nothing without one); the server is added. */
  readonly log: (level: LogLevel, message: string, fields: Record<string, unknown>) => void;
}

/** @internal */
export const kInternals: unique symbol = Symbol('mysql.internals');

/** The parts of mysql2's callback `Connection` (and its commands) this adapter drives. */
interface RawClient {
  threadId: number | null;
  config: {
    charsetNumber: number;
    user?: unknown;
    password?: unknown;
    password1?: unknown;
    password2?: unknown;
    password3?: unknown;
    passwordSha1?: unknown;
    database?: string;
  };
  /** True while mysql2 holds incoming packets back (a result stream whose reader is not reading). */
  _paused?: boolean;
  /** mysql2's prepared-statement LRU. */
  _statements?: StatementLru;
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
  /** The session settings of the handshake, which a borrower's `changeUser()` or `SET NAMES` changes in `client.config`. */
  readonly #original: OriginalSession;
  #inTransaction = false;
  #sessionDirty = false;
  /** A borrower switched users (`changeUser`): only COM_CHANGE_USER with the pool's credentials undoes it. */
  #userChanged = false;
  /** The default database changed (`USE`, `changeUser`), which COM_RESET_CONNECTION keeps. */
  #schemaChanged = false;
  #tracking = false;
  #inflight = 0;
  /** True while the factory sends a command of its own: the observer neither classifies nor records it. */
  #quiet = false;
  /** True while {@link execute} queues its statement (it counts cache hits and misses itself). */
  #ownStatement = false;
  /** Non-null while session setup is being recorded (see `kInternals.recordSetup`). */
  #recording: SetupStatement[] | null = null;
  /** Statements that set the session up (the pool's `connection` listeners), replayed after each reset. */
  #setup: SetupStatement[] = [];
  /** The last statement error since the connection was last handed out (for the pool's error accounting). */
  #failure: unknown = undefined;

  /** @internal Made by the factory only. */
  constructor(client: Connection, host: ConnectionHost, markBroken: (error?: unknown) => void) {
    this.client = client;
    this.#raw = client as unknown as RawClient;
    this.serial = ++connectionCounter;
    this.#host = host;
    this.#lifecycle = new ConnectionLifecycle(markBroken);
    const config = this.#raw.config;
    this.#original = {
      user: config.user,
      password: config.password,
      password1: config.password1,
      password2: config.password2,
      password3: config.password3,
      passwordSha1: config.passwordSha1,
      database: config.database,
      charsetNumber: config.charsetNumber,
    };
    (client as ObservedClient)[kObserver] = {
      command: (command) => this.#onCommand(command),
      event: (event, arg) => {
        // A connection killed while idle, a network failure, a server restart: never a crash.
        if (event === 'error') this.#cut(arg);
        else if (event === 'end') this.#lost();
      },
    };
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
    // A socket error while a command runs goes to that command's callback only (no 'error' event);
    // the socket's 'close' always comes.
    (this.#raw.stream as { on?: (event: string, listener: () => void) => unknown } | undefined)?.on?.('close', () => this.#lost());
  }

  #lost(): void {
    this.#cut(Object.assign(new Error('Connection lost: the server closed the connection'), { code: 'PROTOCOL_CONNECTION_LOST' }));
  }

  /** The connection broke; a connection the pool had, cut by the server or the network, is reported (warn). */
  #cut(error: unknown): void {
    const lifecycle = this.#lifecycle;
    const news = !lifecycle.broken && !lifecycle.closing && lifecycle.live;
    lifecycle.markBroken(error);
    if (news) {
      this.#host.log('warn', 'A pooled MySQL connection was closed by the server or the network: the pool replaces it', {
        connection: this.serial,
        threadId: this.threadId,
        inTransaction: this.#inTransaction,
        commandsInFlight: this.#inflight,
        error,
      });
    }
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

  /** Prepared statements cached on this connection right now (mysql2 keeps each one {@link execute} keeps, too). */
  get cachedStatements(): number {
    return Math.max(this.#cache?.size ?? 0, this.#raw._statements?.size ?? 0);
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

  /** @internal What the factory and the pool facade need. */
  get [kInternals](): ConnectionInternals {
    return {
      lifecycle: this.#lifecycle,
      run: (sql, signal) => this.#command((cb) => this.#raw.query({ sql }, undefined, cb), signal),
      ping: (signal) => this.#command((cb) => this.#raw.ping(cb), signal).then(() => undefined),
      enableTracking: (signal) => this.#enableTracking(signal),
      reset: (command, signal) => this.#reset(command, signal),
      clean: () => {
        this.#sessionDirty = false;
        this.#inTransaction = false;
        this.#userChanged = false;
        this.#schemaChanged = false;
      },
      busy: () => this.#inflight > 0,
      takeFailure: () => {
        const failure = this.#failure;
        this.#failure = undefined;
        return failure;
      },
      recordSetup: (fn) => {
        const recording: SetupStatement[] = [];
        this.#recording = recording;
        try {
          fn();
        } finally {
          this.#recording = null;
          this.#setup = this.#setup.concat(recording);
        }
      },
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
      return [result as T, fields as FieldPacket[]];
    } finally {
      if (kind === 'execute' && prepared !== undefined) {
        if (cache === null) this.#close(prepared);
        else if (!cache.has(key)) cache.set(key, prepared);
      } else if (cache !== null && prepared === undefined) cache.delete(key); // never prepared: nothing on the server
    }
  }

  /**
   * Sees each command queued on the mysql2 connection, whoever queued it, and keeps what the pool must
   * know up to date: statements in flight, the transaction status and session changes (from the
   * statement text and the server's OK packets), a switch of user or database, errors that make the
   * connection unfit for reuse.
   */
  #onCommand(command: MysqlCommand): void {
    const name = command.constructor.name;
    if (name === 'ClientHandshake' || name === 'Quit') return;
    if (this.#quiet) {
      this.#follow(command, NO_EFFECTS, true);
      return;
    }
    if (name === 'Query' || name === 'Execute') {
      const sql = typeof command.sql === 'string' ? command.sql : '';
      const recording = this.#recording;
      if (recording !== null) {
        recording.push({ kind: name === 'Query' ? 'query' : 'execute', sql, values: name === 'Query' ? undefined : command.values });
        this.#follow(command, NO_EFFECTS, true);
        return;
      }
      const effects = classify(sql);
      if (effects.session || (effects.routine && !this.#tracking)) this.#sessionDirty = true;
      if (effects.schema) this.#schemaChanged = true;
      this.#follow(command, effects, false);
      return;
    }
    if (name === 'ChangeUser') {
      this.#userChanged = true;
      this.#schemaChanged = true;
      this.#sessionDirty = true;
      this.#follow(command, NO_EFFECTS, false, true);
      return;
    }
    if (name === 'Prepare') {
      if (!this.#ownStatement) this.#countPrepare(command);
      // Its failure (a syntax error, say) is the statement's: mysql2 reports it to `execute()`'s callback directly.
      this.#follow(command, NO_EFFECTS, false);
      return;
    }
    if (name !== 'Ping' && name !== 'CloseStatement' && name !== 'ResetConnection') this.#sessionDirty = true;
    this.#follow(command, NO_EFFECTS, true);
  }

  /**
   * Counts a statement prepared through mysql2's own `execute()` / `prepare()` (on the pool or the
   * borrowed connection) in the cache figures: mysql2 keeps it in its per-connection LRU
   * (`maxPreparedStatements`, which is `statementCacheSize`); it is a hit when that LRU has it when
   * the command starts, and a miss on a full LRU evicts (and closes) the least recently used one.
   */
  #countPrepare(command: MysqlCommand): void {
    const prepare = command as MysqlCommand & { start(packet: unknown, connection: unknown): unknown; options?: object };
    const start = prepare.start;
    const counters = this.#host.counters;
    prepare.start = function (this: unknown, packet, connection) {
      const statements = (connection as { _statements?: StatementLru })._statements;
      if (statements !== undefined && prepare.options !== undefined) {
        if (statements.has(statementKey(prepare.options))) counters.hits++;
        else {
          counters.misses++;
          if (statements.size >= statements.max) counters.evictions++;
        }
      }
      return start.call(this, packet, connection);
    };
  }

  /**
   * Counts `command` in flight until it ends and reads its outcome before its callback or listeners
   * run: mysql2 emits each OK packet as a `'result'` event (in callback mode too) and `'end'` before it
   * calls a callback, and mysql2's pool releases a connection on `'end'`, so the state is up to date
   * when the connection comes back. `quiet`: only counted (the factory's own commands, recorded session
   * setup). `fatal`: any error of this command leaves the session in an unknown state (a failed `changeUser`).
   */
  #follow(command: MysqlCommand, effects: Effects, quiet: boolean, fatal = false): void {
    this.#inflight++;
    let running = true;
    let failed = false;
    let reported = false;
    const finish = (): void => {
      if (!running) return;
      running = false;
      this.#inflight--;
      // No OK packet said otherwise: a statement that opens a transaction may have.
      if (!quiet && !failed && !reported && effects.transaction) this.#inTransaction = true;
    };
    const fail = (err: unknown): void => {
      if (failed) return;
      failed = true;
      if (!quiet) {
        this.#host.counters.queryErrors++;
        this.#failure = err;
        // The status of a failed statement is unknown; a statement that opens a transaction may have.
        if (effects.transaction) this.#inTransaction = true;
      }
      this.#failed(err, fatal);
      finish();
    };
    const observe = (packet: unknown): void => {
      reported = true;
      this.#observe(packet, effects.transaction);
    };
    const onResult = command.onResult;
    if (typeof onResult === 'function') {
      command.onResult = function (this: unknown, err, result, fields) {
        if (err !== null && err !== undefined) fail(err);
        else finish();
        return onResult.call(this, err, result, fields);
      };
    }
    // Read without adding a listener (an 'error' listener would change what an unhandled error does).
    const emit = command.emit;
    command.emit = function (this: unknown, event, ...args) {
      if (event === 'result') {
        if (!quiet && isOkPacket(args[0])) observe(args[0]);
      } else if (event === 'error') fail(args[0]);
      else if (event === 'end') finish();
      return emit.call(this, event, ...args);
    };
  }

  /** Reads the transaction flag, the session-change flag and a change of schema from a result's OK packets. */
  #observe(result: unknown, opensTransaction: boolean): void {
    const status = statusOf(result);
    if (status === undefined) {
      if (opensTransaction) this.#inTransaction = true;
      return;
    }
    this.#inTransaction = (status & SERVER_STATUS_IN_TRANS) !== 0;
    if ((status & SERVER_SESSION_STATE_CHANGED) !== 0) {
      this.#sessionDirty = true;
      if (schemaReported(result)) this.#schemaChanged = true;
    }
  }

  /**
   * A command failed. A fatal error (mysql2 marks those `fatal`) broke the connection. A read-only error
   * (1290, 1792, 1836: what a writer demoted by a failover returns) makes it unfit for the writes it was
   * opened for: it is retired when it comes back, as mysql2's pool destroys it.
   */
  #failed(error: unknown, fatal: boolean): void {
    const errno = (error as { errno?: unknown } | null)?.errno;
    const readOnly = typeof errno === 'number' && READ_ONLY_ERRNOS.has(errno);
    if (fatal || (error as { fatal?: unknown } | null)?.fatal === true || readOnly) {
      if (readOnly && !this.#lifecycle.broken && !this.#lifecycle.closing) {
        this.#host.log('warn', 'The server answered with a read-only error (a failover demoted it?): the connection is retired', {
          connection: this.serial,
          threadId: this.threadId,
          errno,
          error,
        });
      }
      this.#lifecycle.markBroken(error);
    }
  }

  /** Runs one query/execute command. `onCommand` sees mysql2's command object once the callback ran. */
  #run(kind: 'query' | 'execute', options: QueryOptions, values: unknown, onCommand: (cmd: unknown) => void): Promise<[unknown, unknown]> {
    return new Promise((resolve, reject) => {
      let cmd: unknown;
      const cb: Callback = (err, result, fields) => {
        onCommand(cmd);
        if (err) reject(err);
        else resolve([result, fields]);
      };
      this.#ownStatement = true;
      try {
        cmd = kind === 'query' ? this.#raw.query(options, values, cb) : this.#raw.execute(options, values, cb);
      } catch (error) {
        reject(error);
      } finally {
        this.#ownStatement = false;
      }
    });
  }

  /** Runs a callback-style command of the factory's own (not classified), abandoned (rejected) when `signal` aborts. */
  async #command(send: (cb: Callback) => unknown, signal?: AbortSignal): Promise<unknown> {
    if (signal?.aborted) throw signal.reason;
    const running = new Promise<unknown>((resolve, reject) => {
      this.#quiet = true;
      try {
        send((err, result) => (err ? reject(err) : resolve(result)));
      } catch (error) {
        reject(error);
      } finally {
        this.#quiet = false;
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
   * Returns the session to the state of a new connection. COM_RESET_CONNECTION rolls back, drops temp
   * tables, releases locks, resets variables and closes prepared statements, but keeps the user and the
   * default database: after a `USE`, the configured database is selected again (`USE`, or COM_CHANGE_USER
   * when none is configured, since no statement deselects a database), and after a `changeUser()`,
   * COM_CHANGE_USER with the pool's credentials. COM_CHANGE_USER (`command` `'changeUser'`) does all of
   * this with a re-authentication, after a ROLLBACK. Recorded session setup is then run again.
   */
  async #reset(command: MysqlResetCommand, signal: AbortSignal): Promise<void> {
    if (this.#lifecycle.broken) throw this.#lifecycle.brokenError;
    if (this.#inflight > 0 && this.#raw._paused === true) {
      // A result stream its reader abandoned (paused, never resumed): nothing more can run on it.
      throw new Error('The connection was released while a paused result stream was still open');
    }
    // mysql2 follows `SET NAMES` and `changeUser()` in `client.config` (and sends what it holds there
    // with COM_CHANGE_USER); the session is the handshake's again after the reset, so restore it first.
    Object.assign(this.#raw.config, this.#original);
    const database = this.#original.database;
    const schema = this.#schemaChanged;
    const useChangeUser = command === 'changeUser' || this.#userChanged || (schema && !database);
    if (!useChangeUser) {
      await this.#command((cb) => this.#raw.reset(cb), signal);
      if (schema && database)
        await this.#command((cb) => this.#raw.query({ sql: `USE ${escapeIdentifier(database)}` }, undefined, cb), signal);
    } else {
      if (this.#inTransaction) await this.#command((cb) => this.#raw.query({ sql: 'ROLLBACK' }, undefined, cb), signal);
      await this.#command((cb) => this.#raw.changeUser({}, cb), signal);
    }
    // The server dropped every prepared statement and mysql2 forgot them: so do we (nothing to close).
    this.#cache?.clear();
    this.#sessionDirty = false;
    this.#inTransaction = false;
    this.#userChanged = false;
    this.#schemaChanged = false;
    await this.#enableTracking(signal);
    for (const statement of this.#setup) {
      await this.#command(
        (cb) =>
          statement.kind === 'query'
            ? this.#raw.query({ sql: statement.sql }, undefined, cb)
            : this.#raw.execute({ sql: statement.sql }, statement.values, cb),
        signal,
      );
    }
  }
}

/** What a reset must not forget: the session settings of the handshake, as mysql2 keeps them in `connection.config`. */
interface OriginalSession {
  user: unknown;
  password: unknown;
  password1: unknown;
  password2: unknown;
  password3: unknown;
  passwordSha1: unknown;
  database: string | undefined;
  charsetNumber: number;
}

/** A statement that set the session up, to run again after a reset. */
interface SetupStatement {
  readonly kind: 'query' | 'execute';
  readonly sql: string;
  readonly values: unknown;
}

/** @internal What {@link MysqlConnection}'s `kInternals` gives the factory and the pool facade. */
export interface ConnectionInternals {
  lifecycle: ConnectionLifecycle;
  run(sql: string, signal?: AbortSignal): Promise<unknown>;
  ping(signal?: AbortSignal): Promise<void>;
  enableTracking(signal?: AbortSignal): Promise<void>;
  reset(command: MysqlResetCommand, signal: AbortSignal): Promise<void>;
  /** Forgets session changes made so far (after the factory's own setup). */
  clean(): void;
  busy(): boolean;
  /** The last statement error since the previous call, if any (reported to the pool with the release). */
  takeFailure(): unknown;
  /**
   * Runs `fn`; the statements queued on the connection while it runs (the pool's `connection`
   * listeners, say) are its session setup: they do not make it dirty, and they run again after each reset.
   */
  recordSetup(fn: () => void): void;
}

/** The parts of mysql2's statement LRU (lru.min) read here. */
interface StatementLru {
  readonly size: number;
  readonly max: number;
  has(key: string): boolean;
}

/** mysql2's key of a prepared statement in its LRU (`Connection.statementKey`). */
const statementKey = (mysql.Connection as unknown as { statementKey(options: object): string }).statementKey;

const NO_EFFECTS: Effects = Object.freeze({ session: false, transaction: false, routine: false, schema: false });

/** Errors that say the server is read-only now: ER_OPTION_PREVENTS_STATEMENT (a demoted Aurora/RDS writer), ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION, ER_READ_ONLY_MODE. */
const READ_ONLY_ERRNOS: ReadonlySet<number> = new Set([1290, 1792, 1836]);

/** An OK packet (mysql2's `ResultSetHeader`), as opposed to a row. */
function isOkPacket(value: unknown): boolean {
  return (
    typeof value === 'object' && value !== null && (value as { constructor?: { name?: string } }).constructor?.name === 'ResultSetHeader'
  );
}

/** True when a result's OK packet reports a new default schema (session tracking's `SESSION_TRACK_SCHEMA`). */
function schemaReported(result: unknown): boolean {
  if (Array.isArray(result)) return result.some(schemaReported);
  const changes = (result as { stateChanges?: { schema?: unknown } } | null)?.stateChanges;
  return typeof changes?.schema === 'string';
}

/** `` `name` `` with backticks doubled. */
function escapeIdentifier(name: string): string {
  return `\`${name.replaceAll('`', '``')}\``;
}
