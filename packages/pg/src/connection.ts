import { inspect } from 'node:util';
import { InvalidArgumentError, type LogLevel } from '@pool/core';
import { abortable, ConnectionLifecycle, type FactoryCounters } from '@pool/core/adapter';
import { LRUCache } from 'lru-cache';
import type pg from 'pg';
import { classify } from './classify.js';
import {
  clientAwaitsReadyForQuery,
  clientEnding,
  clientHolds,
  clientNotReadyReason,
  isSubmittable,
  type PgSubmittable,
  sqlTextOf,
} from './client-state.js';

export { isSubmittable, type PgSubmittable } from './client-state.js';

/** A query as `pg` takes it: text, or a config object (`{ text, values, rowMode, types, name... }`). */
export type PgQuery = string | pg.QueryConfig | pg.QueryArrayConfig;

/** PostgreSQL's transaction status, from the last ReadyForQuery message: idle, in a transaction, in a failed transaction. */
export type PgTransactionStatus = 'I' | 'T' | 'E';

/** @internal What a connection shares with its factory. */
export interface ConnectionHost {
  readonly allowExitOnIdle: boolean;
  /** Statement-cache and query-error counts, and the cache capacity. */
  readonly counters: FactoryCounters<PgConnection>;
  readonly describe: string;
  /** Writes to the factory's logger (nothing without one); `server` is added. */
  readonly log: (level: LogLevel, message: string, fields: Record<string, unknown>) => void;
}

/** @internal */
export const kInternals: unique symbol = Symbol('pg.internals');

interface CachedStatement {
  readonly name: string;
}

interface PgInternals {
  /** pg's per-connection records of parsed named statements (internal to pg, kept consistent here). */
  parsedStatements?: Record<string, unknown>;
  submittedNamedStatements?: Record<string, unknown>;
  stream?: { destroy(error?: Error): void };
}

let connectionCounter = 0;

