import { type PoolConfigValues, type PoolSize, type PoolStatistics, QUEUE_PRIORITIES, type QueuePriority } from '@pool/core';
import type { LeakReport } from '@pool/monitoring';
import { type RedactOptions, redact, redactText } from './redact.js';
import type {
  DashboardProviderLike,
  LeakDetectorLike,
  ManagedPool,
  MetricsExporterLike,
  PartitionManagerLike,
  QueueLevelData,
  QueueLike,
  QueueStatisticsData,
} from './types.js';

/** A pool's configuration and how it is put together (the seed's `get_pool_config`), with no credential in it. */
export interface PoolConfigData extends PoolConfigValues {
  /** The pool's name. */
  poolName: string;
  /**
   * The factory, described by its own `toString()` when it has one (the driver adapters describe host,
   * database and options, never the password), otherwise by its class; redacted either way.
   */
  factory: string;
  /** The wait queue's class. */
  waitQueue: string;
  /** The recycling strategy, when the pool reports one. */
  recyclingStrategy: string | null;
  /** The aging policy as plain data, or `null`. */
  agingPolicy: unknown;
  /** The validator's settings, or `null`. */
  validator: unknown;
}

function className(value: unknown, fallback: string): string {
  if (typeof value !== 'object' || value === null) return fallback;
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' && name !== 'Object' ? name : fallback;
}

/**
 * Describes a factory without ever reading its fields: its own `toString()` when it defines one (the
 * adapters' say `PgFactory(postgres://app@db:5432/prod, ...)`), else its class name; then redacted.
 */
export function describeFactory(factory: unknown, options: RedactOptions = {}): string {
  if (typeof factory !== 'object' || factory === null) return typeof factory;
  const own = (factory as { toString?: unknown }).toString;
  let text: string;
  if (typeof own === 'function' && own !== Object.prototype.toString) {
    try {
      text = String(own.call(factory));
    } catch {
      text = className(factory, 'ConnectionFactory');
    }
  } else {
    text = className(factory, 'ConnectionFactory');
  }
  return redactText(text.length > 500 ? `${text.slice(0, 497)}...` : text, options);
}

function describeValidator(validator: unknown): unknown {
  if (typeof validator !== 'object' || validator === null) return null;
  const v = validator as Record<string, unknown>;
  const out: Record<string, unknown> = { kind: className(validator, 'ConnectionValidator') };
  for (const key of ['timeoutMs', 'query', 'fastValidation', 'fastValidationWindowMs']) {
    if (key in v && typeof v[key] !== 'function') out[key] = v[key];
  }
  return out;
}

/**
 * A pool's configuration (the seed's `api::get_pool_config`): every `PoolConfig` field plus the pool's
 * name and descriptions of its factory, wait queue, recycling strategy, aging policy and validator.
 * Plain JSON; passwords and connection strings are redacted.
 *
 * @example
 * ```ts
 * const config = api.getPoolConfig(pool);
 * console.log(`Min: ${config.minSize}, Max: ${config.maxSize}`);
 * ```
 */
export function getPoolConfig(pool: ManagedPool, options: RedactOptions = {}): PoolConfigData {
  const data = {
    ...pool.config.toJSON(),
    poolName: pool.name,
    factory: describeFactory(pool.factory, options),
    waitQueue: className(pool.waitQueue, 'WaitQueue'),
    recyclingStrategy: typeof pool.recyclingStrategy === 'string' ? pool.recyclingStrategy : null,
    agingPolicy: pool.agingPolicy ?? null,
    validator: describeValidator(pool.validator),
  };
  return redact(data, options) as PoolConfigData;
}

/**
 * A pool's counters (the seed's `api::get_pool_statistics`): `pool.statistics()` as plain JSON.
 *
 * @example
 * ```ts
 * const stats = api.getPoolStatistics(pool);
 * console.log(`Active connections: ${stats.activeConnections}`);
 * ```
 */
export function getPoolStatistics(pool: ManagedPool, options: RedactOptions = {}): PoolStatistics {
  return redact(pool.statistics(), options) as PoolStatistics;
}

/**
 * How many connections are where (the seed's `api::get_pool_size`): total, idle, active, pending, waiting.
 *
 * @example
 * ```ts
 * const size = api.getPoolSize(pool);
 * console.log(`Total: ${size.total}, Idle: ${size.idle}, Active: ${size.active}`);
 * ```
 */
export function getPoolSize(pool: ManagedPool): PoolSize {
  const s = pool.size();
  return { total: s.total, idle: s.idle, active: s.active, pending: s.pending, waiting: s.waiting, limit: s.limit };
}

