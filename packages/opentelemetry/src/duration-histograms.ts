import type { Histogram, Meter } from '@opentelemetry/api';
import { METRIC } from './names.js';

/** The three duration histograms of the semantic conventions, in seconds. */
export interface DurationHistograms {
  create: Histogram;
  wait: Histogram;
  use: Histogram;
}

/** Creates the duration histograms, advising `buckets` (seconds) as their boundaries. */
export function durationHistograms(meter: Meter, buckets: readonly number[]): DurationHistograms {
  const advice = { explicitBucketBoundaries: [...buckets] };
  return {
    create: meter.createHistogram(METRIC.createTime, { description: 'The time it took to create a new connection', unit: 's', advice }),
    wait: meter.createHistogram(METRIC.waitTime, {
      description: 'The time it took to obtain an open connection from the pool',
      unit: 's',
      advice,
    }),
    use: meter.createHistogram(METRIC.useTime, {
      description: 'The time between borrowing a connection and returning it to the pool',
      unit: 's',
      advice,
    }),
  };
}
