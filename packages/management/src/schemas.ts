/**
 * Every request and response of the management API as zod schemas: the one definition the requests
 * are validated against, the handlers are typed from, and the OpenAPI document is generated from
 * (`@hono/zod-openapi`). Request schemas are strict (an unknown field, whatever its name, is refused);
 * response schemas describe what is sent.
 */
import { z } from '@hono/zod-openapi';
import { AdaptiveLimit } from './schemas-adaptive.js';

export { AdaptiveLimit, AdaptiveLimitChange } from './schemas-adaptive.js';

const int = z.number().int().min(0);
const num = z.number();
const nullableNum = z.number().nullable();
const str = z.string();
const bool = z.boolean();
const nullableStr = z.string().nullable();
const poolState = z.enum(['open', 'closing', 'closed']);
const anyObject = z.record(z.string(), z.unknown());

/** A path parameter: 1 to 256 characters, none of them a control character. */
export const PathParam = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');

/** The path parameters of a pool route. */
export const PoolParams = z.strictObject({
  pool: PathParam.openapi({ param: { name: 'pool', in: 'path' }, description: 'The pool name (as listed by GET /pools)' }),
});
/** The path parameters of a partition route. */
export const PartitionParams = z.strictObject({
  pool: PathParam.openapi({ param: { name: 'pool', in: 'path' }, description: 'The pool name (as listed by GET /pools)' }),
  partition: PathParam.openapi({
    param: { name: 'partition', in: 'path' },
    description: 'The partition id (as listed by GET /pools/{pool}/partitions)',
  }),
});
/** Endpoints without query parameters: any query key is refused. */
export const NoQuery = z.strictObject({});
/** The query of `GET /metrics`. */
export const MetricsQuery = z.strictObject({
  format: z.enum(['prometheus', 'json', 'csv']).optional().openapi({
    description:
      'The format; overrides the Accept header (text/plain or application/openmetrics-text: Prometheus, application/json, text/csv).',
  }),
});
/** The query of `GET /pools/{pool}/export`. */
export const ExportQuery = z.strictObject({
  format: z.enum(['json', 'csv']).optional().openapi({ description: 'json or csv; overrides the Accept header' }),
});
/** The query of `GET /overview`. */
export const OverviewQuery = z.strictObject({
  history: z.enum(['full', 'none']).optional().openapi({
    description:
      "'full' adds each pool's recorded history (the page asks for it on its first request); 'none' (default) only the current figures and the latest history point.",
  }),
});

/** The body of every error response. */
export const ErrorBody = z
  .object({
    error: z.object({
      status: z.number().int().min(400).max(599),
      code: str,
      message: str,
      field: str.optional().openapi({ description: 'The parameter, query key or body field at fault.' }),
    }),
  })
  .openapi('Error', { description: 'Every error response. Never a stack trace, never a credential.' });

/** `GET /pools/{pool}/size`. */
export const PoolSize = z
  .object({
    total: int,
    idle: int,
    active: int,
    pending: int,
    waiting: int,
    limit: int.optional().openapi({
      description: 'The cap on open connections in force: maxSize, or the lower limit set by pool.setLimit() (an adaptive limit).',
    }),
  })
  .openapi('PoolSize', { description: 'How many connections are where, right now.' });

const Features = z
  .object({
    monitor: bool,
    leakDetector: bool,
    dashboard: bool,
    partitions: bool,
    queue: bool,
    exporter: bool,
    budget: bool,
    adaptive: bool,
    hosts: bool,
  })
  .openapi('Features', {
    description: 'Which optional components are configured for the pool (a monitor is created by the app unless switched off).',
  });

/** One pool in `GET /pools`. */
export const PoolSummary = z
  .object({ name: str, state: poolState, suspended: bool, size: PoolSize, features: Features })
  .openapi('PoolSummary');
/** `GET /pools`. */
export const PoolList = z.object({ pools: z.array(PoolSummary) }).openapi('PoolList');

