/**
 * The seed's `api::*` functions as one namespace, so `api.getPoolConfig(pool)` reads as the seed's
 * `api::get_pool_config(&pool)`. The same functions are exported on their own too.
 */
export {
  exportMetrics,
  getDashboardData,
  getDetectedLeaks,
  getPartitionStatistics,
  getPoolConfig,
  getPoolSize,
  getPoolStatistics,
  getQueueStatistics,
  listPartitions,
} from './api.js';
