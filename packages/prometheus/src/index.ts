export { AdaptiveLimitCollector, type AdaptiveLimitCollectorOptions, type AdaptiveLimiterLike } from './adaptive-limit-collector.js';
export {
  HostCollector,
  type HostCollectorOptions,
  type HostStatisticsLike,
  type HostStatisticsSource,
} from './host-collector.js';
export {
  type AnyRegistry,
  DEFAULT_BUCKETS,
  MetricsAlreadyRegisteredError,
  PrometheusCollector,
  type PrometheusCollectorOptions,
} from './prometheus-collector.js';
