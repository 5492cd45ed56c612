export { type BudgetPoolOptions, ClusterBudget, type PartitionedPools, type WrapOptions } from './budget.js';
export { BudgetClosedError, BudgetExhaustedError, BudgetRedisError, BudgetUnavailableError, type RefusalReason } from './errors.js';
export type { BudgetState, ClusterBudgetEventMap, ClusterBudgetEventName } from './events.js';
export { type CeilingPool, leaseCeiling } from './lease-ceiling.js';
export { type ClusterBudgetOptions, RedisUnavailable, type RedisUnavailablePolicy } from './options.js';
export type {
  BudgetCounters,
  BudgetSnapshot,
  ClusterBudgetStatistics,
  InstanceSnapshot,
  ScopeStatistics,
} from './statistics.js';
export type { BudgetRedisClient } from './store.js';
