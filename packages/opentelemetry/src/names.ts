/**
 * The names this package publishes under: OpenTelemetry's semantic conventions for database client
 * connection pools (`db.client.connection.*`) where they exist, and this toolkit's own under
 * `connection_pool.*` (partitions, cluster budgets, acquire details) where they do not. Custom names
 * keep out of the `db.*` namespace, which belongs to the conventions.
 */

/** Semantic-convention attribute: the pool's name (`pool.name` in @pool/core). */
export const ATTR_POOL_NAME = 'db.client.connection.pool.name';
/** Semantic-convention attribute of `db.client.connection.count`: `'idle'` or `'used'`. */
export const ATTR_CONNECTION_STATE = 'db.client.connection.state';
/** The partition (`@pool/partitioning`) an acquire went through. */
export const ATTR_PARTITION = 'connection_pool.partition';
/** An acquire's priority (`'critical'`, `'high'`, `'normal'`, `'low'`). */
export const ATTR_PRIORITY = 'connection_pool.acquire.priority';
/** How an acquire ended: see {@link AcquireOutcome}. */
export const ATTR_OUTCOME = 'connection_pool.acquire.outcome';
/** Why a partition refused an acquire (`@pool/partitioning`'s `RejectionReason`). */
export const ATTR_REASON = 'connection_pool.reason';
/** The cluster budget's name (`@pool/cluster`). */
export const ATTR_BUDGET = 'connection_pool.budget.name';
/** The tenant of a cluster budget's scope; absent for the database-wide budget. */
export const ATTR_TENANT = 'connection_pool.budget.tenant';
/** The budget's standing (`'connected'`, `'degraded'`...). */
export const ATTR_BUDGET_STATE = 'connection_pool.budget.state';

/**
 * How an acquire ended, on wait spans (`connection_pool.acquire.outcome`): `acquired`, or the failure:
 * `timeout` (`ConnectionTimeoutError`), `rejected` (the wait queue or the partition's queue was full),
 * `aborted` (the caller's signal), `closed` (the pool or manager was closing), `error` (anything else:
 * a partition limit, a deadlock, a failed `prepare` hook...).
 */
export type AcquireOutcome = 'acquired' | 'timeout' | 'rejected' | 'aborted' | 'closed' | 'error';

/** The metric names, semantic conventions first. */
export const METRIC = Object.freeze({
  connectionCount: 'db.client.connection.count',
  idleMax: 'db.client.connection.idle.max',
  idleMin: 'db.client.connection.idle.min',
  max: 'db.client.connection.max',
  limit: 'db.client.connection.limit',
  pendingRequests: 'db.client.connection.pending_requests',
  timeouts: 'db.client.connection.timeouts',
  createTime: 'db.client.connection.create_time',
  waitTime: 'db.client.connection.wait_time',
  useTime: 'db.client.connection.use_time',
  partitionCount: 'connection_pool.partition.connection.count',
  partitionMax: 'connection_pool.partition.connection.max',
  partitionPending: 'connection_pool.partition.pending_requests',
  partitionTimeouts: 'connection_pool.partition.timeouts',
  partitionRejections: 'connection_pool.partition.rejections',
  budgetLimit: 'connection_pool.budget.limit',
  budgetUsed: 'connection_pool.budget.used',
  budgetHeld: 'connection_pool.budget.held',
  budgetPending: 'connection_pool.budget.pending_requests',
  budgetState: 'connection_pool.budget.state',
  budgetRefusals: 'connection_pool.budget.refusals',
});

/** The name of every wait span. */
export const WAIT_SPAN_NAME = 'pool.acquire';

/**
 * Default histogram boundaries, in seconds (the semantic conventions' unit): from 100 µs (an idle
 * connection handed over at once) to one minute (a slow connect, a long transaction). The same as
 * `@pool/prometheus`'s, so dashboards built on either agree.
 */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
]);
