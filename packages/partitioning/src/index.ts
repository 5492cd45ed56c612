export { type BudgetLimit, PartitionError, type PartitionErrorReason, PartitionLimitError } from './errors.js';
export type { PartitionContext, PartitionEventMap } from './events.js';
export type { PartitionLimits, PartitionLimitsInput } from './limits.js';
export { PartitionManager } from './manager.js';
export type {
  ConnectionMemoryCost,
  IsolatedPoolOptions,
  MemoryReportingFactory,
  PartitionManagerOptions,
  PartitionOptions,
  RemovePartitionOptions,
} from './manager-options.js';
export type { Partition, PartitionInfo, PrepareContext, PrepareHook } from './partition.js';
export {
  type ApplicationPartition,
  PartitionKind,
  PartitionType,
  type ResourceGroupPartition,
  type ServicePartition,
  type TenantPartition,
  type UserPartition,
} from './partition-type.js';
export { type BuiltInRouting, type CustomRouting, type PartitionRequest, type PartitionRouter, RoutingStrategy } from './routing.js';
export {
  type BlockReason,
  type BudgetUsage,
  type PartitionStatistics,
  type PreparationStatistics,
  REJECTION_REASONS,
  type RejectionReason,
} from './statistics.js';
