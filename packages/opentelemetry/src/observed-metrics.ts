import type { Attributes, BatchObservableResult, Meter, Observable } from '@opentelemetry/api';
import type { ConnectionPool } from '@pool/core';
import {
  ATTR_BUDGET,
  ATTR_BUDGET_STATE,
  ATTR_CONNECTION_STATE,
  ATTR_PARTITION,
  ATTR_POOL_NAME,
  ATTR_REASON,
  ATTR_TENANT,
  METRIC,
} from './names.js';
import { BUDGET_STATES, type BudgetScopeFigures, type BudgetSource, type PartitionSource } from './sources.js';

/** A pool as the observable instruments read it, with its attribute sets built once. */
export interface ObservedPool {
  readonly pool: ConnectionPool<unknown>;
  readonly attrs: Attributes;
  readonly idle: Attributes;
  readonly used: Attributes;
}

/** What the observable instruments read at each collection. */
export interface ObservedSources {
  pools(): Iterable<ObservedPool>;
  partitions(): Iterable<PartitionSource>;
  budgets(): Iterable<BudgetSource>;
}

/**
 * The instruments read at collection time: connection counts and limits from `pool.size()` and
 * `pool.config`, timeouts from `pool.statistics()`, partitions from `getPartitionStatistics()`, budgets
 * from `statistics()`. Nothing here touches the acquire/release path. Returns the function that
 * removes the callback.
 */
