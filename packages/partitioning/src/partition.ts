import type {
  AcquireOptions,
  ConnectionPool,
  DeadlineEntry,
  PoolError,
  PooledConnection,
  QueuePriority,
  Waiter,
  WaitQueue,
} from '@pool/core';
import { HoldTimeWindow, TokenBucket } from './budgets.js';
import type { PartitionContext } from './events.js';
import type { PartitionLimits } from './limits.js';
import type { PartitionType } from './partition-type.js';
import { type BlockReason, emptyRejections, type PartitionStatistics, type RejectionReason, WaitRecorder } from './statistics.js';

/** What a `prepare` hook receives besides the connection. */
export interface PrepareContext {
  /** Aborts when the caller's deadline passes or its signal aborts; pass it to the driver call. */
  readonly signal: AbortSignal;
}

/**
 * Prepares a connection for a partition before its caller gets it (Oracle UCP calls this labelling):
 * `SET ROLE`, `SET search_path`, a session variable for row-level security... It runs only when the
 * connection is not already prepared for the partition: the connection is then labelled with the
 * partition's label (`PooledConnection.label`, kept across borrows) and the partition's acquires prefer
 * idle connections with that label, so the hook is skipped when one is free.
 *
 * If it throws or outlasts the caller's deadline, the connection is destroyed (its state is unknown)
 * and the acquire fails (`PartitionError` with reason `'prepare'`, or the timeout).
 *
 * @example
 * ```ts
 * const prepare: PrepareHook<pg.Client> = async (client, partition) => {
 *   await client.query(`SET search_path TO ${client.escapeIdentifier(partition.type.name)}`);
 * };
 * ```
 */
export type PrepareHook<C> = (connection: C, partition: PartitionInfo, ctx: PrepareContext) => Promise<void> | void;

/** A partition, as plain data (what `listPartitions()` returns). */
export interface PartitionInfo {
  id: string;
  type: PartitionType;
  limits: PartitionLimits;
  state: 'active' | 'draining';
  /** True when the partition has a pool of its own. */
  isolated: boolean;
  /** The name of the pool its connections come from. */
  pool: string;
  /** Request keys routed to it explicitly (`routeKeys`, `assign()`). */
  routeKeys: string[];
  /** The label of connections prepared for it, when it has a `prepare` hook. */
  label: string | null;
}

/**
 * A handle on one partition, returned by `createPartition()` and `manager.partition(id)`. Its `acquire`
 * and `use` bypass routing (the partition is already chosen) but enforce every limit.
 */
export interface Partition<C> {
  readonly id: string;
  readonly type: PartitionType;
  /** The current limits (`manager.setLimits()` changes them). */
  readonly limits: PartitionLimits;
  /** `'removed'` once `removePartition()` finished. */
  readonly state: 'active' | 'draining' | 'removed';
  readonly isolated: boolean;
  /** The pool its connections come from (the shared one, or its own when isolated). */
  readonly pool: ConnectionPool<C>;
  /** Acquires a connection for this partition (see `PartitionManager.acquire`). */
  acquire(options?: AcquireOptions): Promise<PooledConnection<C>>;
  /** Acquires, runs `fn`, and releases (also when `fn` throws). */
  use<T>(fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>, options?: AcquireOptions): Promise<T>;
  /** This partition's statistics. */
  statistics(): PartitionStatistics;
  /** Plain data. */
  toJSON(): PartitionInfo;
}

/** @internal The manager side of a waiter. */
export interface WaiterHost {
  failWaiter(w: PartitionWaiter, error: PoolError, reason: RejectionReason): boolean;
}

/** @internal A caller waiting in (or being served by) a partition. */
export class PartitionWaiter implements Waiter, DeadlineEntry {
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queueData: unknown = undefined;
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  readonly owner: unknown = undefined;
  settled = false;
  /** 'queued': in the partition's queue; 'acquiring': a pool acquire (and maybe prepare) runs for it. */
  stage: 'new' | 'queued' | 'acquiring' = 'new';
  /** Memory reserved for it at grant time (an estimate until the connection is measured). */
  memReserved = 0;
  onAbort: (() => void) | undefined = undefined;
  resolve!: (conn: PooledConnection<never>) => void;
  reject!: (error: PoolError) => void;
  readonly promise: Promise<PooledConnection<never>>;

