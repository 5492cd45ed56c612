import {
  AcquireAbortedError,
  type DeadlineEntry,
  DeadlineQueue,
  InvalidArgumentError,
  InvalidConfigError,
  isAbortSignal,
  MAX_TIMER_MS,
  now,
  PoolClosedError,
  PoolError,
  QUEUE_PRIORITIES,
  type QueuePriority,
  type Waiter,
  type WaiterExit,
  WaiterList,
  type WaitQueue,
  type WaitQueueHost,
} from '@pool/core';
import { QueueTimeoutError } from './errors.js';
import { type BoostPolicy, checkOptionKeys, isPool, kBoost, kSetPolicy } from './internal.js';
import type { StarvationPrevention } from './starvation-prevention.js';

const LEVELS = QUEUE_PRIORITIES.length;
const LEVEL_OF: Readonly<Record<string, number>> = Object.freeze(
  Object.assign(Object.create(null) as Record<string, number>, Object.fromEntries(QUEUE_PRIORITIES.map((p, i) => [p, i]))),
);
const PRIORITY_LIST = `one of ${QUEUE_PRIORITIES.map((p) => `'${p}'`).join(', ')}`;
const OPTION_KEYS = ['starvationPrevention', 'timeoutMs'];
const ENQUEUE_KEYS = ['timeoutMs', 'signal', 'context'];
const DEFAULT_TIMEOUT_MS = 30_000;

function levelOf(priority: unknown): number | undefined {
  return typeof priority === 'string' ? LEVEL_OF[priority] : undefined;
}

function checkTimeout(value: unknown): string | null {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 && value <= MAX_TIMER_MS
    ? null
    : `must be a finite number of milliseconds greater than 0 and at most ${MAX_TIMER_MS}`;
}

/** Options of a {@link PriorityWaitQueue}. */
export interface PriorityWaitQueueOptions {
  /**
   * Raises long-waiting waiters one level per `thresholdMs` (checked at every dequeue, O(levels), and at
   * every maintenance pass of the pool the queue serves). Same as `prevention.attach(queue)`. Default: none.
   */
  starvationPrevention?: StarvationPrevention | null;
  /** Default timeout of standalone {@link PriorityWaitQueue.enqueueWithPriority} entries. Default `30000`. */
  timeoutMs?: number;
}

/** Options of one standalone {@link PriorityWaitQueue.enqueueWithPriority} call. */
export interface EnqueueOptions {
  /** Rejects with `QueueTimeoutError` when not served within this many ms. Default: the queue's `timeoutMs`. */
  timeoutMs?: number;
  /** Leaves the queue when aborted; the promise rejects with `AcquireAbortedError`. */
  signal?: AbortSignal;
  /** Anything describing the caller; visible on the waiter (`values()`) and in the ticket. */
  context?: unknown;
}

/** What a standalone {@link PriorityWaitQueue.enqueueWithPriority} promise resolves with once served. */
export interface QueueTicket {
  /** The entry's id, unique within its queue. */
  readonly id: number;
  /** The priority it was enqueued with. */
  readonly priority: QueuePriority;
  /** The level it was served from (higher than `priority` when starvation prevention boosted it). */
  readonly servedPriority: QueuePriority;
  /** How long it waited, in ms. */
  readonly waitMs: number;
  /** The `context` given to `enqueueWithPriority`. */
  readonly context: unknown;
}

/**
 * Counters of a wait queue, or of the waiters of one priority. Waiters are counted under the priority
 * they asked for, also after starvation prevention raised them, so that per priority
 * `totalEnqueued = currentSize + totalDequeued + totalTimedOut + totalCancelled + totalFailed + totalClosed`.
 */
export interface QueueLevelStatistics {
  /** Waiters queued now. */
  currentSize: number;
  /** Waiters that entered the queue. */
  totalEnqueued: number;
  /** Waiters served (a waiter put back with `requeue` and served again counts once). */
  totalDequeued: number;
  /** Waiters that left at their deadline. */
  totalTimedOut: number;
  /** Waiters whose caller gave up (`AbortSignal`). */
  totalCancelled: number;
  /** Waiters failed by a detector (for example with `DeadlockError`). */
  totalFailed: number;
  /** Waiters removed because the pool (or the standalone queue) closed. */
  totalClosed: number;
  /** Level steps starvation prevention gave these waiters. */
  totalBoosted: number;
  /** Mean time served waiters waited, in ms (0 before the first). */
  averageWaitMs: number;
  /** Longest time a served waiter waited, in ms. */
  maxWaitMs: number;
}

