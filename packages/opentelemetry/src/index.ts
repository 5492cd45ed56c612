export {
  type AcquireOutcome,
  ATTR_BUDGET,
  ATTR_BUDGET_STATE,
  ATTR_CONNECTION_STATE,
  ATTR_OUTCOME,
  ATTR_PARTITION,
  ATTR_POOL_NAME,
  ATTR_PRIORITY,
  ATTR_REASON,
  ATTR_TENANT,
  DEFAULT_BUCKETS,
  METRIC,
  WAIT_SPAN_NAME,
} from './names.js';
export type { InstrumentOptions, PoolTelemetryOptions } from './options.js';
export { INSTRUMENTATION_SCOPE, PoolTelemetry } from './pool-telemetry.js';
export type {
  BudgetFigures,
  BudgetScopeFigures,
  BudgetSource,
  PartitionAcquireEvent,
  PartitionFigures,
  PartitionRejectEvent,
  PartitionSource,
} from './sources.js';
