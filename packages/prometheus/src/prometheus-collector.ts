import { DESTROY_REASONS, InvalidConfigError, PoolError, QUEUE_PRIORITIES } from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import {
  type CumulativeFigures,
  type LeakDetector,
  type MonitoredPool,
  type MonitoringSources,
  type PartitionSummary,
  type PoolMonitor,
  type PoolMonitorStatistics,
  type QueueSummary,
  readPartitions,
  readQueue,
} from '@pool/monitoring';
import {
  Counter,
  Gauge,
  register as globalRegistry,
  type Metric,
  type OpenMetricsContentType,
  type PrometheusContentType,
  Registry,
} from 'prom-client';
import { DurationHistogram, type DurationSeries } from './duration-histogram.js';

/**
 * Default histogram buckets, in seconds: from 100 µs (an idle connection handed over at once) to one
 * minute (a slow connect, a long transaction).
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);

/** A prom-client registry, of either content type (Prometheus text or OpenMetrics). */
export type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Options of a {@link PrometheusCollector}. */
export interface PrometheusCollectorOptions extends MonitoringSources {
  /** The registry to register on. Default: prom-client's global `register`. */
  registry?: AnyRegistry;
  /** Upper bounds (seconds, ascending) of the three duration histograms. Default {@link DEFAULT_BUCKETS}. */
  buckets?: readonly number[];
  /** Overrides `buckets` for `db_client_connection_wait_time_seconds`. */
  waitTimeBuckets?: readonly number[];
  /** Overrides `buckets` for `db_client_connection_use_time_seconds`. */
  useTimeBuckets?: readonly number[];
  /** Overrides `buckets` for `db_client_connection_create_time_seconds`. */
  createTimeBuckets?: readonly number[];
  /** Where the leak metrics come from. Without one, the pools' own leak flags (`leakDetectionThresholdMs`) are used. */
  leakDetector?: LeakDetector | null;
  /** Prefix of the metrics that are not OpenTelemetry's. Default `'pool_'`. */
  prefix?: string;
}

/** Two collectors (or another library) tried to register the same metric name on one registry. */
export class MetricsAlreadyRegisteredError extends PoolError {
  /** The metric name that is taken. */
  readonly metric: string;

  constructor(metric: string) {
    super(
      'ERR_POOL_METRICS_REGISTERED',
      `A metric named '${metric}' is already registered on this registry: use one PrometheusCollector per registry (it reports every pool of its monitors), close the previous one, or pass another registry or prefix`,
    );
    this.name = 'MetricsAlreadyRegisteredError';
    this.metric = metric;
  }
}

const OPTION_KEYS = [
  'registry',
  'buckets',
  'waitTimeBuckets',
  'useTimeBuckets',
  'createTimeBuckets',
  'leakDetector',
  'prefix',
  'partitions',
  'queue',
];
const QUANTILES: readonly (readonly [string, keyof PoolMonitorStatistics['waitTimeHistogram']['percentiles']])[] = [
  ['0.5', 'p50'],
  ['0.9', 'p90'],
  ['0.95', 'p95'],
  ['0.99', 'p99'],
  ['0.999', 'p999'],
];

function checkBuckets(field: string, value: unknown): readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) {
    throw new InvalidConfigError(field, value, 'must be a non-empty array of at most 100 upper bounds in seconds');
  }
  let previous = 0;
  for (const b of value) {
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= previous) {
      throw new InvalidConfigError(field, value, 'must hold finite numbers of seconds greater than 0, strictly ascending');
    }
    previous = b;
  }
  return Object.freeze([...value]);
}

/** One pool as read at scrape time. */
interface PoolReading {
  name: string;
  pool: MonitoredPool;
  stats: PoolMonitorStatistics;
  cumulative: CumulativeFigures;
  borrowedMs: number;
  queue: QueueSummary;
  leaks: { active: number; detected: number; reclaimed: number };
}

interface Reading {
  pools: PoolReading[];
  partitions: PartitionSummary[] | null;
}

