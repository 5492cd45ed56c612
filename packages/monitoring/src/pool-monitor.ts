import { InvalidArgumentError, InvalidConfigError, now } from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import type { ExportFormatter } from './export-format.js';
import {
  accumulateAtOrBelow,
  boundIndex,
  type CumulativeHistogram,
  DurationTotals,
  HistogramLayout,
  type HistogramSnapshot,
} from './histogram.js';
import { HourClock } from './hour-clock.js';
import { type PartitionEventSource, PartitionWatch } from './partition-watch.js';
import {
  type BorrowTiming,
  type MergedDurations,
  type MonitoredPool,
  PoolRecorder,
  readCache,
  readFactoryStatistics,
  type WindowCounts,
} from './pool-recorder.js';
import type { EfficiencyMetrics, PoolMonitorStatistics, StatementCacheFigures, UsagePatterns } from './statistics.js';

/** Options of a {@link PoolMonitor}. */
export interface PoolMonitorOptions {
  /**
   * How far back the windowed figures (percentiles, throughput, efficiency, recent success rate) look,
   * in ms. Default `300000` (5 minutes). Integer, 1000 to 86400000.
   */
  windowMs?: number;
  /**
   * The window moves in this many steps of `windowMs / windowSlots` each: the oldest step is dropped as
   * a new one starts, so the window covers between `windowMs - step` and `windowMs`. More steps follow
   * time more smoothly and cost a little memory per pool. Default `5`. Integer, 1 to 120.
   */
  windowSlots?: number;
  /**
   * Precision of the duration histograms in significant decimal digits: 2 keeps every percentile within
   * 1% (16 KiB per histogram), 3 within 0.1% (112 KiB). Default `2`. One of 1, 2, 3.
   */
  significantDigits?: 1 | 2 | 3;
  /** The IANA time zone `usagePatterns` counts hours in. Default: the process's time zone (`TZ`). */
  timeZone?: string;
  /**
   * Which borrows are timed for the hold-time histogram (and the utilization integral). A timed borrow
   * costs the pool two clock reads, about as much as the rest of an uncontended acquire/release, so:
   * - `'all'` (or `1`): every borrow. Exact hold-time percentiles and exact time-weighted utilization.
   * - a fraction in (0, 1): borrows are timed during 100 ms sampling periods covering that fraction of
   *   the time (`0.02`: 100 ms every 5 s, starting at a random phase). Every borrow that starts in a
   *   period is followed to its end, however long, so the sample is not biased against long holds;
   *   hold-time percentiles are estimated from it, and utilization from the borrowed count sampled
   *   every 100 ms.
   * Waits, counts, rates and create times are exact either way. Default `0.02`.
   */
  borrowTiming?: 'all' | number;
}

/** Options of {@link PoolMonitor.attach}. */
export interface AttachOptions {
  /** The name the pool is reported under. Default `pool.name`. Must be unique within the monitor. */
  name?: string;
}

/** Which duration histogram: acquire wait, borrow hold, or connection creation. */
export type DurationKind = 'wait' | 'hold' | 'create';

/** A pool's cumulative histograms and counters, for exporters that need monotonic counters (Prometheus). */
export interface CumulativeFigures {
  wait: CumulativeHistogram;
  hold: CumulativeHistogram;
  create: CumulativeHistogram;
  /** Successful acquisitions since attach. */
  acquisitions: number;
  /** ...of which got a connection on its first borrow (the rest reused one). */
  firstBorrows: number;
}

const OPTION_KEYS = ['windowMs', 'windowSlots', 'significantDigits', 'timeZone', 'borrowTiming'];

interface CheckedOptions {
  windowMs: number;
  windowSlots: number;
  significantDigits: 1 | 2 | 3;
  timeZone: string | undefined;
  timing: BorrowTiming;
}

