export {
  type DashboardData,
  type DashboardLeaks,
  type DashboardOptions,
  type DashboardPoolData,
  DashboardProvider,
} from './dashboard-provider.js';
export { ExportFormat, type ExportFormatter, ExportFormatUnavailableError, type ExportOptions } from './export-format.js';
export { type CumulativeHistogram, HIGHEST_TRACKABLE_US, type HistogramSnapshot, type Percentiles } from './histogram.js';
export {
  LeakDetector,
  type LeakDetectorEventMap,
  type LeakDetectorOptions,
  type LeakDetectorStatistics,
  type LeakEnd,
  type LeakRelease,
  type LeakReport,
} from './leak-detector.js';
export { CSV_COLUMNS, csvField, JSON_SCHEMA, type JsonExport, MonitoringExporter } from './monitoring-exporter.js';
export type { PartitionEventSource } from './partition-watch.js';
export {
  type AttachOptions,
  type CumulativeFigures,
  type DurationKind,
  PoolMonitor,
  type PoolMonitorOptions,
} from './pool-monitor.js';
export type { MonitoredPool } from './pool-recorder.js';
export {
  type MonitoringSources,
  type PartitionStatisticsCollection,
  type PartitionStatisticsLike,
  type PartitionStatisticsSource,
  type PartitionSummary,
  type QueueLevelStatisticsLike,
  type QueueLevelSummary,
  type QueueStatisticsLike,
  type QueueStatisticsSource,
  type QueueSummary,
  readPartitions,
  readQueue,
  waitersByPriority,
} from './sources.js';
export type { EfficiencyMetrics, PartitionCallers, PoolMonitorStatistics, StatementCacheFigures, UsagePatterns } from './statistics.js';
