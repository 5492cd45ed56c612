import { InvalidArgumentError, InvalidConfigError, now, QUEUE_PRIORITIES, type QueuePriority } from '@pool/core';
import type { HistogramSnapshot } from './histogram.js';
import { type LeakDetector, type LeakReport, partitionOf } from './leak-detector.js';
import type { PoolMonitor } from './pool-monitor.js';
import type { MonitoredPool } from './pool-recorder.js';
import {
  type MonitoringSources,
  type PartitionSummary,
  type QueueLevelSummary,
  type QueueSummary,
  readPartitions,
  readQueue,
} from './sources.js';
import type { PoolMonitorStatistics } from './statistics.js';

/** Options of a {@link DashboardProvider}: optional figures from packages beside the pools. */
export interface DashboardOptions extends MonitoringSources {
  /** Where `leaks` comes from. Without one, the pools' own leak flags (`leakDetectionThresholdMs`) are used. */
  leakDetector?: LeakDetector | null;
}

/** Leaks, for the dashboard. */
export interface DashboardLeaks {
  /** Borrows flagged as leaks and still held. */
  active: number;
  /** Borrows flagged since the detector (or the pools) started. */
  detected: number;
  /** The active leaks, oldest first. */
  reports: LeakReport[];
}

/** One pool's line on the dashboard. */
export interface DashboardPoolData {
  poolName: string;
  state: 'open' | 'closing' | 'closed';
  activeConnections: number;
  idleConnections: number;
  totalConnections: number;
  maxConnections: number;
  waiting: number;
  successRate: number;
  recentSuccessRate: number;
  /** Time-weighted utilization over the monitor's window. */
  poolEfficiency: number;
  throughputPerSecond: number;
  waitPercentiles: HistogramSnapshot;
  queue: QueueSummary;
}

/** What a dashboard shows (the seed's `get_dashboard_data()`), over every pool of the monitor. */
export interface DashboardData {
  /** Epoch ms when the data was computed. */
  timestamp: number;
  /** Borrowed, validating or resetting connections, all pools. */
  activeConnections: number;
  idleConnections: number;
  totalConnections: number;
  /** The sum of the pools' `maxSize`. */
  maxConnections: number;
  /** Callers waiting for a connection, all pools. */
  waiting: number;
  /** Successful acquisitions by callers since the pools were created, all pools (partition callers included when watched). */
  acquisitions: number;
  /** Failed acquisitions by callers, all pools: timeouts, full queues, aborts... in the pools' queues and in watched partitions'. */
  acquireFailures: number;
  /** Successful / attempted acquisitions since the pools were created (1 before the first attempt). */
  successRate: number;
  /** The same over the monitor's window. */
  recentSuccessRate: number;
  /**
   * Time-weighted borrowed connections / capacity over the window (each pool's utilization weighted by
   * its `maxSize`): how much of what the pools hold open is actually lent out.
   */
  poolEfficiency: number;
  /** Acquire waits over the window, all pools merged: count, mean, max and p50…p999 in ms. */
  waitPercentiles: HistogramSnapshot;
  /** Successful acquisitions per second over the window, all pools. */
  throughputPerSecond: number;
  leaks: DashboardLeaks;
  /** Per-partition figures, when a partition source was given; otherwise `null`. */
  partitions: PartitionSummary[] | null;
  /** The wait queues of all pools summed, by priority. */
  queue: QueueSummary;
  /** One line per pool, in attach order. */
  pools: DashboardPoolData[];
}

function sumNullable(values: (number | null)[]): number | null {
  let total: number | null = null;
  for (const v of values) if (v !== null) total = (total ?? 0) + v;
  return total;
}

function maxNullable(values: (number | null)[]): number | null {
  let out: number | null = null;
  for (const v of values) if (v !== null && (out === null || v > out)) out = v;
  return out;
}

/** Sums levels; averages are weighted by dequeued counts when known. */
function mergeLevels(levels: QueueLevelSummary[]): QueueLevelSummary {
  let weighted = 0;
  let weight = 0;
  for (const l of levels) {
    if (l.averageWaitMs !== null && l.totalDequeued !== null) {
      weighted += l.averageWaitMs * l.totalDequeued;
      weight += l.totalDequeued;
    }
  }
  const averages = levels.map((l) => l.averageWaitMs);
  return {
    waiting: levels.reduce((a, l) => a + l.waiting, 0),
    totalEnqueued: sumNullable(levels.map((l) => l.totalEnqueued)),
    totalDequeued: sumNullable(levels.map((l) => l.totalDequeued)),
    totalTimedOut: sumNullable(levels.map((l) => l.totalTimedOut)),
    boosted: sumNullable(levels.map((l) => l.boosted)),
    averageWaitMs: weight > 0 ? weighted / weight : levels.length === 1 ? (averages[0] ?? null) : null,
    maxWaitMs: maxNullable(levels.map((l) => l.maxWaitMs)),
  };
}

