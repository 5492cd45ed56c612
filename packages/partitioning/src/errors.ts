import { PoolError } from '@pool/core';

/** The budgets a partition can run out of (the names of the {@link PartitionLimits} fields). */
export type BudgetLimit = 'cpuLimitMs' | 'ioLimit' | 'memoryLimitBytes';

/**
 * A partition is over one of its budgets (`cpuLimitMs`, `ioLimit` or `memoryLimitBytes`) and the budget
 * could not refill within the caller's deadline. `limit` names the budget; `used` and `max` say how far
 * over it the partition was; `retryAfterMs` says when the budget is expected to have room again, when
 * that is known (`null` when it depends on connections being released).
 *
 * @example
 * ```ts
 * try {
 *   await manager.use({ tenant: 'acme' }, (db) => db.query('SELECT 1'));
 * } catch (err) {
 *   if (err instanceof PartitionLimitError) reply.status(429).header('retry-after', Math.ceil((err.retryAfterMs ?? 1000) / 1000));
 *   else throw err;
 * }
 * ```
 */
export class PartitionLimitError extends PoolError {
  /** The partition over its budget. */
  readonly partition: string;
  /** Which budget. */
  readonly limit: BudgetLimit;
  /** The budget's configured value. */
  readonly max: number;
  /** How much of it was in use when the caller gave up (ms of hold time, acquisitions, or bytes). */
  readonly used: number;
  /** Milliseconds until the budget is expected to have room, or `null` when only a release can make room. */
  readonly retryAfterMs: number | null;

  constructor(details: { partition: string; limit: BudgetLimit; max: number; used: number; retryAfterMs: number | null }) {
    const what = describeBudget(details.limit, details.used, details.max);
    const when =
      details.retryAfterMs === null
        ? 'it has room again only when connections are released'
        : `it is expected to have room in ${Math.ceil(details.retryAfterMs)} ms`;
    super('ERR_POOL_PARTITION_LIMIT', `Partition '${details.partition}' is over its ${details.limit} budget (${what}); ${when}`);
    this.name = 'PartitionLimitError';
    this.partition = details.partition;
    this.limit = details.limit;
    this.max = details.max;
    this.used = details.used;
    this.retryAfterMs = details.retryAfterMs;
  }
}

function describeBudget(limit: BudgetLimit, used: number, max: number): string {
  const u = Math.round(used * 100) / 100;
  switch (limit) {
    case 'cpuLimitMs':
      return `${u} of ${max} ms of connection time used in the last minute`;
    case 'ioLimit':
      return `${max} acquisitions per second allowed, the last second's are used up`;
    case 'memoryLimitBytes':
      return `${u} of ${max} bytes held by its connections`;
  }
}

/** Why a {@link PartitionError} was raised. */
export type PartitionErrorReason = 'unrouted' | 'unknown' | 'removed' | 'prepare' | 'closed';

/**
 * A partitioning problem that is not a limit: no partition matches a request (`'unrouted'`), the named
 * partition does not exist (`'unknown'`), it is being removed (`'removed'`), its `prepare` hook failed
 * (`'prepare'`, with the hook's error as `cause`), or the manager is closed (`'closed'`).
 */
export class PartitionError extends PoolError {
  /** What went wrong. */
  readonly reason: PartitionErrorReason;
  /** The partition concerned, when there is one. */
  readonly partition: string | undefined;

  constructor(reason: PartitionErrorReason, message: string, options: { partition?: string; cause?: unknown } = {}) {
    super('ERR_POOL_PARTITION', message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PartitionError';
    this.reason = reason;
    this.partition = options.partition;
  }
}
