/**
 * What an {@link AdaptiveLimiter} adapts: a pool, or a partition of one. The limiter reads its bounds,
 * sets its limit, and is told about every borrow through `watch`.
 *
 * @internal Built by `adaptiveLimit` (a pool) and `adaptivePartitionLimit` (a partition).
 */
export interface LimitTarget {
  /** A name for reasons and statistics (the pool's, or `<pool>/<partition>`). */
  readonly name: string;
  /** The lowest limit the target accepts now (`minSize`, `minConnections`), at least 1. */
  minLimit(): number;
  /** The highest limit the target accepts now (`maxSize`, the partition's configured `maxConnections`). */
  maxLimit(): number;
  /** Connections borrowed now. */
  borrowed(): number;
  /** Callers waiting now. */
  waiting(): number;
  /** Sets the limit (a whole number within the bounds); `reason` is for the target's own events. */
  apply(limit: number, reason: string): void;
  /** Subscribes to borrows; returns the function that unsubscribes. */
  watch(observer: BorrowObserver): () => void;
  /**
   * Cumulative counters read once per interval, when the target keeps them (a pool does): then the
   * limiter counts ended borrows, errors and waits from them, and the observer's `released` calls are
   * only a sample for the use time (see {@link LimitTarget.intervalStarted}).
   */
  counters?(): { released: number; releasedWithError: number; waited: number };
  /** A new interval began: a sampling target starts timing borrows again. */
  intervalStarted?(): void;
}

/** @internal What a target tells its limiter. */
export interface BorrowObserver {
  /** A borrow began; `waited`: its caller had to wait for it. */
  acquired(waited: boolean): void;
  /** A caller started waiting. */
  enqueued(): void;
  /** A borrow ended after `holdMs` (NaN when unknown), with an error or not. */
  released(holdMs: number, failed: boolean): void;
  /** Someone else changed the limit; `limit` is the one in force now. */
  changedElsewhere(limit: number): void;
  /** The target is gone (the pool closed, the partition was removed): stop. */
  closed(): void;
}