/** `GET /pools/{pool}/config`. */
export const PoolConfig = z
  .object({
    poolName: str,
    minSize: int,
    maxSize: int,
    initialSize: int,
    acquireTimeoutMs: num,
    maxLifetimeMs: nullableNum,
    idleTimeoutMs: nullableNum,
    validateOnAcquire: bool,
    validateOnRelease: bool,
    validationTimeoutMs: num,
    maxWaitQueueSize: int,
    creationThrottle: nullableNum,
    maintenanceIntervalMs: num,
    statementCacheSize: int,
    leakDetectionThresholdMs: nullableNum,
    fairQueue: bool,
    enablePartitioning: bool,
    createTimeoutMs: num,
    resetTimeoutMs: num,
    closeTimeoutMs: num,
    createRetryDelayMs: num,
    createRetryMaxDelayMs: num,
    factory: str.openapi({ description: 'The factory described by its toString() or class, credentials redacted.' }),
    waitQueue: str,
    recyclingStrategy: nullableStr,
    agingPolicy: z.unknown().openapi({ description: 'The aging policy as data, or null.' }),
    validator: anyObject.nullable(),
  })
  .openapi('PoolConfig', { description: "The pool's PoolConfig fields and a description of its parts (the seed's get_pool_config)." });

/** `GET /pools/{pool}/statistics`. */
export const PoolStatistics = z
  .object({
    name: str,
    connectionsCreated: int,
    connectionsDestroyed: int,
    destroyedByReason: z.record(z.string(), int),
    createFailures: int,
    acquired: int,
    released: int,
    releasedWithError: int,
    reclaimed: int,
    acquireFailures: int,
    timeouts: int,
    rejected: int,
    aborted: int,
    waited: int,
    validations: int,
    validationFailures: int,
    resets: int,
    resetFailures: int,
    leaksDetected: int,
    errors: int,
    activeConnections: int,
    idleConnections: int,
    totalConnections: int,
    pendingCreates: int,
    waiting: int,
    successRate: num,
    averageAcquireTimeMs: num,
    maxAcquireTimeMs: num,
    averageCreateTimeMs: num,
    suspended: bool,
    state: poolState,
  })
  .openapi('PoolStatistics', { description: "The pool's own counters (pool.statistics(); the seed's get_pool_statistics)." });

/** `GET /pools/{pool}`. */
export const PoolDetails = z
  .object({
    name: str,
    state: poolState,
    suspended: bool,
    size: PoolSize,
    features: Features,
    config: PoolConfig,
    statistics: PoolStatistics,
  })
  .openapi('PoolDetails');

/** `GET /pools/{pool}/budget`. */
export const ClusterBudget = z
  .object({
    budget: str,
    instanceId: str.optional(),
    state: str.openapi({ description: "'connecting', 'connected', 'recovering', 'degraded' (Redis unreachable) or 'closed'." }),
    policy: str.optional().openapi({ description: "What the instance does while Redis is unreachable ('hold', 'local' or 'strict')." }),
    database: anyObject.openapi({ description: '{ limit, held, open, unleased, globalUsed, waiting } for the database budget.' }),
    tenants: anyObject.openapi({ description: 'The same figures per tenant with a global limit.' }),
    instances: z.number().int().nullable().optional(),
    lastContactAt: nullableNum.optional(),
    degradedSince: nullableNum.optional(),
    fallbackCap: nullableNum.optional(),
    counters: anyObject,
  })
  .openapi('ClusterBudget', {
    description:
      "The cluster budget the pool's connections hold slots of (@pool/cluster's ClusterBudgetStatistics), as this instance sees it.",
  });

