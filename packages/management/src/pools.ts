import { InvalidConfigError } from '@pool/core';
import {
  type DashboardData,
  DashboardProvider,
  type LeakReport,
  type PartitionEventSource,
  PoolMonitor,
  type PoolMonitorOptions,
} from '@pool/monitoring';
import type {
  AdaptiveLimiterLike,
  ClusterBudgetLike,
  DashboardProviderLike,
  HostsLike,
  LeakDetectorLike,
  ManagedPool,
  MetricsExporterLike,
  PartitionManagerLike,
  QueueLike,
} from './types.js';

/**
 * A pool and the optional components the API reports about it. Only `pool` is required: without a
 * `monitor` the app creates one (unless `monitor: false`); without a `queue` the pool's own wait
 * queue is read; without a `leakDetector` the pool's own leak flags (`leakDetectionThresholdMs`) are.
 */
export interface ManagedPoolOptions {
  /** The `ConnectionPool`. */
  pool: ManagedPool;
  /** The name the API uses for it (default: the record key, or `pool.name`). */
  name?: string;
  /** A `PoolMonitor` that watches this pool (wait percentiles, throughput, efficiency). */
  monitor?: PoolMonitor | null;
  /** A `LeakDetector` that watches this pool. */
  leakDetector?: LeakDetectorLike | null;
  /** A `DashboardProvider` for `/pools/{pool}/dashboard` (default: one the app makes over the pool's monitor). */
  dashboard?: DashboardProviderLike<object> | null;
  /** A `PartitionManager` partitioning this pool (partition endpoints and the drain action). */
  partitions?: PartitionManagerLike | null;
  /** A wait queue to report instead of `pool.waitQueue` (for example a `PriorityWaitQueue` kept elsewhere). */
  queue?: QueueLike | null;
  /** A `MonitoringExporter` served at `/pools/{pool}/export` in its own format. */
  exporter?: MetricsExporterLike | null;
  /**
   * The `ClusterBudget` (`@pool/cluster`) the pool's connections take slots of: its state (connected,
   * degraded while Redis is unreachable...) and figures at `/pools/{pool}/budget`.
   */
  budget?: ClusterBudgetLike | null;
  /** The pool's adaptive limit (`@pool/adaptive`'s `adaptiveLimit(pool)`): served at `/pools/{pool}/adaptive` and on the dashboard. */
  adaptive?: AdaptiveLimiterLike | null;
  /**
   * The servers behind the pool (`@pool/pg`'s `createPgReplicaPool`): each host's role, state,
   * replica lag and connections at `/pools/{pool}/hosts`.
   */
  hosts?: HostsLike | null;
}

/** The `pools` option: named pools (a record), or a list of pools / entries named by `name` or `pool.name`. */
export type PoolsOption =
  | Readonly<Record<string, ManagedPool | ManagedPoolOptions>>
  | readonly (ManagedPool | (ManagedPoolOptions & { name?: string }))[];

/** A pool as the app keeps it: every component resolved. */
export interface PoolEntry {
  readonly name: string;
  readonly pool: ManagedPool;
  /** The monitor and the name the pool has in it, or `null`. */
  readonly monitor: PoolMonitor | null;
  readonly monitorName: string | null;
  readonly leakDetector: LeakDetectorLike | null;
  readonly dashboard: DashboardProviderLike<object> | null;
  readonly partitions: PartitionManagerLike | null;
  readonly queue: QueueLike;
  readonly exporter: MetricsExporterLike | null;
  readonly budget: ClusterBudgetLike | null;
  readonly adaptive: AdaptiveLimiterLike | null;
  readonly hosts: HostsLike | null;
  /** Which components were configured (or made by the app). */
  readonly features: Record<
    'monitor' | 'leakDetector' | 'dashboard' | 'partitions' | 'queue' | 'exporter' | 'budget' | 'adaptive' | 'hosts',
    boolean
  >;
}

const ENTRY_KEYS = [
  'pool',
  'name',
  'monitor',
  'leakDetector',
  'dashboard',
  'partitions',
  'queue',
  'exporter',
  'budget',
  'adaptive',
  'hosts',
];
/**
 * A pool name the API can serve and the dashboard can show unambiguously: 1 to 128 characters, none of
 * them a control character, an invisible formatting one (zero-width, bidirectional overrides and
 * isolates, byte-order mark: they make two names look alike or reorder what is shown) or a separator,
 * nor `/ \\ ? # %`; and not `.` or `..`, which URL resolution swallows.
 */
