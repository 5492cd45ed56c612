import { type ConnectionPool, DeadlineQueue, PoolEvents } from '@pool/core';
import { expire, failWaiter } from './acquisition.js';
import { budgetRefilled } from './admission.js';
import type { PartitionEventMap } from './events.js';
import { PartitionRing, type PartitionState, type PartitionWaiter, type PoolLink, type WaiterHost } from './partition.js';
import type { PartitionRegistry } from './partition-registry.js';

/**
 * @internal Everything a {@link PartitionManager} keeps, shared by the modules that run it: the
 * registry ({@link PartitionRegistry}), admission (`admission.ts`: shared capacity, the round-robin
 * ring, budget timers, scheduling), acquisition (`acquisition.ts`: waiters' deadlines and acquisitions
 * in flight), the return path (`pool-link.ts`) and removal (`partition-removal.ts`). Those modules are
 * functions taking this state first, so the acquire path calls them directly, with no closure per call.
 */
export class ManagerState<C> {
  /** The events listeners subscribe to with `manager.on()`. */
  readonly events: PoolEvents<PartitionEventMap<C>>;

  // ------------------------------------------------ admission (admission.ts)
  /** Partitions waiting for shared capacity, served round robin. */
  readonly ring = new PartitionRing<C>();
  /** Wakes partitions whose queue waits for a budget to refill. */
  readonly budgetTimers: DeadlineQueue<PartitionState<C>>;
  /** Partitions to serve at the next flush. */
  readonly dirty = new Set<PartitionState<C>>();
  flushScheduled = false;
  /** Connections held or being acquired by the shared pool's partitions. */
  sharedGranted = 0;
  /** Reserved slots the shared pool's partitions do not use. */
  reservedIdle = 0;

  // ------------------------------------------------ acquisition (acquisition.ts)
  /** Fails waiters whose deadline passes while they are queued (one timer for all). */
  readonly deadlines: DeadlineQueue<PartitionWaiter>;
  /** Waiters whose pool acquire (or prepare) is in progress. */
  readonly inFlight = new Set<PartitionWaiter>();
  /** The manager side of every waiter (`waiter.fail()`). */
  readonly host: WaiterHost;
  nextWaiterId = 0;

  // ------------------------------------------------ pools and lifecycle
  /** The pools the manager follows (the shared one and isolated partitions' own). */
  readonly links = new Set<PoolLink<C>>();
  /** Set once `close()` started. */
  closing: Promise<void> | undefined = undefined;
  /** Requests no partition matched (and no default served). */
  unrouted = 0;

  constructor(
    /** The manager's name. */
    readonly name: string,
    /** The shared pool. */
    readonly pool: ConnectionPool<C>,
    readonly registry: PartitionRegistry<C>,
  ) {
    this.events = new PoolEvents<PartitionEventMap<C>>((error) => this.events.emit('error', { error }));
    this.deadlines = new DeadlineQueue<PartitionWaiter>((w) => expire(this, w));
    this.budgetTimers = new DeadlineQueue<PartitionState<C>>((p) => budgetRefilled(this, p));
    this.host = { failWaiter: (w, error, reason) => failWaiter(this, w, error, reason, 'failed') };
  }
}
