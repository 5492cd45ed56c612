export type { AdaptiveEventMap, LimitChange } from './adaptive-events.js';
export { adaptiveLimit, adaptiveLimiterOf, adaptivePartitionLimit } from './adaptive-limit.js';
export { AdaptiveLimiter } from './adaptive-limiter.js';
export type { AdaptiveLimitOptions } from './adaptive-options.js';
export type { AdaptiveStatistics } from './adaptive-statistics.js';
export { AimdLimit, type AimdLimitOptions } from './aimd-limit.js';
export { GradientLimit, type GradientLimitOptions } from './gradient-limit.js';
export type { IntervalSample, LimitAlgorithm, LimitDecision, LimitReason, LimitState } from './limit-algorithm.js';
export type { PartitionManagerLike } from './partition-target.js';