/** One host of a multi-host pool, in `GET /pools/{pool}/hosts` and in the overview. */
export const HostStatistics = z
  .object({
    host: str.openapi({ description: '`host:port`.' }),
    role: str.openapi({ description: "'primary', 'standby' or 'unknown' (not checked yet)." }),
    state: str.openapi({ description: "'up', 'lagging' (a standby beyond the lag limit: no reads), 'down' or 'unknown'." }),
    lagMs: nullableNum.openapi({ description: 'Replay lag of a standby in ms; null for a primary or when unknown.' }),
    readWeight: num
      .optional()
      .openapi({ description: 'The share of reads it gets now (0: none; down, lagging, or a primary kept for writes).' }),
    readFallback: bool.optional().openapi({ description: 'True when it serves reads only because no host has a read weight.' }),
    checkedAt: nullableNum.optional().openapi({ description: 'When it was last checked (epoch ms), or null.' }),
    error: str.nullable().optional().openapi({ description: 'Why its last check failed.' }),
    connections: z
      .object({
        read: z
          .object({ total: int, idle: int, active: int, pending: int, waiting: int })
          .passthrough()
          .optional()
          .openapi({ description: "The size of the pool that serves this host's reads." }),
        write: int.optional().openapi({ description: "The write side's open connections to this host." }),
      })
      .passthrough()
      .optional(),
    reads: int.optional().openapi({ description: 'Reads it served (borrows through its read partition).' }),
  })
  .passthrough()
  .openapi('HostStatistics', {
    description: "One server behind a multi-host pool (an element of @pool/pg's PgReplicaPool.hostStatistics()).",
  });

/** `GET /pools/{pool}/hosts`. */
export const HostList = z.object({ hosts: z.array(HostStatistics) }).openapi('HostList', {
  description:
    "The servers behind a multi-host pool (@pool/pg's PgReplicaPool.hostStatistics()): role, state, lag, read weight, connections and reads per host.",
});

/** Durations over the monitor window. */
export const HistogramSnapshot = z
  .object({
    count: int,
    meanMs: num,
    maxMs: num,
    percentiles: z.object({ p50: num, p90: num, p95: num, p99: num, p999: num }),
  })
  .openapi('HistogramSnapshot', { description: 'Durations over the monitor window, in ms.' });

const PartitionCallers = z.object({ acquired: int, failed: int, waiting: int }).openapi('PartitionCallers', {
  description: 'The callers that came through partitions (counted since the monitor watched the partition manager).',
});

/** `GET /pools/{pool}/monitor`. */
export const MonitorStatistics = z
  .object({
    poolName: str,
    timestamp: num,
    state: poolState,
    windowSpanMs: num,
    acquisitions: int,
    acquireFailures: int,
    waiting: int,
    partitionCallers: PartitionCallers.nullable(),
    successRate: num,
    recentSuccessRate: num,
    throughputPerSecond: num,
    waitTimeHistogram: HistogramSnapshot,
    holdTimeHistogram: HistogramSnapshot,
    createTimeHistogram: HistogramSnapshot,
    usagePatterns: anyObject,
    efficiencyMetrics: anyObject,
  })
  .openapi('MonitorStatistics', {
    description: "@pool/monitoring's PoolMonitorStatistics: caller counters, windowed percentiles, usage patterns, efficiency.",
  });

/** `GET /pools/{pool}/connections`. */
export const ConnectionList = z
  .object({
    connections: z.array(
      z.object({
        id: int,
        state: str,
        createdAt: num,
        ageMs: num,
        borrows: int,
        label: nullableStr.optional(),
        acquiredAt: nullableNum.optional(),
        heldMs: nullableNum.optional(),
        idleMs: nullableNum.optional(),
        context: z.unknown().optional().openapi({ description: 'The borrow context, redacted.' }),
        retiring: nullableStr.optional(),
        leakReported: bool,
      }),
    ),
  })
  .openapi('ConnectionList');

const queueLevelShape = {
  currentSize: int,
  totalEnqueued: nullableNum,
  totalDequeued: nullableNum,
  totalTimedOut: nullableNum,
  totalCancelled: nullableNum,
  totalBoosted: nullableNum,
  averageWaitMs: nullableNum,
  maxWaitMs: nullableNum,
};
/** One priority level of a wait queue. */
export const QueueLevel = z.object(queueLevelShape).openapi('QueueLevel');
/** `GET /pools/{pool}/queue`. */
export const QueueStatistics = z
  .object({
    kind: str,
    reported: bool,
    ...queueLevelShape,
    byPriority: z.object({ critical: QueueLevel, high: QueueLevel, normal: QueueLevel, low: QueueLevel }),
  })
  .openapi('QueueStatistics', {
    description: "The wait queue (the seed's get_queue_statistics). Counters the queue does not keep are null.",
  });

