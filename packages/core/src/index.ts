export { isAbortSignal } from './abort-signal.js';
export {
  type AdaptiveAging,
  AgingPolicy,
  type CombinedAging,
  checkAgingPolicy,
  type TimeBasedAging,
  type UsageBasedAging,
} from './aging-policy.js';
export { type BoundedResult, OperationTimeoutError, runBounded } from './bounded.js';
export { now, toEpochMs } from './clock.js';
export { MAX_TIMER_MS, PoolConfig, type PoolConfigBuilder, type PoolConfigOptions, type PoolConfigValues } from './config.js';
export {
  ConnectionValidator,
  type ConnectionValidatorOptions,
  type ValidationOutcome,
  type ValidatorStatistics,
} from './connection-validator.js';
export { type DeadlineEntry, DeadlineQueue } from './deadline-queue.js';
export type { EnumValue } from './enum.js';
export {
  AcquireAbortedError,
  CallbackError,
  ConnectionCreateError,
  ConnectionReleasedError,
  ConnectionTimeoutError,
  describe as describeError,
  InvalidArgumentError,
  InvalidConfigError,
  isPoolError,
  PoolClosedError,
  PoolError,
  type PoolErrorCode,
  PoolExhaustedError,
  toPoolError,
  ValidationFailedError,
} from './errors.js';
export { type BorrowEnd, DESTROY_REASONS, type DestroyReason, type PoolEventMap, type PoolEventName, PoolEvents } from './events.js';
export {
  type ConnectionFactory,
  type CreateContext,
  CreateErrorKind,
  type FactoryStatistics,
  type OperationContext,
  type ValidateContext,
} from './factory.js';
export { type AcquireOptions, ConnectionPool, type OwnerScope, type PoolOptions } from './pool.js';
export { PooledConnection, type ReleaseOptions } from './pooled-connection.js';
export { QUEUE_PRIORITIES, QueuePriority } from './queue-priority.js';
export { checkRecyclingStrategy, RecyclingStrategy } from './recycling-strategy.js';
export type { SlotState } from './slot.js';
export type { ConnectionInfo, PoolSize, PoolStatistics } from './statistics.js';
export { BasicWaitQueue, type Waiter, type WaiterExit, WaiterList, type WaitQueue, type WaitQueueHost } from './waiter.js';