  constructor(
    readonly host: WaiterHost,
    readonly id: number,
    public priority: QueuePriority,
    readonly enqueuedAt: number,
    readonly timeoutMs: number,
    readonly signal: AbortSignal | undefined,
    readonly label: string | undefined,
    readonly context: PartitionContext,
    readonly partition: PartitionState<unknown>,
  ) {
    this.deadline = enqueuedAt + Math.ceil(timeoutMs);
    this.promise = new Promise((resolve, reject) => {
      this.resolve = resolve;
      this.reject = reject;
    });
  }

  fail(error: PoolError): boolean {
    return this.host.failWaiter(this, error, 'failed');
  }
}

/** @internal A pool the manager draws connections from, with the borrows it made there. */
export interface PoolLink<C> {
  readonly pool: ConnectionPool<C>;
  /** Borrows made through partitions, by connection id. */
  readonly grants: Map<number, Grant<C>>;
  /** The last per-connection memory cost measured in this pool (the estimate for the next one). */
  lastMemoryCost: number;
  detach(): void;
}

/** @internal One borrow made through a partition. */
export interface Grant<C> {
  readonly partition: PartitionState<C>;
  readonly handle: PooledConnection<C>;
  readonly memoryCost: number;
  /** When the partition got the connection (monotonic ms). */
  readonly since: number;
  /** Handed to the caller (after `prepare`, if any): only then does its return count as a release. */
  delivered: boolean;
  /** While `prepare` runs on it: ends the preparation when the pool takes the connection back. */
  takenBack: (() => void) | undefined;
}

/** @internal Everything the manager keeps about one partition. */
export class PartitionState<C> implements DeadlineEntry {
  // budget-timer entry (DeadlineEntry)
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  /** When the blocking budget is expected to refill (monotonic ms), and whether that is certain. */
  wakeAt = Number.POSITIVE_INFINITY;
  wakeCertain = false;

  limits: PartitionLimits;
  state: 'active' | 'draining' | 'removed' = 'active';
  /** Connections held or being acquired for it. */
  granted = 0;
  /** ...of which are being acquired (pool acquire or prepare in progress). */
  acquiring = 0;
  /** Reserved slots it does not use (counted in the manager's total). */
  reservedIdle = 0;
  blockedOn: BlockReason | null = null;
  // shared-capacity ring (round robin between partitions waiting for shared capacity)
  inRing = false;
  ringPrev: PartitionState<C> | null = null;
  ringNext: PartitionState<C> | null = null;
  io: TokenBucket | null;
  readonly cpu: HoldTimeWindow;
  memoryUsed = 0;
  readonly routeKeys = new Set<string>();
  drained: Promise<void> | null = null;
  resolveDrained: (() => void) | null = null;
  handle!: Partition<C>;
  // statistics
  acquired = 0;
  released = 0;
  timeouts = 0;
  rejections = emptyRejections();
  readonly waits = new WaitRecorder();
  totalHoldMs = 0;
  prepared = 0;
  prepareFailures = 0;
  prepareReused = 0;
  totalPrepareMs = 0;

  constructor(
    readonly id: string,
    readonly type: PartitionType,
    limits: PartitionLimits,
    readonly link: PoolLink<C>,
    readonly isolated: boolean,
    readonly queue: WaitQueue,
    readonly prepare: PrepareHook<C> | null,
    readonly label: string | null,
    /** Fixed per-connection memory cost, or a measuring function (or null when memory is not tracked). */
    readonly memoryCost: number | ((connection: C) => number) | null,
    t: number,
  ) {
    this.limits = limits;
    this.io = limits.ioLimit === null ? null : new TokenBucket(limits.ioLimit, t);
    this.cpu = new HoldTimeWindow(t);
  }