function quoteIdent(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

/**
 * One PostgreSQL connection from {@link pgFactory}: a `pg.Client` plus what the pool needs to reuse it
 * safely — its transaction status, whether its session was changed, and a per-connection LRU cache of
 * prepared statements.
 *
 * Run queries through {@link PgConnection.query}: that is what keeps dirty tracking and the statement
 * cache right. `client` is the raw `pg.Client` for what this class does not wrap (`COPY` streams,
 * cursors, `LISTEN` notifications); a session change made through it should be followed by
 * {@link PgConnection.markDirty}.
 *
 * @example
 * ```ts
 * await pool.use(async (db) => {
 *   const { rows } = await db.query('SELECT * FROM users WHERE id = $1', [42]); // prepared and cached
 *   return rows;
 * });
 * ```
 */
export class PgConnection {
  /** The underlying `pg.Client`. */
  readonly client: pg.Client;
  /** A number unique in this process, for logs. */
  readonly serial: number;
  readonly #host: ConnectionHost;
  readonly #cache: LRUCache<string, CachedStatement> | null;
  /** Names evicted from the cache, to deallocate on the server when it is safe. */
  readonly #evicted: string[] = [];
  /** Names of ours that may or may not still exist on the server (after a user DEALLOCATE / DISCARD ALL). */
  readonly #inDoubt: string[] = [];
  #nextStatement = 0;
  #sessionDirty = false;
  #userStatements = false;
  #inflight = 0;
  #status: PgTransactionStatus | null = 'I';
  readonly #lifecycle: ConnectionLifecycle;

  /** @internal Made by the factory only. */
  constructor(client: pg.Client, host: ConnectionHost, markBroken: (error?: unknown) => void) {
    this.client = client;
    this.serial = ++connectionCounter;
    this.#host = host;
    this.#lifecycle = new ConnectionLifecycle(markBroken);
    const size = host.counters.statementCacheCapacity;
    this.#cache =
      size > 0
        ? new LRUCache<string, CachedStatement>({
            max: size,
            dispose: (value, _key, reason) => {
              if (reason !== 'evict') return;
              host.counters.evictions++;
              this.#evicted.push(value.name);
            },
          })
        : null;
    client.on('error', (error: Error) => this.#cut(error));
    client.on('end', () => this.#cut(new Error('Connection terminated unexpectedly')));
    // A FATAL ErrorResponse (57P01 pg_terminate_backend, 57P02/57P03 shutdown...) ends the session
    // before the socket closes; pg rejects the running query with it at once. Broken from here, so a
    // client released in between is retired as broken, never reset or lent again. (Registered before
    // pg's own listener, which connect() adds, so it runs before the query's rejection is seen.)
    const protocol = (client as unknown as { connection?: NodeJS.EventEmitter }).connection;
    protocol?.on('errorMessage', (message: Error & { severity?: string }) => {
      if (message.severity === 'FATAL' || message.severity === 'PANIC') this.#cut(message);
    });
    if (typeof (client as { getTransactionStatus?: unknown }).getTransactionStatus !== 'function') {
      // pg before getTransactionStatus(): read the status from the protocol's ReadyForQuery ourselves.
      protocol?.on('readyForQuery', (msg: { status?: string }) => {
        this.#status = (msg.status as PgTransactionStatus | undefined) ?? null;
      });
    }
  }

  /** The server process id of this session (`pg_backend_pid()`), once connected. */
  get processID(): number | null {
    return (this.client as unknown as { processID: number | null }).processID ?? null;
  }

  /**
   * `'I'` idle, `'T'` in a transaction, `'E'` in a failed transaction (from PostgreSQL's last
   * ReadyForQuery); `null` when unknown (no ReadyForQuery seen yet).
   */
  get transactionStatus(): PgTransactionStatus | null {
    const c = this.client as { getTransactionStatus?: () => string | null };
    if (typeof c.getTransactionStatus === 'function') return (c.getTransactionStatus() as PgTransactionStatus | null) ?? null;
    return this.#status;
  }

  /**
   * Why the client cannot take a query now, or `null` when it can: a query or a submittable (an open
   * pg-cursor, an unconsumed pg-query-stream, a query still running) is active or queued, the client
   * was ended or can no longer be queried, or the transaction status is unknown. The reset of a
   * released connection waits (within its timeout) for the ReadyForQuery after a server error; if the
   * connection is still not ready, it is retired, never lent again (the next borrower's query would
   * otherwise wait behind a cursor, possibly forever).
   */
  get notReadyReason(): string | null {
    if (this.#lifecycle.broken) return 'the connection is broken';
    const reason = clientNotReadyReason(this.client);
    if (reason !== null) return reason;
    if (this.transactionStatus === null) return 'its transaction status is unknown';
    return null;
  }

  /** True while a transaction is open (also a failed one, which still needs a `ROLLBACK`). */
  get inTransaction(): boolean {
    const s = this.transactionStatus;
    return s === 'T' || s === 'E';
  }

  /** True once the connection broke (server restart, `pg_terminate_backend`, network error). */
  get broken(): boolean {
    return this.#lifecycle.broken;
  }

  /** Why it broke, if it did. */
  get brokenError(): unknown {
    return this.#lifecycle.brokenError;
  }

  /**
   * True when the session carries state a reset must clear: an open transaction, a session change
   * seen in a query (`SET`, `LISTEN`, temp tables, advisory locks, `PREPARE`...), a statement still
   * running (also one whose caller gave up, as after pg's `query_timeout`), or a statement-cache cleanup
   * that is due.
   */
  get dirty(): boolean {
    // Cheapest first: checked on every release.
    return (
      this.#lifecycle.broken ||
      this.#inflight > 0 ||
      this.#sessionDirty ||
      this.#evicted.length > 0 ||
      this.#inDoubt.length > 0 ||
      this.transactionStatus !== 'I' || // also null: unknown
      clientNotReadyReason(this.client) !== null // a statement, cursor or stream still runs; the client was ended
    );
  }

  /** Prepared statements cached on this connection right now. */
  get cachedStatements(): number {
    return this.#cache?.size ?? 0;
  }

  /** Tells the pool this session was changed outside {@link query} (through `client`), so it is reset before reuse. */
  markDirty(): void {
    this.#sessionDirty = true;
  }

  /**
   * Runs a query, like `pg.Client#query` (same arguments, same result, same errors). With a
   * `statementCacheSize`, a query with a non-empty `values` array runs as a named prepared statement
   * cached per connection (LRU): PostgreSQL parses and plans it once, later calls only bind and
   * execute. A query without values (or with `[]`) runs on the simple protocol, as pg runs it (several
   * statements allowed), and is never cached; pass `{ text, values, name }` to manage a statement
   * yourself.
   *
   * A submittable (pg-cursor's `Cursor`, pg-query-stream's `QueryStream`, a `pg.Query`) is handed to
   * the client and returned as it is, synchronously, as `pg.Client#query` does. Close the cursor (or
   * consume or destroy the stream) before releasing the connection: one released with it still open is
   * retired instead of lent again (see {@link notReadyReason}).
   */
  query<S extends PgSubmittable>(submittable: S): S;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow>(query: PgQuery | PgSubmittable, values?: unknown[]): Promise<pg.QueryResult<R>> | PgSubmittable {
    if (isSubmittable(query)) return this.#submit(query);
    return this.#query<R>(query, values);
  }

  async #query<R extends pg.QueryResultRow>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>> {
    let config: pg.QueryConfig;
    if (typeof query === 'string') config = values === undefined ? { text: query } : { text: query, values };
    else if (typeof query === 'object' && query !== null && typeof query.text === 'string') {
      config = (values === undefined ? query : { ...query, values }) as pg.QueryConfig;
    } else {
      throw new InvalidArgumentError('query', query, 'must be SQL text or a { text, values? } query config');
    }
    if (config.values !== undefined && !Array.isArray(config.values)) {
      throw new InvalidArgumentError('values', config.values, 'must be an array of query parameters');
    }
    const text = config.text;
    const effects = classify(text);
    if (effects.session) this.#sessionDirty = true;
    if (effects.prepares || config.name !== undefined) this.#userStatements = true;
    const cache = this.#cache;
    let statement: CachedStatement | undefined;
    // pg runs a query without values, or with `[]`, on the simple protocol (where several statements are
    // allowed): preparing it would change what it may contain.
    if (cache !== null && config.values !== undefined && config.values.length > 0 && config.name === undefined && !effects.session) {
      statement = cache.get(text);
      const counters = this.#host.counters;
      if (statement === undefined) {
        counters.misses++;
        statement = { name: `__pool_${this.serial}_${++this.#nextStatement}` };
        cache.set(text, statement);
      } else counters.hits++;
      // Deallocate evicted statements now, outside a transaction only (a failure there would abort the
      // borrower's transaction); inside one they wait for the next idle moment or the reset.
      if (this.#evicted.length > 0 && this.transactionStatus === 'I') await this.#deallocateEvicted().catch(() => {});
      config = { ...config, name: statement.name };
    }
    try {
      // A plain SQL string goes to pg as a string: pg copies a config object property by property.
      const result = await (statement === undefined && typeof query === 'string'
        ? this.#run<R>(text, undefined, config.values)
        : this.#run<R>(config));
      if (effects.deallocates) this.#statementsInDoubt();
      return result;
    } catch (error) {
      this.#host.counters.queryErrors++;
      if (statement !== undefined && !this.#parsed(statement.name)) cache?.delete(text); // never parsed: nothing on the server
      throw error;
    }
  }

  /** Hands a submittable to the client (session effects of its text noted) and keeps the connection counted busy until it is done. */
  #submit<S extends PgSubmittable>(submittable: S): S {
    const text = sqlTextOf(submittable);
    const { name } = submittable as { name?: unknown };
    if (typeof text === 'string') {
      const effects = classify(text);
      if (effects.session) this.#sessionDirty = true;
      if (effects.prepares) this.#userStatements = true;
      if (effects.deallocates) this.#statementsInDoubt();
    }
    if (typeof name === 'string' && name !== '') this.#userStatements = true;
    const result = this.client.query(submittable);
    this.#busyUntilDone(submittable);
    return result;
  }

  /**
   * Counts `submittable` in flight (keeping the client referenced under `allowExitOnIdle`) until pg no
   * longer holds it: checked at each ReadyForQuery, and at the end of the connection.
   */
  #busyUntilDone(submittable: PgSubmittable): void {
    const client = this.client;
    const connection = (this.client as unknown as { connection?: NodeJS.EventEmitter }).connection;
    if (connection === undefined) return;
    if (this.#inflight++ === 0 && this.#host.allowExitOnIdle) (this.client as unknown as { ref(): void }).ref();
    const check = (): void => {
      if (clientHolds(client, submittable) && !this.#lifecycle.broken) return;
      connection.off('readyForQuery', check);
      client.off('end', done);
      if (--this.#inflight === 0 && this.#host.allowExitOnIdle) (this.client as unknown as { unref(): void }).unref();
    };
    const done = (): void => {
      // The connection ended: nothing is held any more.
      connection.off('readyForQuery', check);
      client.off('end', done);
      if (--this.#inflight === 0 && this.#host.allowExitOnIdle) (this.client as unknown as { unref(): void }).unref();
    };
    connection.on('readyForQuery', check);
    client.on('end', done);
  }

  /** The client reported an error or its end: broken. A cut the pool did not ask for is logged (warn). */
  #cut(error: Error): void {
    const lifecycle = this.#lifecycle;
    // Not news: a connection already broken, one the pool is closing, one its borrower ended (client.end()).
    const news = !lifecycle.broken && !lifecycle.closing && lifecycle.live && !clientEnding(this.client);
    lifecycle.markBroken(error); // the pool may close the connection at once
    if (!news) return;
    this.#host.log('warn', 'A pooled PostgreSQL connection was closed by the server or the network: the pool replaces it', {
      connection: this.serial,
      pid: this.processID,
      transactionStatus: this.transactionStatus,
      queriesInFlight: this.#inflight,
      error,
    });
  }

  /** A short description (never the password). */
  toString(): string {
    return `PgConnection(#${this.serial}, pid ${this.processID ?? '-'}, ${this.#lifecycle.status}, ${this.#host.describe})`;
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }

  /** @internal What the factory needs. */
  get [kInternals](): {
    lifecycle: ConnectionLifecycle;
    run: <R extends pg.QueryResultRow>(config: pg.QueryConfig | string, signal?: AbortSignal) => Promise<pg.QueryResult<R>>;
    reset(mode: 'session' | 'all', signal: AbortSignal): Promise<boolean>;
    settle(signal: AbortSignal): Promise<void>;
    clean(): void;
  } {
    return {
      lifecycle: this.#lifecycle,
      run: (config, signal) => this.#run(config, signal),
      reset: (mode, signal) => this.#reset(mode, signal),
      settle: (signal) => this.#settle(signal),
      clean: () => {
        this.#sessionDirty = false;
        this.#userStatements = false;
      },
    };
  }

  #pg(): PgInternals {
    return ((this.client as unknown as { connection?: PgInternals }).connection ?? {}) as PgInternals;
  }

  #parsed(name: string): boolean {
    return this.#pg().parsedStatements?.[name] !== undefined;
  }

  /** Forgets `names` in pg's records, so a later use of the same name parses again. */
  #forget(names: Iterable<string>): void {
    const { parsedStatements, submittedNamedStatements } = this.#pg();
    for (const name of names) {
      if (parsedStatements !== undefined) delete parsedStatements[name];
      if (submittedNamedStatements !== undefined) delete submittedNamedStatements[name];
    }
  }

  /** Runs a query with the in-flight count (for allowExitOnIdle and dirtiness) and an optional abort. */
  /** Runs SQL text (with `values`) or a query config on the client. */
  async #run<R extends pg.QueryResultRow>(
    config: pg.QueryConfig | string,
    signal?: AbortSignal,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    if (this.#inflight++ === 0 && this.#host.allowExitOnIdle) (this.client as unknown as { ref(): void }).ref();
    try {
      const pending = typeof config === 'string' ? this.client.query<R>(config, values) : this.client.query<R>(config);
      return await abortable(pending, signal);
    } catch (error) {
      // Only a server error (an ErrorResponse, which carries `severity`) is followed by a ReadyForQuery
      // at once; a client-side error (query_timeout, a bad value) must not wait for the server.
      if (signal?.aborted !== true && typeof (error as { severity?: unknown } | null)?.severity === 'string') await this.#readyForQuery();
      throw error;
    } finally {
      if (--this.#inflight === 0 && this.#host.allowExitOnIdle) (this.client as unknown as { unref(): void }).unref();
    }
  }

  /**
   * pg rejects a failed query as soon as the ErrorResponse arrives, before the ReadyForQuery that
   * carries the new transaction status ('E' after an error inside a transaction, or after
   * `BEGIN; SELECT 1/0`). Waiting for it keeps `transactionStatus` and `dirty` true to the server when
   * the caller sees the error (and releases the connection).
   */
  #readyForQuery(): Promise<void> {
    const client = this.client as unknown as { readyForQuery?: boolean; connection?: NodeJS.EventEmitter };
    const connection = client.connection;
    if (client.readyForQuery !== false || connection === undefined || this.#lifecycle.broken || this.#lifecycle.closing) {
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = (): void => {
        connection.off('readyForQuery', done);
        connection.off('end', done);
        resolve();
      };
      connection.on('readyForQuery', done);
      connection.on('end', done);
    });
  }

  /**
   * Waits (until `signal` aborts) for the ReadyForQuery that follows a server error, when that is all
   * the client waits for: a borrower that released right after a failed query left a healthy
   * connection whose status is about to arrive, not a busy one. (Plain queries a borrower left running
   * are `createPgPool`'s to let finish before the release; what is still running here is retired.)
   */
  async #settle(signal: AbortSignal): Promise<void> {
    if (!this.#lifecycle.broken && !this.#lifecycle.closing && clientAwaitsReadyForQuery(this.client)) {
      await abortable(this.#readyForQuery(), signal);
    }
  }

  /** Deallocates evicted statements on the server (outside a transaction, so a failure cannot abort one). */
  async #deallocateEvicted(signal?: AbortSignal): Promise<void> {
    const names = this.#evicted.splice(0);
    if (names.length === 0) return;
    try {
      await this.#run(names.map((n) => `DEALLOCATE ${quoteIdent(n)}`).join('; '), signal);
      this.#forget(names);
    } catch (error) {
      this.#evicted.push(...names);
      throw error;
    }
  }

  /** After a user DEALLOCATE / DISCARD ALL: our statements may be gone; stop using them, check at reset. */
  #statementsInDoubt(): void {
    const cache = this.#cache;
    const names: string[] = [...this.#evicted.splice(0)];
    if (cache !== null) {
      for (const value of cache.values()) names.push(value.name);
      cache.clear();
    }
    this.#forget(names);
    this.#inDoubt.push(...names);
    this.#userStatements = true;
  }

  /**
   * Returns the session to a clean state. `'session'` keeps our prepared statements (the cache stays
   * valid); `'all'` runs `DISCARD ALL` and empties the cache. Returns true when session state was reset
   * (so the factory re-applies `onConnect`).
   */
  async #reset(mode: 'session' | 'all', signal: AbortSignal): Promise<boolean> {
    await this.#settle(signal);
    if (this.#lifecycle.broken) throw this.#lifecycle.brokenError;
    const notReady = this.notReadyReason;
    if (notReady !== null) {
      this.#host.log('info', `A PostgreSQL connection was released while ${notReady}: the pool retires it instead of lending it again`, {
        connection: this.serial,
        pid: this.processID,
        reason: notReady,
      });
      throw new Error(`${this.toString()} cannot be reused: ${notReady}`);
    }
    const steps: string[] = [];
    if (this.transactionStatus !== 'I') {
      steps.push(`ROLLBACK (transaction status ${this.transactionStatus})`);
      await this.#run('ROLLBACK', signal);
    }
    const sessionReset = mode === 'all' || this.#sessionDirty || this.#userStatements;
    if (sessionReset) steps.push(mode === 'all' ? 'DISCARD ALL' : 'session state cleared');
    if (this.#evicted.length > 0) steps.push(`${this.#evicted.length} evicted statements deallocated`);
    if (steps.length > 0)
      this.#host.log('debug', `PostgreSQL session reset: ${steps.join(', ')}`, { connection: this.serial, pid: this.processID, steps });
    if (mode === 'all') {
      await this.#run('DISCARD ALL', signal);
      const { parsedStatements, submittedNamedStatements } = this.#pg();
      this.#forget(Object.keys(parsedStatements ?? {}).concat(Object.keys(submittedNamedStatements ?? {})));
      this.#cache?.clear();
      this.#evicted.length = 0;
      this.#inDoubt.length = 0;
    } else {
      if (this.#sessionDirty) {
        await this.#run(
          'CLOSE ALL; SET SESSION AUTHORIZATION DEFAULT; RESET ALL; UNLISTEN *; SELECT pg_advisory_unlock_all(); DISCARD TEMP; DISCARD SEQUENCES',
          signal,
        );
      }
      if (this.#userStatements || this.#inDoubt.length > 0) await this.#dropForeignStatements(signal);
      await this.#deallocateEvicted(signal);
    }
    this.#sessionDirty = false;
    this.#userStatements = false;
    return sessionReset;
  }

  /** Deallocates every prepared statement on the server that is not in our cache. */
  async #dropForeignStatements(signal: AbortSignal): Promise<void> {
    const ours = new Set<string>();
    if (this.#cache !== null) for (const value of this.#cache.values()) ours.add(value.name);
    const { rows } = await this.#run<{ name: string }>('SELECT name FROM pg_prepared_statements', signal);
    const foreign = rows.map((r) => r.name).filter((name) => !ours.has(name));
    if (foreign.length > 0) await this.#run(foreign.map((n) => `DEALLOCATE ${quoteIdent(n)}`).join('; '), signal);
    this.#forget(foreign);
    this.#inDoubt.length = 0;
  }
}
