import { QUEUE_PRIORITIES, type QueuePriority } from '@pool/core';
import type { MonitoredPool } from './pool-recorder.js';

/**
 * One partition's figures as a partition manager reports them (`@pool/partitioning`'s
 * `PartitionManager.getPartitionStatistics()` returns a record of these). Read structurally: every
 * field is optional and a few other spellings are accepted (`activeConnections`, `waitingRequests`,
 * `maxConnections` at the top level...), so monitoring does not depend on the partitioning package.
 */
export interface PartitionStatisticsLike {
  readonly connectionsAcquired?: number;
  readonly connectionsReleased?: number;
  /** Connections borrowed through the partition right now. */
  readonly active?: number;
  /** Callers waiting in the partition's queue. */
  readonly waiting?: number;
  readonly timeouts?: number;
  /** Failed acquisitions by reason; their sum is reported as `rejected`. */
  readonly rejections?: Readonly<Record<string, number>>;
  readonly averageWaitMs?: number;
  readonly p99WaitMs?: number;
  readonly limits?: { readonly maxConnections?: number; readonly minConnections?: number };
  /** The name of the pool the partition draws from. */
  readonly pool?: string;
}

/** The shapes `getPartitionStatistics()` may return: a record, a map, or a list of entries with an `id`. */
export type PartitionStatisticsCollection =
  | Readonly<Record<string, PartitionStatisticsLike>>
  | ReadonlyMap<string, PartitionStatisticsLike>
  | readonly (PartitionStatisticsLike & { readonly id?: string })[];

/**
 * Anything that reports per-partition figures, such as `@pool/partitioning`'s `PartitionManager`.
 *
 * @example
 * ```ts
 * const dashboard = new DashboardProvider(monitor, 5_000, { partitions: partitionManager });
 * ```
 */
export interface PartitionStatisticsSource {
  getPartitionStatistics(): PartitionStatisticsCollection;
}

/** One partition, normalized. A figure the source does not report is `null`. */
export interface PartitionSummary {
  id: string;
  /** The name of the pool the partition draws from, when reported. */
  pool: string | null;
  acquired: number | null;
  released: number | null;
  /** Connections borrowed through it now. */
  active: number | null;
  waiting: number | null;
  maxConnections: number | null;
  minConnections: number | null;
  timeouts: number | null;
  /** Failed acquisitions, all reasons. */
  rejected: number | null;
  averageWaitMs: number | null;
  p99WaitMs: number | null;
  /** active / maxConnections, when both are known. */
  utilization: number | null;
}

/** One priority level of a wait queue, as the queue reports it (`@pool/queue`'s `QueueLevelStatistics`). */
export interface QueueLevelStatisticsLike {
  readonly currentSize?: number;
  readonly totalEnqueued?: number;
  readonly totalDequeued?: number;
  readonly totalTimedOut?: number;
  readonly totalBoosted?: number;
  readonly averageWaitMs?: number;
  readonly maxWaitMs?: number;
}

/**
 * What a priority wait queue reports about itself (`@pool/queue`'s `PriorityWaitQueue.statistics()`),
 * read structurally like {@link PartitionStatisticsLike}.
 */
export interface QueueStatisticsLike extends QueueLevelStatisticsLike {
  readonly byPriority?: Readonly<Partial<Record<QueuePriority, QueueLevelStatisticsLike>>>;
}

/**
 * A wait queue that reports statistics. A pool's own `pool.waitQueue` is used automatically when it
 * has a `statistics()` method (as `@pool/queue`'s `PriorityWaitQueue` does).
 */
export interface QueueStatisticsSource {
  statistics(): QueueStatisticsLike;
}

/** One priority level of a pool's wait queue. Reported figures are `null` when the queue reports none. */
export interface QueueLevelSummary {
  /** Waiters at this priority right now (counted from `pool.waitQueue.values()`, boosts included). */
  waiting: number;
  totalEnqueued: number | null;
  totalDequeued: number | null;
  totalTimedOut: number | null;
  boosted: number | null;
  averageWaitMs: number | null;
  maxWaitMs: number | null;
}

/** A pool's wait queue right now: waiters by priority (always known) plus what the queue reports. */
export interface QueueSummary extends QueueLevelSummary {
  byPriority: Record<QueuePriority, QueueLevelSummary>;
}

/** Optional figures from packages beside the pool, given to {@link DashboardProvider} and `@pool/prometheus`. */
export interface MonitoringSources {
  /** Per-partition figures (`@pool/partitioning`'s `PartitionManager`). */
  partitions?: PartitionStatisticsSource | null;
  /** A queue to read instead of each pool's own `pool.waitQueue.statistics()`. */
  queue?: QueueStatisticsSource | null;
}

const warned = new WeakSet<object>();

function warnOnce(source: object, what: string, error: unknown): void {
  if (warned.has(source)) return;
  warned.add(source);
  process.emitWarning(
    `@pool/monitoring: ${what} threw (${error instanceof Error ? error.message : String(error)}); its figures are left out`,
    {
      code: 'POOL_MONITORING_SOURCE',
    },
  );
}

