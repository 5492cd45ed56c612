import type { JsonSchema } from './schema.js';

const ref = (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` });
const int: JsonSchema = { type: 'integer', minimum: 0 };
const num: JsonSchema = { type: 'number' };
const nullableNum: JsonSchema = { type: ['number', 'null'] };
const str: JsonSchema = { type: 'string' };
const bool: JsonSchema = { type: 'boolean' };
const poolState: JsonSchema = { type: 'string', enum: ['open', 'closing', 'closed'] };
const priorities = ['critical', 'high', 'normal', 'low'] as const;

function object(properties: Record<string, JsonSchema>, description?: string, required = Object.keys(properties)): JsonSchema {
  return { type: 'object', ...(description === undefined ? {} : { description }), properties, required };
}

const queueLevel = object({
  currentSize: int,
  totalEnqueued: nullableNum,
  totalDequeued: nullableNum,
  totalTimedOut: nullableNum,
  totalCancelled: nullableNum,
  totalBoosted: nullableNum,
  averageWaitMs: nullableNum,
  maxWaitMs: nullableNum,
});

const histogram = object(
  {
    count: int,
    meanMs: num,
    maxMs: num,
    percentiles: object({ p50: num, p90: num, p95: num, p99: num, p999: num }),
  },
  'Durations over the monitor window, in ms.',
);

const leakReport = object(
  {
    poolName: str,
    connectionId: int,
    activeDurationMs: num,
    acquiredAt: num,
    detectedAt: num,
    context: { description: 'What the borrower passed as acquire({ context }), redacted.' },
    partition: { type: ['string', 'null'] },
    label: { type: ['string', 'null'] },
    stack: { type: ['string', 'null'], description: 'Where acquire() was called, when the pool captures stacks.' },
    approximate: bool,
  },
  'A borrow held past the leak threshold.',
  ['poolName', 'connectionId', 'activeDurationMs', 'acquiredAt', 'detectedAt', 'approximate'],
);

const partitionType = object({ kind: { type: 'string', enum: ['tenant', 'user', 'application', 'service', 'resourceGroup'] }, name: str });
const partitionLimits = object({
  maxConnections: int,
  minConnections: int,
  maxWaitQueue: int,
  cpuLimitMs: nullableNum,
  memoryLimitBytes: nullableNum,
  ioLimit: nullableNum,
});

const partitionStatistics = object(
  {
    id: str,
    type: partitionType,
    state: { type: 'string', enum: ['active', 'draining'] },
    isolated: bool,
    pool: str,
    limits: partitionLimits,
    connectionsAcquired: int,
    connectionsReleased: int,
    active: int,
    acquiring: int,
    waiting: int,
    reservedIdle: int,
    blockedOn: { type: ['string', 'null'] },
    timeouts: int,
    rejections: { type: 'object', additionalProperties: int },
    averageWaitMs: num,
    p99WaitMs: num,
    maxWaitMs: num,
    averageHoldMs: num,
    budgets: { type: 'object' },
    preparation: { type: 'object' },
  },
  "A partition's statistics (@pool/partitioning's PartitionStatistics).",
  ['id', 'type', 'state', 'limits', 'connectionsAcquired', 'connectionsReleased', 'active', 'waiting', 'timeouts', 'rejections'],
);

const featureFlags = object(
  { monitor: bool, leakDetector: bool, dashboard: bool, partitions: bool, queue: bool, exporter: bool, budget: bool },
  'Which optional components are configured for the pool (a monitor is created by the app unless switched off).',
);

/** The component schemas of the OpenAPI document (also used to validate requests, and responses in tests). */
export const COMPONENT_SCHEMAS: Readonly<Record<string, JsonSchema>> = {
  Error: object(
    {
      error: object(
        {
          status: { type: 'integer', minimum: 400, maximum: 599 },
          code: str,
          message: str,
          field: { type: 'string', description: 'The parameter, query key or body field at fault.' },
        },
        undefined,
        ['status', 'code', 'message'],
      ),
    },
    'Every error response. Never a stack trace, never a credential.',
  ),
  PoolSize: object({ total: int, idle: int, active: int, pending: int, waiting: int }, 'How many connections are where, right now.'),
  PoolSummary: object({ name: str, state: poolState, suspended: bool, size: ref('PoolSize'), features: featureFlags }),
  PoolList: object({ pools: { type: 'array', items: ref('PoolSummary') } }),
  PoolConfig: {
    ...object(
      {
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
        factory: { type: 'string', description: 'The factory described by its toString() or class, credentials redacted.' },
        waitQueue: str,
        recyclingStrategy: { type: ['string', 'null'] },
        agingPolicy: { description: 'The aging policy as data, or null.' },
        validator: { type: ['object', 'null'] },
      },
      "The pool's PoolConfig fields and a description of its parts (the seed's get_pool_config).",
    ),
  },
  PoolStatistics: object(
    {
      name: str,
      connectionsCreated: int,
      connectionsDestroyed: int,
      destroyedByReason: { type: 'object', additionalProperties: int },
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
    },
    "The pool's counters (pool.statistics(); the seed's get_pool_statistics).",
  ),
  PoolDetails: object({
    name: str,
    state: poolState,
    suspended: bool,
    size: ref('PoolSize'),
    features: featureFlags,
    config: ref('PoolConfig'),
    statistics: ref('PoolStatistics'),
  }),
  ClusterBudget: object(
    {
      budget: str,
      instanceId: str,
      state: { type: 'string', description: "'connecting', 'connected', 'recovering', 'degraded' (Redis unreachable) or 'closed'." },
      policy: { type: 'string', description: "What the instance does while Redis is unreachable ('hold', 'local' or 'strict')." },
      database: { type: 'object', description: '{ limit, held, open, unleased, globalUsed, waiting } for the database budget.' },
      tenants: { type: 'object', description: 'The same figures per tenant with a global limit.' },
      instances: { type: ['integer', 'null'] },
      lastContactAt: nullableNum,
      degradedSince: nullableNum,
      fallbackCap: nullableNum,
      counters: { type: 'object' },
    },
    "The cluster budget the pool's connections hold slots of (@pool/cluster's ClusterBudgetStatistics), as this instance sees it.",
    ['budget', 'state', 'database', 'tenants', 'counters'],
  ),
  HistogramSnapshot: histogram,
  MonitorStatistics: object(
    {
      poolName: str,
      timestamp: num,
      state: poolState,
      windowSpanMs: num,
      acquisitions: int,
      acquireFailures: int,
      successRate: num,
      recentSuccessRate: num,
      throughputPerSecond: num,
      waitTimeHistogram: ref('HistogramSnapshot'),
      holdTimeHistogram: ref('HistogramSnapshot'),
      createTimeHistogram: ref('HistogramSnapshot'),
      usagePatterns: { type: 'object' },
      efficiencyMetrics: { type: 'object' },
    },
    "@pool/monitoring's PoolMonitorStatistics: counters, windowed percentiles, usage patterns, efficiency.",
  ),
  ConnectionList: object({
    connections: {
      type: 'array',
      items: object(
        {
          id: int,
          state: str,
          createdAt: num,
          ageMs: num,
          borrows: int,
          label: { type: ['string', 'null'] },
          acquiredAt: nullableNum,
          heldMs: nullableNum,
          idleMs: nullableNum,
          context: { description: 'The borrow context, redacted.' },
          retiring: { type: ['string', 'null'] },
          leakReported: bool,
        },
        undefined,
        ['id', 'state', 'createdAt', 'ageMs', 'borrows', 'leakReported'],
      ),
    },
  }),
  QueueLevel: queueLevel,
  QueueStatistics: {
    ...object(
      {
        kind: str,
        reported: bool,
        ...queueLevel.properties,
        byPriority: object(Object.fromEntries(priorities.map((p) => [p, ref('QueueLevel')]))),
      },
      "The wait queue (the seed's get_queue_statistics). Counters the queue does not keep are null.",
    ),
  },
  Partition: object(
    {
      id: str,
      type: partitionType,
      limits: partitionLimits,
      state: { type: 'string', enum: ['active', 'draining'] },
      isolated: bool,
      pool: str,
      routeKeys: { type: 'array', items: str },
      label: { type: ['string', 'null'] },
    },
    "A partition (the seed's list_partitions).",
    ['id', 'type', 'limits', 'state'],
  ),
  PartitionList: object({ partitions: { type: 'array', items: ref('Partition') } }),
  PartitionStatistics: partitionStatistics,
  PartitionStatisticsMap: {
    type: 'object',
    description: "Every partition's statistics, by id (the seed's get_partition_statistics).",
    additionalProperties: ref('PartitionStatistics'),
  },
  PartitionDetails: object({ partition: ref('Partition'), statistics: ref('PartitionStatistics') }),
  LeakReport: leakReport,
  LeakList: object({
    source: { type: 'string', enum: ['detector', 'pool'], description: "A LeakDetector's reports, or the pool's own leak flags." },
    leaks: { type: 'array', items: ref('LeakReport') },
  }),
  DashboardData: object(
    {
      timestamp: num,
      activeConnections: int,
      idleConnections: int,
      totalConnections: int,
      maxConnections: int,
      waiting: int,
      successRate: num,
      recentSuccessRate: num,
      poolEfficiency: num,
      waitPercentiles: ref('HistogramSnapshot'),
      throughputPerSecond: num,
      leaks: object({ active: int, detected: int, reports: { type: 'array', items: ref('LeakReport') } }),
      partitions: { type: ['array', 'null'], items: { type: 'object' } },
      queue: { type: 'object' },
      pools: { type: 'array', items: { type: 'object' } },
    },
    "@pool/monitoring's DashboardData (the seed's get_dashboard_data).",
  ),
  PoolOverview: object(
    {
      name: str,
      state: poolState,
      suspended: bool,
      size: ref('PoolSize'),
      minSize: int,
      maxSize: int,
      acquired: int,
      acquireFailures: int,
      timeouts: int,
      successRate: num,
      throughputPerSecond: nullableNum,
      windowSpanMs: nullableNum,
      wait: {
        type: ['object', 'null'],
        description: 'Acquire waits over the monitor window, or null without a monitor.',
        properties: histogram.properties ?? {},
      },
      queue: ref('QueueStatistics'),
      partitions: { type: ['array', 'null'], items: ref('PartitionStatistics') },
      leaks: object({ active: int, detected: int, reports: { type: 'array', items: ref('LeakReport') } }),
    },
    'Everything the web dashboard shows about one pool, from one snapshot.',
  ),
  Overview: object({
    timestamp: num,
    refreshMs: int,
    readOnly: bool,
    pools: { type: 'array', items: ref('PoolOverview') },
  }),
  ResizeRequest: {
    type: 'object',
    description: 'New bounds; give minSize, maxSize or both. Validated like the pool config (minSize <= maxSize).',
    properties: {
      minSize: { type: 'integer', minimum: 0, maximum: 1_000_000 },
      maxSize: { type: 'integer', minimum: 1, maximum: 1_000_000 },
    },
    additionalProperties: false,
    minProperties: 1,
  },
  ResizeResult: object({ minSize: int, maxSize: int, size: ref('PoolSize') }),
  EvictResult: object({ evicted: int, size: ref('PoolSize') }, 'Idle connections closed now; borrowed ones are retired when returned.'),
  SuspendResult: object({ suspended: bool, size: ref('PoolSize') }),
  DrainRequest: {
    type: 'object',
    description: "What happens to callers waiting in the partition: 'serve' them under its limits (default) or 'fail' them at once.",
    properties: { waiters: { type: 'string', enum: ['serve', 'fail'] } },
    additionalProperties: false,
  },
  DrainResult: object({
    partition: str,
    state: { type: 'string', enum: ['draining'] },
    waiters: { type: 'string', enum: ['serve', 'fail'] },
  }),
  EmptyRequest: {
    type: 'object',
    description: 'No fields: send no body, or {}.',
    properties: {},
    additionalProperties: false,
  },
};
