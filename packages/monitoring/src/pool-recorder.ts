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
  on<K extends PoolEventName>(event: K, listener: (payload: PoolEventMap<unknown>[K]) => void): unknown;
  off<K extends PoolEventName>(event: K, listener: (payload: PoolEventMap<unknown>[K]) => void): unknown;
}

type Events = PoolEventMap<unknown>;

/** One step of the sliding window. */
class WindowSlot {
  /** Monotonic ms when this slot started receiving. */
  startedAt = Number.NaN;
  /** Borrowed connection-ms integral of the pool when the slot started. */
  borrowedAtStart = 0;
  /** Capacity (maxSize × ms) integral when the slot started. */
  capacityAtStart = 0;
  /** The factory's cumulative statement-cache hits and misses when the slot started (NaN: not reported). */
  cacheHitsAtStart = Number.NaN;
  cacheMissesAtStart = Number.NaN;
  acquired = 0;
  /** Acquisitions that got a connection on its first borrow. */
  fresh = 0;
  failures = 0;
  readonly wait: DurationRecorder;
  readonly hold: DurationRecorder;
  readonly create: DurationRecorder;

  constructor(layout: HistogramLayout) {
    this.wait = new DurationRecorder(layout);
    this.hold = new DurationRecorder(layout);
    this.create = new DurationRecorder(layout);
  }