/** A {@link PriorityWaitQueue}'s counters (the seed's `get_queue_statistics`), in total and per priority. */
export interface QueueStatistics extends QueueLevelStatistics {
  /** The same counters for the waiters that asked for each priority. */
  byPriority: Record<QueuePriority, QueueLevelStatistics>;
}

/** Per-waiter bookkeeping, kept in `waiter.queueData`. */
class Entry {
  inQueue = true;
  /** The wait recorded when last dequeued, undone if the pool puts the waiter back. */
  servedWaitMs = -1;

  constructor(
    readonly queue: PriorityWaitQueue,
    public level: number,
    readonly origin: number,
    /** When the waiter arrived at its current level (monotonic ms). */
    public since: number,
  ) {}
}

/** A standalone entry made by `enqueueWithPriority`: the queue itself settles it. */
class StandaloneEntry implements Waiter, DeadlineEntry {
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queueData: unknown = undefined;
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  settled = false;
  readonly owner: unknown = undefined;
  readonly label: string | undefined = undefined;
  onAbort: (() => void) | undefined = undefined;
  /** Set when served. */
  ticket: QueueTicket | undefined = undefined;
  resolve!: (ticket: QueueTicket) => void;
  reject!: (error: PoolError) => void;
  readonly promise: Promise<QueueTicket>;

