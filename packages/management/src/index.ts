export {
  describeFactory,
  exportMetrics,
  getDashboardData,
  getDetectedLeaks,
  getPartitionStatistics,
  getPoolConfig,
  getPoolSize,
  getPoolStatistics,
  getQueueStatistics,
  listPartitions,
  type PoolConfigData,
} from './api.js';
export * as api from './api-namespace.js';
export {
  type CorsOptions,
  createManagementApp,
  ManagementApp,
  type ManagementAppOptions,
  type NodeHandler,
  type RouteDefinition,
} from './app.js';
export { type Access, type AuthOptions, isLoopbackHost, MIN_TOKEN_LENGTH } from './auth.js';
export { MAX_BODY_DEPTH } from './body.js';
export { ManagementError, type ManagementErrorBody, type ManagementErrorStatus } from './errors.js';
export type { HistoryOptions, HistoryPoint } from './history.js';
export { type MetricsFormat, mergeExpositions, negotiateFormat, type PrometheusSource } from './metrics.js';
export { openApiPath } from './openapi.js';
export type { ManagedPoolOptions, PoolsOption } from './pools.js';
export { poolNameProblem } from './pools.js';
export { isConnectionKey, isSecretKey, REDACTED, type RedactOptions, redact, redactText } from './redact.js';
export * as schemas from './schemas.js';
export {
  AuthFailureLimiter,
  type AuthFailureLimitOptions,
  HostAllowList,
  type ManagementEnv,
} from './security.js';
export { type ManagementServer, type ServeManagementOptions, serveManagement } from './server.js';
export type {
  ClusterBudgetLike,
  DashboardProviderLike,
  HostsLike,
  LeakDetectorLike,
  ManagedPool,
  MetricsExporterLike,
  PartitionManagerLike,
  QueueLevelData,
  QueueLike,
  QueueStatisticsData,
} from './types.js';
