import type { PoolMonitorStatistics } from '@pool/monitoring';
import { getPoolSize, getQueueStatistics } from './api.js';
import type { HistoryPoint, PoolHistory } from './history.js';
import { leaksOf, type PoolEntry } from './pools.js';

/**
 * The figures of one pool the dashboard shows, from one snapshot. With a monitor (the default), the
 * headline (acquired, failed, success rate, waiting, the wait histogram) counts every caller once,
 * whichever queue it waited in: the pool's own, or a partition's (the app has the monitor watch the
 * pool's partition manager). `direct` is the part that did not come through a partition, so that
 * `direct` plus the partitions' figures add up to the headline.
 */
export function poolOverview(e: PoolEntry, monitor: PoolMonitorStatistics | null) {
  const stats = e.pool.statistics();
  const size = getPoolSize(e.pool);
  const partitions =
    e.partitions === null
      ? null
      : Object.entries(e.partitions.getPartitionStatistics())
          .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          .map(([, s]) => s);
  const acquired = monitor?.acquisitions ?? stats.acquired;
  const acquireFailures = monitor?.acquireFailures ?? stats.acquireFailures;
  const waiting = monitor?.waiting ?? size.waiting;
  const via = monitor?.partitionCallers ?? null;
  const leaks = leaksOf(e);
  return {
    name: e.name,
    state: stats.state,
    suspended: stats.suspended,
    size,
    minSize: e.pool.config.minSize,
    maxSize: e.pool.config.maxSize,
    scope: monitor === null ? ('pool' as const) : ('callers' as const),
    acquired,
    acquireFailures,
    successRate: monitor?.successRate ?? stats.successRate,
    waiting,
    direct: {
      acquired: acquired - (via?.acquired ?? 0),
      failed: acquireFailures - (via?.failed ?? 0),
      waiting: waiting - (via?.waiting ?? 0),
    },
    throughputPerSecond: monitor?.throughputPerSecond ?? null,
    windowSpanMs: monitor?.windowSpanMs ?? null,
    wait: monitor?.waitTimeHistogram ?? null,
    queue: getQueueStatistics(e.queue),
    partitions,
    leaks: { active: leaks.active, detected: leaks.detected, reports: leaks.reports },
    adaptive: e.adaptive === null ? null : (e.adaptive.statistics() as Record<string, unknown>),
    // The same records as GET /pools/{pool}/hosts, read in the same snapshot as the figures above.
    hosts: e.hosts === null ? null : e.hosts.hostStatistics(),
  };
}

/** One pool's figures, as the history keeps them. */
export type PoolFigures = ReturnType<typeof poolOverview>;

/** Samples a pool into its history: the rates are differences with the previous sample. */
export function sample(history: PoolHistory, figures: PoolFigures, t: number): HistoryPoint {
  const previous = history.latest();
  const last = history.counts;
  const dt = previous === undefined ? 0 : (t - previous.t) / 1000;
  const point: HistoryPoint = {
    t,
    active: figures.size.active,
    idle: figures.size.idle,
    waiting: figures.waiting,
    p50: figures.wait?.percentiles.p50 ?? null,
    p95: figures.wait?.percentiles.p95 ?? null,
    p99: figures.wait?.percentiles.p99 ?? null,
    rate: last === null || dt <= 0 ? null : Math.max(0, figures.acquired - last.acquired) / dt,
    failures: last === null ? null : Math.max(0, figures.acquireFailures - last.failed),
  };
  history.push(point);
  history.counts = { acquired: figures.acquired, failed: figures.acquireFailures };
  return point;
}