function checkOptions(options: unknown): CheckedOptions {
  checkOptionKeys(options, OPTION_KEYS, 'PoolMonitor');
  const o = options as Record<string, unknown>;
  const windowMs = o.windowMs ?? 300_000;
  if (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs < 1000 || windowMs > 86_400_000) {
    throw new InvalidConfigError('windowMs', windowMs, 'must be an integer number of milliseconds between 1000 and 86400000');
  }
  const windowSlots = o.windowSlots ?? 5;
  if (typeof windowSlots !== 'number' || !Number.isInteger(windowSlots) || windowSlots < 1 || windowSlots > 120) {
    throw new InvalidConfigError('windowSlots', windowSlots, 'must be an integer between 1 and 120');
  }
  const significantDigits = o.significantDigits ?? 2;
  if (significantDigits !== 1 && significantDigits !== 2 && significantDigits !== 3) {
    throw new InvalidConfigError('significantDigits', significantDigits, 'must be 1, 2 or 3');
  }
  const borrowTiming = o.borrowTiming ?? 0.02;
  let timing: BorrowTiming;
  if (borrowTiming === 'all' || borrowTiming === 1) timing = { mode: 'all' };
  else if (typeof borrowTiming === 'number' && borrowTiming > 0 && borrowTiming < 1) timing = { mode: 'sampled', fraction: borrowTiming };
  else throw new InvalidConfigError('borrowTiming', borrowTiming, "must be 'all' or a fraction of the time greater than 0 and at most 1");
  return { windowMs, windowSlots, significantDigits, timeZone: o.timeZone as string | undefined, timing };
}

const POOL_MEMBERS = ['on', 'off', 'statistics', 'size', 'borrowed', 'reclaim'] as const;

/** Duck-typed, so a pool from another copy of `@pool/core` is accepted too. */
function isPool(value: unknown): value is MonitoredPool {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return POOL_MEMBERS.every((m) => typeof v[m] === 'function') && typeof v.name === 'string';
}

/**
 * Watches one or several named pools through their events and reports the seed's statistics:
 * counters, wait/hold/create-time percentiles over a sliding window (HdrHistogram), usage by hour of
 * day, and efficiency (time-weighted utilization, connection reuse, statement-cache hit rate).
 *
 * Cheap enough to leave on in production: nothing runs on the uncontended acquire/release path by
 * default. Counts come from the pool's counters when the window steps; acquire events are listened to
 * only while callers wait; borrows are timed (two clock reads each, paid by the pool) only during short
 * sampling periods unless `borrowTiming: 'all'`. Each handler does a few field updates and one array
 * increment, without allocating; merging, percentiles and integrals are computed when you read. Its
 * timers are unref'd and never keep the process alive. `close()` (or `using`) detaches everything.
 *
 * @example
 * ```ts
 * const monitor = new PoolMonitor(pool);
 * const stats = monitor.statistics();
 * console.log(`Connections created: ${stats.connectionsCreated}`);
 * console.log(`p99 wait: ${stats.waitTimeHistogram.percentiles.p99} ms`);
 * ```
 */
export class PoolMonitor {
  /** The window length in ms. */
  readonly windowMs: number;
  /** Steps the window moves in. */
  readonly windowSlots: number;
  /** Histogram precision, in significant digits. */
  readonly significantDigits: 1 | 2 | 3;
  /** The IANA time zone hours are counted in. */
  readonly timeZone: string;
  /** `'all'` when every borrow is timed, else the fraction of the time borrows are timed. */
  readonly borrowTiming: 'all' | number;
  readonly #slotMs: number;
  readonly #layout: HistogramLayout;
  readonly #clock: HourClock;
  readonly #recorders = new Map<string, PoolRecorder>();
  readonly #byPool = new Map<object, PoolRecorder>();
  readonly #watches = new Map<object, PartitionWatch>();
  readonly #formatters = new Map<string, ExportFormatter>();
  readonly #scratch: MergedDurations;
  readonly #timing: BorrowTiming;
  #slotStart = 0;
  #hour = 0;
  #stepTimer: ReturnType<typeof setInterval> | undefined;
  #hourTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /**
   * @param pools a pool or pools to attach now (each under its `pool.name`), or `null`.
   * @param options window, precision and time zone; see {@link PoolMonitorOptions}.
   * @throws InvalidConfigError for a bad option; InvalidArgumentError for something that is not a pool,
   *   or two pools with the same name.
   */
  constructor(pools?: MonitoredPool | readonly MonitoredPool[] | null, options: PoolMonitorOptions = {}) {
    const o = checkOptions(options);
    this.windowMs = o.windowMs;
    this.windowSlots = o.windowSlots;
    this.significantDigits = o.significantDigits;
    this.#timing = o.timing;
    this.borrowTiming = o.timing.mode === 'all' ? 'all' : o.timing.fraction;
    this.#slotMs = o.windowMs / o.windowSlots;
    this.#clock = new HourClock(o.timeZone);
    this.timeZone = this.#clock.timeZone;
    this.#layout = new HistogramLayout(o.significantDigits);
    this.#scratch = this.#newMerged();
    if (pools != null) {
      const list = Array.isArray(pools) ? pools : [pools];
      for (const pool of list as MonitoredPool[]) this.attach(pool);
    }
  }