  /** Borrowed right now. */
  get active(): number {
    return this.granted - this.acquiring;
  }

  /** The memory one more connection is expected to cost. */
  memoryEstimate(): number {
    const cost = this.memoryCost;
    if (cost === null) return 0;
    return typeof cost === 'number' ? cost : this.link.lastMemoryCost;
  }

  /** The reservation in force: none once draining with nobody left waiting. */
  effectiveMin(): number {
    if (this.isolated || this.state === 'removed') return 0;
    if (this.state === 'draining' && this.queue.size === 0) return 0;
    return this.limits.minConnections;
  }

  info(): PartitionInfo {
    return {
      id: this.id,
      type: this.type,
      limits: this.limits,
      state: this.state === 'active' ? 'active' : 'draining',
      isolated: this.isolated,
      pool: this.link.pool.name,
      routeKeys: [...this.routeKeys],
      label: this.label,
    };
  }

  statistics(t: number): PartitionStatistics {
    const averagePrepareMs = this.prepared - this.prepareFailures <= 0 ? 0 : this.totalPrepareMs / (this.prepared - this.prepareFailures);
    const perConnection = this.memoryCost === null ? null : this.memoryEstimate();
    return {
      id: this.id,
      type: this.type,
      state: this.state === 'active' ? 'active' : 'draining',
      isolated: this.isolated,
      pool: this.link.pool.name,
      limits: this.limits,
      connectionsAcquired: this.acquired,
      connectionsReleased: this.released,
      active: this.active,
      acquiring: this.acquiring,
      waiting: this.queue.size,
      reservedIdle: this.reservedIdle,
      blockedOn: this.queue.size === 0 ? null : this.blockedOn,
      timeouts: this.timeouts,
      rejections: { ...this.rejections },
      averageWaitMs: this.waits.averageMs,
      p99WaitMs: this.waits.percentileMs(99),
      maxWaitMs: this.waits.maxMs,
      averageHoldMs: this.released === 0 ? 0 : this.totalHoldMs / this.released,
      budgets: {
        cpu: { limitMs: this.limits.cpuLimitMs, usedMs: this.cpu.used(t) },
        io: { limitPerSecond: this.limits.ioLimit, used: this.io === null ? 0 : Math.round(this.io.used(t) * 100) / 100 },
        memory: { limitBytes: this.limits.memoryLimitBytes, usedBytes: this.memoryUsed, perConnectionBytes: perConnection },
      },
      preparation: {
        prepared: this.prepared,
        failed: this.prepareFailures,
        reused: this.prepareReused,
        averagePrepareMs,
        savedMs: this.prepareReused * averagePrepareMs,
      },
    };
  }

  resetStatistics(): void {
    this.acquired = 0;
    this.released = 0;
    this.timeouts = 0;
    this.rejections = emptyRejections();
    this.waits.reset();
    this.totalHoldMs = 0;
    this.prepared = 0;
    this.prepareFailures = 0;
    this.prepareReused = 0;
    this.totalPrepareMs = 0;
  }
}

/** @internal The ring of partitions waiting for shared capacity, served round robin. */
export class PartitionRing<C> {
  head: PartitionState<C> | null = null;
  tail: PartitionState<C> | null = null;
  size = 0;

  push(p: PartitionState<C>): void {
    if (p.inRing) return;
    p.inRing = true;
    p.ringPrev = this.tail;
    p.ringNext = null;
    if (this.tail === null) this.head = p;
    else this.tail.ringNext = p;
    this.tail = p;
    this.size++;
  }

  remove(p: PartitionState<C>): void {
    if (!p.inRing) return;
    p.inRing = false;
    if (p.ringPrev === null) this.head = p.ringNext;
    else p.ringPrev.ringNext = p.ringNext;
    if (p.ringNext === null) this.tail = p.ringPrev;
    else p.ringNext.ringPrev = p.ringPrev;
    p.ringPrev = null;
    p.ringNext = null;
    this.size--;
  }
}