function num(...candidates: unknown[]): number | null {
  for (const c of candidates) if (typeof c === 'number' && Number.isFinite(c)) return c;
  return null;
}

function sumOf(record: unknown): number | null {
  if (typeof record !== 'object' || record === null) return null;
  let total = 0;
  for (const v of Object.values(record)) if (typeof v === 'number' && Number.isFinite(v)) total += v;
  return total;
}

function summarize(id: string, s: PartitionStatisticsLike): PartitionSummary {
  const r = s as Record<string, unknown>;
  const limits = (typeof r.limits === 'object' && r.limits !== null ? r.limits : {}) as Record<string, unknown>;
  const active = num(r.active, r.activeConnections, r.borrowed);
  const max = num(limits.maxConnections, r.maxConnections);
  return {
    id,
    pool: typeof r.pool === 'string' ? r.pool : null,
    acquired: num(r.connectionsAcquired, r.acquired),
    released: num(r.connectionsReleased, r.released),
    active,
    waiting: num(r.waiting, r.waitingRequests, r.queueLength),
    maxConnections: max,
    minConnections: num(limits.minConnections, r.minConnections),
    timeouts: num(r.timeouts),
    rejected: num(r.rejected) ?? sumOf(r.rejections),
    averageWaitMs: num(r.averageWaitMs, r.averageWaitTimeMs),
    p99WaitMs: num(r.p99WaitMs),
    utilization: active !== null && max !== null && max > 0 ? active / max : null,
  };
}

/**
 * Reads and normalizes a partition source, sorted by id. Returns `null` when there is no source, or
 * when it throws or returns something unreadable (a process warning says so, once per source).
 */
export function readPartitions(source: PartitionStatisticsSource | null | undefined): PartitionSummary[] | null {
  if (source == null) return null;
  let raw: PartitionStatisticsCollection;
  try {
    raw = source.getPartitionStatistics();
  } catch (error) {
    warnOnce(source, 'getPartitionStatistics()', error);
    return null;
  }
  const out: PartitionSummary[] = [];
  if (raw instanceof Map) {
    for (const [id, s] of raw) if (typeof s === 'object' && s !== null) out.push(summarize(String(id), s));
  } else if (Array.isArray(raw)) {
    raw.forEach((s, i) => {
      if (typeof s !== 'object' || s === null) return;
      const id = s.id ?? s.partitionId ?? s.name ?? String(i);
      out.push(summarize(String(id), s));
    });
  } else if (typeof raw === 'object' && raw !== null) {
    for (const [id, s] of Object.entries(raw as Record<string, PartitionStatisticsLike>)) {
      if (typeof s === 'object' && s !== null) out.push(summarize(id, s));
    }
  } else {
    warnOnce(source, 'getPartitionStatistics()', new TypeError(`returned ${typeof raw}, not a Map, record or array`));
    return null;
  }
  out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return out;
}

/** Waiters queued in `pool` right now, by priority. O(waiters). */
export function waitersByPriority(pool: MonitoredPool): Record<QueuePriority, number> {
  const counts = { critical: 0, high: 0, normal: 0, low: 0 } as Record<QueuePriority, number>;
  for (const w of pool.waitQueue.values()) {
    if (QUEUE_PRIORITIES.includes(w.priority)) counts[w.priority]++;
  }
  return counts;
}

function level(waiting: number, r: Record<string, unknown>): QueueLevelSummary {
  return {
    waiting,
    totalEnqueued: num(r.totalEnqueued),
    totalDequeued: num(r.totalDequeued),
    totalTimedOut: num(r.totalTimedOut, r.timeouts),
    boosted: num(r.totalBoosted, r.boosted, r.boostedCount),
    averageWaitMs: num(r.averageWaitMs, r.averageWaitTimeMs),
    maxWaitMs: num(r.maxWaitMs),
  };
}

/**
 * Summarizes `pool`'s wait queue: waiters by priority, plus the figures `source` (or the pool's queue
 * itself, when it has `statistics()`) reports. O(waiters).
 */
export function readQueue(pool: MonitoredPool, source?: QueueStatisticsSource | null): QueueSummary {
  const queue = pool.waitQueue as unknown as Partial<QueueStatisticsSource>;
  const reporter = source ?? (typeof queue.statistics === 'function' ? (queue as QueueStatisticsSource) : null);
  let reported: Record<string, unknown> = {};
  if (reporter !== null) {
    try {
      const s = reporter.statistics();
      if (typeof s === 'object' && s !== null) reported = s as Record<string, unknown>;
    } catch (error) {
      warnOnce(reporter, 'queue statistics()', error);
    }
  }
  const waiting = waitersByPriority(pool);
  const levels = (typeof reported.byPriority === 'object' && reported.byPriority !== null ? reported.byPriority : {}) as Record<
    string,
    unknown
  >;
  const byPriority = {} as Record<QueuePriority, QueueLevelSummary>;
  for (const p of QUEUE_PRIORITIES) {
    const l = levels[p];
    byPriority[p] = level(waiting[p], typeof l === 'object' && l !== null ? (l as Record<string, unknown>) : {});
  }
  return { ...level(pool.waitQueue.size, reported), byPriority };
}