  /**
   * Starts watching `pool` under `options.name` (default `pool.name`). Returns the monitor.
   * @throws InvalidArgumentError when `pool` is not a ConnectionPool or the name is taken.
   */
  attach(pool: MonitoredPool, options: AttachOptions = {}): this {
    if (this.#closed) throw new InvalidArgumentError('monitor', 'closed', 'cannot attach a pool to a closed PoolMonitor');
    if (!isPool(pool)) throw new InvalidArgumentError('pool', pool, 'must be a ConnectionPool from @pool/core');
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', options, 'must be { name? }');
    for (const key of Object.keys(options)) {
      if (key !== 'name')
        throw new InvalidArgumentError(`options.${key}`, (options as Record<string, unknown>)[key], 'is not an attach option; known: name');
    }
    const name = options.name ?? pool.name;
    if (typeof name !== 'string' || name.trim() === '') throw new InvalidArgumentError('name', name, 'must be a non-empty string');
    const existing = this.#recorders.get(name);
    if (existing !== undefined) {
      if (existing.pool === pool) return this;
      throw new InvalidArgumentError('name', name, 'is already used by another pool in this monitor; pass { name } to tell them apart');
    }
    for (const r of this.#recorders.values()) {
      if (r.pool === pool) throw new InvalidArgumentError('pool', `pool '${pool.name}'`, `is already attached as '${r.name}'`);
    }
    if (this.#recorders.size === 0) this.#startTimers();
    const t = now();
    const recorder = new PoolRecorder(name, pool, this.#layout, this.windowSlots, this.#timing, t);
    recorder.setHour(this.#hour, pool.statistics());
    this.#recorders.set(name, recorder);
    this.#byPool.set(pool, recorder);
    for (const w of this.#watches.values()) w.adopt(pool, recorder);
    recorder.attach(t);
    return this;
  }

  /**
   * Counts the callers of a partition manager (`@pool/partitioning`'s `PartitionManager`) in the
   * figures of the pools its partitions draw from, so those figures cover every caller exactly once,
   * whichever queue it waited in: a caller served through a partition counts once, with its whole wait
   * (in the partition's queue and then in the pool's) in the wait histogram; a caller a partition
   * failed (timed out in its queue, refused because the queue was full, a budget...) counts as a failed
   * acquisition; `waiting` includes the callers waiting in the partitions' queues. Without it the pool
   * sees only the acquisitions the manager makes on its callers' behalf, and misses every wait and
   * failure in the partitions' queues.
   *
   * Counting starts now: watch the manager before traffic starts so that the pool's figures and the
   * partitions' own statistics agree. While a manager is watched, the pool's `acquire` and
   * `acquireError` events are listened to on every acquisition (one call each). Returns the monitor;
   * watching the same manager twice does nothing.
   *
   * @example
   * ```ts
   * const monitor = new PoolMonitor(pool).watchPartitions(manager);
   * monitor.statistics().acquireFailures; // includes callers that timed out in a partition's queue
   * ```
   */
  watchPartitions(manager: PartitionEventSource): this {
    if (this.#closed) throw new InvalidArgumentError('monitor', 'closed', 'cannot watch partitions with a closed PoolMonitor');
    const m = manager as unknown as Partial<Record<string, unknown>> | null;
    if (
      typeof m !== 'object' ||
      m === null ||
      typeof m.pool !== 'object' ||
      !['on', 'off', 'partition', 'listPartitions', 'getPartitionStatistics'].every((k) => typeof m[k] === 'function')
    ) {
      throw new InvalidArgumentError(
        'manager',
        manager,
        'must be a PartitionManager from @pool/partitioning (with pool, on(), off(), partition(), listPartitions(), getPartitionStatistics())',
      );
    }
    if (this.#watches.has(manager)) return this;
    const watch = new PartitionWatch(manager, (pool) => this.#byPool.get(pool));
    this.#watches.set(manager, watch);
    watch.start();
    return this;
  }

  /** Stops counting a manager's callers (figures counted so far stay). Returns false when it was not watched. */
  unwatchPartitions(manager: PartitionEventSource): boolean {
    const watch = this.#watches.get(manager);
    if (watch === undefined) return false;
    watch.stop();
    this.#watches.delete(manager);
    return true;
  }

  /** Whether {@link watchPartitions} was called with `manager` (and not undone). */
  watchesPartitions(manager: object): boolean {
    return this.#watches.has(manager);
  }

  /** Stops watching a pool (given as the pool or its name). Returns false when it was not attached. */
  detach(poolOrName: MonitoredPool | string): boolean {
    for (const [name, r] of this.#recorders) {
      if (r.pool === poolOrName || name === poolOrName) {
        r.detach();
        this.#recorders.delete(name);
        this.#byPool.delete(r.pool);
        if (this.#recorders.size === 0) this.#stopTimers();
        return true;
      }
    }
    return false;
  }

  /** The names of the attached pools, in attach order. */
  get poolNames(): string[] {
    return [...this.#recorders.keys()];
  }

  /** The pool attached under `name`, if any. */
  getPool(name: string): MonitoredPool | undefined {
    return this.#recorders.get(name)?.pool;
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The seed's statistics for one pool. `poolName` may be left out when exactly one pool is attached.
   * O(window slots × histogram size + connections): meant for dashboards and scrapes, not per request.
   * @throws InvalidArgumentError when the name is unknown, or missing while several pools are attached.
   */
  statistics(poolName?: string): PoolMonitorStatistics {
    return this.#statsOf(this.#recorder(poolName), now(), Date.now());
  }

  /** {@link statistics} for every attached pool, in attach order. */
  allStatistics(): PoolMonitorStatistics[] {
    const t = now();
    const epoch = Date.now();
    return [...this.#recorders.values()].map((r) => this.#statsOf(r, t, epoch));
  }

  /**
   * One duration histogram over the window: of one pool, or (no name) of every attached pool merged,
   * which is what a dashboard shows for an application with several pools.
   */
  histogram(kind: DurationKind, poolName?: string): HistogramSnapshot {
    if (kind !== 'wait' && kind !== 'hold' && kind !== 'create') {
      throw new InvalidArgumentError('kind', kind, "must be 'wait', 'hold' or 'create'");
    }
    const recorders = poolName === undefined ? [...this.#recorders.values()] : [this.#recorder(poolName)];
    if (recorders.length === 1) {
      const r = recorders[0] as PoolRecorder;
      r.window(this.#scratch, r.pool.statistics());
      return this.#scratch[kind].snapshot();
    }
    const total = new DurationTotals(this.#layout);
    for (const r of recorders) {
      r.window(this.#scratch, r.pool.statistics());
      total.add(this.#scratch[kind]);
    }
    return total.snapshot();
  }

  /**
   * Cumulative figures since the pool was attached: histograms that only grow (what a Prometheus
   * histogram needs) and acquisition counters. Used by `@pool/prometheus`.
   */
  cumulative(poolName?: string): CumulativeFigures {
    const merged = this.#newMerged();
    const r = this.#recorder(poolName);
    const counts = r.cumulative(merged, r.pool.statistics());
    return {
      wait: this.#view(merged.wait),
      hold: this.#view(merged.hold),
      create: this.#view(merged.create),
      acquisitions: counts.acquired,
      firstBorrows: counts.firstBorrows,
    };
  }

  /**
   * Connection-milliseconds lent out by the pool since it was attached (finished borrows plus those in
   * progress). A monotonic counter: its rate divided by `maxSize` is the utilization.
   */
  borrowedTimeMs(poolName?: string): number {
    return this.#recorder(poolName).borrowedIntegral();
  }

  /**
   * Makes `formatter.format` available to {@link MonitoringExporter} for this monitor. Returns a
   * function that removes it again. `@pool/prometheus` registers `'prometheus'` this way.
   */
  registerExportFormatter(formatter: ExportFormatter): () => void {
    if (
      typeof formatter !== 'object' ||
      formatter === null ||
      typeof formatter.format !== 'string' ||
      formatter.format === '' ||
      typeof formatter.render !== 'function' ||
      typeof formatter.contentType !== 'string'
    ) {
      throw new InvalidArgumentError('formatter', formatter, 'must be { format: string, contentType: string, render(monitor, options) }');
    }
    this.#formatters.set(formatter.format, formatter);
    return () => {
      if (this.#formatters.get(formatter.format) === formatter) this.#formatters.delete(formatter.format);
    };
  }

  /** The formatter registered for `format`, if any. */
  getExportFormatter(format: string): ExportFormatter | undefined {
    return this.#formatters.get(format);
  }

  /** Detaches every pool and stops the timers. Idempotent. Figures can no longer be read afterwards. */
  close(): void {
    if (this.#closed) return;
    for (const name of [...this.#recorders.keys()]) this.detach(name);
    for (const w of this.#watches.values()) w.stop();
    this.#watches.clear();
    this.#stopTimers();
    this.#formatters.clear();
    this.#closed = true;
  }

  /** `using monitor = new PoolMonitor(pool)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------ internals

  #newMerged(): MergedDurations {
    return { wait: new DurationTotals(this.#layout), hold: new DurationTotals(this.#layout), create: new DurationTotals(this.#layout) };
  }

  #recorder(poolName: string | undefined): PoolRecorder {
    if (poolName === undefined) {
      if (this.#recorders.size === 1) return this.#recorders.values().next().value as PoolRecorder;
      throw new InvalidArgumentError(
        'poolName',
        poolName,
        this.#recorders.size === 0
          ? 'no pool is attached to this monitor'
          : `is required with several pools attached (${this.poolNames.join(', ')})`,
      );
    }
    const r = this.#recorders.get(poolName);
    if (r === undefined)
      throw new InvalidArgumentError('poolName', poolName, `is not attached; attached: ${this.poolNames.join(', ') || 'none'}`);
    return r;
  }

  #view(totals: DurationTotals): CumulativeHistogram {
    const layout = this.#layout;
    return {
      count: totals.count,
      sumMs: totals.sumMs,
      countsAtOrBelow(boundsMs: readonly number[]): number[] {
        const out = boundsMs.map(() => 0);
        const indexes = boundsMs.map((b) => boundIndex(layout, totals.hist, b));
        accumulateAtOrBelow(totals.hist, totals.count, indexes, out);
        return out;
      },
    };
  }

  #startTimers(): void {
    this.#slotStart = now();
    this.#stepTimer = setInterval(() => this.#step(), this.#slotMs);
    this.#stepTimer.unref?.();
    this.#onHour();
  }

  #stopTimers(): void {
    if (this.#stepTimer !== undefined) clearInterval(this.#stepTimer);
    if (this.#hourTimer !== undefined) clearTimeout(this.#hourTimer);
    this.#stepTimer = undefined;
    this.#hourTimer = undefined;
  }

  #step(): void {
    const t = now();
    const due = Math.floor((t - this.#slotStart + 1e-6) / this.#slotMs);
    if (due <= 0) return;
    this.#slotStart += due * this.#slotMs;
    const steps = Math.min(due, this.windowSlots);
    for (const r of this.#recorders.values()) {
      const stats = r.pool.statistics();
      for (let i = 0; i < steps; i++) r.advance(t, stats);
    }
  }

  #onHour(): void {
    const { hour, msToNextHour } = this.#clock.read(Date.now());
    this.#hour = hour;
    for (const r of this.#recorders.values()) r.setHour(hour, r.pool.statistics());
    this.#hourTimer = setTimeout(() => this.#onHour(), msToNextHour);
    this.#hourTimer.unref?.();
  }

  #statsOf(r: PoolRecorder, t: number, epoch: number): PoolMonitorStatistics {
    const pool = r.pool;
    const s = pool.statistics();
    const cfg = pool.config;
    const w = r.window(this.#scratch, s);
    const span = Math.max(0, t - w.startedAt);
    const attempts = w.acquired + w.failures;
    const acquired = r.callerAcquired(s);
    const failures = r.callerFailures(s);
    const tally = r.tally;
    let partitionWaiting = 0;
    if (tally !== null) for (const watch of this.#watches.values()) partitionWaiting += watch.waitingFor(pool);
    return {
      poolName: r.name,
      timestamp: epoch,
      state: s.state,
      windowSpanMs: span,
      connectionsCreated: s.connectionsCreated,
      connectionsDestroyed: s.connectionsDestroyed,
      destroyedByReason: s.destroyedByReason,
      createFailures: s.createFailures,
      acquisitions: acquired,
      acquireFailures: failures,
      timeouts: s.timeouts,
      rejected: s.rejected,
      aborted: s.aborted,
      releasedWithError: s.releasedWithError,
      reclaimed: s.reclaimed,
      leaksDetected: s.leaksDetected,
      validations: s.validations,
      validationFailures: s.validationFailures,
      activeConnections: s.activeConnections,
      idleConnections: s.idleConnections,
      totalConnections: s.totalConnections,
      pendingCreates: s.pendingCreates,
      waiting: s.waiting + partitionWaiting,
      partitionCallers: tally === null ? null : { acquired: tally.acquired, failed: tally.failed, waiting: partitionWaiting },
      minConnections: cfg.minSize,
      maxConnections: cfg.maxSize,
      successRate: tally === null ? s.successRate : acquired + failures === 0 ? 1 : acquired / (acquired + failures),
      recentSuccessRate: attempts === 0 ? 1 : w.acquired / attempts,
      windowAcquisitions: w.acquired,
      windowAcquireFailures: w.failures,
      averageAcquireTimeMs: s.averageAcquireTimeMs,
      throughputPerSecond: span > 0 ? (w.acquired * 1000) / span : 0,
      waitTimeHistogram: this.#scratch.wait.snapshot(),
      holdTimeHistogram: this.#scratch.hold.snapshot(),
      createTimeHistogram: this.#scratch.create.snapshot(),
      usagePatterns: this.#usage(r, s),
      efficiencyMetrics: this.#efficiency(r, t, w),
    };
  }

  #usage(r: PoolRecorder, s: ReturnType<MonitoredPool['statistics']>): UsagePatterns {
    const byHour = r.hours(s);
    let peak: number | null = null;
    let peakCount = 0;
    for (let h = 0; h < 24; h++) {
      const c = byHour[h] as number;
      if (c > peakCount) {
        peak = h;
        peakCount = c;
      }
    }
    return { timeZone: this.timeZone, acquisitionsByHour: byHour, peakHour: peak, peakHourAcquisitions: peakCount };
  }

  #efficiency(r: PoolRecorder, t: number, w: WindowCounts): EfficiencyMetrics {
    const borrowed = Math.max(0, r.borrowedIntegral(t) - w.borrowedAtStart);
    const capacity = r.capacityIntegral(t) - w.capacityAtStart;
    const maxSize = r.pool.config.maxSize;
    const utilization = capacity > 0 ? borrowed / capacity : maxSize > 0 ? r.pool.borrowed().length / maxSize : 0;
    const cache = readCache(r.pool);
    let cacheHitRate = 0;
    let statementCache: StatementCacheFigures | null = null;
    if (cache !== null) {
      statementCache = {
        hits: Number(cache.hits) || 0,
        misses: Number(cache.misses) || 0,
        evictions: Number(cache.evictions) || 0,
        size: Number(cache.size) || 0,
        capacity: Number(cache.capacity) || 0,
      };
      let hits = statementCache.hits;
      let misses = statementCache.misses;
      // Window difference when the start is known and the counters did not go back (adapter restarted).
      if (!Number.isNaN(w.cacheHitsAtStart) && hits >= w.cacheHitsAtStart && misses >= w.cacheMissesAtStart) {
        hits -= w.cacheHitsAtStart;
        misses -= w.cacheMissesAtStart;
      }
      cacheHitRate = hits + misses > 0 ? hits / (hits + misses) : 0;
    }
    const queryErrors = readFactoryStatistics(r.pool)?.queryErrors;
    return {
      poolUtilization: utilization,
      connectionReuseRate: w.acquired === 0 ? 0 : Math.max(0, w.acquired - w.firstBorrows) / w.acquired,
      cacheHitRate,
      borrowedTimeMs: borrowed,
      statementCache,
      queryErrors: typeof queryErrors === 'number' ? queryErrors : null,
    };
  }
}
