import type { DeadlineEntry } from './deadline-queue.js';
import type { PoolError } from './errors.js';
import type { BorrowMeta, PooledConnection } from './pooled-connection.js';
import type { QueuePriority } from './queue-priority.js';
import type { Waiter, WaiterExit } from './waiter.js';

/** @internal The method a {@link PoolWaiter} fails itself through (its pool's). */
export const kFailWaiter: unique symbol = Symbol('pool.failWaiter');

/** @internal The side of the pool a waiter talks to. */
export interface WaiterHost {
  [kFailWaiter](waiter: PoolWaiter, error: PoolError, exit: WaiterExit): boolean;
}

/** @internal What an acquire asked for beyond the defaults (absent for a plain `acquire()`). */
export interface AcquireMeta extends BorrowMeta {
  readonly label: string | undefined;
  readonly signal: AbortSignal | undefined;
  /** `acquire({ failFast: true })`. */
  readonly failFast: boolean;
  onAbort: (() => void) | undefined;
}

// One executor for every waiter's promise: it parks resolve/reject here for the next waiter's
// constructor to take, so a wait allocates no closure for them.
let parkedResolve: ((conn: PooledConnection<never>) => void) | undefined;
let parkedReject: ((error: PoolError) => void) | undefined;

/**
 * @internal The executor of a waiter's promise: `new Promise(parkSettlers)`, then construct the
 * {@link PoolWaiter} at once (it takes the settlers of that promise).
 */
export function parkSettlers(resolve: (conn: PooledConnection<never>) => void, reject: (error: PoolError) => void): void {
  parkedResolve = resolve;
  parkedReject = reject;
}

/**
 * @internal A caller waiting for a connection: what the wait queue orders and the deadline queue
 * times out. Kept small: one is allocated per wait.
 */
export class PoolWaiter implements Waiter, DeadlineEntry {
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queueData: unknown = undefined;
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  settled = false;
  /** The last reason this waiter's connection was refused (validation), for its timeout's cause. */
  lastError: unknown = undefined;
  /** Settle the promise created with {@link parkSettlers} just before this waiter. */
  readonly resolve: (conn: PooledConnection<never>) => void;
  readonly reject: (error: PoolError) => void;

  constructor(
    readonly host: WaiterHost,
    readonly id: number,
    public priority: QueuePriority,
    readonly enqueuedAt: number,
    readonly meta: AcquireMeta | undefined,
  ) {
    this.resolve = parkedResolve as (conn: PooledConnection<never>) => void;
    this.reject = parkedReject as (error: PoolError) => void;
    parkedResolve = undefined;
    parkedReject = undefined;
  }

  get label(): string | undefined {
    return this.meta?.label;
  }
  get context(): unknown {
    return this.meta?.context;
  }
  get owner(): unknown {
    return this.meta?.owner;
  }
  get trace(): { stack?: string } | undefined {
    return this.meta?.trace;
  }
  get stack(): string | undefined {
    return this.meta?.trace?.stack;
  }
  /** The timeout this waiter was given (whole milliseconds). */
  get timeoutMs(): number {
    // The deadline is start + a whole number of ms: rounding undoes the floating-point subtraction.
    return Math.round(this.deadline - this.enqueuedAt);
  }

  fail(error: PoolError): boolean {
    return this.host[kFailWaiter](this, error, 'failed');
  }
}
