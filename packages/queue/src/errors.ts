import { PoolError } from '@pool/core';

/** Which shape of deadlock a {@link DeadlockError} or a `DeadlockReport` describes. */
export type DeadlockKind = 'nested' | 'self';

/**
 * An acquire that could never be served: every connection of the pool is held by a task that is
 * itself waiting for another connection from the same pool (a nested acquire), so nobody would ever
 * release one. `DeadlockDetector` fails such waiters with this error as soon as the deadlock is
 * confirmed (by default on the next event-loop turn) instead of letting them wait out their timeout.
 *
 * `kind` is `'self'` when one task holds every connection and waits for one more (the classic
 * `maxSize: 1` self-deadlock), `'nested'` when several tasks are involved.
 *
 * @example
 * ```ts
 * try {
 *   await pool.use(async () => pool.use(async (db) => db.query('SELECT 1')));
 * } catch (err) {
 *   if (err instanceof DeadlockError) console.error(err.message, err.acquireStack);
 * }
 * ```
 */
export class DeadlockError extends PoolError {
  /** `'self'`: one task holds every connection and waits for another; `'nested'`: several tasks do. */
  readonly kind: DeadlockKind;
  /** The name of the deadlocked pool. */
  readonly poolName: string;
  /** The pool's `maxSize` when the deadlock was detected. */
  readonly maxSize: number;
  /** The id of the failed waiter (unique within its pool). */
  readonly waiterId: number;
  /** The id of the task whose acquire failed (see `TaskScope.id`), when known. */
  readonly taskId: number | undefined;
  /** The connections held by that task and the tasks it runs inside, which it was waiting beside. */
  readonly heldConnectionIds: readonly number[];
  /** How many tasks hold the pool's connections while waiting. */
  readonly tasksInvolved: number;
  /** Where the nested `acquire()` was called, when the pool captures stacks (`captureStacks: true`). */
  readonly acquireStack: string | undefined;
  /** Where the held connections were acquired, when the pool captures stacks. */
  readonly heldStacks: readonly string[];

  /** Made by `DeadlockDetector`, which also writes the message. */
  constructor(details: {
    kind: DeadlockKind;
    poolName: string;
    maxSize: number;
    waiterId: number;
    taskId: number | undefined;
    heldConnectionIds: readonly number[];
    tasksInvolved: number;
    acquireStack?: string | undefined;
    heldStacks?: readonly string[];
    message: string;
  }) {
    super('ERR_POOL_DEADLOCK', details.message);
    this.name = 'DeadlockError';
    this.kind = details.kind;
    this.poolName = details.poolName;
    this.maxSize = details.maxSize;
    this.waiterId = details.waiterId;
    this.taskId = details.taskId;
    this.heldConnectionIds = Object.freeze([...details.heldConnectionIds]);
    this.tasksInvolved = details.tasksInvolved;
    this.acquireStack = details.acquireStack;
    this.heldStacks = Object.freeze([...(details.heldStacks ?? [])]);
  }
}

/**
 * A standalone `PriorityWaitQueue.enqueueWithPriority()` entry was not served within its `timeoutMs`.
 * (Waiters of a pool time out with `@pool/core`'s `ConnectionTimeoutError` instead.)
 */
export class QueueTimeoutError extends PoolError {
  /** How long the entry waited, in milliseconds. */
  readonly timeoutMs: number;

  /** @param timeoutMs the entry's timeout, in ms. */
  constructor(timeoutMs: number) {
    super('ERR_POOL_QUEUE_TIMEOUT', `Timed out after ${timeoutMs} ms waiting for a turn in the wait queue`);
    this.name = 'QueueTimeoutError';
    this.timeoutMs = timeoutMs;
  }
}