const PartitionType = z.object({ kind: z.enum(['tenant', 'user', 'application', 'service', 'resourceGroup']), name: str });
const PartitionLimits = z.object({
  maxConnections: int,
  minConnections: int,
  maxWaitQueue: int,
  cpuLimitMs: nullableNum,
  memoryLimitBytes: nullableNum,
  ioLimit: nullableNum,
});
const partitionState = z.enum(['active', 'draining']);

/** One partition's statistics. */
export const PartitionStatistics = z
  .object({
    id: str,
    type: PartitionType,
    state: partitionState,
    isolated: bool.optional(),
    pool: str.optional(),
    limits: PartitionLimits,
    connectionsAcquired: int,
    connectionsReleased: int,
    active: int,
    acquiring: int.optional(),
    waiting: int,
    reservedIdle: int.optional(),
    blockedOn: nullableStr.optional(),
    timeouts: int,
    rejections: z.record(z.string(), int),
    averageWaitMs: num.optional(),
    p99WaitMs: num.optional(),
    maxWaitMs: num.optional(),
    averageHoldMs: num.optional(),
    budgets: anyObject.optional(),
    preparation: anyObject.optional(),
  })
  .openapi('PartitionStatistics', { description: "A partition's statistics (@pool/partitioning's PartitionStatistics)." });

/** One partition, as listed. */
export const Partition = z
  .object({
    id: str,
    type: PartitionType,
    limits: PartitionLimits,
    state: partitionState,
    isolated: bool.optional(),
    pool: str.optional(),
    routeKeys: z.array(str).optional(),
    label: nullableStr.optional(),
  })
  .openapi('Partition', { description: "A partition (the seed's list_partitions)." });
/** `GET /pools/{pool}/partitions`. */
export const PartitionList = z.object({ partitions: z.array(Partition) }).openapi('PartitionList');
/** `GET /pools/{pool}/partition-statistics`. */
export const PartitionStatisticsMap = z
  .record(z.string(), PartitionStatistics)
  .openapi('PartitionStatisticsMap', { description: "Every partition's statistics, by id (the seed's get_partition_statistics)." });
/** `GET /pools/{pool}/partitions/{partition}`. */
export const PartitionDetails = z.object({ partition: Partition, statistics: PartitionStatistics }).openapi('PartitionDetails');

/** A borrow held past the leak threshold. */
export const LeakReport = z
  .object({
    poolName: str,
    connectionId: int,
    activeDurationMs: num,
    acquiredAt: num,
    detectedAt: num,
    context: z.unknown().optional().openapi({ description: 'What the borrower passed as acquire({ context }), redacted.' }),
    partition: nullableStr.optional(),
    label: nullableStr.optional(),
    stack: nullableStr.optional().openapi({ description: 'Where acquire() was called, when the pool captures stacks.' }),
    approximate: bool,
  })
  .openapi('LeakReport', { description: 'A borrow held past the leak threshold.' });
/** `GET /pools/{pool}/leaks`. */
export const LeakList = z
  .object({
    source: z.enum(['detector', 'pool']).openapi({ description: "A LeakDetector's reports, or the pool's own leak flags." }),
    leaks: z.array(LeakReport),
  })
  .openapi('LeakList');

/** `GET /pools/{pool}/dashboard`. */
export const DashboardData = z
  .object({
    timestamp: num,
    activeConnections: int,
    idleConnections: int,
    totalConnections: int,
    maxConnections: int,
    waiting: int,
    successRate: num,
    recentSuccessRate: num,
    poolEfficiency: num,
    waitPercentiles: HistogramSnapshot,
    throughputPerSecond: num,
    leaks: z.object({ active: int, detected: int, reports: z.array(LeakReport) }),
    partitions: z.array(anyObject).nullable(),
    queue: anyObject,
    pools: z.array(anyObject),
  })
  .openapi('DashboardData', { description: "@pool/monitoring's DashboardData (the seed's get_dashboard_data)." });

/** One sample of the server-side history. */
export const HistoryPoint = z
  .object({
    t: num.openapi({ description: 'Epoch ms of the sample.' }),
    active: int,
    idle: int,
    waiting: int,
    p50: nullableNum,
    p95: nullableNum,
    p99: nullableNum,
    rate: nullableNum.openapi({ description: 'Acquisitions per second since the previous sample.' }),
    failures: nullableNum.openapi({ description: 'Failed acquisitions since the previous sample.' }),
  })
  .openapi('HistoryPoint', { description: 'One sample of a pool, taken by the server every history.intervalMs.' });