function mergeQueues(queues: QueueSummary[]): QueueSummary {
  if (queues.length === 1) return queues[0] as QueueSummary;
  const byPriority = {} as Record<QueuePriority, QueueLevelSummary>;
  for (const p of QUEUE_PRIORITIES) byPriority[p] = mergeLevels(queues.map((q) => q.byPriority[p]));
  return { ...mergeLevels(queues), byPriority };
}

/** Leaks as the pools flag them themselves (`leakDetectionThresholdMs`), when no detector is given. */
function leaksFromPools(pools: MonitoredPool[], stats: PoolMonitorStatistics[]): DashboardLeaks {
  const reports: LeakReport[] = [];
  for (const pool of pools) {
    const threshold = pool.config.leakDetectionThresholdMs ?? 0;
    for (const c of pool.connections()) {
      if (!c.leakReported || c.acquiredAt === undefined || c.heldMs === undefined) continue;
      reports.push({
        poolName: pool.name,
        connectionId: c.id,
        activeDurationMs: c.heldMs,
        acquiredAt: c.acquiredAt,
        detectedAt: c.acquiredAt + threshold,
        context: c.context,
        partition: partitionOf(c.context),
        label: c.label,
        stack: c.stack,
        approximate: false,
      });
    }
  }
  reports.sort((a, b) => a.acquiredAt - b.acquiredAt || a.connectionId - b.connectionId);
  return { active: reports.length, detected: stats.reduce((a, s) => a + s.leaksDetected, 0), reports };
}

/**
 * Dashboard data over a monitor's pools (the seed's `DashboardProvider`): computed at most once per
 * `refreshMs`, however often it is asked for (a dashboard polled by many browsers costs one
 * computation per interval). No timer: the data is computed on demand when the last copy is older
 * than `refreshMs`.
 *
 * @example
 * ```ts
 * const dashboard = new DashboardProvider(monitor, 5_000); // refresh every 5 seconds
 * const data = dashboard.getDashboardData();
 * console.log(`Active: ${data.activeConnections}, efficiency: ${(data.poolEfficiency * 100).toFixed(2)}%`);
 * ```
 */
export class DashboardProvider {
  /** The monitor the data comes from. */
  readonly monitor: PoolMonitor;
  /** The data is recomputed at most once per this many ms. */
  readonly refreshMs: number;
  readonly #sources: DashboardOptions;
  #data: DashboardData | undefined;
  #computedAt = Number.NEGATIVE_INFINITY;
  #computations = 0;

  /**
   * @param monitor the {@link PoolMonitor} whose pools are shown.
   * @param refreshMs how long a computed snapshot is served before it is recomputed (ms, > 0).
   * @param options partition, queue and leak sources; see {@link DashboardOptions}.
   */
  constructor(monitor: PoolMonitor, refreshMs: number, options: DashboardOptions = {}) {
    if (typeof monitor !== 'object' || monitor === null || typeof (monitor as PoolMonitor).allStatistics !== 'function') {
      throw new InvalidArgumentError('monitor', monitor, 'must be a PoolMonitor');
    }
    if (typeof refreshMs !== 'number' || !Number.isFinite(refreshMs) || refreshMs <= 0) {
      throw new InvalidConfigError('refreshMs', refreshMs, 'must be a finite number of milliseconds greater than 0');
    }
    if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', options, 'must be an object');
    for (const key of Object.keys(options)) {
      if (key !== 'partitions' && key !== 'queue' && key !== 'leakDetector') {
        throw new InvalidConfigError(
          key,
          (options as Record<string, unknown>)[key],
          'is not a DashboardProvider option; known: partitions, queue, leakDetector',
        );
      }
    }
    const { partitions, queue, leakDetector } = options;
    if (partitions != null && typeof partitions.getPartitionStatistics !== 'function') {
      throw new InvalidConfigError('partitions', partitions, 'must have getPartitionStatistics()');
    }
    if (queue != null && typeof queue.statistics !== 'function') throw new InvalidConfigError('queue', queue, 'must have statistics()');
    // Duck-typed, so a detector from another copy of this package (ESM beside CJS) is accepted too.
    if (leakDetector != null && (typeof leakDetector.getLeaks !== 'function' || typeof leakDetector.statistics !== 'function')) {
      throw new InvalidConfigError('leakDetector', leakDetector, 'must be a LeakDetector');
    }
    this.monitor = monitor;
    this.refreshMs = refreshMs;
    this.#sources = options;
  }