  clear(): void {
    this.acquired = 0;
    this.fresh = 0;
    this.failures = 0;
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

/** What the window holds, beside the histograms. */
export interface WindowCounts {
  /** Monotonic ms the window starts at. */
  startedAt: number;
  acquired: number;
  fresh: number;
  failures: number;
  borrowedAtStart: number;
  capacityAtStart: number;
  cacheHitsAtStart: number;
  cacheMissesAtStart: number;
}

/**
 * Records one pool's events into a ring of window slots. The event handlers are allocated once and
 * do a few field increments and one histogram-array increment per event; everything else (merging,
 * percentiles, integrals) happens when someone reads.
 * @internal
 */
export class PoolRecorder {
  readonly name: string;
  readonly pool: MonitoredPool;
  readonly #slots: WindowSlot[];
  #index = 0;
  /** The slot receiving events now. */
  current: WindowSlot;
  /** Acquisitions by hour of the day, since attach. */
  readonly hours = new Float64Array(24);
  /** The hour of the day acquisitions are counted in now (set by the monitor's hour clock). */
  hour = 0;
  /** Slots that left the window, summed (for cumulative exporters). */
  readonly retired: MergedDurations;
  retiredAcquired = 0;
  retiredFresh = 0;
  #maxSize: number;
  #capacityAcc = 0;
  #capacityAt: number;
  #attached = false;
  /**
   * Connection-ms of the borrows that ended since attach. Starts at minus the time already spent by
   * the borrows in progress at attach, so the integral counts only time after attach.
   */
  #finishedMs = 0;
  /** Borrows in progress at attach whose start the pool did not measure: connection id → attach time. */
  readonly #unmeasured = new Map<number, number>();
  /** Starts (monotonic) of the borrows in progress at the last read, for borrows the pool ends itself. */
  #lastSeen = new Map<number, number>();

  constructor(name: string, pool: MonitoredPool, layout: HistogramLayout, slots: number, t: number) {
    this.name = name;
    this.pool = pool;
    this.#slots = Array.from({ length: slots }, () => new WindowSlot(layout));
    this.current = this.#slots[0] as WindowSlot;
    this.retired = { wait: new DurationTotals(layout), hold: new DurationTotals(layout), create: new DurationTotals(layout) };
    this.#maxSize = pool.config.maxSize;
    this.#capacityAt = t;
    for (const c of pool.connections()) {
      if (c.state !== 'borrowed') continue;
      if (c.heldMs === undefined) this.#unmeasured.set(c.id, t);
      else this.#finishedMs -= c.heldMs;
    }
    this.#begin(this.current, t);
  }

  // ------------------------------------------------------------ hot path

  readonly onAcquire = (e: Events['acquire']): void => {
    const s = this.current;
    s.acquired++;
    if (e.connection.borrows === 1) s.fresh++;
    s.wait.record(e.waitMs);
    this.hours[this.hour]!++;
  };

  readonly onRelease = (e: Events['release']): void => {
    const holdMs = e.holdMs;
    if (holdMs >= 0) {
      this.current.hold.record(holdMs);
      this.#finishedMs += holdMs;
    } else this.#untimedRelease(e.connection.id);
  };

  readonly onCreate = (e: Events['create']): void => {
    this.current.create.record(e.durationMs);
  };

  readonly onAcquireError = (): void => {
    this.current.failures++;
  };

  /** A borrow the pool ended itself (reclaim, forced close) has no 'release' event: count its time here. */
  readonly onDestroy = (e: Events['destroy']): void => {
    if (e.reason !== 'reclaimed' && e.reason !== 'closed') return;
    const start = this.#unmeasured.get(e.connectionId) ?? this.#lastSeen.get(e.connectionId);
    if (start === undefined) return;
    this.#unmeasured.delete(e.connectionId);
    this.#lastSeen.delete(e.connectionId);
    this.#finishedMs += now() - start;
  };

  /** A borrow that began before the pool measured borrow times ended (its holdMs is NaN). */
  #untimedRelease(connectionId: number): void {
    const start = this.#unmeasured.get(connectionId);
    if (start === undefined) return;
    this.#unmeasured.delete(connectionId);
    this.#finishedMs += now() - start;
  }

  readonly onResize = (e: Events['resize']): void => {
    this.#noteCapacity(now());
    this.#maxSize = e.maxSize;
  };

  // ------------------------------------------------------------ lifecycle

  attach(): void {
    if (this.#attached) return;
    this.#attached = true;
    const p = this.pool;
    p.on('acquire', this.onAcquire);
    p.on('release', this.onRelease);
    p.on('create', this.onCreate);
    p.on('acquireError', this.onAcquireError);
    p.on('destroy', this.onDestroy);
    p.on('resize', this.onResize);
  }

  detach(): void {
    if (!this.#attached) return;
    this.#attached = false;
    const p = this.pool;
    p.off('acquire', this.onAcquire);
    p.off('release', this.onRelease);
    p.off('create', this.onCreate);
    p.off('acquireError', this.onAcquireError);
    p.off('destroy', this.onDestroy);
    p.off('resize', this.onResize);
  }

  /** Moves the window one slot on at monotonic time `t`: the oldest slot is retired and reused. */
  advance(t: number): void {
    const next = (this.#index + 1) % this.#slots.length;
    const slot = this.#slots[next] as WindowSlot;
    if (!Number.isNaN(slot.startedAt)) {
      this.retired.wait.add(slot.wait);
      this.retired.hold.add(slot.hold);
      this.retired.create.add(slot.create);
      this.retiredAcquired += slot.acquired;
      this.retiredFresh += slot.fresh;
      slot.clear();
    }
    this.#begin(slot, t);
    this.#index = next;
    this.current = slot;
  }

  #begin(slot: WindowSlot, t: number): void {
    slot.startedAt = t;
    slot.borrowedAtStart = this.borrowedIntegral(t);
    slot.capacityAtStart = this.capacityIntegral(t);
    const cache = readCache(this.pool);
    slot.cacheHitsAtStart = cache === null ? Number.NaN : cache.hits;
    slot.cacheMissesAtStart = cache === null ? Number.NaN : cache.misses;
  }

  // ------------------------------------------------------------ reading

  /** The live slots, oldest first. */
  *#live(): Generator<WindowSlot> {
    const n = this.#slots.length;
    for (let k = 1; k <= n; k++) {
      const slot = this.#slots[(this.#index + k) % n] as WindowSlot;
      if (!Number.isNaN(slot.startedAt)) yield slot;
    }
  }

  /** Merges the window's histograms into `into` (which is reset first) and returns the window's counts. */
  window(into: MergedDurations): WindowCounts {
    into.wait.reset();
    into.hold.reset();
    into.create.reset();
    let first: WindowSlot | undefined;
    let acquired = 0;
    let fresh = 0;
    let failures = 0;
    for (const slot of this.#live()) {
      first ??= slot;
      into.wait.add(slot.wait);
      into.hold.add(slot.hold);
      into.create.add(slot.create);
      acquired += slot.acquired;
      fresh += slot.fresh;
      failures += slot.failures;
    }
    const oldest = first ?? this.current;
    return {
      startedAt: oldest.startedAt,
      acquired,
      fresh,
      failures,
      borrowedAtStart: oldest.borrowedAtStart,
      capacityAtStart: oldest.capacityAtStart,
      cacheHitsAtStart: oldest.cacheHitsAtStart,
      cacheMissesAtStart: oldest.cacheMissesAtStart,
    };
  }

  /** Merges everything recorded since attach into `into` (which is reset first). */
  cumulative(into: MergedDurations): { acquired: number; fresh: number } {
    into.wait.reset();
    into.hold.reset();
    into.create.reset();
    into.wait.add(this.retired.wait);
    into.hold.add(this.retired.hold);
    into.create.add(this.retired.create);
    let acquired = this.retiredAcquired;
    let fresh = this.retiredFresh;
    for (const slot of this.#live()) {
      into.wait.add(slot.wait);
      into.hold.add(slot.hold);
      into.create.add(slot.create);
      acquired += slot.acquired;
      fresh += slot.fresh;
    }
    return { acquired, fresh };
  }

  /**
   * Connection-milliseconds lent out since attach: the hold time of every borrow that ended plus the
   * time so far of the borrows in progress. Differences of this integral give exact time-weighted
   * utilization without a clock read per event. O(connections).
   */
  borrowedIntegral(t: number = now()): number {
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

  #noteCapacity(t: number): void {
    this.#capacityAcc = this.capacityIntegral(t);
    this.#capacityAt = t;
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
