import type { EnumValue } from './enum.js';

/**
 * What `create()` receives. `signal` aborts when the pool gives up on this creation (its
 * `createTimeoutMs` passed, or the pool is closing); a factory should pass it to its driver's connect.
 */
export interface CreateContext {
  readonly signal: AbortSignal;
  /**
   * Call this (now or at any later time) when the connection being created breaks on its own, for
   * example when an idle driver client emits `'error'` after a server restart. An idle connection is
   * then closed and replaced at once; a borrowed one is retired when it is released.
   */
  readonly markBroken: (error?: unknown) => void;
}

/** What `validate()` receives: a `signal` that aborts at the validation timeout, and an optional query. */
export interface ValidateContext {
  readonly signal: AbortSignal;
  /** The validation query chosen by the pool's `ConnectionValidator` (`withQuery`), if any. */
  readonly query?: string | undefined;
}

/** What `reset()` and `close()` receive: a `signal` that aborts when the pool stops waiting. */
export interface OperationContext {
  readonly signal: AbortSignal;
}

/**
 * What a failed `create()` means for the next attempt (see {@link ConnectionFactory.classifyCreateError}):
 *
 * - `Fatal`: retrying cannot fix it until someone changes something (authentication failed, the
 *   database or user does not exist, the TLS configuration is wrong). The pool fails the callers that
 *   only a new connection could serve at once instead of letting them wait out their timeouts.
 * - `Transient`: the next attempt may succeed (connection refused or reset, a timeout, too many
 *   connections, the server starting up or shutting down). The pool retries with backoff while callers
 *   wait. The default for an error a factory does not classify.
 */
export const CreateErrorKind = Object.freeze({
  Fatal: 'fatal',
  Transient: 'transient',
} as const);

/** One of the {@link CreateErrorKind} values. */
export type CreateErrorKind = EnumValue<typeof CreateErrorKind>;

/** Figures a factory reports about its own caches, read by `@pool/monitoring` and `@pool/prometheus`. */
export interface FactoryStatistics {
  /** The prepared-statement cache, summed over the factory's connections. */
  statementCache?: {
    hits: number;
    misses: number;
    /** Statements evicted (and deallocated on the server) to stay within capacity. */
    evictions: number;
    /** Statements cached right now. */
    size: number;
    /** The per-connection capacity (`statementCacheSize`). */
    capacity: number;
  };
  /** Query errors the adapter saw (also reported to the pool as failed borrows). */
  queryErrors?: number;
}

/**
 * How the pool opens, checks, cleans and closes connections of type `C`. Driver adapters
 * (`@pool/pg`, `@pool/mysql`, `@pool/redis`) implement it; `@pool/testkit` checks an implementation.
 *
 * Every method may throw or reject; the pool contains the failure (a failed `create` is retried with
 * backoff unless `classifyCreateError` calls it fatal, a failed `validate` or `reset` destroys that
 * connection, a failed `close` is reported as an `error` event) and never lets it corrupt its state.
 *
 * @example
 * ```ts
 * const factory: ConnectionFactory<MyConnection> = {
 *   create: async ({ signal }) => MyConnection.connect({ signal }),
 *   validate: async (conn) => conn.isConnected(),
 *   reset: async (conn) => conn.resetState(),
 *   close: async (conn) => conn.disconnect(),
 * };
 * ```
 */
export interface ConnectionFactory<C> {
  /** Opens a new connection. */
  create(ctx: CreateContext): Promise<C>;
  /** Resolves `true` when the connection is usable. Without it, connections are never validated. */
  validate?(conn: C, ctx: ValidateContext): Promise<boolean>;
  /** Returns a connection to a clean state (rolls back transactions, clears session state). */
  reset?(conn: C, ctx: OperationContext): Promise<void>;
  /**
   * Tells the pool, synchronously and cheaply, whether a released connection carries state that
   * `reset` must clear (an open transaction, changed session settings, a subscription...). Used by the
   * `adaptive` recycling strategy: a clean connection skips `reset`. Without it every connection is
   * treated as dirty, so `reset` runs on each release when present.
   */
  isDirty?(conn: C): boolean;
  /**
   * Tells the pool whether an error thrown by `create()` is worth retrying. Return `'fatal'` for errors
   * no retry can fix (authentication failed, unknown database or user, a bad TLS configuration), and
   * `'transient'` for anything else; when in doubt, `'transient'` (a wrongly fatal error fails callers
   * that a retry would have served). Without this hook every error is transient.
   *
   * A fatal error fails the waiting callers that only a new connection could serve (every waiter when no
   * connection is open) with `ConnectionCreateError` at once, and until a connect succeeds again an
   * acquire that would need a new connection fails at once with it while the pool backs off (a fresh
   * attempt is made when the backoff allows). Called synchronously once per failed `create()`, never
   * for the pool's own `createTimeoutMs`; a hook that throws or returns anything else counts as
   * `'transient'`.
   *
   * @example
   * ```ts
   * // node-postgres: 28P01 invalid password, 28000 invalid authorization, 3D000 unknown database
   * classifyCreateError: (error) =>
   *   ['28P01', '28000', '3D000'].includes((error as { code?: string }).code ?? '') ? 'fatal' : 'transient',
   * ```
   */
  classifyCreateError?(error: unknown): CreateErrorKind;
  /** Closes a connection. It must be safe to call on a broken connection. */
  close(conn: C, ctx: OperationContext): Promise<void>;
  /**
   * Optional estimate of the memory one connection costs (client and server side), in bytes, for
   * partition memory budgets (`@pool/partitioning`'s `memoryLimitBytes`).
   */
  connectionMemoryBytes?(conn: C): number;
  /** Optional figures about the factory's caches, read on demand by monitoring (keep it cheap). */
  statistics?(): FactoryStatistics;
}
