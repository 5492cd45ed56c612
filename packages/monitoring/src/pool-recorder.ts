import {
  type ConnectionFactory,
  type ConnectionInfo,
  type FactoryStatistics,
  now,
  type PoolConfig,
  type PoolEventMap,
  type PoolEventName,
  type PooledConnection,
  type PoolSize,
  type PoolStatistics,
  type WaitQueue,
} from '@pool/core';
import { DurationRecorder, DurationTotals, type HistogramLayout } from './histogram.js';

/**
 * What monitoring uses of a pool: the public API of `@pool/core`'s `ConnectionPool`, whatever its
 * connection type. Any `ConnectionPool<C>` is one.
 */
export interface MonitoredPool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly factory: ConnectionFactory<unknown>;
  readonly waitQueue: WaitQueue;
  statistics(): PoolStatistics;
  size(): PoolSize;
  borrowed(): PooledConnection<unknown>[];
  connections(): ConnectionInfo[];
  reclaim(connectionId: number): boolean;
  /** Exact borrow timing on demand (`ConnectionPool.requestBorrowTiming`); optional for duck-typed pools. */
  requestBorrowTiming?(): () => void;
  on<K extends PoolEventName>(event: K, listener: (payload: PoolEventMap<unknown>[K]) => void): unknown;
  off<K extends PoolEventName>(event: K, listener: (payload: PoolEventMap<unknown>[K]) => void): unknown;
}

type Events = PoolEventMap<unknown>;

/**
 * How borrows are timed: every one (`'all'`), or those that start during sampling periods covering
 * `fraction` of the time.
 */
export type BorrowTiming = { mode: 'all' } | { mode: 'sampled'; fraction: number };

/** A sampling period lasts this long (ms); periods start every `SAMPLE_PERIOD_MS / fraction`. */
export const SAMPLE_PERIOD_MS = 100;
/** Borrows sampled in a period are followed through release events for this long after it (ms)... */
export const FOLLOW_MS = 10_000;
/** ...then polled at this interval (ms), their end placed half-way between two polls. */
export const STRAGGLER_POLL_MS = 1_000;
/** Without timing every borrow, the borrowed count is sampled this often (ms) for utilization. */
export const UTILIZATION_SAMPLE_MS = 100;

/** One step of the sliding window: the pool's counters when it started, and what it recorded. */
class WindowSlot {
  /** Monotonic ms when this slot started receiving. */
  startedAt = Number.NaN;
  acquiredAtStart = 0;
  failuresAtStart = 0;
  firstBorrowsAtStart = 0;
  /** Borrowed connection-ms integral when the slot started. */
  borrowedAtStart = 0;
  /** Capacity (maxSize × ms) integral when the slot started. */
  capacityAtStart = 0;
  /** The factory's cumulative statement-cache hits and misses when the slot started (NaN: not reported). */
  cacheHitsAtStart = Number.NaN;
  cacheMissesAtStart = Number.NaN;
  /** Waits longer than 0 (acquisitions served at once are counted from the pool's counters). */
  readonly wait: DurationRecorder;
  readonly hold: DurationRecorder;
  readonly create: DurationRecorder;

  constructor(layout: HistogramLayout) {
    this.wait = new DurationRecorder(layout);
    this.hold = new DurationRecorder(layout);
    this.create = new DurationRecorder(layout);
  }

  clear(): void {
    this.wait.reset();
    this.hold.reset();
    this.create.reset();
  }
}

/** Durations merged over a span (the window, or the whole history). */
export interface MergedDurations {
  wait: DurationTotals;
  hold: DurationTotals;
  create: DurationTotals;
}

/** The window's counts, beside its histograms. */
export interface WindowCounts {
  /** Monotonic ms the window starts at. */
  startedAt: number;
  acquired: number;
  firstBorrows: number;
  failures: number;
  borrowedAtStart: number;
  capacityAtStart: number;
  cacheHitsAtStart: number;
  cacheMissesAtStart: number;
}

/**
 * Callers served or failed through a partition manager watched by the monitor
 * (`PoolMonitor.watchPartitions`), counted so that the pool's figures cover every caller exactly once:
 * the pool's own acquisitions made on a partition's behalf are taken out (`poolAcquired`, `poolFailed`)
 * and the partition's callers are put in (`acquired`, `failed`, with their whole wait).
 */
