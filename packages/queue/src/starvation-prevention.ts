import { type ConnectionPool, InvalidArgumentError, InvalidConfigError, MAX_TIMER_MS } from '@pool/core';
import { type Boostable, checkOptionKeys, isBoostable, isPool, kBoost, kSetPolicy } from './internal.js';
import type { PriorityWaitQueue } from './priority-wait-queue.js';

/** Options of a {@link StarvationPrevention}. */
export interface StarvationPreventionOptions {
  /** A waiter is raised one level for every `thresholdMs` it has waited at its level. Must be > 0. */
  thresholdMs: number;
}

/** Counters of a {@link StarvationPrevention} (the seed's `prevention.statistics()`). */
export interface StarvationStatistics {
  /** Level steps given so far (a waiter raised from `Low` to `High` counts 2). */
  boostedCount: number;
  /** Checks run (on demand, at dequeues and at maintenance passes). */
  checks: number;
  /** Queues this policy is attached to now. */
  queuesAttached: number;
  /** The configured threshold. */
  thresholdMs: number;
}

/**
 * Keeps low-priority waiters moving under a sustained flood of urgent ones: a waiter of a
 * `PriorityWaitQueue` is raised one level (`Low` → `Normal` → `High` → `Critical`) for every
 * `thresholdMs` it has waited at its level. A `Low` waiter therefore reaches `Critical` after
 * 3 × `thresholdMs` and is then served first come, first served among the critical ones: its wait is
 * bounded even when `Critical` requests never stop.
 *
 * Boosting is O(levels) per check plus O(1) per boosted waiter (waiters wait in arrival order within a
 * level, so only the head of each level is ever looked at). Once attached, the queue checks lazily at
 * every dequeue, so the bound does not depend on how often anything else runs; with a pool, each
 * maintenance pass checks too (keeping `waiter.priority` and the statistics current while nothing is
 * served). Call {@link checkAndBoost} to check on demand.
 *
 * @example
 * ```ts
 * const prevention = new StarvationPrevention({ thresholdMs: 30_000 });
 * const pool = await ConnectionPool.create(config, factory, { waitQueue: new PriorityWaitQueue() });
 * prevention.attach(pool);
 * prevention.checkAndBoost(pool.waitQueue as PriorityWaitQueue);
 * console.log(`Priority boosts: ${prevention.statistics().boostedCount}`);
 * ```
 */
export class StarvationPrevention {
  /** Time a waiter must wait at a level before it is raised to the next one, in ms. */
  readonly thresholdMs: number;
  readonly #queues = new Set<Boostable>();
  #boosted = 0;
  #checks = 0;

  /** Throws `InvalidConfigError` naming `thresholdMs` unless it is a finite number of ms greater than 0. */
  constructor(options: StarvationPreventionOptions) {
    if (options === undefined) {
      throw new InvalidConfigError('thresholdMs', undefined, 'is required: new StarvationPrevention({ thresholdMs })');
    }
    const o = checkOptionKeys(options, ['thresholdMs'], 'StarvationPrevention');
    const t = o.thresholdMs;
    if (typeof t !== 'number' || !Number.isFinite(t) || t <= 0 || t > MAX_TIMER_MS) {
      throw new InvalidConfigError('thresholdMs', t, `must be a finite number of milliseconds greater than 0 and at most ${MAX_TIMER_MS}`);
    }
    this.thresholdMs = t;
  }

  /**
   * Raises every waiter of `queue` that waited `thresholdMs` at its level (one level per full threshold
   * waited, so a late check catches up). Returns the number of level steps given. Accepts a pool whose
   * wait queue is a `PriorityWaitQueue` too; anything else throws `InvalidArgumentError`.
   */
  checkAndBoost<C>(queue: PriorityWaitQueue | ConnectionPool<C>): number {
    const target = resolveQueue(queue, 'queue');
    this.#checks++;
    const n = target[kBoost](this.thresholdMs);
    this.#boosted += n;
    return n;
  }

  /**
   * Attaches this policy to a `PriorityWaitQueue`, or to a pool that uses one: the queue then checks at
   * every dequeue, and, with a pool, at every maintenance pass. A queue takes one policy at a time.
   * Returns a function that detaches it again.
   */
  attach<C>(target: PriorityWaitQueue | ConnectionPool<C>): () => void {
    const queue = resolveQueue(target, 'target');
    queue[kSetPolicy](this);
    this.#queues.add(queue);
    return () => {
      if (!this.#queues.delete(queue)) return;
      queue[kSetPolicy](null);
    };
  }

  /** A snapshot of the counters. */
  statistics(): StarvationStatistics {
    return { boostedCount: this.#boosted, checks: this.#checks, queuesAttached: this.#queues.size, thresholdMs: this.thresholdMs };
  }
}

function resolveQueue(target: unknown, argument: string): Boostable {
  if (isBoostable(target)) return target;
  if (isPool(target) && isBoostable(target.waitQueue)) return target.waitQueue;
  throw new InvalidArgumentError(
    argument,
    isPool(target) ? `pool '${target.name}' with a ${target.waitQueue.constructor.name}` : target,
    'must be a PriorityWaitQueue, or a ConnectionPool created with { waitQueue: new PriorityWaitQueue() }',
  );
}
