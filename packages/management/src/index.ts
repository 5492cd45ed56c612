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
export { ManagementError, type ManagementErrorBody, type ManagementErrorStatus } from './errors.js';
export { type MetricsFormat, mergeExpositions, negotiateFormat, type PrometheusSource } from './metrics.js';
export { type OpenApiDocument, openApiPath } from './openapi.js';
export type { ManagedPoolOptions, PoolsOption } from './pools.js';
export { isConnectionKey, isSecretKey, REDACTED, type RedactOptions, redact, redactText } from './redact.js';
export type { JsonSchema, JsonType, SchemaViolation } from './schema.js';
export { validateSchema } from './schema.js';
export { COMPONENT_SCHEMAS } from './schemas.js';
export { type ManagementServer, type ServeManagementOptions, serveManagement } from './server.js';
export type {
  ClusterBudgetLike,
  DashboardProviderLike,
  LeakDetectorLike,
  ManagedPool,
  MetricsExporterLike,
  PartitionManagerLike,
  QueueLevelData,
  QueueLike,
  QueueStatisticsData,
} from './types.js';
