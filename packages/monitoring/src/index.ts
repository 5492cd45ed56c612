export { ExportFormat, type ExportFormatter, ExportFormatUnavailableError, type ExportOptions } from './export-format.js';
export { type CumulativeHistogram, HIGHEST_TRACKABLE_US, type HistogramSnapshot, type Percentiles } from './histogram.js';
export { type AttachOptions, type CumulativeFigures, type DurationKind, PoolMonitor, type PoolMonitorOptions } from './pool-monitor.js';
export type { MonitoredPool } from './pool-recorder.js';
export {
  type MonitoringSources,
  type PartitionStatisticsCollection,
  type PartitionStatisticsLike,
  type PartitionStatisticsSource,
  type PartitionSummary,
  type QueueStatisticsLike,
  type QueueStatisticsSource,
  type QueueSummary,
  readPartitions,
  readQueue,
  waitersByPriority,
} from './sources.js';
export type { EfficiencyMetrics, PoolMonitorStatistics, StatementCacheFigures, UsagePatterns } from './statistics.js';
