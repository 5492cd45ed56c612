export { PgConnection, type PgQuery, type PgSubmittable, type PgTransactionStatus } from './connection.js';
export { classifyPgCreateError } from './create-errors.js';
export { type PgConfig, PgFactory, type PgFactoryOptions, type PgResetMode, pgFactory } from './factory.js';
export { CHECK_QUERY, type PgHostRole, type PgHostState, type PgHostStatus } from './host-monitor.js';
export {
  hostKey,
  isMultiHostConfig,
  type LoadBalanceHosts,
  type PgHost,
  type PgHostInput,
  type PgMultiHostConfig,
  parseMultiHostConfig,
  type ResolvedMultiHostConfig,
  TARGET_SESSION_ATTRS,
  type TargetSessionAttrs,
} from './multi-host-config.js';
export {
  isReadOnlyError,
  MultiHostPgFactory,
  type MultiHostPgFactoryOptions,
  multiHostPgFactory,
  type PgServerRole,
} from './multi-host-factory.js';
export {
  createPgPool,
  type PgConnectCallback,
  PgPool,
  type PgPoolClient,
  type PgPoolCompatOptions,
  type PgPoolEvents,
  type PgPoolOptions,
  type PgQueryCallback,
  type PgSubmittableCallback,
} from './pool.js';
export type { PgPoolLog } from './pool-options.js';
export { PgReplicaClient } from './replica-client.js';
export {
  createPgReplicaPool,
  type PgReplicaCallOptions,
  type PgReplicaHostStatistics,
  PgReplicaPool,
  type PgReplicaPoolOptions,
  type PgReplicaPoolStatistics,
} from './replica-pool.js';
