export { AdaptiveLimitCollector, type AdaptiveLimitCollectorOptions, type AdaptiveLimiterLike } from './adaptive-limit-collector.js';
export {
  type AnyRegistry,
  DEFAULT_BUCKETS,
  MetricsAlreadyRegisteredError,
  PrometheusCollector,
  type PrometheusCollectorOptions,
} from './prometheus-collector.js';