export interface CallerTally {
  /** Pool acquisitions a partition manager made for its callers (seen in the pool's `acquire` events). */
  poolAcquired: number;
  /** Pool acquisitions a partition manager made that failed (the pool's `acquireError` events). */
  poolFailed: number;
  /** Callers a partition served (the manager's `acquire` events). */
  acquired: number;
  /** Callers a partition failed, whatever the reason (the manager's `reject` events). */
  failed: number;
}

/**
 * True for the `context` of an acquisition a partition manager made (`@pool/partitioning`'s
 * `PartitionContext`: `{ partition, request, context }`), read structurally.
 */
export function isPartitionContext(context: unknown): boolean {
  return (
    typeof context === 'object' &&
    context !== null &&
    typeof (context as { partition?: unknown }).partition === 'string' &&
    'request' in context &&
    'context' in context
  );
}

/** A borrow sampled for its hold time, followed until it ends. */
interface Followed {
  handle: PooledConnection<unknown>;
  startedAt: number;
}

/**
 * Records one pool into a ring of window slots.
 *
 * Nothing here runs on the uncontended acquire/release path by default: counts (acquisitions,
 * failures, first borrows, acquisitions by hour) are differences of the pool's own counters taken when
 * slots and hours turn; acquire events are listened to only while callers wait (an uncontended
 * acquire never waits, and its zero wait is counted from the counters); and borrows are timed (which
 * costs the pool two clock reads each) either always (`'all'`) or only during sampling periods.
 * Each event handler does a few increments and one histogram-array increment, without allocating.
 * @internal
 */
export class PoolRecorder {
  readonly name: string;
  readonly pool: MonitoredPool;
  readonly timing: BorrowTiming;
  readonly #slots: WindowSlot[];
  #index = 0;
  /** The slot receiving events now. */
  current: WindowSlot;
  /** Slots that left the window, summed (for cumulative exporters). */
  readonly retired: MergedDurations;
  readonly #attachAcquired: number;
  readonly #attachFailures: number;
  /** Acquisitions by hour of the day, since attach, up to the start of the current hour. */
  readonly #hours = new Float64Array(24);
  #hour = 0;
  #hourAcquiredAtStart: number;
  /** Connections alive at attach that had been borrowed already: their next borrow is not a first one. */
  readonly #borrowedBeforeAttach = new Set<number>();
  /** First borrows of connections destroyed since attach. */
  #destroyedFirstBorrows = 0;
  #maxSize: number;
  #capacityAcc = 0;
  #capacityAt: number;
  #attached = false;
  /** Non-null once a partition manager drawing from this pool is watched: figures then count callers. */
  #tally: CallerTally | null = null;
  #waitListening = false;
  #releaseListening = false;
  // Exact utilization ('all'): hold times of ended borrows + time so far of those in progress.
  #finishedMs = 0;
  readonly #unmeasured = new Map<number, number>();
  #lastSeen = new Map<number, number>();
  // Sampled utilization: the borrowed count sampled every UTILIZATION_SAMPLE_MS.
  #sampledAcc = 0;
  #sampledAt = 0;
  #sampledCount = 0;
  // Sampled hold times.
  #phase: 'off' | 'sampling' | 'following' = 'off';
  #excluded: Set<PooledConnection<unknown>> | null = null;
  #followed = new Map<PooledConnection<unknown>, Followed>();
  #stragglers: Followed[] = [];
  #lastPoll = 0;
  #nextSampleAt = 0;
  #sampleTimer: ReturnType<typeof setTimeout> | undefined;
  #pollTimer: ReturnType<typeof setInterval> | undefined;
  #utilTimer: ReturnType<typeof setInterval> | undefined;

  constructor(name: string, pool: MonitoredPool, layout: HistogramLayout, slots: number, timing: BorrowTiming, t: number) {
    this.name = name;
    this.pool = pool;
    this.timing = timing;
    this.#slots = Array.from({ length: slots }, () => new WindowSlot(layout));
    this.current = this.#slots[0] as WindowSlot;
    this.retired = { wait: new DurationTotals(layout), hold: new DurationTotals(layout), create: new DurationTotals(layout) };
    this.#maxSize = pool.config.maxSize;
    this.#capacityAt = t;
    const s = pool.statistics();
    this.#attachAcquired = s.acquired;
    this.#attachFailures = s.acquireFailures;
    this.#hourAcquiredAtStart = s.acquired;
    for (const c of pool.connections()) {
      // Its first borrow happened before attach (even if it is still in progress): it never counts.
      if (c.borrows > 0) this.#borrowedBeforeAttach.add(c.id);
      if (c.state === 'borrowed') {
        if (c.heldMs === undefined) this.#unmeasured.set(c.id, t);
        else this.#finishedMs -= c.heldMs;
        this.#sampledCount++;
      }
    }
    this.#sampledAt = t;
  }

