/**
 * What this package reads from `@pool/partitioning` and `@pool/cluster`, as structural types: neither
 * package is a dependency (an application without partitions should not install them), and a manager
 * or budget from another copy of those packages fits as well.
 */

/** The figures of one partition this package reads (a subset of `@pool/partitioning`'s `PartitionStatistics`). */
export interface PartitionFigures {
  /** The name of the pool the partition's connections come from (its own pool when isolated). */
  pool: string;
  /** Connections borrowed through the partition right now. */
  active: number;
  /** Callers waiting in the partition's queue. */
  waiting: number;
  /** Acquisitions through the partition that timed out. */
  timeouts: number;
  /** Failed acquisitions, by reason. */
  rejections: Record<string, number>;
  limits: { maxConnections: number };
}

/** An acquire that went through a partition, as `@pool/partitioning`'s `PartitionManager` reports it. */
export interface PartitionAcquireEvent {
  partition: string;
  waitMs: number;
}

/** A refused acquire, as `@pool/partitioning`'s `PartitionManager` reports it. */
export interface PartitionRejectEvent {
  partition: string | null;
  waitMs: number;
}

/**
 * A `@pool/partitioning` `PartitionManager`, as this package uses it: statistics per partition, its
 * `acquire`/`reject` events, and its `acquire()` method (wrapped for wait spans).
 */
export interface PartitionSource {
  /** The shared pool. */
  readonly pool: { readonly name: string };
  getPartitionStatistics(): Record<string, PartitionFigures>;
  acquire(request: never, options?: never): Promise<unknown>;
  on(event: 'acquire', listener: (e: PartitionAcquireEvent) => void): unknown;
  on(event: 'reject', listener: (e: PartitionRejectEvent) => void): unknown;
  off(event: 'acquire', listener: (e: PartitionAcquireEvent) => void): unknown;
  off(event: 'reject', listener: (e: PartitionRejectEvent) => void): unknown;
}

/** One scope of a cluster budget (the database-wide one, or a tenant's). */
export interface BudgetScopeFigures {
  limit: number;
  held: number;
  globalUsed: number | null;
  waiting: number;
}

/** The figures of a cluster budget this package reads (a subset of `@pool/cluster`'s `ClusterBudgetStatistics`). */
export interface BudgetFigures {
  budget: string;
  state: string;
  database: BudgetScopeFigures;
  tenants: Record<string, BudgetScopeFigures>;
  counters: { refused: Record<string, number> };
}

/** A `@pool/cluster` `ClusterBudget`, as this package reads it (`statistics()` makes no Redis call). */
export interface BudgetSource {
  statistics(): BudgetFigures;
}

/** The states a budget reports, for the `connection_pool.budget.state` series. */
export const BUDGET_STATES: readonly string[] = Object.freeze(['connecting', 'connected', 'recovering', 'degraded', 'closed']);