export function poolNameProblem(name: unknown): string | null {
  if (typeof name !== 'string' || name.length === 0 || name.length > 128) return 'must be a string of 1 to 128 characters';
  if (name === '.' || name === '..') return "must not be '.' or '..' (URLs resolve them away, so the pool could not be reached)";
  const bad = /[\p{Cc}\p{Cf}\p{Z}\p{Co}\p{Cn}/\\?#%]/u.exec(name);
  if (bad !== null) {
    const code = (bad[0].codePointAt(0) as number).toString(16).toUpperCase().padStart(4, '0');
    return `must not contain U+${code} at index ${bad.index}: no control, invisible formatting (zero-width, bidirectional), separator or unassigned characters, nor / \\ ? # %`;
  }
  return null;
}

function isPool(value: unknown): value is ManagedPool {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.name === 'string' &&
    ['statistics', 'size', 'connections', 'resize', 'evictIdle', 'suspend', 'resume', 'on', 'off'].every((m) => typeof v[m] === 'function')
  );
}

function needs(field: string, value: unknown, methods: readonly string[], what: string): void {
  if (value == null) return;
  if (typeof value !== 'object' || methods.some((m) => typeof (value as Record<string, unknown>)[m] !== 'function')) {
    throw new InvalidConfigError(field, value, `must be ${what} (with ${methods.map((m) => `${m}()`).join(', ')})`);
  }
}

function isPartitionEventSource(value: object): value is PartitionEventSource {
  const v = value as Record<string, unknown>;
  return (
    typeof v.pool === 'object' &&
    ['on', 'off', 'partition', 'listPartitions', 'getPartitionStatistics'].every((m) => typeof v[m] === 'function')
  );
}

function monitorNameOf(monitor: PoolMonitor, pool: ManagedPool): string | null {
  for (const name of monitor.poolNames) if (monitor.getPool(name) === pool) return name;
  return null;
}

/**
 * Turns the `pools` option into entries, validating every component, and creates what the app
 * provides itself: a `PoolMonitor` per pool without one (when `autoMonitor` is not `false`) and a
 * `DashboardProvider` per pool with a monitor. Returns the entries and what to close with the app.
 */