  // ------------------------------------------------------------ event handlers

  /** Attached only while callers wait (or when every acquire is validated): records waits above 0. */
  readonly onAcquire = (e: Events['acquire']): void => {
    if (this.#tally !== null && isPartitionContext(e.connection.context)) {
      // A partition's caller: its whole wait is recorded when the partition hands it the connection.
      this.#tally.poolAcquired++;
      return;
    }
    const waitMs = e.waitMs;
    if (waitMs > 0) this.current.wait.record(waitMs);
    if (this.pool.waitQueue.size === 0 && !this.#alwaysWaits()) this.#listenWaits(false);
  };

  /** Only while partition callers are counted: a pool acquisition a partition made failed. */
  readonly onAcquireError = (e: Events['acquireError']): void => {
    if (this.#tally !== null && isPartitionContext(e.context)) this.#tally.poolFailed++;
  };

  /** A partition served one of its callers after `waitMs` (its whole wait, partition queue and pool). */
  partitionAcquired(waitMs: number): void {
    if (this.#tally === null) return;
    this.#tally.acquired++;
    this.current.wait.record(Math.max(0, waitMs));
  }

  /** A partition failed one of its callers. */
  partitionRejected(): void {
    if (this.#tally !== null) this.#tally.failed++;
  }

  /**
   * From now on, count callers rather than pool acquisitions: a partition manager draws from this pool.
   * Listens to every acquisition (and failed one) of the pool, to tell partition callers from direct ones.
   */
  countCallers(): void {
    if (this.#tally !== null) return;
    this.#tally = { poolAcquired: 0, poolFailed: 0, acquired: 0, failed: 0 };
    if (this.#attached) {
      this.pool.on('acquireError', this.onAcquireError);
      this.#listenWaits(true);
    }
  }

  /** Callers counted through partition managers, or `null` when none is watched. */
  get tally(): Readonly<CallerTally> | null {
    return this.#tally;
  }

  /** Successful acquisitions by callers (the pool's, adjusted for partition callers when they are counted). */
  callerAcquired(stats: PoolStatistics): number {
    const t = this.#tally;
    return t === null ? stats.acquired : stats.acquired - t.poolAcquired + t.acquired;
  }

  /** Failed acquisitions by callers, likewise. */
  callerFailures(stats: PoolStatistics): number {
    const t = this.#tally;
    return t === null ? stats.acquireFailures : stats.acquireFailures - t.poolFailed + t.failed;
  }

  /** A caller is about to wait: listen to acquisitions until the queue is empty again. */
  readonly onEnqueue = (): void => {
    if (!this.#waitListening) this.#listenWaits(true);
  };

  readonly onRelease = (e: Events['release']): void => {
    const holdMs = e.holdMs;
    if (this.timing.mode === 'all') {
      if (holdMs >= 0) {
        this.current.hold.record(holdMs);
        this.#finishedMs += holdMs;
      } else this.#untimedRelease(e.connection.id);
      return;
    }
    // Sampled: only borrows that started in the current sampling period count.
    const handle = e.connection;
    if (this.#phase === 'sampling') {
      if ((this.#excluded as Set<PooledConnection<unknown>>).has(handle)) return;
      if (holdMs >= 0) this.current.hold.record(holdMs);
    } else if (this.#phase === 'following') {
      if (!this.#followed.delete(handle)) return;
      if (holdMs >= 0) this.current.hold.record(holdMs);
      if (this.#followed.size === 0) this.#endFollowing();
    }
  };

  readonly onCreate = (e: Events['create']): void => {
    this.current.create.record(e.durationMs);
  };

  readonly onDestroy = (e: Events['destroy']): void => {
    if (e.borrows > 0 && !this.#borrowedBeforeAttach.delete(e.connectionId)) this.#destroyedFirstBorrows++;
    else this.#borrowedBeforeAttach.delete(e.connectionId);
    if (this.timing.mode !== 'all' || (e.reason !== 'reclaimed' && e.reason !== 'closed')) return;
    // A borrow the pool ended itself (reclaim, forced close) has no 'release' event: count its time here.
    const start = this.#unmeasured.get(e.connectionId) ?? this.#lastSeen.get(e.connectionId);
    if (start === undefined) return;
    this.#unmeasured.delete(e.connectionId);
    this.#lastSeen.delete(e.connectionId);
    this.#finishedMs += now() - start;
  };

  /** The pool closed: nothing more to sample (its figures stay readable until detached). */
  readonly onClose = (): void => {
    this.#stopSampling();
    this.#listenWaits(false);
  };

  readonly onResize = (e: Events['resize']): void => {
    const t = now();
    this.#capacityAcc = this.capacityIntegral(t);
    this.#capacityAt = t;
    this.#maxSize = e.maxSize;
  };

  /** A borrow that began before the pool measured borrow times ended (its holdMs is NaN). */
  #untimedRelease(connectionId: number): void {
    const start = this.#unmeasured.get(connectionId);
    if (start === undefined) return;
    this.#unmeasured.delete(connectionId);
    this.#finishedMs += now() - start;
  }

  #alwaysWaits(): boolean {
    return this.pool.config.validateOnAcquire || this.#tally !== null;
  }

  #listenWaits(on: boolean): void {
    if (on === this.#waitListening) return;
    this.#waitListening = on;
    if (on) this.pool.on('acquire', this.onAcquire);
    else this.pool.off('acquire', this.onAcquire);
  }

  #listenReleases(on: boolean): void {
    if (on === this.#releaseListening) return;
    this.#releaseListening = on;
    if (on) this.pool.on('release', this.onRelease);
    else this.pool.off('release', this.onRelease);
  }

  // ------------------------------------------------------------ lifecycle

  attach(t: number): void {
    if (this.#attached) return;
    this.#attached = true;
    const p = this.pool;
    p.on('enqueue', this.onEnqueue);
    p.on('create', this.onCreate);
    p.on('destroy', this.onDestroy);
    p.on('resize', this.onResize);
    p.on('close', this.onClose);
    if (this.#tally !== null) p.on('acquireError', this.onAcquireError);
    if (this.#alwaysWaits() || p.waitQueue.size > 0) this.#listenWaits(true);
    if (this.timing.mode === 'all') this.#listenReleases(true);
    else {
      this.#utilTimer = setInterval(() => this.#sampleBorrowed(now()), UTILIZATION_SAMPLE_MS);
      this.#utilTimer.unref?.();
      // A random phase, so pools (and benchmarks) started together are not all sampled at once.
      const cycle = SAMPLE_PERIOD_MS / this.timing.fraction;
      this.#schedule(() => this.#startSampling(now()), Math.random() * cycle);
    }
    this.#begin(this.current, t, p.statistics());
  }

  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    const p = this.pool;
    p.off('enqueue', this.onEnqueue);
    p.off('create', this.onCreate);
    p.off('destroy', this.onDestroy);
    p.off('resize', this.onResize);
    p.off('close', this.onClose);
    p.off('acquireError', this.onAcquireError);
    this.#listenWaits(false);
    this.#stopSampling();
  }

  #stopSampling(): void {
    this.#listenReleases(false);
    if (this.#sampleTimer !== undefined) clearTimeout(this.#sampleTimer);
    if (this.#pollTimer !== undefined) clearInterval(this.#pollTimer);
    if (this.#utilTimer !== undefined) clearInterval(this.#utilTimer);
    this.#sampleTimer = this.#pollTimer = this.#utilTimer = undefined;
    this.#phase = 'off';
    this.#excluded = null;
    this.#followed.clear();
    this.#stragglers = [];
  }

  // ------------------------------------------------------------ sampled hold times

  #schedule(fn: () => void, ms: number): void {
    this.#sampleTimer = setTimeout(fn, ms);
    this.#sampleTimer.unref?.();
  }

  /** Starts a sampling period: borrows that start now are timed and followed to their end. */
  #startSampling(t: number): void {
    this.#excluded = new Set(this.pool.borrowed());
    this.#phase = 'sampling';
    this.#listenReleases(true);
    this.#schedule(() => this.#endSampling(t), SAMPLE_PERIOD_MS);
  }

  #endSampling(startedAt: number): void {
    const t = now();
    const handles = new Map<number, PooledConnection<unknown>>();
    for (const h of this.pool.borrowed()) if (!(this.#excluded as Set<PooledConnection<unknown>>).has(h)) handles.set(h.id, h);
    this.#excluded = null;
    this.#followed.clear();
    for (const c of this.pool.connections()) {
      const handle = handles.get(c.id);
      if (handle === undefined || c.heldMs === undefined) continue;
      this.#followed.set(handle, { handle, startedAt: t - c.heldMs });
    }
    const cycle = SAMPLE_PERIOD_MS / (this.timing as { fraction: number }).fraction;
    const next = Math.max(0, startedAt + cycle - t);
    if (this.#followed.size === 0) {
      this.#phase = 'off';
      this.#listenReleases(false);
      this.#schedule(() => this.#startSampling(now()), next);
      return;
    }
    this.#phase = 'following';
    this.#schedule(() => {
      // Still following after FOLLOW_MS: stop timing new borrows, poll the stragglers.
      this.#endFollowing();
    }, FOLLOW_MS);
    this.#nextSampleAt = startedAt + cycle;
  }

  /** The followed borrows all ended, or FOLLOW_MS passed: timing stops until the next period. */
  #endFollowing(): void {
    if (this.#sampleTimer !== undefined) clearTimeout(this.#sampleTimer);
    const t = now();
    for (const f of this.#followed.values()) this.#stragglers.push(f);
    this.#followed.clear();
    this.#phase = 'off';
    this.#listenReleases(false);
    if (this.#stragglers.length > 0 && this.#pollTimer === undefined) {
      this.#lastPoll = t;
      this.#pollTimer = setInterval(() => this.#pollStragglers(), STRAGGLER_POLL_MS);
      this.#pollTimer.unref?.();
    }
    this.#schedule(() => this.#startSampling(now()), Math.max(0, this.#nextSampleAt - t));
  }

  /** Long sampled borrows, no longer timed by events: an ended one is placed half-way between polls. */
  #pollStragglers(): void {
    const t = now();
    const end = (this.#lastPoll + t) / 2;
    this.#stragglers = this.#stragglers.filter((f) => {
      if (!f.handle.released) return true;
      this.current.hold.record(Math.max(0, end - f.startedAt));
      return false;
    });
    this.#lastPoll = t;
    if (this.#stragglers.length === 0 && this.#pollTimer !== undefined) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
    }
  }

  #sampleBorrowed(t: number): void {
    this.#sampledAcc += this.#sampledCount * (t - this.#sampledAt);
    this.#sampledAt = t;
    this.#sampledCount = this.pool.borrowed().length;
  }

  // ------------------------------------------------------------ window

  /** Moves the window one slot on at monotonic time `t`: the oldest slot is retired and reused. */
  advance(t: number, stats: PoolStatistics): void {
    const next = (this.#index + 1) % this.#slots.length;
    const slot = this.#slots[next] as WindowSlot;
    if (!Number.isNaN(slot.startedAt)) {
      this.retired.wait.add(slot.wait);
      this.retired.hold.add(slot.hold);
      this.retired.create.add(slot.create);
      slot.clear();
    }
    this.#begin(slot, t, stats);
    this.#index = next;
    this.current = slot;
  }

  #begin(slot: WindowSlot, t: number, stats: PoolStatistics): void {
    slot.startedAt = t;
    slot.acquiredAtStart = this.callerAcquired(stats);
    slot.failuresAtStart = this.callerFailures(stats);
    slot.firstBorrowsAtStart = this.firstBorrows();
    slot.borrowedAtStart = this.borrowedIntegral(t);
    slot.capacityAtStart = this.capacityIntegral(t);
    const cache = readCache(this.pool);
    slot.cacheHitsAtStart = cache === null ? Number.NaN : cache.hits;
    slot.cacheMissesAtStart = cache === null ? Number.NaN : cache.misses;
  }

  /** The hour of the day changed: the acquisitions since the last change go to the hour that ended. */
  setHour(hour: number, stats: PoolStatistics): void {
    const acquired = this.callerAcquired(stats);
    this.#hours[this.#hour]! += acquired - this.#hourAcquiredAtStart;
    this.#hourAcquiredAtStart = acquired;
    this.#hour = hour;
  }

  /** Acquisitions by hour of the day since attach, the current hour included. */
  hours(stats: PoolStatistics): number[] {
    const out = Array.from(this.#hours);
    out[this.#hour]! += this.callerAcquired(stats) - this.#hourAcquiredAtStart;
    return out;
  }

  /** The live slots, oldest first. */
  *#live(): Generator<WindowSlot> {
    const n = this.#slots.length;
    for (let k = 1; k <= n; k++) {
      const slot = this.#slots[(this.#index + k) % n] as WindowSlot;
      if (!Number.isNaN(slot.startedAt)) yield slot;
    }
  }

  /** Merges the window's histograms into `into` (reset first) and returns the window's counts. */
  window(into: MergedDurations, stats: PoolStatistics): WindowCounts {
    into.wait.reset();
    into.hold.reset();
    into.create.reset();
    let first: WindowSlot | undefined;
    for (const slot of this.#live()) {
      first ??= slot;
      into.wait.add(slot.wait);
      into.hold.add(slot.hold);
      into.create.add(slot.create);
    }
    const oldest = first ?? this.current;
    const acquired = this.callerAcquired(stats) - oldest.acquiredAtStart;
    // Acquisitions not recorded as waits were served at once.
    into.wait.addZeros(acquired - into.wait.count);
    return {
      startedAt: oldest.startedAt,
      acquired,
      firstBorrows: this.firstBorrows() - oldest.firstBorrowsAtStart,
      failures: this.callerFailures(stats) - oldest.failuresAtStart,
      borrowedAtStart: oldest.borrowedAtStart,
      capacityAtStart: oldest.capacityAtStart,
      cacheHitsAtStart: oldest.cacheHitsAtStart,
      cacheMissesAtStart: oldest.cacheMissesAtStart,
    };
  }

  /** Merges everything recorded since attach into `into` (reset first). */
  cumulative(into: MergedDurations, stats: PoolStatistics): { acquired: number; firstBorrows: number; failures: number } {
    into.wait.reset();
    into.hold.reset();
    into.create.reset();
    into.wait.add(this.retired.wait);
    into.hold.add(this.retired.hold);
    into.create.add(this.retired.create);
    for (const slot of this.#live()) {
      into.wait.add(slot.wait);
      into.hold.add(slot.hold);
      into.create.add(slot.create);
    }
    const acquired = this.callerAcquired(stats) - this.#attachAcquired;
    into.wait.addZeros(acquired - into.wait.count);
    return { acquired, firstBorrows: this.firstBorrows(), failures: this.callerFailures(stats) - this.#attachFailures };
  }

  /**
   * First borrows since attach: connections (alive, or destroyed since attach) lent out at least once
   * that had not been lent out before attach. O(connections).
   */
  firstBorrows(): number {
    let n = this.#destroyedFirstBorrows;
    for (const c of this.pool.connections()) if (c.borrows > 0 && !this.#borrowedBeforeAttach.has(c.id)) n++;
    return n;
  }

  /**
   * Connection-milliseconds lent out since attach. With every borrow timed: the hold times of ended
   * borrows plus the time so far of those in progress (exact). Otherwise: the borrowed count sampled
   * every UTILIZATION_SAMPLE_MS, integrated over time. O(connections).
   */
  borrowedIntegral(t: number = now()): number {
    if (this.timing.mode !== 'all') return this.#sampledAcc + this.#sampledCount * (t - this.#sampledAt);
    let total = this.#finishedMs;
    const seen = new Map<number, number>();
    for (const c of this.pool.connections()) {
      if (c.state !== 'borrowed') continue;
      if (c.heldMs !== undefined) {
        total += c.heldMs;
        seen.set(c.id, t - c.heldMs);
      } else {
        const since = this.#unmeasured.get(c.id);
        if (since !== undefined) total += t - since;
      }
    }
    this.#lastSeen = seen;
    return total;
  }

  /** `maxSize` × ms integrated since attach. */
  capacityIntegral(t: number): number {
    return this.#capacityAcc + this.#maxSize * (t - this.#capacityAt);
  }
}

/** The factory's statement-cache figures, or null when it reports none (or its `statistics()` throws). */
export function readCache(pool: MonitoredPool): NonNullable<FactoryStatistics['statementCache']> | null {
  const stats = readFactoryStatistics(pool);
  const cache = stats?.statementCache;
  if (cache == null || typeof cache !== 'object') return null;
  return cache;
}

/** `pool.factory.statistics?.()`, contained: a throwing adapter yields null rather than breaking a read. */
export function readFactoryStatistics(pool: MonitoredPool): FactoryStatistics | null {
  const factory = pool.factory;
  if (typeof factory.statistics !== 'function') return null;
  try {
    const stats = factory.statistics();
    return typeof stats === 'object' && stats !== null ? stats : null;
  } catch {
    return null;
  }
}