/**
 * Publishes a {@link PoolMonitor}'s pools to Prometheus through prom-client: OpenTelemetry's database
 * connection-pool metrics (`db_client_connection_*`, label `pool_name`) plus this toolkit's own
 * (`pool_*`: creations, destructions by reason, failures by reason, reuse, utilization, statement
 * cache, leaks, wait queue by priority, partitions). Everything is read on scrape (collect
 * callbacks): nothing is recorded per acquire beyond what the monitor already does.
 *
 * It also provides `ExportFormat.Prometheus` for `MonitoringExporter` on the same monitor.
 *
 * @example
 * ```ts
 * import { register } from 'prom-client';
 * const monitor = new PoolMonitor(pool);
 * new PrometheusCollector(monitor); // registers on prom-client's global registry
 * app.get('/metrics', async (_req, res) => res.type(register.contentType).send(await register.metrics()));
 * ```
 */
export class PrometheusCollector {
  /** The monitor read on each scrape. */
  readonly monitor: PoolMonitor;
  /** The registry the metrics are registered on. */
  readonly registry: AnyRegistry;
  /** The names of the metrics this collector registered, in registration order. */
  readonly metricNames: readonly string[];
  readonly #own: AnyRegistry;
  readonly #metrics: Metric[] = [];
  readonly #sources: MonitoringSources;
  readonly #leakDetector: LeakDetector | null;
  readonly #unregisterFormat: () => void;
  #reading: Reading | undefined;
  #closed = false;