function num(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

function levelOf(currentSize: number, reported: Record<string, unknown>): QueueLevelData {
  return {
    currentSize,
    totalEnqueued: num(reported.totalEnqueued),
    totalDequeued: num(reported.totalDequeued),
    totalTimedOut: num(reported.totalTimedOut),
    totalCancelled: num(reported.totalCancelled),
    totalBoosted: num(reported.totalBoosted ?? reported.boostedCount),
    averageWaitMs: num(reported.averageWaitMs),
    maxWaitMs: num(reported.maxWaitMs),
  };
}

/**
 * A wait queue's figures (the seed's `api::get_queue_statistics`): for `@pool/queue`'s
 * `PriorityWaitQueue`, its own counters (`currentSize`, `totalEnqueued`, `averageWaitMs`...) in total
 * and by priority; for any other `WaitQueue` (the pool's built-in FIFO), the waiters now by priority,
 * with the counters it does not keep as `null`.
 *
 * @example
 * ```ts
 * const queueStats = api.getQueueStatistics(waitQueue);
 * console.log(`Queue length: ${queueStats.currentSize}`);
 * console.log(`Total enqueued: ${queueStats.totalEnqueued}`);
 * console.log(`Avg wait time: ${queueStats.averageWaitMs} ms`);
 * ```
 */
export function getQueueStatistics(queue: QueueLike): QueueStatisticsData {
  const counts: Record<QueuePriority, number> = { critical: 0, high: 0, normal: 0, low: 0 };
  let total = 0;
  if (typeof queue.values === 'function') {
    for (const w of queue.values()) {
      total++;
      if (QUEUE_PRIORITIES.includes(w.priority)) counts[w.priority]++;
    }
  }
  let reported: Record<string, unknown> | null = null;
  if (typeof queue.statistics === 'function') {
    const s = queue.statistics();
    if (typeof s === 'object' && s !== null) reported = s as Record<string, unknown>;
  }
  const levels = (reported?.byPriority ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const byPriority = {} as Record<QueuePriority, QueueLevelData>;
  for (const p of QUEUE_PRIORITIES) {
    const level = levels[p] ?? {};
    byPriority[p] = levelOf(num(level.currentSize) ?? counts[p], level);
  }
  const size = num(reported?.currentSize) ?? num(queue.size) ?? total;
  return { kind: className(queue, 'WaitQueue'), reported: reported !== null, ...levelOf(size, reported ?? {}), byPriority };
}

/**
 * Statistics of every partition (the seed's `api::get_partition_statistics`), keyed by partition id:
 * `@pool/partitioning`'s `PartitionStatistics` (acquired, released, active, waiting, p99 wait,
 * rejections by reason, budgets...) as plain JSON.
 *
 * @example
 * ```ts
 * const partitionStats = api.getPartitionStatistics(partitionManager);
 * for (const [partitionId, stats] of Object.entries(partitionStats)) {
 *   console.log(`${partitionId}: ${stats.connectionsAcquired} acquired, ${stats.connectionsReleased} released`);
 * }
 * ```
 */
export function getPartitionStatistics<S extends object>(
  manager: PartitionManagerLike<object, S>,
  options: RedactOptions = {},
): Record<string, S> {
  return redact(manager.getPartitionStatistics(), options) as Record<string, S>;
}

/**
 * Every partition as plain data (the seed's `api::list_partitions`): id, type, limits, state,
 * isolation, pool, route keys, label.
 *
 * @example
 * ```ts
 * const partitions = api.listPartitions(partitionManager);
 * console.log('Partitions:', partitions.map((p) => p.id));
 * ```
 */
export function listPartitions<P extends object>(manager: PartitionManagerLike<P, object>, options: RedactOptions = {}): P[] {
  return redact(manager.listPartitions(), options) as P[];
}

/**
 * The dashboard snapshot (the seed's `api::get_dashboard_data`): `DashboardProvider.getDashboardData()`
 * as plain JSON, leak contexts redacted.
 *
 * @example
 * ```ts
 * const dashboardData = api.getDashboardData(dashboardProvider);
 * console.log(`Dashboard snapshot at ${new Date(dashboardData.timestamp).toISOString()}`);
 * ```
 */
export function getDashboardData<D extends object>(provider: DashboardProviderLike<D>, options: RedactOptions = {}): D {
  return redact(provider.getDashboardData(), options) as D;
}

/**
 * The leaks a detector has flagged and that are still held (the seed's `api::get_detected_leaks`),
 * oldest first, as plain JSON: the borrower's `context` is redacted, the acquire stack kept (it shows
 * code, not data).
 *
 * @example
 * ```ts
 * const leaks = api.getDetectedLeaks(leakDetector);
 * if (leaks.length > 0) console.error(`WARNING: ${leaks.length} connection leaks detected`);
 * ```
 */
export function getDetectedLeaks(detector: LeakDetectorLike, options: RedactOptions = {}): LeakReport[] {
  return redact(detector.getLeaks(), options) as LeakReport[];
}

/**
 * The exporter's text (the seed's `api::export_metrics`): JSON, CSV or Prometheus, whichever format the
 * `MonitoringExporter` was made for, with any credential-looking text redacted. A promise, because
 * Prometheus text is rendered asynchronously.
 *
 * @example
 * ```ts
 * const metrics = await api.exportMetrics(exporter);
 * console.log(metrics);
 * ```
 */
export async function exportMetrics(exporter: MetricsExporterLike, options: RedactOptions = {}): Promise<string> {
  return redactText(await exporter.export(), options);
}
