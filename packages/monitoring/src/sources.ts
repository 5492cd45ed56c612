import { QUEUE_PRIORITIES, type QueuePriority } from '@pool/core';
import type { MonitoredPool } from './pool-recorder.js';

/**
 * One partition's figures as a partition manager reports them (for example `@pool/partitioning`'s
 * `PartitionManager.getPartitionStatistics()`). Read structurally: every field is optional, and a few
 * common spellings are accepted (`waiting` or `waitingRequests` or `queueLength`, `activeConnections`
 * or `active`...), so monitoring does not depend on the partitioning package.
 */
export interface PartitionStatisticsLike {
  readonly connectionsAcquired?: number;
  readonly connectionsReleased?: number;
  readonly activeConnections?: number;
  readonly idleConnections?: number;
  readonly waiting?: number;
  readonly maxConnections?: number;
  /** Acquisitions the partition refused (its limits were reached). */
  readonly rejected?: number;
  readonly averageWaitTimeMs?: number;
  /** Alternative place for `maxConnections`. */
  readonly limits?: { readonly maxConnections?: number };
}

/** The shapes `getPartitionStatistics()` may return: a map, a record, or a list of entries with an id. */
export type PartitionStatisticsCollection =
  | ReadonlyMap<string, PartitionStatisticsLike>
  | Readonly<Record<string, PartitionStatisticsLike>>
  | readonly (PartitionStatisticsLike & { readonly id?: string; readonly partitionId?: string; readonly name?: string })[];

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
  acquired: number | null;
  released: number | null;
  active: number | null;
  idle: number | null;
  waiting: number | null;
  maxConnections: number | null;
  rejected: number | null;
  averageWaitTimeMs: number | null;
  /** active / maxConnections, when both are known. */
  utilization: number | null;
}

/**
 * What a priority wait queue reports about itself (for example `@pool/queue`'s
 * `PriorityWaitQueue.statistics()`), read structurally like {@link PartitionStatisticsLike}.
 */
export interface QueueStatisticsLike {
  readonly currentSize?: number;
  readonly totalEnqueued?: number;
  readonly totalDequeued?: number;
  readonly averageWaitTimeMs?: number;
  /** Waiters promoted by starvation prevention (`boostedCount` is accepted too). */
  readonly boosted?: number;
  readonly timeouts?: number;
}

/**
 * A wait queue that reports statistics. A pool's own `pool.waitQueue` is used automatically when it
 * has a `statistics()` method (as `@pool/queue`'s `PriorityWaitQueue` does).
 */
export interface QueueStatisticsSource {
  statistics(): QueueStatisticsLike;
}

/** A pool's wait queue right now: waiters by priority (always known) plus what the queue reports. */
export interface QueueSummary {
  /** Waiters queued right now. */
  size: number;
  /** Waiters queued right now, by priority (counted from `pool.waitQueue.values()`). */
  byPriority: Record<QueuePriority, number>;
  /** Reported by the queue when it has `statistics()`; otherwise `null`. */
  totalEnqueued: number | null;
  averageWaitTimeMs: number | null;
  boosted: number | null;
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

function summarize(id: string, s: PartitionStatisticsLike): PartitionSummary {
  const r = s as Record<string, unknown>;
  const active = num(r.activeConnections, r.active, r.borrowed);
  const max = num(r.maxConnections, s.limits?.maxConnections);
  return {
    id,
    acquired: num(r.connectionsAcquired, r.acquired),
    released: num(r.connectionsReleased, r.released),
    active,
    idle: num(r.idleConnections, r.idle),
    waiting: num(r.waiting, r.waitingRequests, r.queueLength, r.queued),
    maxConnections: max,
    rejected: num(r.rejected, r.rejections),
    averageWaitTimeMs: num(r.averageWaitTimeMs, r.averageWaitMs),
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

/** Summarizes `pool`'s wait queue; `source` (or the queue's own `statistics()`) adds the reported figures. */
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
  return {
    size: pool.waitQueue.size,
    byPriority: waitersByPriority(pool),
    totalEnqueued: num(reported.totalEnqueued),
    averageWaitTimeMs: num(reported.averageWaitTimeMs, reported.averageWaitMs),
    boosted: num(reported.boosted, reported.boostedCount, reported.priorityBoosts),
  };
}