export function observeMetrics(meter: Meter, sources: ObservedSources): () => void {
  const count = meter.createObservableUpDownCounter(METRIC.connectionCount, {
    description: 'The number of connections that are currently in state described by the state attribute',
    unit: '{connection}',
  });
  const idleMax = meter.createObservableUpDownCounter(METRIC.idleMax, {
    description: 'The maximum number of idle open connections allowed (maxSize: the pool keeps idle connections up to its size)',
    unit: '{connection}',
  });
  const idleMin = meter.createObservableUpDownCounter(METRIC.idleMin, {
    description: 'The minimum number of idle open connections allowed (minSize)',
    unit: '{connection}',
  });
  const max = meter.createObservableUpDownCounter(METRIC.max, {
    description: 'The maximum number of open connections allowed (maxSize)',
    unit: '{connection}',
  });
  const limit = meter.createObservableUpDownCounter(METRIC.limit, {
    description: 'The maximum number of open connections allowed now: the cap set with pool.setLimit(), else maxSize',
    unit: '{connection}',
  });
  const pending = meter.createObservableUpDownCounter(METRIC.pendingRequests, {
    description: 'The number of current pending requests for an open connection',
    unit: '{request}',
  });
  const timeouts = meter.createObservableCounter(METRIC.timeouts, {
    description: 'The number of connection timeouts that have occurred trying to obtain a connection from the pool',
    unit: '{timeout}',
  });
  const partCount = meter.createObservableUpDownCounter(METRIC.partitionCount, {
    description: 'Connections borrowed through the partition right now',
    unit: '{connection}',
  });
  const partMax = meter.createObservableUpDownCounter(METRIC.partitionMax, {
    description: 'The most connections the partition may hold (maxConnections)',
    unit: '{connection}',
  });
  const partPending = meter.createObservableUpDownCounter(METRIC.partitionPending, {
    description: "Callers waiting in the partition's queue",
    unit: '{request}',
  });
  const partTimeouts = meter.createObservableCounter(METRIC.partitionTimeouts, {
    description: 'Acquisitions through the partition that timed out',
    unit: '{timeout}',
  });
  const partRejections = meter.createObservableCounter(METRIC.partitionRejections, {
    description: 'Acquisitions the partition failed, by reason',
    unit: '{request}',
  });
  const budgetLimit = meter.createObservableUpDownCounter(METRIC.budgetLimit, {
    description: 'The global connection limit of the cluster budget (database-wide, or per tenant)',
    unit: '{connection}',
  });
  const budgetUsed = meter.createObservableUpDownCounter(METRIC.budgetUsed, {
    description: 'Slots in use across every instance, as of the last contact with Redis',
    unit: '{connection}',
  });
  const budgetHeld = meter.createObservableUpDownCounter(METRIC.budgetHeld, {
    description: 'Slots this instance holds as leases',
    unit: '{connection}',
  });
  const budgetPending = meter.createObservableUpDownCounter(METRIC.budgetPending, {
    description: 'Requests of this instance waiting for a slot',
    unit: '{request}',
  });
  const budgetState = meter.createObservableUpDownCounter(METRIC.budgetState, {
    description: "1 for the budget's current standing (connecting, connected, recovering, degraded, closed), 0 for the others",
    unit: '1',
  });
  const budgetRefusals = meter.createObservableCounter(METRIC.budgetRefusals, {
    description: 'Requests for a slot the budget refused, by reason (capacity, fairness, recovering, unavailable)',
    unit: '{request}',
  });
  const observables: Observable[] = [
    count,
    idleMax,
    idleMin,
    max,
    limit,
    pending,
    timeouts,
    partCount,
    partMax,
    partPending,
    partTimeouts,
    partRejections,
    budgetLimit,
    budgetUsed,
    budgetHeld,
    budgetPending,
    budgetState,
    budgetRefusals,
  ];

  const callback = (result: BatchObservableResult): void => {
    for (const p of sources.pools()) {
      const pool = p.pool;
      const size = pool.size();
      const config = pool.config;
      result.observe(count, size.idle, p.idle);
      result.observe(count, size.active, p.used);
      result.observe(idleMax, config.maxSize, p.attrs);
      result.observe(idleMin, config.minSize, p.attrs);
      result.observe(max, config.maxSize, p.attrs);
      result.observe(limit, size.limit, p.attrs);
      result.observe(pending, size.waiting, p.attrs);
      result.observe(timeouts, pool.statistics().timeouts, p.attrs);
    }
    for (const source of sources.partitions()) {
      for (const [id, s] of Object.entries(source.getPartitionStatistics())) {
        const attrs = { [ATTR_POOL_NAME]: s.pool, [ATTR_PARTITION]: id };
        result.observe(partCount, s.active, attrs);
        result.observe(partMax, s.limits.maxConnections, attrs);
        result.observe(partPending, s.waiting, attrs);
        result.observe(partTimeouts, s.timeouts, attrs);
        for (const [reason, n] of Object.entries(s.rejections)) {
          result.observe(partRejections, n, { ...attrs, [ATTR_REASON]: reason });
        }
      }
    }
    for (const budget of sources.budgets()) {
      const s = budget.statistics();
      const scope = (figures: BudgetScopeFigures, attrs: Attributes) => {
        result.observe(budgetLimit, figures.limit, attrs);
        if (figures.globalUsed !== null) result.observe(budgetUsed, figures.globalUsed, attrs);
        result.observe(budgetHeld, figures.held, attrs);
        result.observe(budgetPending, figures.waiting, attrs);
      };
      scope(s.database, { [ATTR_BUDGET]: s.budget });
      for (const [tenant, figures] of Object.entries(s.tenants)) scope(figures, { [ATTR_BUDGET]: s.budget, [ATTR_TENANT]: tenant });
      for (const state of BUDGET_STATES) {
        result.observe(budgetState, state === s.state ? 1 : 0, { [ATTR_BUDGET]: s.budget, [ATTR_BUDGET_STATE]: state });
      }
      for (const [reason, n] of Object.entries(s.counters.refused)) {
        result.observe(budgetRefusals, n, { [ATTR_BUDGET]: s.budget, [ATTR_REASON]: reason });
      }
    }
  };
  meter.addBatchObservableCallback(callback, observables);
  return () => meter.removeBatchObservableCallback(callback, observables);
}

/** The attribute sets of one pool, built once (attributes are hashed per observation). */
export function observedPool(pool: ConnectionPool<unknown>): ObservedPool {
  const attrs = Object.freeze({ [ATTR_POOL_NAME]: pool.name });
  return {
    pool,
    attrs,
    idle: Object.freeze({ [ATTR_POOL_NAME]: pool.name, [ATTR_CONNECTION_STATE]: 'idle' }),
    used: Object.freeze({ [ATTR_POOL_NAME]: pool.name, [ATTR_CONNECTION_STATE]: 'used' }),
  };
}