  constructor(
    readonly queue: PriorityWaitQueue,
    readonly id: number,
    public priority: QueuePriority,
    readonly enqueuedAt: number,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
    readonly context: unknown,
  ) {
    this.promise = new Promise<QueueTicket>((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  fail(error: PoolError): boolean {
    return this.queue[kFail](this, error, 'failed');
  }
}

const kFail: unique symbol = Symbol('pool.queue.fail');

function emptyCounters(): number[] {
  return [0, 0, 0, 0];
}

/**
 * A wait queue with four priorities: `Critical` waiters are served before `High`, `High` before
 * `Normal`, `Normal` before `Low`, and first come, first served within a level. Every operation is O(1)
 * at any length (one intrusive list per level; a waiter that times out or aborts is unlinked in place),
 * and the queue keeps no timer: the pool owns deadlines.
 *
 * Give it to a pool and pass `priority` to `acquire()`; or use it on its own with
 * {@link enqueueWithPriority} and {@link serveNext}. Pair it with `StarvationPrevention` so that a
 * sustained flood of urgent requests cannot starve the others forever.
 *
 * @example
 * ```ts
 * const pool = await ConnectionPool.create(config, factory, { waitQueue: new PriorityWaitQueue() });
 * const conn = await pool.acquire({ priority: QueuePriority.Critical });
 * ```
 */
export class PriorityWaitQueue implements WaitQueue {
  readonly #levels: WaiterList[] = Array.from({ length: LEVELS }, () => new WaiterList());
  readonly #defaultTimeoutMs: number;
  #size = 0;
  #host: WaitQueueHost | null = null;
  #policy: BoostPolicy | null = null;
  #maintenanceHooked = false;
  // standalone use
  #deadlines: DeadlineQueue<StandaloneEntry> | null = null;
  #standalone = 0;
  #closed = false;
  #nextId = 0;
  // counters, indexed by the level a waiter asked for
  readonly #current = emptyCounters();
  readonly #enqueued = emptyCounters();
  readonly #dequeued = emptyCounters();
  readonly #timedOut = emptyCounters();
  readonly #cancelled = emptyCounters();
  readonly #failed = emptyCounters();
  readonly #closedCount = emptyCounters();
  readonly #boosted = emptyCounters();
  readonly #waitTotal = emptyCounters();
  readonly #waitMax = emptyCounters();

  /** Throws `InvalidConfigError` naming the field when an option is invalid or unknown. */
  constructor(options?: PriorityWaitQueueOptions) {
    const o = checkOptionKeys(options, OPTION_KEYS, 'PriorityWaitQueue');
    const timeoutMs = o.timeoutMs;
    if (timeoutMs !== undefined) {
      const problem = checkTimeout(timeoutMs);
      if (problem !== null) throw new InvalidConfigError('timeoutMs', timeoutMs, problem);
    }
    this.#defaultTimeoutMs = (timeoutMs as number | undefined) ?? DEFAULT_TIMEOUT_MS;
    const policy = o.starvationPrevention;
    if (policy != null) {
      const p = policy as Partial<StarvationPrevention>;
      if (typeof p.checkAndBoost !== 'function' || typeof p.attach !== 'function' || typeof p.thresholdMs !== 'number') {
        throw new InvalidConfigError('starvationPrevention', policy, 'must be a StarvationPrevention');
      }
      (policy as StarvationPrevention).attach(this);
    }
  }

  /** Waiters queued now, all levels together. */
  get size(): number {
    return this.#size;
  }

  /** The pool this queue serves, once a pool took it (`null` for a standalone queue). */
  get host(): WaitQueueHost | null {
    return this.#host;
  }

  /** True once {@link close} was called (standalone use). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Waiters queued now at `priority` (after boosts: a raised waiter counts at its new level). */
  levelSize(priority: QueuePriority): number {
    const level = levelOf(priority);
    if (level === undefined) throw new InvalidArgumentError('priority', priority, `must be ${PRIORITY_LIST}`);
    return (this.#levels[level] as WaiterList).size;
  }

  /**
   * Called by the pool that takes this queue (the `WaitQueue` contract). A queue serves one pool only:
   * a second `attach`, or one while standalone entries wait, throws `InvalidConfigError`.
   */
  attach(host: WaitQueueHost): void {
    if (this.#host !== null) {
      throw new InvalidConfigError(
        'waitQueue',
        `PriorityWaitQueue of pool '${this.#host.name}'`,
        'is already attached to a pool; a wait queue serves one pool only, give each pool a queue of its own',
      );
    }
    if (this.#standalone > 0 || this.#closed) {
      throw new InvalidConfigError(
        'waitQueue',
        'PriorityWaitQueue in standalone use',
        'already holds enqueueWithPriority() entries (or was closed); give the pool a queue of its own',
      );
    }
    this.#host = host;
    this.#hookMaintenance();
  }

  /** Adds a newly arrived waiter at the back of its priority's line. */
  enqueue(waiter: Waiter): void {
    const level = levelOf(waiter.priority);
    if (level === undefined) throw new InvalidArgumentError('priority', waiter.priority, `must be ${PRIORITY_LIST}`);
    const held = waiter.queueData;
    if (held instanceof Entry && held.inQueue) {
      throw new InvalidArgumentError('waiter', `waiter ${waiter.id}`, 'is already queued; enqueue a waiter once');
    }
    waiter.queueData = new Entry(this, level, level, now());
    (this.#levels[level] as WaiterList).pushBack(waiter);
    this.#size++;
    (this.#enqueued[level] as number)++;
    (this.#current[level] as number)++;
  }

  /**
   * Removes and returns the waiter to serve next: the oldest of the most urgent level. With starvation
   * prevention, overdue waiters are raised first (O(levels)). A standalone entry is served (its
   * `enqueueWithPriority` promise resolves) as it leaves.
   */
  dequeue(): Waiter | undefined {
    if (this.#size === 0) return undefined;
    if (this.#policy !== null) this.#policy.checkAndBoost(this);
    for (let level = 0; level < LEVELS; level++) {
      const list = this.#levels[level] as WaiterList;
      const w = list.shift();
      if (w === undefined) continue;
      this.#size--;
      const e = w.queueData as Entry;
      e.inQueue = false;
      const waitMs = Math.max(0, now() - w.enqueuedAt);
      e.servedWaitMs = waitMs;
      const o = e.origin;
      (this.#current[o] as number)--;
      (this.#dequeued[o] as number)++;
      (this.#waitTotal[o] as number) += waitMs;
      if (waitMs > (this.#waitMax[o] as number)) this.#waitMax[o] = waitMs;
      if (w instanceof StandaloneEntry) this.#serve(w, level, waitMs);
      return w;
    }
    return undefined;
  }

  /** Puts a dequeued waiter back at the front of its level (the pool does this when its connection failed validation). */
  requeue(waiter: Waiter): void {
    if (waiter instanceof StandaloneEntry) {
      throw new InvalidArgumentError(
        'waiter',
        `entry ${waiter.id}`,
        'is a standalone entry that was already served; it cannot be requeued',
      );
    }
    let e = waiter.queueData;
    if (e instanceof Entry && e.queue === this) {
      if (e.inQueue) return;
      e.inQueue = true;
      const o = e.origin;
      if (e.servedWaitMs >= 0) {
        (this.#dequeued[o] as number)--;
        (this.#waitTotal[o] as number) -= e.servedWaitMs;
        e.servedWaitMs = -1;
      }
      (this.#current[o] as number)++;
    } else {
      const level = levelOf(waiter.priority);
      if (level === undefined) throw new InvalidArgumentError('priority', waiter.priority, `must be ${PRIORITY_LIST}`);
      e = new Entry(this, level, level, now());
      waiter.queueData = e;
      (this.#enqueued[level] as number)++;
      (this.#current[level] as number)++;
    }
    (this.#levels[(e as Entry).level] as WaiterList).pushFront(waiter);
    this.#size++;
  }

  /**
   * Removes a waiter leaving without being served; false when this queue does not hold it. The pool
   * calls it after settling the waiter; for a standalone entry it also rejects the entry's promise.
   */
  remove(waiter: Waiter, reason: WaiterExit): boolean {
    if (waiter instanceof StandaloneEntry && waiter.queue === this && !waiter.settled) {
      return this[kFail](waiter, this.#exitError(waiter, reason), reason);
    }
    return this.#unlink(waiter, reason);
  }

  /** The queued waiters in serving order: most urgent level first, oldest first within a level. */
  values(): IterableIterator<Waiter> {
    if (this.#policy !== null && this.#size > 0) this.#policy.checkAndBoost(this);
    return this.#iterate();
  }

  *#iterate(): IterableIterator<Waiter> {
    for (const list of this.#levels) yield* list.values();
  }

  /**
   * The seed's `wait_queue.enqueue_with_priority(priority)`, for a queue used on its own (not given to a
   * pool): waits for a turn. The promise resolves with a {@link QueueTicket} when this entry is served
   * by {@link serveNext} (or `dequeue()`), in priority order, first come first served within a level.
   * It rejects with `QueueTimeoutError` after `timeoutMs` (one timer for all entries), with
   * `AcquireAbortedError` when `signal` aborts, with `PoolClosedError` when the queue is closed, and
   * with `InvalidArgumentError` naming the argument for bad input.
   *
   * @example
   * ```ts
   * const gate = new PriorityWaitQueue();
   * // a worker frees capacity:
   * gate.serveNext();
   * // a caller waits for its turn:
   * const ticket = await gate.enqueueWithPriority(QueuePriority.High, { timeoutMs: 5_000 });
   * ```
   */
  enqueueWithPriority(priority: QueuePriority, options?: EnqueueOptions): Promise<QueueTicket> {
    const level = levelOf(priority);
    if (level === undefined) return Promise.reject(new InvalidArgumentError('priority', priority, `must be ${PRIORITY_LIST}`));
    let timeoutMs = this.#defaultTimeoutMs;
    let signal: AbortSignal | undefined;
    let context: unknown;
    if (options !== undefined) {
      if (typeof options !== 'object' || options === null) {
        return Promise.reject(new InvalidArgumentError('options', options, 'must be an object of enqueue options'));
      }
      for (const key of Object.keys(options)) {
        if (!ENQUEUE_KEYS.includes(key)) {
          return Promise.reject(
            new InvalidArgumentError(
              `options.${key}`,
              (options as Record<string, unknown>)[key],
              `is not an enqueue option; known: ${ENQUEUE_KEYS.join(', ')}`,
            ),
          );
        }
      }
      if (options.timeoutMs !== undefined) {
        const problem = checkTimeout(options.timeoutMs);
        if (problem !== null) return Promise.reject(new InvalidArgumentError('timeoutMs', options.timeoutMs, problem));
        timeoutMs = options.timeoutMs;
      }
      signal = options.signal;
      if (signal !== undefined && !isAbortSignal(signal)) {
        return Promise.reject(new InvalidArgumentError('signal', signal, 'must be an AbortSignal'));
      }
      context = options.context;
    }
    const refusal = this.#standaloneRefusal('enqueueWithPriority()');
    if (refusal !== null) return Promise.reject(refusal);
    if (signal?.aborted) return Promise.reject(new AcquireAbortedError(signal.reason));
    const start = now();
    const entry = new StandaloneEntry(this, ++this.#nextId, priority, start, timeoutMs, signal, context);
    this.#deadlines ??= new DeadlineQueue<StandaloneEntry>((e) => {
      this[kFail](e, new QueueTimeoutError(e.timeoutMs), 'timeout');
    });
    this.#deadlines.add(entry, timeoutMs, start);
    if (signal !== undefined) {
      entry.onAbort = () => {
        this[kFail](entry, new AcquireAbortedError(signal.reason), 'abort');
      };
      signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    this.enqueue(entry);
    this.#standalone++;
    return entry.promise;
  }

  /**
   * Serves the next standalone entry (its `enqueueWithPriority` promise resolves) and returns its ticket,
   * or `undefined` when nobody waits. Throws `InvalidConfigError` on a queue that serves a pool: the pool
   * decides whom to serve there.
   */
  serveNext(): QueueTicket | undefined {
    const refusal = this.#standaloneRefusal('serveNext()');
    if (refusal !== null) throw refusal;
    const w = this.dequeue();
    return w === undefined ? undefined : (w as StandaloneEntry).ticket;
  }

  /**
   * Closes a standalone queue: every waiting entry rejects with `PoolClosedError`, later
   * `enqueueWithPriority` calls reject at once, and the timer is stopped. Idempotent. Throws
   * `InvalidConfigError` on a queue that serves a pool (closing the pool closes its queue).
   */
  close(): void {
    if (this.#host !== null) throw this.#standaloneRefusal('close()') as PoolError;
    if (this.#closed) return;
    this.#closed = true;
    const error = new PoolClosedError('The wait queue was closed while waiting');
    for (const w of [...this.#iterate()]) {
      if (w instanceof StandaloneEntry) this[kFail](w, error, 'closed');
    }
    this.#deadlines?.clear();
  }

  /** A snapshot of the queue's counters, in total and per priority. O(levels). */
  statistics(): QueueStatistics {
    const byPriority = {} as Record<QueuePriority, QueueLevelStatistics>;
    const total: QueueLevelStatistics = {
      currentSize: 0,
      totalEnqueued: 0,
      totalDequeued: 0,
      totalTimedOut: 0,
      totalCancelled: 0,
      totalFailed: 0,
      totalClosed: 0,
      totalBoosted: 0,
      averageWaitMs: 0,
      maxWaitMs: 0,
    };
    let waitTotal = 0;
    for (let level = 0; level < LEVELS; level++) {
      const dequeued = this.#dequeued[level] as number;
      const stats: QueueLevelStatistics = {
        currentSize: this.#current[level] as number,
        totalEnqueued: this.#enqueued[level] as number,
        totalDequeued: dequeued,
        totalTimedOut: this.#timedOut[level] as number,
        totalCancelled: this.#cancelled[level] as number,
        totalFailed: this.#failed[level] as number,
        totalClosed: this.#closedCount[level] as number,
        totalBoosted: this.#boosted[level] as number,
        averageWaitMs: dequeued === 0 ? 0 : (this.#waitTotal[level] as number) / dequeued,
        maxWaitMs: this.#waitMax[level] as number,
      };
      byPriority[QUEUE_PRIORITIES[level] as QueuePriority] = stats;
      total.currentSize += stats.currentSize;
      total.totalEnqueued += stats.totalEnqueued;
      total.totalDequeued += dequeued;
      total.totalTimedOut += stats.totalTimedOut;
      total.totalCancelled += stats.totalCancelled;
      total.totalFailed += stats.totalFailed;
      total.totalClosed += stats.totalClosed;
      total.totalBoosted += stats.totalBoosted;
      total.maxWaitMs = Math.max(total.maxWaitMs, stats.maxWaitMs);
      waitTotal += this.#waitTotal[level] as number;
    }
    total.averageWaitMs = total.totalDequeued === 0 ? 0 : waitTotal / total.totalDequeued;
    return { ...total, byPriority };
  }

  /** A short description for logs. */
  toString(): string {
    const sizes = QUEUE_PRIORITIES.map((p, i) => `${p} ${(this.#levels[i] as WaiterList).size}`).join(', ');
    return `PriorityWaitQueue(${sizes}${this.#host === null ? '' : `; pool '${this.#host.name}'`})`;
  }

  /** @internal See `StarvationPrevention.checkAndBoost`. Amortized O(1) per boost plus O(levels). */
  [kBoost](thresholdMs: number): number {
    if (this.#size === 0) return 0;
    const t = now();
    let boosts = 0;
    for (let level = 1; level < LEVELS; level++) {
      const list = this.#levels[level] as WaiterList;
      for (;;) {
        const w = list.head;
        if (w === null) break;
        const e = w.queueData as Entry;
        const waited = t - e.since;
        if (waited < thresholdMs) break;
        // One level per full threshold waited, also when the check comes late.
        const steps = Math.min(level, Math.floor(waited / thresholdMs));
        const to = level - steps;
        list.unlink(w);
        e.level = to;
        e.since += steps * thresholdMs;
        w.priority = QUEUE_PRIORITIES[to] as QueuePriority;
        (this.#levels[to] as WaiterList).pushBack(w);
        (this.#boosted[e.origin] as number) += steps;
        boosts += steps;
      }
    }
    return boosts;
  }

  /** @internal Installs the starvation policy (`StarvationPrevention.attach`); null removes it. */
  [kSetPolicy](policy: BoostPolicy | null): void {
    if (policy !== null && this.#policy !== null && this.#policy !== policy) {
      throw new InvalidArgumentError('queue', this.toString(), 'already has a StarvationPrevention attached; detach it first');
    }
    this.#policy = policy;
    if (policy === null) this.#unhookMaintenance();
    else this.#hookMaintenance();
  }

  /** @internal Fails a standalone entry unless it already settled. */
  [kFail](entry: StandaloneEntry, error: PoolError, reason: WaiterExit): boolean {
    if (entry.settled) return false;
    this.#settle(entry);
    this.#unlink(entry, reason);
    entry.reject(error);
    return true;
  }

  #unlink(waiter: Waiter, reason: WaiterExit): boolean {
    const e = waiter.queueData;
    if (!(e instanceof Entry) || e.queue !== this || !e.inQueue) return false;
    (this.#levels[e.level] as WaiterList).unlink(waiter);
    e.inQueue = false;
    this.#size--;
    const o = e.origin;
    (this.#current[o] as number)--;
    const counter =
      reason === 'timeout' ? this.#timedOut : reason === 'abort' ? this.#cancelled : reason === 'closed' ? this.#closedCount : this.#failed;
    (counter[o] as number)++;
    return true;
  }

  #settle(entry: StandaloneEntry): void {
    entry.settled = true;
    this.#standalone--;
    this.#deadlines?.remove(entry);
    if (entry.onAbort !== undefined) entry.signal?.removeEventListener('abort', entry.onAbort);
  }

  #serve(entry: StandaloneEntry, level: number, waitMs: number): void {
    this.#settle(entry);
    const ticket: QueueTicket = Object.freeze({
      id: entry.id,
      priority: QUEUE_PRIORITIES[(entry.queueData as Entry).origin] as QueuePriority,
      servedPriority: QUEUE_PRIORITIES[level] as QueuePriority,
      waitMs,
      context: entry.context,
    });
    entry.ticket = ticket;
    entry.resolve(ticket);
  }

  #exitError(entry: StandaloneEntry, reason: WaiterExit): PoolError {
    switch (reason) {
      case 'timeout':
        return new QueueTimeoutError(entry.timeoutMs);
      case 'abort':
        return new AcquireAbortedError(entry.signal?.reason);
      case 'closed':
        return new PoolClosedError('The wait queue was closed while waiting');
      default:
        return new PoolError('ERR_POOL_QUEUE_REMOVED', `Entry ${entry.id} was removed from the wait queue`);
    }
  }

  #standaloneRefusal(method: string): PoolError | null {
    if (this.#host !== null) {
      return new InvalidConfigError(
        'waitQueue',
        `PriorityWaitQueue of pool '${this.#host.name}'`,
        `serves a pool, so ${method} is not available: acquire through pool.acquire({ priority }) instead`,
      );
    }
    if (this.#closed) return new PoolClosedError('The wait queue is closed');
    return null;
  }

  readonly #onMaintenance = (): void => {
    if (this.#policy !== null && this.#size > 0) this.#policy.checkAndBoost(this);
  };

  #hookMaintenance(): void {
    if (this.#maintenanceHooked || this.#policy === null || !isPool(this.#host)) return;
    this.#host.on('maintenance', this.#onMaintenance);
    this.#maintenanceHooked = true;
  }

  #unhookMaintenance(): void {
    if (!this.#maintenanceHooked || !isPool(this.#host)) return;
    this.#host.off('maintenance', this.#onMaintenance);
    this.#maintenanceHooked = false;
  }
}
