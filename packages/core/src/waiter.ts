import type { PoolError } from './errors.js';
import type { QueuePriority } from './queue-priority.js';

/** Why a waiter left a queue other than by being served. */
export type WaiterExit = 'timeout' | 'abort' | 'failed' | 'closed';

/**
 * A caller waiting in a pool's {@link WaitQueue}. The pool creates it; the queue orders it.
 *
 * `prev` and `next` are free for the queue that holds the waiter to link it into an intrusive list
 * (so removal is O(1) with no allocation); `queueData` is free for any other per-waiter bookkeeping.
 */
export interface Waiter {
  /** Unique within its pool. */
  readonly id: number;
  /** Urgency. A queue may raise it (starvation prevention). */
  priority: QueuePriority;
  /** When the waiter arrived (monotonic ms, `performance.now()`). */
  readonly enqueuedAt: number;
  /** When the waiter times out (monotonic ms). */
  readonly deadline: number;
  /** The `context` given to `acquire()` (for example a partition request), if any. */
  readonly context: unknown;
  /** The async task that called `acquire()`, when the pool has an `ownerScope`. */
  readonly owner: unknown;
  /** The idle-connection label the caller prefers, if any. */
  readonly label: string | undefined;
  /** Where `acquire()` was called, when the pool captures stacks (`captureStacks`). */
  readonly stack?: string | undefined;
  /** Intrusive list links, owned by the queue that holds the waiter. */
  prev: Waiter | null;
  next: Waiter | null;
  /** Free for the queue implementation. */
  queueData: unknown;
  /** True once the waiter was served or failed. */
  readonly settled: boolean;
  /**
   * Fails the waiter with `error` (removing it from the queue and its deadline) unless it is already
   * settled. Returns whether it failed it. Used by detectors such as `DeadlockDetector`.
   */
  fail(error: PoolError): boolean;
}

/**
 * The order in which a pool serves its waiters. The pool owns deadlines, abort signals and settling;
 * the queue only orders. Every operation must be O(1) (or O(levels)) at any length: a pool may hold
 * 100,000 waiters. Implementations must tolerate `remove` of a waiter they do not hold (return false).
 */
export interface WaitQueue {
  /** Waiters currently queued. */
  readonly size: number;
  /** Adds a newly arrived waiter. */
  enqueue(waiter: Waiter): void;
  /** Removes and returns the waiter to serve next. */
  dequeue(): Waiter | undefined;
  /** Puts a dequeued waiter back at the front of its line (its connection failed validation). */
  requeue(waiter: Waiter): void;
  /** Removes a waiter that is leaving without being served; false when it was not queued. */
  remove(waiter: Waiter, reason: WaiterExit): boolean;
  /** The queued waiters in serving order (for inspection and close). */
  values(): IterableIterator<Waiter>;
  /** Called once when a pool takes the queue; a queue serves one pool only. */
  attach?(pool: WaitQueueHost): void;
}

/** What a {@link WaitQueue} learns about the pool it is attached to. */
export interface WaitQueueHost {
  readonly name: string;
  readonly config: { readonly fairQueue: boolean };
}

/** An intrusive doubly linked list of waiters. Shared by queue implementations. */
export class WaiterList {
  head: Waiter | null = null;
  tail: Waiter | null = null;
  size = 0;

  pushBack(w: Waiter): void {
    w.prev = this.tail;
    w.next = null;
    if (this.tail === null) this.head = w;
    else this.tail.next = w;
    this.tail = w;
    this.size++;
  }

  pushFront(w: Waiter): void {
    w.next = this.head;
    w.prev = null;
    if (this.head === null) this.tail = w;
    else this.head.prev = w;
    this.head = w;
    this.size++;
  }

  shift(): Waiter | undefined {
    const w = this.head;
    if (w === null) return undefined;
    this.unlink(w);
    return w;
  }

  pop(): Waiter | undefined {
    const w = this.tail;
    if (w === null) return undefined;
    this.unlink(w);
    return w;
  }

  /** Unlinks `w`, which the caller knows is in this list. */
  unlink(w: Waiter): void {
    if (w.prev === null) this.head = w.next;
    else w.prev.next = w.next;
    if (w.next === null) this.tail = w.prev;
    else w.next.prev = w.prev;
    w.prev = null;
    w.next = null;
    this.size--;
  }

  *values(reverse = false): IterableIterator<Waiter> {
    let w = reverse ? this.tail : this.head;
    while (w !== null) {
      const following: Waiter | null = reverse ? w.prev : w.next;
      yield w;
      w = following;
    }
  }
}

const IN_BASIC_QUEUE = Symbol('BasicWaitQueue');

/**
 * The built-in wait queue: first come, first served (or newest first with `order: 'lifo'`, which the
 * pool picks when `fairQueue` is false). Priorities are ignored; use `@pool/queue` for those.
 */
export class BasicWaitQueue implements WaitQueue {
  readonly #list = new WaiterList();
  #lifo: boolean;
  #explicitOrder: boolean;

  constructor(options: { order?: 'fifo' | 'lifo' } = {}) {
    this.#explicitOrder = options.order !== undefined;
    this.#lifo = options.order === 'lifo';
  }

  get size(): number {
    return this.#list.size;
  }

  attach(pool: WaitQueueHost): void {
    if (!this.#explicitOrder) this.#lifo = !pool.config.fairQueue;
  }

  enqueue(waiter: Waiter): void {
    waiter.queueData = IN_BASIC_QUEUE;
    if (this.#lifo) this.#list.pushFront(waiter);
    else this.#list.pushBack(waiter);
  }

  dequeue(): Waiter | undefined {
    const w = this.#list.shift();
    if (w !== undefined) w.queueData = undefined;
    return w;
  }

  requeue(waiter: Waiter): void {
    waiter.queueData = IN_BASIC_QUEUE;
    this.#list.pushFront(waiter);
  }

  remove(waiter: Waiter): boolean {
    if (waiter.queueData !== IN_BASIC_QUEUE) return false;
    waiter.queueData = undefined;
    this.#list.unlink(waiter);
    return true;
  }

  values(): IterableIterator<Waiter> {
    return this.#list.values();
  }
}
