import { inspect } from 'node:util';
import {
  type AcquireOptions,
  ConnectionCreateError,
  ConnectionPool,
  ConnectionTimeoutError,
  PoolClosedError,
  type PooledConnection,
} from '@pool/core';
import { DriverPool, impersonate, poolLogger, promiseOrCallback, rethrowLater } from '@pool/core/adapter';
import pg from 'pg';
import { isSubmittable, kInternals, type PgConnection, type PgQuery, type PgSubmittable } from './connection.js';
import { PgFactory } from './factory.js';
import { isMultiHostConfig, type PgMultiHostConfig } from './multi-host-config.js';
import { MultiHostPgFactory } from './multi-host-factory.js';
import { ClientState, doubleReleaseError, type PgPoolClient } from './pool-client.js';
import { mapPgPoolOptions, type PgPoolBehaviour, type PgPoolOptions } from './pool-options.js';
import { SubmittableRun } from './submittable-run.js';

/** pg.Pool's events, with pg.Pool's arguments and order. */
export interface PgPoolEvents {
  /** A new client connected (after `onConnect`), before its first borrower gets it. Statements sent here are its session set-up. */
  connect: [client: PgPoolClient];
  /** A client is handed to a caller (`connect()` or `query()`). */
  acquire: [client: PgPoolClient];
  /** A client was given back; `err` is what `release(err)` got (`undefined` for a plain release). */
  release: [err: Error | boolean | undefined, client: PgPoolClient];
  /** A client was closed and left the pool. */
  remove: [client: PgPoolClient];
  /** An idle client failed (the server ended the session, the network dropped); it is already closed and replaced. Emitted only when someone listens. */
  error: [err: Error & { client?: PgPoolClient }, client: PgPoolClient];
}

/** `pool.connect(callback)`'s callback, as pg.Pool calls it. */
export type PgConnectCallback = (err: Error | undefined, client: PgPoolClient | undefined, done: (release?: unknown) => void) => void;
/** `pool.query(..., callback)`'s callback, as pg.Pool calls it. */
export type PgQueryCallback<R extends pg.QueryResultRow = Record<string, unknown>> = (
  err: Error | undefined,
  result: pg.QueryResult<R> | undefined,
) => void;
/**
 * `pool.query(submittable, callback)`'s callback: called once the submittable is done, with its error,
 * or with what it passed its own callback (pg-query-stream: the cursor's result; pg-cursor: nothing).
 */
export type PgSubmittableCallback = (err: Error | undefined, result: unknown) => void;

const FAIL_FAST: AcquireOptions = Object.freeze({ failFast: true });

/** pg's internal query queues (pg 8.x; older versions have no underscore). */
interface PgQueues {
  _activeQuery?: unknown;
  _queryQueue?: unknown[];
  _sentQueryQueue?: unknown[];
}

/** True when only plain queries (`pg.Query`, not a cursor or a stream) are still running or queued on the client. */
function plainQueriesRunning(client: PgPoolClient): boolean {
  const c = client as unknown as PgQueues;
  if (!('_activeQuery' in c) || !Array.isArray(c._queryQueue)) return false;
  const running = [c._activeQuery, ...c._queryQueue, ...(c._sentQueryQueue ?? [])].filter((q) => q !== null && q !== undefined);
  return running.length > 0 && running.every((q) => q instanceof pg.Query);
}
const noop = (): void => {};

/** pg.Pool's messages, for the errors pg.Pool raises itself (the engine's error is the `cause`); a failed connect's own error. */
function asPgError(error: unknown): unknown {
  if (error instanceof ConnectionTimeoutError) {
    return Object.assign(new Error('timeout exceeded when trying to connect', { cause: error }), { code: error.code });
  }
  if (error instanceof ConnectionCreateError) {
    if (error.cause instanceof ConnectionCreateError) return asPgError(error.cause);
    if (error.cause === undefined || /did not finish within/.test(error.message)) {
      // The connect timed out (connectionTimeoutMillis): pg.Pool's message for it.
      return Object.assign(new Error('Connection terminated due to connection timeout', { cause: error }), { code: error.code });
    }
    return error.cause;
  }
  if (error instanceof PoolClosedError) return new Error('Cannot use a pool after calling end on the pool', { cause: error });
  return error;
}

