import type { DestroyReason } from '@pool/core';
import type { HistogramSnapshot } from './histogram.js';

/** Callers that came through partitions (see {@link PoolMonitorStatistics.partitionCallers}). */
export interface PartitionCallers {
  /** Callers a partition served. */
  acquired: number;
  /** Callers a partition failed, whatever the reason. */
  failed: number;
  /** Callers waiting in the partitions' queues now. */
  waiting: number;
}

/** When a pool is used, by hour of the day (the seed's `usage_patterns`). */
export interface UsagePatterns {
  /** The IANA time zone the hours are counted in. */
  timeZone: string;
  /**
   * Successful acquisitions by hour of the day (index 0 = 00:00–00:59), since the pool was attached.
   * Not windowed: a pattern over days, not minutes.
   */
  acquisitionsByHour: number[];
  /** The hour (0–23) with the most acquisitions, or `null` before the first one. Ties go to the earliest hour. */
  peakHour: number | null;
  /** Acquisitions in the peak hour (0 before the first one). */
  peakHourAcquisitions: number;
}

/** The statement-cache figures an adapter reports through `factory.statistics()` (cumulative). */
export interface StatementCacheFigures {
  hits: number;
  misses: number;
  evictions: number;
  /** Statements cached right now. */
  size: number;
  /** Per-connection capacity (`statementCacheSize`). */
  capacity: number;
}

/** How well a pool's connections are used, over the monitor's sliding window (the seed's `efficiency_metrics`). */
export interface EfficiencyMetrics {
  /**
   * Time-weighted borrowed connections divided by `maxSize`, over the window: 0.25 means a quarter of
   * the pool's capacity was lent out on average. Exact (integrated from hold times), not sampled.
   */
  poolUtilization: number;
  /**
   * Acquisitions served with a connection that had been used before, divided by all acquisitions in the
   * window (0 when there were none). Low values mean the pool keeps opening connections for callers.
   */
  connectionReuseRate: number;
  /**
   * Statement-cache hits / (hits + misses) in the window, as the adapter reports them through
   * `factory.statistics()` (0 when it reports none or there were no lookups).
   */
  cacheHitRate: number;
  /** Connection-milliseconds lent out during the window (the integral behind `poolUtilization`). */
  borrowedTimeMs: number;
  /** The adapter's cumulative statement-cache figures, or `null` when its factory reports none. */
  statementCache: StatementCacheFigures | null;
  /** Query errors the adapter reports (cumulative), or `null` when it reports none. */
  queryErrors: number | null;
}

/**
 * Everything a {@link PoolMonitor} knows about one pool (the seed's `pool.statistics()` in full).
 * Cumulative counters come from the pool (`pool.statistics()`); histograms, throughput and efficiency
 * describe the sliding window (`windowMs`); usage patterns cover the time since the pool was attached.
 */
export interface PoolMonitorStatistics {
  poolName: string;
  /** Epoch milliseconds when this snapshot was taken. */
  timestamp: number;
  state: 'open' | 'closing' | 'closed';
  /** The span the windowed figures cover, in ms (shorter than the monitor's `windowMs` right after attach). */
  windowSpanMs: number;
  connectionsCreated: number;
  connectionsDestroyed: number;
  /** Destroyed connections by reason (idle, lifetime, validation, broken, ...). */
  destroyedByReason: Record<DestroyReason, number>;
  /** `factory.create()` calls that failed or timed out. */
  createFailures: number;
  /**
   * Successful acquisitions by callers. With a partition manager watched (`watchPartitions`), a caller
   * served through a partition counts once, like a direct one.
   */
  acquisitions: number;
  /**
   * Failed acquisitions by callers, whatever the reason, including (with a partition manager watched)
   * callers a partition failed: timed out in its queue, refused because its queue was full, over a budget.
   */
  acquireFailures: number;
  /** Acquisitions that timed out in the pool's own queue (the pool's counter). */
  timeouts: number;
  /** Acquisitions the pool refused because its own queue was full (the pool's counter). */
  rejected: number;
  /** Acquisitions aborted by their caller while in the pool's own queue (the pool's counter). */
  aborted: number;
  /** Borrows released with an error. */
  releasedWithError: number;
  /** Borrows the pool ended itself (reclaimed, or forced at close). */
  reclaimed: number;
  /** Borrows the pool flagged as leaks (`leakDetectionThresholdMs`). */
  leaksDetected: number;
  validations: number;
  validationFailures: number;
  /** Borrowed, validating or resetting connections right now. */
  activeConnections: number;
  idleConnections: number;
  totalConnections: number;
  /** Connections being opened right now. */
  pendingCreates: number;
  /** Callers waiting for a connection right now: in the pool's queue, and in watched partitions' queues. */
  waiting: number;
  /**
   * The part of `acquisitions`, `acquireFailures` and `waiting` that came through watched partition
   * managers (counted from when the watch started), or `null` when none is watched. The rest are
   * direct callers of the pool.
   */
  partitionCallers: PartitionCallers | null;
  minConnections: number;
  maxConnections: number;
  /** acquisitions / (acquisitions + acquireFailures) since the pool was created; 1 before the first attempt. */
  successRate: number;
  /** The same ratio over the window; 1 when there was no attempt. */
  recentSuccessRate: number;
  /** Successful acquisitions in the window. */
  windowAcquisitions: number;
  /** Failed acquisitions in the window. */
  windowAcquireFailures: number;
  /** Mean wait of successful acquisitions since the pool was created, in ms. */
  averageAcquireTimeMs: number;
  /** Successful acquisitions per second over the window. */
  throughputPerSecond: number;
  /** How long callers waited for a connection (0 when one was free), over the window. */
  waitTimeHistogram: HistogramSnapshot;
  /** How long borrows were held, over the window. */
  holdTimeHistogram: HistogramSnapshot;
  /** How long `factory.create()` took for new connections, over the window. */
  createTimeHistogram: HistogramSnapshot;
  usagePatterns: UsagePatterns;
  efficiencyMetrics: EfficiencyMetrics;
}
