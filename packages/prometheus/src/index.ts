export {
  type AnyRegistry,
  DEFAULT_BUCKETS,
  MetricsAlreadyRegisteredError,
  PrometheusCollector,
  type PrometheusCollectorOptions,
} from './prometheus-collector.js';