/**
 * A PostgreSQL pool that is a drop-in for `pg.Pool`: `createPgPool(config)` in place of
 * `new pg.Pool(config)` keeps code written for pg.Pool working, callbacks and promises alike, and
 * libraries that take a pg.Pool (`@prisma/adapter-pg`, Drizzle, Kysely) accept it: `instanceof pg.Pool` holds.
 *
 * - `query(text, values?, callback?)`, `connect(callback?)`, `end(callback?)` as in pg.Pool: a callback
 *   is called once and never synchronously, and then no promise is returned.
 * - The borrowed client is pg's own `Client` ({@link PgPoolClient}), the same object for the same
 *   connection on every borrow, with `release(err?)`.
 * - pg.Pool's events (`connect`, `acquire`, `release`, `remove`, `error`) with pg.Pool's arguments;
 *   `totalCount`, `idleCount`, `waitingCount`, `expiredCount`, `ending`, `ended`, `options`.
 * - The caller whose request opened a connection that failed gets that connect error at once.
 *
 * On top, @pool's engine (`pool.pool`): a client its borrower left dirty (open transaction, `SET`,
 * `LISTEN`, temp tables...) is reset before reuse, an idle client that dies never crashes the process,
 * waits are bounded, and everything is observable (`pool.pool.on(...)`, `statistics()`).
 */
export class PgPool extends DriverPool<PgConnection, PgFactory, PgPoolEvents> {
  /** The options as given (pg.Pool's `pool.options`, with its defaults for `max`, `min`, `idleTimeoutMillis`, `maxUses`...). */
  readonly options: Readonly<Record<string, unknown>>;
  readonly #behaviour: PgPoolBehaviour;
  readonly #clients: Map<pg.Client, ClientState>;
  #ending = false;
  #ended = false;
  #endPromise: Promise<void> | undefined;
  /** The next idle-timeout check (one timer for the pool, at the deadline of the connection idle longest). */
  #idleTimer: ReturnType<typeof setTimeout> | undefined;

  /** @internal Use {@link createPgPool}. */
  constructor(
    pool: ConnectionPool<PgConnection>,
    factory: PgFactory,
    options: Readonly<Record<string, unknown>>,
    behaviour: PgPoolBehaviour,
    clients: Map<pg.Client, ClientState>,
  ) {
    super('PgPool', pool, factory);
    this.options = options;
    this.#behaviour = behaviour;
    this.#clients = clients;
    if (pool.config.idleTimeoutMs !== null) pool.requestBorrowTiming(); // exact idle times, for pg.Pool's per-client idle timeout
    if (behaviour.log !== null) {
      pool.on('destroy', ({ reason }) => {
        if (reason === 'idle') this.#log('remove idle client');
        else if (reason === 'lifetime') this.#log('remove expired client');
      });
    }
  }

