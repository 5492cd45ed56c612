import type { PoolConfig, PoolSize, PoolStatistics, QueuePriority, WaitQueue } from '@pool/core';
import type { LeakReport, MonitoredPool } from '@pool/monitoring';

/**
 * What the management API needs of a pool: `@pool/core`'s `ConnectionPool` (of any connection type)
 * satisfies it. Read structurally, so a pool from another copy of `@pool/core` works too.
 */
export interface ManagedPool extends MonitoredPool {
  readonly name: string;
  readonly config: PoolConfig;
  readonly waitQueue: WaitQueue;
  readonly state: 'open' | 'closing' | 'closed';
  readonly suspended: boolean;
  readonly recyclingStrategy?: string;
  readonly agingPolicy?: unknown;
  readonly validator?: unknown;
  statistics(): PoolStatistics;
  size(): PoolSize;
  resize(sizes: { minSize?: number; maxSize?: number }): PoolConfig;
  evictIdle(): number;
  suspend(): void;
  resume(): void;
}

/** One priority level of a wait queue. A figure the queue does not report is `null`. */
export interface QueueLevelData {
  /** Waiters at this level now. */
  currentSize: number;
  totalEnqueued: number | null;
  /** Waiters served. */
  totalDequeued: number | null;
  totalTimedOut: number | null;
  /** Waiters whose caller gave up (abort). */
  totalCancelled: number | null;
  /** Priority boosts by starvation prevention. */
  totalBoosted: number | null;
  averageWaitMs: number | null;
  maxWaitMs: number | null;
}

/** A wait queue's figures (the seed's `get_queue_statistics`), in total and by priority. */
export interface QueueStatisticsData extends QueueLevelData {
  /** The queue's class (`PriorityWaitQueue`, `BasicWaitQueue`...). */
  kind: string;
  /** True when the queue reports its own counters (`statistics()`); otherwise only sizes are known. */
  reported: boolean;
  byPriority: Record<QueuePriority, QueueLevelData>;
}

/**
 * A wait queue the API can read: any `@pool/core` `WaitQueue` (sizes by priority are counted from
 * `values()`), and its counters when it has `statistics()` (`@pool/queue`'s `PriorityWaitQueue`).
 */
export interface QueueLike {
  readonly size?: number;
  values?(): Iterable<{ readonly priority: QueuePriority }>;
  statistics?(): object;
}

/**
 * A partition manager (`@pool/partitioning`'s `PartitionManager`), read structurally so this package
 * does not depend on the partitioning package. `P` is a partition's description, `S` its statistics.
 */
export interface PartitionManagerLike<P = object, S = object> {
  listPartitions(): readonly P[];
  getPartitionStatistics(): Readonly<Record<string, S>>;
  /** Drains a partition (refuses new acquires, lets or makes waiters leave, resolves when its borrows are back). */
  removePartition?(id: string, options?: { waiters?: 'serve' | 'fail' }): Promise<void>;
}

/** A leak detector (`@pool/monitoring`'s `LeakDetector`). */
export interface LeakDetectorLike {
  getLeaks(): LeakReport[];
  statistics(): { detected: number; active: number };
}

/** Something that exports metrics as text (`@pool/monitoring`'s `MonitoringExporter`). */
export interface MetricsExporterLike {
  /** The HTTP content type of the text. */
  readonly contentType: string;
  export(): Promise<string> | string;
}

/**
 * A cluster-wide connection budget the pool's connections hold slots of (`@pool/cluster`'s
 * `ClusterBudget`), read structurally so this package does not depend on the cluster package.
 */
export interface ClusterBudgetLike {
  /** `'connecting'`, `'connected'`, `'recovering'`, `'degraded'` (Redis unreachable) or `'closed'`. */
  readonly state: string;
  /** This instance's view of the budget, plain JSON (makes no Redis call). */
  statistics(): object;
}

/**
 * An adaptive limit on the pool (`@pool/adaptive`'s `AdaptiveLimiter`), read structurally so this
 * package does not depend on the adaptive package.
 */
export interface AdaptiveLimiterLike {
  /** Where the limit stands and why it last moved, plain JSON. */
  statistics(): object;
}

/**
 * The servers behind a multi-host pool (`@pool/pg`'s `PgReplicaPool`), read structurally so this
 * package does not depend on the adapter.
 */
export interface HostsLike {
  /** One plain JSON record per host: `host`, `role`, `state`, `lagMs`, `connections`... */
  hostStatistics(): readonly object[];
}

/** A dashboard provider (`@pool/monitoring`'s `DashboardProvider`). */
export interface DashboardProviderLike<D = object> {
  getDashboardData(): D;
}
