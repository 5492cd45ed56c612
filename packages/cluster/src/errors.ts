import { describeError, PoolError } from '@pool/core';

/** Why the budget refused a slot: no room, fair sharing, Redis state being recovered, or Redis unreachable. */
export type RefusalReason = 'capacity' | 'fairness' | 'recovering' | 'unavailable';

/**
 * The cluster budget had no slot for a new connection while the pool needed one (every instance
 * together holds `limit` connections of `scope`). The pool records it as a failed creation, so callers
 * who time out waiting see it as the `cause` of their `ConnectionTimeoutError`.
 *
 * @example
 * ```ts
 * try {
 *   await pool.use((db) => db.query('SELECT 1'));
 * } catch (err) {
 *   if (err instanceof ConnectionTimeoutError && err.cause instanceof BudgetExhaustedError) {
 *     console.warn(`cluster budget ${err.cause.budget} is full: ${err.cause.used}/${err.cause.limit}`);
 *   }
 * }
 * ```
 */
export class BudgetExhaustedError extends PoolError {
  /** The budget's name. */
  readonly budget: string;
  /** The tenant whose budget was full, or null for the database budget. */
  readonly tenant: string | null;
  /** `'capacity'` (full), `'fairness'` (an instance below its fair share waits first) or `'recovering'`. */
  readonly reason: Exclude<RefusalReason, 'unavailable'>;
  /** Slots in use across the cluster when refused (-1 when unknown). */
  readonly used: number;
  /** The global limit. */
  readonly limit: number;

  constructor(details: {
    budget: string;
    tenant: string | null;
    reason: Exclude<RefusalReason, 'unavailable'>;
    used: number;
    limit: number;
  }) {
    const whose =
      details.tenant === null ? `cluster budget '${details.budget}'` : `tenant '${details.tenant}' of cluster budget '${details.budget}'`;
    const why =
      details.reason === 'capacity'
        ? `all ${details.limit} connections are in use across the cluster`
        : details.reason === 'fairness'
          ? 'an instance holding less than its fair share is waiting for the next free slot'
          : 'the budget is being rebuilt after Redis lost its state; new connections wait until every instance has re-registered';
    super('ERR_POOL_BUDGET_EXHAUSTED', `No slot in the ${whose}: ${why}`);
    this.name = 'BudgetExhaustedError';
    this.budget = details.budget;
    this.tenant = details.tenant;
    this.reason = details.reason;
    this.used = details.used;
    this.limit = details.limit;
  }
}

/**
 * Redis could not be asked for a slot and the budget's `onRedisUnavailable` policy allows no new
 * connection now (`'hold'`: this instance is at its fallback cap; `'strict'`: nothing new until Redis
 * answers). `cause` is the last Redis error.
 */
export class BudgetUnavailableError extends PoolError {
  /** The budget's name. */
  readonly budget: string;
  /** The policy in force. */
  readonly mode: 'hold' | 'strict';
  /** Connections this instance may hold while Redis is unreachable (its fallback cap). */
  readonly cap: number;

  constructor(budget: string, mode: 'hold' | 'strict', cap: number, cause: unknown) {
    const why =
      mode === 'strict'
        ? 'the strict policy opens no connection without Redis'
        : `this instance is at its fallback cap of ${cap} connection${cap === 1 ? '' : 's'}`;
    super(
      'ERR_POOL_BUDGET_UNAVAILABLE',
      `Cluster budget '${budget}' cannot reach Redis and ${why}${cause === undefined ? '' : `; last error: ${describeError(cause)}`}`,
      { cause },
    );
    this.name = 'BudgetUnavailableError';
    this.budget = budget;
    this.mode = mode;
    this.cap = cap;
  }
}

/** The budget was closed: its wrapped factories open no more connections. */
export class BudgetClosedError extends PoolError {
  /** The budget's name. */
  readonly budget: string;

  constructor(budget: string) {
    super('ERR_POOL_BUDGET_CLOSED', `Cluster budget '${budget}' is closed`);
    this.name = 'BudgetClosedError';
    this.budget = budget;
  }
}

/** A Redis call of the budget failed or did not answer within `commandTimeoutMs`. */
export class BudgetRedisError extends PoolError {
  /** The script that was run (`take`, `giveBack`, `renew`, `claim`, `deregister`, `inspect`). */
  readonly operation: string;
  /** True when it did not answer in time (its effect on Redis is unknown). */
  readonly timedOut: boolean;

  constructor(operation: string, timedOut: boolean, cause?: unknown) {
    super(
      'ERR_POOL_BUDGET_REDIS',
      timedOut
        ? `Redis did not answer the budget's '${operation}' within the command timeout`
        : `The budget's '${operation}' failed in Redis: ${describeError(cause)}`,
      { cause },
    );
    this.name = 'BudgetRedisError';
    this.operation = operation;
    this.timedOut = timedOut;
  }
}
