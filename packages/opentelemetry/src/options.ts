import type { MeterProvider, TracerProvider } from '@opentelemetry/api';
import { InvalidConfigError } from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import { DEFAULT_BUCKETS } from './names.js';
import type { BudgetSource, PartitionSource } from './sources.js';

/** Options of a {@link PoolTelemetry}. */
export interface PoolTelemetryOptions {
  /** Where the instruments are created. Default: the global one (`metrics.getMeterProvider()`), as registered by your SDK setup. */
  meterProvider?: MeterProvider;
  /** Where wait spans are created. Default: the global one (`trace.getTracerProvider()`). */
  tracerProvider?: TracerProvider;
  /** Publish metrics. Default `true`. */
  metrics?: boolean;
  /**
   * Write a `pool.acquire` span for every acquire that waited at least this many milliseconds, as a
   * child of the span active where `acquire()` was called (`1` is a good start). `0` writes one for
   * every acquire (also those served at once); `null` writes none. Default `null`: while spans are on,
   * `@pool/core` traces every acquire in the process, which today costs more than an uncontended
   * acquire itself (see the README's costs).
   */
  waitSpanThresholdMs?: number | null;
  /** Write wait spans only when `acquire()` was called inside a span (no root spans of their own). Default `false`. */
  requireParentSpan?: boolean;
  /** Upper bounds, in seconds and strictly ascending, advised for the three duration histograms. Default {@link DEFAULT_BUCKETS}. */
  buckets?: readonly number[];
  /**
   * Which borrows the wait-time and use-time histograms record. A histogram point costs the
   * OpenTelemetry SDK several times an uncontended acquire/release, so:
   * - `'all'` (or `1`): every borrow;
   * - a fraction in (0, 1): the borrows that start during 100 ms sampling periods covering that fraction
   *   of the time (`0.01`: 100 ms every 10 s, at a random phase), each followed to its release.
   * Create times, timeouts, counts and wait spans are complete either way. Default `0.01`.
   */
  borrowTiming?: 'all' | number;
}

/** Options of {@link PoolTelemetry.instrument} for one pool. */
export interface InstrumentOptions {
  /**
   * The pool's `@pool/partitioning` `PartitionManager`: publishes per-partition metrics, records its
   * callers' whole wait (partition queue included) with the partition, and writes its wait spans.
   */
  partitions?: PartitionSource;
  /** The `@pool/cluster` `ClusterBudget` the pool's connections hold slots of: publishes the budget's metrics. */
  budget?: BudgetSource;
}

/** The options with their defaults, checked. */
export interface ResolvedOptions {
  meterProvider: MeterProvider | undefined;
  tracerProvider: TracerProvider | undefined;
  metrics: boolean;
  waitSpanThresholdMs: number | null;
  requireParentSpan: boolean;
  buckets: readonly number[];
  borrowTiming: 'all' | number;
}

const OPTION_KEYS = ['meterProvider', 'tracerProvider', 'metrics', 'waitSpanThresholdMs', 'requireParentSpan', 'buckets', 'borrowTiming'];
const INSTRUMENT_KEYS = ['partitions', 'budget'];

/** Checks {@link PoolTelemetryOptions}: each bad value gets an `InvalidConfigError` naming it. */
export function resolveOptions(options: PoolTelemetryOptions): ResolvedOptions {
  checkOptionKeys(options, OPTION_KEYS, 'PoolTelemetry');
  const { meterProvider, tracerProvider } = options;
  if (meterProvider !== undefined && typeof meterProvider?.getMeter !== 'function') {
    throw new InvalidConfigError('meterProvider', meterProvider, 'must be an OpenTelemetry MeterProvider (with getMeter())');
  }
  if (tracerProvider !== undefined && typeof tracerProvider?.getTracer !== 'function') {
    throw new InvalidConfigError('tracerProvider', tracerProvider, 'must be an OpenTelemetry TracerProvider (with getTracer())');
  }
  const metrics = options.metrics ?? true;
  if (typeof metrics !== 'boolean') throw new InvalidConfigError('metrics', metrics, 'must be true or false');
  const threshold = options.waitSpanThresholdMs === undefined ? null : options.waitSpanThresholdMs;
  if (threshold !== null && (typeof threshold !== 'number' || !Number.isFinite(threshold) || threshold < 0)) {
    throw new InvalidConfigError('waitSpanThresholdMs', threshold, 'must be a finite number of milliseconds >= 0, or null for no spans');
  }
  const requireParentSpan = options.requireParentSpan ?? false;
  if (typeof requireParentSpan !== 'boolean') throw new InvalidConfigError('requireParentSpan', requireParentSpan, 'must be true or false');
  const timing = options.borrowTiming ?? 0.01;
  if (timing !== 'all' && (typeof timing !== 'number' || !(timing > 0 && timing <= 1))) {
    throw new InvalidConfigError('borrowTiming', timing, "must be 'all' or a fraction of the time greater than 0 and at most 1");
  }
  return {
    meterProvider,
    tracerProvider,
    metrics,
    waitSpanThresholdMs: threshold,
    requireParentSpan,
    buckets: checkBuckets(options.buckets ?? DEFAULT_BUCKETS),
    borrowTiming: timing === 1 ? 'all' : timing,
  };
}

function checkBuckets(value: unknown): readonly number[] {
  if (!Array.isArray(value) || value.length === 0 || value.length > 100) {
    throw new InvalidConfigError('buckets', value, 'must be a non-empty array of at most 100 upper bounds in seconds');
  }
  let previous = 0;
  for (const b of value) {
    if (typeof b !== 'number' || !Number.isFinite(b) || b <= previous) {
      throw new InvalidConfigError('buckets', value, 'must hold finite numbers of seconds greater than 0, strictly ascending');
    }
    previous = b;
  }
  return Object.freeze([...value]);
}

/** Checks {@link InstrumentOptions}. */
export function checkInstrumentOptions(options: InstrumentOptions): void {
  checkOptionKeys(options, INSTRUMENT_KEYS, 'PoolTelemetry.instrument');
  const { partitions, budget } = options;
  if (
    partitions !== undefined &&
    (typeof partitions !== 'object' ||
      partitions === null ||
      typeof partitions.getPartitionStatistics !== 'function' ||
      typeof partitions.acquire !== 'function' ||
      typeof partitions.on !== 'function')
  ) {
    throw new InvalidConfigError('partitions', partitions, 'must be a PartitionManager from @pool/partitioning');
  }
  if (budget !== undefined && (typeof budget !== 'object' || budget === null || typeof budget.statistics !== 'function')) {
    throw new InvalidConfigError('budget', budget, 'must be a ClusterBudget from @pool/cluster');
  }
}