/** One pool in `GET /overview`. */
export const PoolOverview = z
  .object({
    name: str,
    state: poolState,
    suspended: bool,
    size: PoolSize,
    minSize: int,
    maxSize: int,
    scope: z.enum(['callers', 'pool']).openapi({
      description:
        "'callers': acquired, failed, successRate, waiting and wait count every caller once, whichever queue (the pool's or a partition's) it waited in (a monitor watches the pool and its partition manager); 'pool': the pool's own counters (no monitor).",
    }),
    acquired: int,
    acquireFailures: int,
    successRate: num,
    waiting: int,
    direct: z
      .object({ acquired: int, failed: int, waiting: int })
      .openapi({ description: "The callers of the pool itself (not through a partition); with 'partitions' they add up to the headline." }),
    throughputPerSecond: nullableNum,
    windowSpanMs: nullableNum,
    wait: HistogramSnapshot.nullable().openapi({
      description: "Every served caller's wait over the monitor window, or null without a monitor.",
    }),
    queue: QueueStatistics,
    partitions: z.array(PartitionStatistics).nullable(),
    leaks: z.object({ active: int, detected: int, reports: z.array(LeakReport) }),
    adaptive: AdaptiveLimit.nullable().openapi({ description: "The pool's adaptive limit (@pool/adaptive), or null without one." }),
    hosts: z.array(HostStatistics).nullable().openapi({
      description:
        'The servers behind a multi-host pool, as GET /pools/{pool}/hosts answers at the same moment, or null without a hosts component.',
    }),
    history: z.array(HistoryPoint).openapi({ description: "The recorded samples ('history=full'), or the latest one." }),
  })
  .openapi('PoolOverview', { description: 'Everything the web dashboard shows about one pool, from one snapshot.' });

/** `GET /overview`. */
export const Overview = z
  .object({
    timestamp: num,
    refreshMs: int,
    readOnly: bool,
    history: z.object({ windowMs: int, intervalMs: int }),
    pools: z.array(PoolOverview),
  })
  .openapi('Overview');

/** The body of `POST /pools/{pool}/resize` (strict). */
export const ResizeRequest = z
  .strictObject({
    minSize: z.number().int().min(0).max(1_000_000).optional(),
    maxSize: z.number().int().min(1).max(1_000_000).optional(),
  })
  .refine((b) => b.minSize !== undefined || b.maxSize !== undefined, { message: 'must have at least 1 of: minSize, maxSize' })
  .openapi('ResizeRequest', {
    description: 'New bounds; give minSize, maxSize or both. Validated like the pool config (minSize <= maxSize).',
    minProperties: 1,
  });
/** The answer of `POST /pools/{pool}/resize`. */
export const ResizeResult = z.object({ minSize: int, maxSize: int, size: PoolSize }).openapi('ResizeResult');
/** The answer of `POST /pools/{pool}/evict`. */
export const EvictResult = z
  .object({ evicted: int, size: PoolSize })
  .openapi('EvictResult', { description: 'Idle connections closed now; borrowed ones are retired when returned.' });
/** The answer of `POST /pools/{pool}/suspend` and `/resume`. */
export const SuspendResult = z.object({ suspended: bool, size: PoolSize }).openapi('SuspendResult');
/** The body of `POST /pools/{pool}/partitions/{partition}/drain` (strict). */
export const DrainRequest = z.strictObject({ waiters: z.enum(['serve', 'fail']).optional() }).openapi('DrainRequest', {
  description: "What happens to callers waiting in the partition: 'serve' them under its limits (default) or 'fail' them at once.",
});
/** The answer of the drain action. */
export const DrainResult = z
  .object({ partition: str, state: z.literal('draining'), waiters: z.enum(['serve', 'fail']) })
  .openapi('DrainResult');
/** The body of actions that take no field (strict: `{}`). */
export const EmptyRequest = z
  .strictObject({})
  .openapi('EmptyRequest', { description: 'No fields: send {} (or an empty body with Content-Type: application/json).' });