  /**
   * @param monitor the pools to publish (pools attached to it later are published too).
   * @param options registry, buckets, sources; see {@link PrometheusCollectorOptions}.
   * @throws InvalidConfigError for a bad option; MetricsAlreadyRegisteredError when a metric name is
   *   taken on the registry (nothing is registered then).
   */
  constructor(monitor: PoolMonitor, options: PrometheusCollectorOptions = {}) {
    if (typeof monitor !== 'object' || monitor === null || typeof (monitor as PoolMonitor).cumulative !== 'function') {
      throw new InvalidConfigError('monitor', monitor, 'must be a PoolMonitor from @pool/monitoring');
    }
    checkOptionKeys(options, OPTION_KEYS, 'PrometheusCollector');
    const registry = options.registry ?? globalRegistry;
    if (!(registry instanceof Registry)) throw new InvalidConfigError('registry', registry, 'must be a prom-client Registry');
    const prefix = options.prefix ?? 'pool_';
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
      throw new InvalidConfigError('prefix', prefix, 'must be a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
    }
    const buckets = checkBuckets('buckets', options.buckets ?? DEFAULT_BUCKETS);
    const waitBuckets = options.waitTimeBuckets === undefined ? buckets : checkBuckets('waitTimeBuckets', options.waitTimeBuckets);
    const useBuckets = options.useTimeBuckets === undefined ? buckets : checkBuckets('useTimeBuckets', options.useTimeBuckets);
    const createBuckets = options.createTimeBuckets === undefined ? buckets : checkBuckets('createTimeBuckets', options.createTimeBuckets);
    const leakDetector = options.leakDetector ?? null;
    // Duck-typed: a detector from another copy of @pool/monitoring (ESM beside CJS) is accepted too.
    if (leakDetector !== null && (typeof leakDetector.getLeaks !== 'function' || typeof leakDetector.statistics !== 'function')) {
      throw new InvalidConfigError('leakDetector', leakDetector, 'must be a LeakDetector from @pool/monitoring');
    }
    if (options.partitions != null && typeof options.partitions.getPartitionStatistics !== 'function') {
      throw new InvalidConfigError('partitions', options.partitions, 'must have getPartitionStatistics()');
    }
    if (options.queue != null && typeof options.queue.statistics !== 'function') {
      throw new InvalidConfigError('queue', options.queue, 'must have statistics()');
    }
    this.monitor = monitor;
    this.registry = registry;
    this.#leakDetector = leakDetector;
    this.#sources = { partitions: options.partitions ?? null, queue: options.queue ?? null };
    const own = new Registry<PrometheusContentType | OpenMetricsContentType>();
    own.setContentType(registry.contentType);
    this.#own = own as AnyRegistry;
    this.#define(prefix, waitBuckets, useBuckets, createBuckets);
    this.metricNames = Object.freeze(this.#metrics.map((m) => nameOf(m)));
    for (const name of this.metricNames) {
      if (registry.getSingleMetric(name) !== undefined) throw new MetricsAlreadyRegisteredError(name);
    }
    for (const m of this.#metrics) {
      this.#own.registerMetric(m);
      registry.registerMetric(m);
    }
    this.#unregisterFormat = monitor.registerExportFormatter({
      format: 'prometheus',
      contentType: this.#own.contentType,
      render: () => this.metrics(),
    });
  }

  /** The exposition text of this collector's metrics only (not the rest of the registry). */
  metrics(): Promise<string> {
    return this.#own.metrics();
  }

  /** The content type of {@link metrics}' output (the registry's: Prometheus text or OpenMetrics). */
  get contentType(): string {
    return this.#own.contentType;
  }

  /** Removes the metrics from the registry and the Prometheus format from the monitor. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.#metrics) {
      const name = nameOf(m);
      if (this.registry.getSingleMetric(name) === m) this.registry.removeSingleMetric(name);
    }
    this.#own.clear();
    this.#unregisterFormat();
  }

  /** `using collector = new PrometheusCollector(monitor)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------ reading

  /**
   * Everything the metrics show, read once per scrape: prom-client calls every metric's collect in
   * one synchronous pass, so the reading is shared by all of them and dropped in the next microtask.
   */
  #read(): Reading {
    if (this.#reading !== undefined) return this.#reading;
    const monitor = this.monitor;
    const detector = this.#leakDetector;
    const pools: PoolReading[] = [];
    for (const stats of monitor.allStatistics()) {
      const name = stats.poolName;
      const pool = monitor.getPool(name) as MonitoredPool;
      let leaks: PoolReading['leaks'];
      if (detector !== null) {
        const s = detector.statistics(pool.name);
        leaks = { active: s.active, detected: s.detected, reclaimed: s.reclaimed };
      } else {
        let active = 0;
        for (const c of pool.connections()) if (c.leakReported && c.state === 'borrowed') active++;
        leaks = { active, detected: stats.leaksDetected, reclaimed: 0 };
      }
      pools.push({
        name,
        pool,
        stats,
        cumulative: monitor.cumulative(name),
        borrowedMs: monitor.borrowedTimeMs(name),
        queue: readQueue(pool, this.#sources.queue),
        leaks,
      });
    }
    const reading: Reading = { pools, partitions: readPartitions(this.#sources.partitions) };
    this.#reading = reading;
    queueMicrotask(() => {
      this.#reading = undefined;
    });
    return reading;
  }

  // ------------------------------------------------------------ metric definitions

  #gauge(name: string, help: string, labelNames: readonly string[], fill: (g: Gauge<string>, r: Reading) => void): void {
    const read = () => this.#read();
    this.#metrics.push(
      new Gauge({
        name,
        help,
        labelNames,
        registers: [],
        collect() {
          this.reset();
          fill(this, read());
        },
      }),
    );
  }

  #counter(
    name: string,
    help: string,
    labelNames: readonly string[],
    fill: (set: (labels: Record<string, string>, v: number) => void, r: Reading) => void,
  ): void {
    const read = () => this.#read();
    this.#metrics.push(
      new Counter({
        name,
        help,
        labelNames,
        registers: [],
        collect() {
          this.reset();
          // A counter read from a monotonic source: set it to the source's value.
          fill((labels, v) => {
            if (Number.isFinite(v) && v >= 0) this.inc(labels, v);
          }, read());
        },
      }),
    );
  }

  #histogram(name: string, help: string, buckets: readonly number[], pick: (c: CumulativeFigures) => DurationSeries['histogram']): void {
    const read = () => this.#read().pools.map((p): DurationSeries => ({ poolName: p.name, histogram: pick(p.cumulative) }));
    this.#metrics.push(new DurationHistogram(name, help, buckets, read));
  }

  #define(prefix: string, waitBuckets: readonly number[], useBuckets: readonly number[], createBuckets: readonly number[]): void {
    const perPool = (name: string, help: string, value: (p: PoolReading) => number, kind: 'gauge' | 'counter' = 'gauge'): void => {
      if (kind === 'gauge')
        this.#gauge(name, help, ['pool_name'], (g, r) => {
          for (const p of r.pools) g.set({ pool_name: p.name }, value(p));
        });
      else
        this.#counter(name, help, ['pool_name'], (set, r) => {
          for (const p of r.pools) set({ pool_name: p.name }, value(p));
        });
    };

    // OpenTelemetry semantic conventions, database client connection pools (rendered the Prometheus way).
    this.#gauge(
      'db_client_connection_count',
      'The number of connections that are currently in the state described by the state label (idle: free to borrow; used: borrowed, validating or resetting)',
      ['pool_name', 'state'],
      (g, r) => {
        for (const p of r.pools) {
          g.set({ pool_name: p.name, state: 'idle' }, p.stats.idleConnections);
          g.set({ pool_name: p.name, state: 'used' }, p.stats.activeConnections);
        }
      },
    );
    perPool(
      'db_client_connection_idle_max',
      'The maximum number of idle open connections allowed (maxSize)',
      (p) => p.stats.maxConnections,
    );
    perPool(
      'db_client_connection_idle_min',
      'The minimum number of idle open connections allowed (minSize)',
      (p) => p.stats.minConnections,
    );
    perPool('db_client_connection_max', 'The maximum number of open connections allowed (maxSize)', (p) => p.stats.maxConnections);
    perPool(
      'db_client_connection_pending_requests',
      'The number of current pending requests for an open connection',
      (p) => p.stats.waiting,
    );
    perPool(
      'db_client_connection_timeouts_total',
      'The number of connection timeouts that have occurred trying to obtain a connection from the pool',
      (p) => p.stats.timeouts,
      'counter',
    );
    this.#histogram(
      'db_client_connection_create_time_seconds',
      'The time it took to create a new connection',
      createBuckets,
      (c) => c.create,
    );
    this.#histogram(
      'db_client_connection_wait_time_seconds',
      'The time it took to obtain an open connection from the pool',
      waitBuckets,
      (c) => c.wait,
    );
    this.#histogram(
      'db_client_connection_use_time_seconds',
      'The time between borrowing a connection and returning it to the pool',
      useBuckets,
      (c) => c.hold,
    );

    // Connections.
    perPool(`${prefix}connections_created_total`, 'Connections opened', (p) => p.stats.connectionsCreated, 'counter');
    this.#counter(`${prefix}connections_destroyed_total`, 'Connections closed, by reason', ['pool_name', 'reason'], (set, r) => {
      for (const p of r.pools)
        for (const reason of DESTROY_REASONS) set({ pool_name: p.name, reason }, p.stats.destroyedByReason[reason] ?? 0);
    });
    perPool(
      `${prefix}connection_create_failures_total`,
      'factory.create() calls that failed or timed out',
      (p) => p.stats.createFailures,
      'counter',
    );
    perPool(`${prefix}connections_pending_creates`, 'Connections being opened right now', (p) => p.stats.pendingCreates);

    // Acquisitions.
    perPool(`${prefix}acquisitions_total`, 'Successful acquisitions', (p) => p.stats.acquisitions, 'counter');
    this.#counter(
      `${prefix}acquire_failures_total`,
      'Failed acquisitions, by reason (timeout, rejected: wait queue full, aborted: by the caller, other: closed, deadlock...)',
      ['pool_name', 'reason'],
      (set, r) => {
        for (const p of r.pools) {
          const s = p.stats;
          set({ pool_name: p.name, reason: 'timeout' }, s.timeouts);
          set({ pool_name: p.name, reason: 'rejected' }, s.rejected);
          set({ pool_name: p.name, reason: 'aborted' }, s.aborted);
          set({ pool_name: p.name, reason: 'other' }, Math.max(0, s.acquireFailures - s.timeouts - s.rejected - s.aborted));
        }
      },
    );
    perPool(`${prefix}releases_with_error_total`, 'Borrows released with an error', (p) => p.stats.releasedWithError, 'counter');
    perPool(
      `${prefix}connections_reclaimed_total`,
      'Borrows the pool ended itself (reclaimed, or forced at close)',
      (p) => p.stats.reclaimed,
      'counter',
    );
    perPool(`${prefix}validations_total`, 'Connection validations run', (p) => p.stats.validations, 'counter');
    perPool(`${prefix}validation_failures_total`, 'Connection validations that failed', (p) => p.stats.validationFailures, 'counter');

    // Efficiency.
    perPool(
      `${prefix}connection_reuses_total`,
      'Acquisitions served with a connection used before, since monitoring started (acquisitions minus first borrows)',
      (p) => p.cumulative.acquisitions - p.cumulative.firstBorrows,
      'counter',
    );
    perPool(
      `${prefix}borrowed_seconds_total`,
      'Connection-seconds lent out since monitoring started; rate(...) / db_client_connection_max is the utilization',
      (p) => p.borrowedMs / 1000,
      'counter',
    );
    perPool(
      `${prefix}utilization_ratio`,
      'Time-weighted borrowed connections / maxSize over the monitor window',
      (p) => p.stats.efficiencyMetrics.poolUtilization,
    );
    perPool(
      `${prefix}connection_reuse_ratio`,
      'Acquisitions served with a connection used before / all acquisitions, over the monitor window',
      (p) => p.stats.efficiencyMetrics.connectionReuseRate,
    );
    for (const [kind, label, pick] of [
      ['wait', 'acquire wait', (s: PoolMonitorStatistics) => s.waitTimeHistogram],
      ['use', 'borrow hold', (s: PoolMonitorStatistics) => s.holdTimeHistogram],
      ['create', 'connection creation', (s: PoolMonitorStatistics) => s.createTimeHistogram],
    ] as const) {
      this.#gauge(
        `${prefix}${kind}_time_recent_seconds`,
        `Percentiles of ${label} times over the monitor window (HdrHistogram; quantile="1" is the maximum)`,
        ['pool_name', 'quantile'],
        (g, r) => {
          for (const p of r.pools) {
            const h = pick(p.stats);
            for (const [q, key] of QUANTILES) g.set({ pool_name: p.name, quantile: q }, h.percentiles[key] / 1000);
            g.set({ pool_name: p.name, quantile: '1' }, h.maxMs / 1000);
          }
        },
      );
    }

    // Statement cache, as the adapter reports it.
    const cache = (field: 'hits' | 'misses' | 'evictions' | 'size' | 'capacity', name: string, help: string, kind: 'gauge' | 'counter') => {
      const fill = (set: (labels: Record<string, string>, v: number) => void, r: Reading) => {
        for (const p of r.pools) {
          const c = p.stats.efficiencyMetrics.statementCache;
          if (c !== null) set({ pool_name: p.name }, c[field]);
        }
      };
      if (kind === 'counter') this.#counter(name, help, ['pool_name'], fill);
      else this.#gauge(name, help, ['pool_name'], (g, r) => fill((l, v) => g.set(l, v), r));
    };
    cache('hits', `${prefix}statement_cache_hits_total`, 'Prepared-statement cache hits reported by the adapter', 'counter');
    cache('misses', `${prefix}statement_cache_misses_total`, 'Prepared-statement cache misses reported by the adapter', 'counter');
    cache('evictions', `${prefix}statement_cache_evictions_total`, 'Prepared statements evicted to stay within capacity', 'counter');
    cache('size', `${prefix}statement_cache_size`, 'Prepared statements cached right now, all connections', 'gauge');
    cache('capacity', `${prefix}statement_cache_capacity`, 'Prepared statements each connection may cache (statementCacheSize)', 'gauge');
    this.#gauge(`${prefix}statement_cache_hit_ratio`, 'Statement cache hits / lookups over the monitor window', ['pool_name'], (g, r) => {
      for (const p of r.pools)
        if (p.stats.efficiencyMetrics.statementCache !== null) g.set({ pool_name: p.name }, p.stats.efficiencyMetrics.cacheHitRate);
    });

    // Leaks.
    perPool(`${prefix}leaks_active`, 'Borrows flagged as leaks and still held', (p) => p.leaks.active);
    perPool(`${prefix}leaks_detected_total`, 'Borrows flagged as leaks', (p) => p.leaks.detected, 'counter');
    perPool(
      `${prefix}leaks_reclaimed_total`,
      'Leaked borrows taken back by the leak detector (reclaimAfterMs)',
      (p) => p.leaks.reclaimed,
      'counter',
    );

    // Wait queue, by priority.
    const queueLabels = ['pool_name', 'priority'];
    this.#gauge(`${prefix}queue_waiting`, 'Callers waiting for a connection right now, by priority', queueLabels, (g, r) => {
      for (const p of r.pools) for (const q of QUEUE_PRIORITIES) g.set({ pool_name: p.name, priority: q }, p.queue.byPriority[q].waiting);
    });
    const queueCounter = (name: string, help: string, pick: (l: QueueSummary['byPriority']['normal']) => number | null) =>
      this.#counter(name, help, queueLabels, (set, r) => {
        for (const p of r.pools) {
          for (const q of QUEUE_PRIORITIES) {
            const v = pick(p.queue.byPriority[q]);
            if (v !== null) set({ pool_name: p.name, priority: q }, v);
          }
        }
      });
    queueCounter(
      `${prefix}queue_enqueued_total`,
      'Waiters that entered the wait queue, by priority (reported by the queue)',
      (l) => l.totalEnqueued,
    );
    queueCounter(
      `${prefix}queue_timeouts_total`,
      'Waiters that left the wait queue at their deadline, by priority (reported by the queue)',
      (l) => l.totalTimedOut,
    );
    queueCounter(
      `${prefix}queue_boosts_total`,
      'Priority boosts given by starvation prevention, by priority (reported by the queue)',
      (l) => l.boosted,
    );
    this.#gauge(
      `${prefix}queue_average_wait_seconds`,
      'Mean wait of served waiters, by priority (reported by the queue)',
      queueLabels,
      (g, r) => {
        for (const p of r.pools) {
          for (const q of QUEUE_PRIORITIES) {
            const v = p.queue.byPriority[q].averageWaitMs;
            if (v !== null) g.set({ pool_name: p.name, priority: q }, v / 1000);
          }
        }
      },
    );

    // Partitions, when a partition source is given.
    const partLabels = ['pool_name', 'partition'];
    const partGauge = (name: string, help: string, pick: (s: PartitionSummary) => number | null, scale = 1) =>
      this.#gauge(name, help, partLabels, (g, r) => {
        for (const s of r.partitions ?? []) {
          const v = pick(s);
          if (v !== null) g.set({ pool_name: s.pool ?? '', partition: s.id }, v * scale);
        }
      });
    const partCounter = (name: string, help: string, pick: (s: PartitionSummary) => number | null) =>
      this.#counter(name, help, partLabels, (set, r) => {
        for (const s of r.partitions ?? []) {
          const v = pick(s);
          if (v !== null) set({ pool_name: s.pool ?? '', partition: s.id }, v);
        }
      });
    partGauge(`${prefix}partition_active_connections`, 'Connections borrowed through the partition right now', (s) => s.active);
    partGauge(`${prefix}partition_max_connections`, 'The partition limit on connections (maxConnections)', (s) => s.maxConnections);
    partGauge(`${prefix}partition_waiting`, 'Callers waiting in the partition queue right now', (s) => s.waiting);
    partGauge(
      `${prefix}partition_wait_p99_seconds`,
      '99th percentile of the partition acquire waits (as the partition reports it)',
      (s) => s.p99WaitMs,
      1 / 1000,
    );
    partCounter(`${prefix}partition_acquisitions_total`, 'Successful acquisitions through the partition', (s) => s.acquired);
    partCounter(`${prefix}partition_releases_total`, 'Borrows through the partition that ended', (s) => s.released);
    partCounter(`${prefix}partition_timeouts_total`, 'Acquisitions through the partition that timed out', (s) => s.timeouts);
    partCounter(`${prefix}partition_rejections_total`, 'Acquisitions the partition failed, all reasons', (s) => s.rejected);
  }
}

function nameOf(metric: Metric): string {
  return (metric as unknown as { name: string }).name;
}