export function resolvePools(
  option: unknown,
  autoMonitor: false | PoolMonitorOptions,
): { entries: Map<string, PoolEntry>; owned: PoolMonitor[]; watches: (() => void)[] } {
  if (typeof option !== 'object' || option === null) {
    throw new InvalidConfigError('pools', option, 'must be a record of named pools or an array of pools (at least one)');
  }
  const raw: [string | undefined, unknown, string][] = Array.isArray(option)
    ? option.map((item, i) => [undefined, item, `pools[${i}]`])
    : Object.entries(option).map(([key, item]) => [key, item, `pools.${key}`]);
  if (raw.length === 0) throw new InvalidConfigError('pools', option, 'must name at least one pool');
  const entries = new Map<string, PoolEntry>();
  const owned: PoolMonitor[] = [];
  const watches: (() => void)[] = [];
  const seen = new Set<unknown>();
  try {
    for (const [key, item, field] of raw) {
      const spec: ManagedPoolOptions = isPool(item) ? { pool: item } : (item as ManagedPoolOptions);
      if (typeof spec !== 'object' || spec === null || !isPool(spec.pool)) {
        throw new InvalidConfigError(
          field,
          item,
          'must be a ConnectionPool or { pool, monitor?, leakDetector?, dashboard?, partitions?, queue?, exporter?, budget?, adaptive?, hosts? }',
        );
      }
      for (const k of Object.keys(spec)) {
        if (!ENTRY_KEYS.includes(k))
          throw new InvalidConfigError(`${field}.${k}`, '[value]', `is not a pool option; known: ${ENTRY_KEYS.join(', ')}`);
      }
      const name = spec.name ?? key ?? spec.pool.name;
      const problem = poolNameProblem(name);
      if (problem !== null) throw new InvalidConfigError(`${field}.name`, JSON.stringify(name), problem);
      if (entries.has(name)) throw new InvalidConfigError(`${field}.name`, name, 'is used by another pool; names must be unique');
      if (seen.has(spec.pool)) throw new InvalidConfigError(`${field}.pool`, spec.pool.name, 'is listed twice');
      seen.add(spec.pool);
      needs(`${field}.monitor`, spec.monitor, ['statistics', 'allStatistics', 'getPool'], 'a PoolMonitor');
      needs(`${field}.leakDetector`, spec.leakDetector, ['getLeaks', 'statistics'], 'a LeakDetector');
      needs(`${field}.dashboard`, spec.dashboard, ['getDashboardData'], 'a DashboardProvider');
      needs(`${field}.partitions`, spec.partitions, ['listPartitions', 'getPartitionStatistics'], 'a PartitionManager');
      needs(`${field}.exporter`, spec.exporter, ['export'], 'a MonitoringExporter');
      needs(`${field}.budget`, spec.budget, ['statistics'], 'a ClusterBudget');
      needs(`${field}.adaptive`, spec.adaptive, ['statistics'], 'an AdaptiveLimiter');
      needs(`${field}.hosts`, spec.hosts, ['hostStatistics'], 'a multi-host pool (PgReplicaPool)');
      if (spec.budget != null && typeof spec.budget.state !== 'string') {
        throw new InvalidConfigError(`${field}.budget`, '[value]', 'must be a ClusterBudget (with a string state)');
      }
      if (
        spec.queue != null &&
        (typeof spec.queue !== 'object' || (typeof spec.queue.statistics !== 'function' && typeof spec.queue.values !== 'function'))
      ) {
        throw new InvalidConfigError(`${field}.queue`, spec.queue, 'must be a WaitQueue (values()) or a queue with statistics()');
      }
      let monitor = spec.monitor ?? null;
      let monitorName: string | null = null;
      if (monitor !== null) {
        monitorName = monitorNameOf(monitor, spec.pool);
        if (monitorName === null) {
          throw new InvalidConfigError(
            `${field}.monitor`,
            '[PoolMonitor]',
            `does not watch pool '${spec.pool.name}'; attach it first (monitor.attach(pool))`,
          );
        }
      } else if (autoMonitor !== false) {
        monitor = new PoolMonitor(null, autoMonitor);
        owned.push(monitor);
        monitor.attach(spec.pool, { name });
        monitorName = name;
      }
      const leakDetector = spec.leakDetector ?? null;
      const partitions = spec.partitions ?? null;
      // The pool's figures count every caller once, also those that wait or fail in a partition's queue.
      if (
        monitor !== null &&
        partitions !== null &&
        typeof monitor.watchesPartitions === 'function' &&
        isPartitionEventSource(partitions) &&
        !monitor.watchesPartitions(partitions)
      ) {
        const m = monitor;
        m.watchPartitions(partitions);
        watches.push(() => m.unwatchPartitions(partitions));
      }
      const queue = spec.queue ?? (spec.pool.waitQueue as QueueLike);
      let dashboard: DashboardProviderLike<object> | null = spec.dashboard ?? null;
      if (dashboard === null && monitor !== null) {
        dashboard = new DashboardProvider(monitor, 1_000, {
          leakDetector: leakDetector as never,
          partitions,
          ...(spec.queue != null && typeof spec.queue.statistics === 'function' ? { queue: spec.queue as never } : {}),
        }) as DashboardProviderLike<DashboardData>;
      }
      entries.set(name, {
        name,
        pool: spec.pool,
        monitor,
        monitorName,
        leakDetector,
        dashboard,
        partitions,
        queue,
        exporter: spec.exporter ?? null,
        budget: spec.budget ?? null,
        adaptive: spec.adaptive ?? null,
        hosts: spec.hosts ?? null,
        features: {
          monitor: monitor !== null,
          leakDetector: leakDetector !== null,
          dashboard: dashboard !== null,
          partitions: partitions !== null,
          queue: spec.queue != null || typeof (queue as { statistics?: unknown }).statistics === 'function',
          exporter: spec.exporter != null,
          budget: spec.budget != null,
          adaptive: spec.adaptive != null,
          hosts: spec.hosts != null,
        },
      });
    }
  } catch (error) {
    for (const unwatch of watches) unwatch();
    for (const m of owned) m.close();
    throw error;
  }
  return { entries, owned, watches };
}

/**
 * The leaks of one pool: the detector's reports for it, or, without a detector, the borrows the pool
 * flagged itself (`leakDetectionThresholdMs`).
 */
export function leaksOf(entry: PoolEntry): { source: 'detector' | 'pool'; active: number; detected: number; reports: LeakReport[] } {
  if (entry.leakDetector !== null) {
    const reports = entry.leakDetector.getLeaks().filter((r) => r.poolName === entry.pool.name);
    const stats = entry.leakDetector.statistics() as { detected: number };
    return { source: 'detector', active: reports.length, detected: stats.detected, reports };
  }
  const threshold = entry.pool.config.leakDetectionThresholdMs ?? 0;
  const reports: LeakReport[] = [];
  for (const c of entry.pool.connections()) {
    if (!c.leakReported || c.acquiredAt === undefined || c.heldMs === undefined) continue;
    const ctx = c.context as { partition?: unknown; partitionId?: unknown } | null | undefined;
    const partition =
      typeof ctx === 'object' && ctx !== null
        ? typeof ctx.partition === 'string'
          ? ctx.partition
          : typeof ctx.partitionId === 'string'
            ? ctx.partitionId
            : undefined
        : undefined;
    reports.push({
      poolName: entry.pool.name,
      connectionId: c.id,
      activeDurationMs: c.heldMs,
      acquiredAt: c.acquiredAt,
      detectedAt: c.acquiredAt + threshold,
      context: c.context,
      partition,
      label: c.label,
      stack: c.stack,
      approximate: false,
    });
  }
  reports.sort((a, b) => a.acquiredAt - b.acquiredAt || a.connectionId - b.connectionId);
  return { source: 'pool', active: reports.length, detected: entry.pool.statistics().leaksDetected, reports };
}
