export type { ClusterPattern, ClusterSelector, ClusterSelectorName } from './cluster-selector.js';
export { MysqlConnection, type MysqlQuery, type MysqlResetCommand } from './connection.js';
export { type MysqlConfig, MysqlFactory, type MysqlFactoryOptions, type MysqlResetMode, mysqlFactory } from './factory.js';
export {
  ConnectionList,
  createMysqlPool,
  type GetConnectionCallback,
  MysqlPool,
  type MysqlPoolEvents,
  type QueryCallback,
} from './pool.js';
export {
  ClusterNode,
  type ClusterNodeInfo,
  createMysqlPoolCluster,
  MysqlPoolCluster,
  type MysqlPoolClusterEvents,
  type MysqlPoolClusterOptions,
} from './pool-cluster.js';
export { DEFAULT_POOL_STATEMENT_CACHE_SIZE, type MysqlPoolCompatOptions, MysqlPoolConfig, type MysqlPoolOptions } from './pool-config.js';
export { MysqlPoolConnection } from './pool-connection.js';
export { MysqlPoolNamespace } from './pool-namespace.js';
export type { PoolQuery } from './pool-query.js';
export { MysqlPromisePoolCluster, MysqlPromisePoolNamespace } from './promise-pool-cluster.js';