  /**
   * The dashboard data: the cached snapshot when it is younger than `refreshMs`, else a fresh one.
   * Treat the returned object as read-only: it is shared by every caller within the interval.
   */
  getDashboardData(): DashboardData {
    const t = now();
    if (this.#data !== undefined && t - this.#computedAt < this.refreshMs) return this.#data;
    return this.refresh();
  }

  /** Computes a fresh snapshot now (and serves it for the next `refreshMs`). */
  refresh(): DashboardData {
    this.#computedAt = now();
    this.#computations++;
    this.#data = this.#compute();
    return this.#data;
  }

  /** How many snapshots were computed (for tests and self-monitoring). */
  get computations(): number {
    return this.#computations;
  }

  #compute(): DashboardData {
    const monitor = this.monitor;
    const stats = monitor.allStatistics();
    const pools = stats.map((s) => monitor.getPool(s.poolName) as MonitoredPool);
    const queues = pools.map((p) => readQueue(p, this.#sources.queue));
    let attempts = 0;
    let acquired = 0;
    let recentAttempts = 0;
    let recentAcquired = 0;
    let throughput = 0;
    let capacity = 0;
    let used = 0;
    for (const s of stats) {
      const failures = s.acquireFailures;
      attempts += s.acquisitions + failures;
      acquired += s.acquisitions;
      throughput += s.throughputPerSecond;
      recentAcquired += s.windowAcquisitions;
      recentAttempts += s.windowAcquisitions + s.windowAcquireFailures;
      capacity += s.maxConnections;
      used += s.efficiencyMetrics.poolUtilization * s.maxConnections;
    }
    const detector = this.#sources.leakDetector;
    const leaks: DashboardLeaks =
      detector != null
        ? (() => {
            const reports = detector.getLeaks();
            return { active: reports.length, detected: detector.statistics().detected, reports };
          })()
        : leaksFromPools(pools, stats);
    return {
      timestamp: Date.now(),
      activeConnections: stats.reduce((a, s) => a + s.activeConnections, 0),
      idleConnections: stats.reduce((a, s) => a + s.idleConnections, 0),
      totalConnections: stats.reduce((a, s) => a + s.totalConnections, 0),
      maxConnections: capacity,
      waiting: stats.reduce((a, s) => a + s.waiting, 0),
      acquisitions: acquired,
      acquireFailures: attempts - acquired,
      successRate: attempts === 0 ? 1 : acquired / attempts,
      recentSuccessRate: recentAttempts === 0 ? 1 : recentAcquired / recentAttempts,
      poolEfficiency: capacity > 0 ? used / capacity : 0,
      waitPercentiles: stats.length === 0 ? emptySnapshot() : monitor.histogram('wait'),
      throughputPerSecond: throughput,
      leaks,
      partitions: readPartitions(this.#sources.partitions),
      queue: queues.length === 0 ? emptyQueue() : mergeQueues(queues),
      pools: stats.map((s, i) => ({
        poolName: s.poolName,
        state: s.state,
        activeConnections: s.activeConnections,
        idleConnections: s.idleConnections,
        totalConnections: s.totalConnections,
        maxConnections: s.maxConnections,
        waiting: s.waiting,
        successRate: s.successRate,
        recentSuccessRate: s.recentSuccessRate,
        poolEfficiency: s.efficiencyMetrics.poolUtilization,
        throughputPerSecond: s.throughputPerSecond,
        waitPercentiles: s.waitTimeHistogram,
        queue: queues[i] as QueueSummary,
      })),
    };
  }
}

function emptySnapshot(): HistogramSnapshot {
  return { count: 0, meanMs: 0, maxMs: 0, percentiles: { p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 } };
}

function emptyLevel(): QueueLevelSummary {
  return { waiting: 0, totalEnqueued: null, totalDequeued: null, totalTimedOut: null, boosted: null, averageWaitMs: null, maxWaitMs: null };
}

function emptyQueue(): QueueSummary {
  const byPriority = {} as Record<QueuePriority, QueueLevelSummary>;
  for (const p of QUEUE_PRIORITIES) byPriority[p] = emptyLevel();
  return { ...emptyLevel(), byPriority };
}