  /**
   * Runs one query on a client of the pool, as `pg.Pool#query`: `(text, values?)`, `(config)`, each
   * with an optional callback `(err, result)`. Without a callback, returns a promise of pg's result.
   * A query error is reported to the pool with the release (adaptive aging) and given back as pg
   * raised it; the connection stays in the pool (pg.Pool closes it: see docs/migrating.md).
   *
   * A submittable (pg-cursor's `Cursor`, pg-query-stream's `QueryStream`, a `pg.Query`) is returned
   * as it is, synchronously (as `@types/pg` declares it and `client.query` does; pg.Pool returns a
   * promise of its end: see docs/migrating.md); it runs on a client of the pool, which is given back
   * once the submittable is done: ended, failed (its error is delivered to it, and to `callback`), or
   * closed (a destroyed stream closes its cursor first). A connect error, or the pool having ended,
   * reaches it through its `handleError`, as pg delivers a client's errors to it.
   */
  query<S extends PgSubmittable>(submittable: S, callback?: PgSubmittableCallback): S;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, values?: unknown[]): Promise<pg.QueryResult<R>>;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(query: PgQuery, callback: PgQueryCallback<R>): undefined;
  query<R extends pg.QueryResultRow = Record<string, unknown>>(
    query: PgQuery,
    values: unknown[] | undefined,
    callback: PgQueryCallback<R>,
  ): undefined;
  query(query: unknown, values?: unknown, callback?: unknown): Promise<pg.QueryResult> | PgSubmittable | undefined {
    if (typeof query === 'function') {
      // As pg.Pool: a function as the query is reported to it as an error.
      return promiseOrCallback(
        'callback',
        query,
        () => this.#promise(Promise.reject(new Error('Passing a function as the first parameter to pool.query is not supported'))),
        noop as never,
        (e) => [e],
      );
    }
    let params = values;
    let cb = callback;
    if (typeof params === 'function') {
      cb = params;
      params = undefined;
    }
    if (isSubmittable(query)) {
      if (cb !== undefined && typeof cb !== 'function') throw new TypeError('callback is not a function');
      return this.#submit(query, cb as PgSubmittableCallback | undefined);
    }
    return promiseOrCallback(
      'callback',
      cb,
      () => this.#promise(this.#query(query as PgQuery, params as unknown[] | undefined)),
      (result) => [undefined, result],
      (error) => [error],
    );
  }

  /**
   * Borrows a client, as `pg.Pool#connect`: with a callback, `callback(err, client, done)` (`done` is
   * `client.release`); without one, a promise of the client. Give it back with `client.release()`.
   */
  connect(): Promise<PgPoolClient>;
  connect(callback: PgConnectCallback): undefined;
  connect(callback?: PgConnectCallback): Promise<PgPoolClient> | undefined {
    return promiseOrCallback(
      'callback',
      callback,
      () => this.#promise(this.#connect()),
      (client) => [undefined, client, client.release],
      (error) => [error, undefined, noop],
    );
  }

  /**
   * Ends the pool, as `pg.Pool#end`: callers already waiting still get a client and finish (a
   * graceful drain), new calls fail, borrowed clients close when released, then every connection
   * closes. Calls back (or resolves) when all is closed; a second call fails, as in pg.
   */
  // The promise form last: `pool.end.call(pool)` and `PgPool['end']` assignments resolve to it, as to
  // DriverPool's end().
  override end(callback: (err?: Error) => void): undefined;
  override end(): Promise<void>;
  override end(callback?: (err?: Error) => void): Promise<void> | undefined {
    return promiseOrCallback(
      'callback',
      callback,
      () => this.#promise(this.#end()),
      () => [],
      (error) => [error],
    );
  }

  /** Connections open or being opened (pg.Pool's `totalCount`). */
  get totalCount(): number {
    const size = this.pool.size();
    return size.total + size.pending;
  }

  /** Idle connections (pg.Pool's `idleCount`). */
  get idleCount(): number {
    return this.pool.size().idle;
  }

  /** Callers waiting for a connection that no connect in progress is opened for (pg.Pool's `waitingCount`). */
  get waitingCount(): number {
    const size = this.pool.size();
    return Math.max(0, size.waiting - size.pending);
  }

  /** Borrowed connections past their lifetime, closed when released (pg.Pool's `expiredCount`). */
  get expiredCount(): number {
    let n = 0;
    for (const info of this.pool.connections()) if (info.retiring === 'lifetime') n++;
    return n;
  }

  /** True once `end()` was called. */
  get ending(): boolean {
    return this.#ending;
  }

  /** True once `end()` finished. */
  get ended(): boolean {
    return this.#ended;
  }

  /** The clients, connecting ones included (pg.Pool's internal `_clients`, read-only). */
  get _clients(): pg.Client[] {
    return [...this.#clients.keys()];
  }

  /** The idle clients (pg.Pool's internal `_idle`, read-only: `length` and the clients). */
  get _idle(): pg.Client[] {
    return [...this.#clients.values()].filter((s) => s.ready && s.pooled === null && s.conn !== null).map((s) => s.client);
  }

  /** @internal The facade's part of setting a new client up, and of restoring its session after a reset. */
  async _setUp(conn: PgConnection): Promise<void> {
    const state = this.#clients.get(conn.client);
    if (state === undefined) return;
    state.conn = conn;
    if (state.ready) {
      await state.replaySetup();
      return;
    }
    state.recording = true;
    try {
      const { onConnect, verify } = this.#behaviour;
      if (onConnect !== null) await onConnect(conn.client);
      this.#log('new client connected');
      rethrowLater(() => this.emit('connect', conn.client as PgPoolClient));
      if (verify !== null) {
        await new Promise<void>((resolve, reject) => verify(conn.client, (err) => (err ? reject(err) : resolve())));
      }
    } finally {
      state.recording = false;
    }
    state.ready = true;
  }

  /** @internal A client was made (connecting). */
  _constructed(client: pg.Client): void {
    this.#log('connecting new client');
    const state = new ClientState(client);
    state.watchQueries();
    this.#clients.set(client, state);
    (client as unknown as NodeJS.EventEmitter).on?.('error', (err: Error & { client?: unknown }) => this.#idleError(state, err));
    // A FATAL ErrorResponse (57P01 terminated by an administrator, 57P02...) reaches the query before the
    // socket closes: the session is over, so the connection must not go back to the pool meanwhile.
    const protocol = (client as unknown as { connection?: NodeJS.EventEmitter }).connection;
    protocol?.on?.('errorMessage', (msg: { severity?: string; message?: string }) => {
      if (msg.severity === 'FATAL' || msg.severity === 'PANIC')
        state.fatal ??= Object.assign(new Error(msg.message ?? 'the server ended the session'), msg);
    });
  }

  /** @internal A client is gone (failed connect, or closed). */
  _closed(client: pg.Client, conn: PgConnection | null): void {
    const state = this.#clients.get(client);
    this.#clients.delete(client);
    if (conn === null) {
      this.#log('client failed to connect');
      return;
    }
    if (state?.ready === true) rethrowLater(() => this.emit('remove', client as PgPoolClient));
  }

  #idleError(state: ClientState, err: Error & { client?: unknown }): void {
    if (!state.ready || state.pooled !== null || !this.#clients.has(state.client)) return;
    err.client = state.client;
    this.#log('client error while idle', err);
    // The connection already left the pool (PgConnection reported it broken); as pg.Pool, tell listeners.
    if (this.listenerCount('error') > 0)
      rethrowLater(() => this.emit('error', err as Error & { client?: PgPoolClient }, state.client as PgPoolClient));
  }

  #log(message: string, ...details: unknown[]): void {
    const log = this.#behaviour.log;
    if (log !== null) rethrowLater(() => log(message, ...details));
  }

  /** A promise of the pool's `Promise` class (pg.Pool's `Promise` option). */
  #promise<T>(promise: Promise<T>): Promise<T> {
    const P = this.#behaviour.Promise;
    return P === Promise ? promise : new P<T>((resolve, reject) => promise.then(resolve, reject));
  }

  async #acquire(): Promise<PooledConnection<PgConnection>> {
    if (this.#ending) throw new Error('Cannot use a pool after calling end on the pool');
    try {
      return await this.acquireTracked(FAIL_FAST);
    } catch (error) {
      throw asPgError(error);
    }
  }

  async #connect(): Promise<PgPoolClient> {
    const pooled = await this.#acquire();
    const client = pooled.connection.client as PgPoolClient;
    const state = this.#lend(pooled, client);
    // As pg.Pool: `client.release` is set on every borrow; it throws when called twice.
    let released = false;
    client.release = (err?: unknown): void => {
      if (released) throw doubleReleaseError();
      released = true;
      this.#release(client, state, pooled, err);
    };
    client[Symbol.asyncDispose] = async (): Promise<void> => {
      if (!released) client.release();
    };
    return client;
  }

  /** Marks the client borrowed and emits `acquire`. */
  #lend(pooled: PooledConnection<PgConnection>, client: PgPoolClient): ClientState | undefined {
    const state = this.#clients.get(client);
    if (state !== undefined) state.pooled = pooled;
    this.#emit('acquire', client);
    return state;
  }

  /** Emits a pg.Pool event; a listener that throws does so on the next tick (as from a socket event), never into the pool's bookkeeping. */
  #emit<K extends keyof PgPoolEvents>(event: K, ...args: PgPoolEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: PgPoolEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }

  #release(client: PgPoolClient, state: ClientState | undefined, pooled: PooledConnection<PgConnection>, err: unknown): void {
    const report = state?.report;
    if (state !== undefined) {
      state.pooled = null;
      state.report = undefined;
      state.uses++;
    }
    this.#emit('release', (err ?? report) as Error | boolean | undefined, client);
    if (pooled.released) return; // the pool already ended this borrow (a forced close)
    const pgState = client as unknown as { _queryable?: boolean; _ending?: boolean };
    // The server ended the session (a FATAL error came) but the socket has not closed yet: broken now.
    if (!err && state?.fatal !== undefined && !pooled.connection.broken) pooled.connection[kInternals].lifecycle.markBroken(state.fatal);
    if (!err && pooled.connection.broken) {
      pooled.release(); // the engine closes it (destroy reason 'broken')
      return;
    }
    if (err || pgState._queryable === false || pgState._ending === true) {
      // As pg.Pool: release(err) / release(true) closes the client; so does a client its borrower ended or broke.
      void pooled.destroy(
        err instanceof Error ? err : new Error(err ? 'released with release(true)' : 'the client was ended or broken by its borrower'),
      );
      return;
    }
    if (state !== undefined && state.uses >= this.#behaviour.maxUses) this.#log('remove expended client');
    // The common case gives it back at once, without a closure (every pool.query() comes through here).
    if (plainQueriesRunning(client)) this.#whenQueriesDone(client, () => this.#giveBack(pooled, report));
    else this.#giveBack(pooled, report);
  }

  /** Returns a borrow to the engine (with the query error `pool.query()` reports, if any). */
  #giveBack(pooled: PooledConnection<PgConnection>, report: unknown): void {
    if (pooled.released) return;
    pooled.release(report === undefined ? undefined : { error: report });
    this.#checkIdleIn(this.pool.config.idleTimeoutMs);
  }

  /**
   * pg.Pool lets the plain queries a borrower left running (`client.query(...)` not awaited before
   * `release()`) finish on the idle client; the engine retires a connection released while not ready
   * (right for a cursor or a stream left open, which never finishes, and for a caller who should not
   * wait behind a long query). So the client goes back once they are done — or at once when a caller
   * starts waiting for a connection (it is then retired and the caller served by a new one), after
   * `resetTimeoutMs`, or when the client ends or fails.
   */
  #whenQueriesDone(client: PgPoolClient, then: () => void): void {
    if (this.pool.size().waiting > 0) {
      then();
      return;
    }
    const protocol = (client as unknown as { connection?: NodeJS.EventEmitter }).connection;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      protocol?.off('readyForQuery', check);
      client.off('end', finish);
      client.off('error', finish);
      this.pool.off('enqueue', onEnqueue);
      then();
    };
    // Not inside the engine's acquire() that emits it: on the next tick.
    const onEnqueue = (): void => process.nextTick(finish);
    this.pool.on('enqueue', onEnqueue);
    const check = (): void => {
      if (!plainQueriesRunning(client) && (client as unknown as { readyForQuery?: boolean }).readyForQuery !== false) finish();
    };
    const timer = setTimeout(finish, this.pool.config.resetTimeoutMs);
    timer.unref?.();
    protocol?.on('readyForQuery', check);
    client.on('end', finish);
    client.on('error', finish);
  }

  /**
   * pg.Pool closes a client `idleTimeoutMillis` after its release (above `min`); the engine's
   * maintenance runs every `maintenanceIntervalMs`. This runs it when the next idle connection is due.
   */
  #checkIdleIn(delayMs: number | null): void {
    if (delayMs === null || this.#idleTimer !== undefined || this.#ending) return;
    this.#idleTimer = setTimeout(() => {
      this.#idleTimer = undefined;
      const idleTimeout = this.pool.config.idleTimeoutMs;
      if (this.pool.state !== 'open' || idleTimeout === null) return;
      this.pool.runMaintenance();
      if (this.pool.size().idle <= this.pool.config.minSize) return;
      let next = Number.POSITIVE_INFINITY;
      for (const info of this.pool.connections()) if (info.idleMs !== undefined) next = Math.min(next, idleTimeout - info.idleMs);
      if (next !== Number.POSITIVE_INFINITY) this.#checkIdleIn(Math.max(1, Math.ceil(next)));
    }, delayMs);
    this.#idleTimer.unref?.();
  }

  async #query(query: PgQuery, values: unknown[] | undefined): Promise<pg.QueryResult> {
    const pooled = await this.#acquire();
    const client = pooled.connection.client as PgPoolClient;
    const state = this.#lend(pooled, client);
    this.#log('dispatching query');
    let result: pg.QueryResult;
    try {
      result = await pooled.connection.query(query, values);
    } catch (error) {
      this.#log('query dispatched');
      // Reported with the release (adaptive aging); the connection is kept unless it broke.
      if (pooled.connection.broken) this.#release(client, state, pooled, error);
      else {
        if (state !== undefined) state.report = error;
        this.#release(client, state, pooled, undefined);
      }
      throw error;
    }
    this.#log('query dispatched');
    this.#release(client, state, pooled, undefined);
    return result;
  }

  /** `pool.query(submittable)`: runs it on a borrowed client, gives the client back when it is done (see {@link query}). */
  #submit<S extends PgSubmittable>(submittable: S, callback: PgSubmittableCallback | undefined): S {
    const run = new SubmittableRun(submittable);
    // Never synchronous; a callback that throws does so on its own tick, as pg.Pool's from a socket event.
    const settle = (): void => {
      if (callback !== undefined)
        process.nextTick(() => callback(run.error as Error | undefined, run.error === undefined ? run.result : undefined));
    };
    this.#acquire().then(
      (pooled) => {
        if (run.destroyed) {
          // A stream destroyed while it waited for a connection: nothing to run, the connection was never lent.
          pooled.release();
          this.#checkIdleIn(this.pool.config.idleTimeoutMs);
          settle();
          return;
        }
        const client = pooled.connection.client as PgPoolClient;
        const state = this.#lend(pooled, client);
        this.#log('dispatching query');
        try {
          pooled.connection.query(submittable);
        } catch (error) {
          // pg threw at once (the submittable's own submit failed): the client's state is unknown, close it.
          this.#log('query dispatched');
          this.#release(client, state, pooled, error);
          run.fail(error);
          settle();
          return;
        }
        run.follow(client, () => {
          this.#log('query dispatched');
          // Reported with the release (adaptive aging); the connection is kept unless it broke.
          if (run.error !== undefined && state !== undefined) state.report = run.error;
          this.#release(client, state, pooled, undefined);
          settle();
        });
      },
      (error: unknown) => {
        run.fail(error);
        settle();
      },
    );
    return submittable;
  }

  #end(): Promise<void> {
    this.#log('ending');
    if (this.#ending) return Promise.reject(new Error('Called end on pool more than once'));
    this.#ending = true;
    if (this.#idleTimer !== undefined) clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
    this.#endPromise = this.drainThenClose()
      .then(() => this.factory.settled())
      .then(() => {
        this.#ended = true;
      });
    return this.#endPromise;
  }

  /** Ends the pool like {@link end}, but a second call resolves with the first (no "more than once" error). */
  override close(): Promise<void> {
    return this.#endPromise ?? this.end();
  }

  /** `await using pool = createPgPool(...)` ends it at the end of the scope, unless the code already did. */
  override [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}

impersonate(PgPool, pg.Pool);

/**
 * Makes a PostgreSQL pool from a `pg.Pool` config: `new pg.Pool(config)` becomes
 * `createPgPool(config)`, and the code using it stays as it is — see {@link PgPool}. Nothing connects
 * until first use (like pg.Pool); `min` connections are then kept by background maintenance.
 *
 * @example
 * ```ts
 * const pool = createPgPool({ connectionString: process.env.DATABASE_URL, max: 20, statementCacheSize: 100 });
 * pool.on('connect', (client) => client.query("SET search_path TO app"));
 * const { rows } = await pool.query('SELECT * FROM users WHERE id = $1', [42]);
 * await pool.end();
 * ```
 */
export function createPgPool(options: PgPoolOptions = {}): PgPool {
  const { client, factory: factoryOptions, config, poolOptions, behaviour } = mapPgPoolOptions(options);
  const clients = new Map<pg.Client, ClientState>();
  let facade: PgPool | undefined;
  /** Hook calls made before the facade exists (connections `min` opens at once). */
  const early: (() => void)[] = [];
  const later = (call: (f: PgPool) => void): void => {
    if (facade === undefined) early.push(() => call(facade as PgPool));
    else call(facade);
  };
  // One logger for the engine and the adapter, given either way.
  const logger = poolLogger(factoryOptions.logger, poolOptions.logger);
  const factoryOptionsWithHooks = { ...factoryOptions, logger, onConnect: (conn: PgConnection) => (facade as PgPool)._setUp(conn) };
  const hooks = {
    constructed: (c: pg.Client) => later((f) => f._constructed(c)),
    closed: (c: pg.Client, conn: PgConnection | null) => later((f) => f._closed(c, conn)),
  };
  // A multi-host config (several hosts, target_session_attrs...) gets libpq's multi-host factory.
  const factory = isMultiHostConfig(client)
    ? new MultiHostPgFactory(client as PgMultiHostConfig, factoryOptionsWithHooks, hooks)
    : new PgFactory(client, factoryOptionsWithHooks, hooks);
  const given = { ...(options as Record<string, unknown>) };
  const shown = {
    ...given,
    max: config.maxSize,
    min: config.minSize,
    idleTimeoutMillis: given.idleTimeoutMillis ?? config.idleTimeoutMs ?? 0,
    maxUses: behaviour.maxUses,
    allowExitOnIdle: given.allowExitOnIdle ?? false,
    maxLifetimeSeconds: given.maxLifetimeSeconds ?? 0,
  };
  if ('password' in shown)
    Object.defineProperty(shown, 'password', { enumerable: false, value: shown.password, writable: true, configurable: true });
  facade = new PgPool(
    ConnectionPool.open(config, factory, logger === null ? poolOptions : { ...poolOptions, logger }),
    factory,
    shown,
    behaviour,
    clients,
  );
  for (const call of early.splice(0)) call();
  return facade;
}

export type { PgPoolClient } from './pool-client.js';
export { mapPgPoolOptions, type PgPoolCompatOptions, type PgPoolOptions } from './pool-options.js';
