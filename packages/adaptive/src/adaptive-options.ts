import { InvalidConfigError } from '@pool/core';
import { AimdLimit, type AimdLimitOptions } from './aimd-limit.js';
import { GradientLimit, type GradientLimitOptions } from './gradient-limit.js';
import type { LimitAlgorithm } from './limit-algorithm.js';
import { integerFrom, numberIn, objectOrEmpty, rejectUnknownKeys } from './option-checks.js';

/**
 * Options of `adaptiveLimit(pool, options)` and `adaptivePartitionLimit(manager, id, options)`. Every
 * one has a safe default; the defaults suit a pool serving short queries (milliseconds to a second).
 */
export interface AdaptiveLimitOptions {
  /**
   * The algorithm: `'gradient'` (the default, {@link GradientLimit}: latency against a no-load
   * baseline), `'aimd'` ({@link AimdLimit}: backs off on errors), or your own {@link LimitAlgorithm}.
   */
  algorithm?: 'gradient' | 'aimd' | LimitAlgorithm;
  /** Options of the built-in Gradient algorithm (with `algorithm: 'gradient'`). */
  gradient?: GradientLimitOptions;
  /** Options of the built-in AIMD algorithm (with `algorithm: 'aimd'`). */
  aimd?: AimdLimitOptions;
  /** How often the limit is reconsidered, in ms. Default `1000`. */
  intervalMs?: number;
  /**
   * Borrows that must end before an interval is judged; fewer, and the interval is extended (latency
   * from two queries is noise). Default `10`.
   */
  minSamples?: number;
  /** The limit to start from. Default: the floor (`minSize`, at least 1): a slow start measures the no-load latency first. */
  initialLimit?: number;
  /** For how long after the start the limit never goes below `warmupFloor`, in ms. Default `10000`. */
  warmupMs?: number;
  /**
   * The lowest limit during warm-up, while connections are new and latencies noisy. Default: the
   * initial limit (so the limit only grows during warm-up).
   */
  warmupFloor?: number;
  /**
   * The largest step per interval, as a fraction of the limit (at least one connection either way).
   * Default `0.5`: the limit at most grows by half or shrinks by a half per interval.
   */
  maxStepRatio?: number;
  /**
   * An upper bound read every interval, below `maxSize`: what this instance may hold of a cluster-wide
   * budget (`@pool/cluster`'s `leaseCeiling(budget, pool)`), or any cap of yours. `null` from the
   * function: no bound now.
   */
  ceiling?: (() => number | null) | null;
}

/** The options, checked and with their defaults. */
export interface ResolvedAdaptiveOptions {
  readonly algorithm: LimitAlgorithm;
  readonly intervalMs: number;
  readonly minSamples: number;
  readonly initialLimit: number | null;
  readonly warmupMs: number;
  readonly warmupFloor: number | null;
  readonly maxStepRatio: number;
  readonly ceiling: (() => number | null) | null;
}

const KEYS = [
  'algorithm',
  'gradient',
  'aimd',
  'intervalMs',
  'minSamples',
  'initialLimit',
  'warmupMs',
  'warmupFloor',
  'maxStepRatio',
  'ceiling',
];

function isAlgorithm(value: unknown): value is LimitAlgorithm {
  return typeof value === 'object' && value !== null && typeof (value as LimitAlgorithm).update === 'function';
}

/** @internal Checks the options, naming the first bad field and the rule it broke. */
export function resolveAdaptiveOptions(options: AdaptiveLimitOptions | undefined): ResolvedAdaptiveOptions {
  const o = objectOrEmpty('options', options);
  rejectUnknownKeys('options', o, KEYS);
  const choice = o.algorithm ?? 'gradient';
  let algorithm: LimitAlgorithm;
  if (choice === 'gradient') {
    if (o.aimd !== undefined) throw new InvalidConfigError('options.aimd', o.aimd, "only applies with algorithm: 'aimd'");
    algorithm = new GradientLimit(o.gradient as GradientLimitOptions | undefined);
  } else if (choice === 'aimd') {
    if (o.gradient !== undefined) throw new InvalidConfigError('options.gradient', o.gradient, "only applies with algorithm: 'gradient'");
    algorithm = new AimdLimit(o.aimd as AimdLimitOptions | undefined);
  } else if (isAlgorithm(choice)) {
    if (o.gradient !== undefined || o.aimd !== undefined) {
      throw new InvalidConfigError(
        o.gradient !== undefined ? 'options.gradient' : 'options.aimd',
        '[object]',
        'does not apply to an algorithm instance',
      );
    }
    algorithm = choice;
  } else {
    throw new InvalidConfigError('options.algorithm', choice, "must be 'gradient', 'aimd' or an object with update(sample, state)");
  }
  const ceiling = o.ceiling ?? null;
  if (ceiling !== null && typeof ceiling !== 'function')
    throw new InvalidConfigError('options.ceiling', ceiling, 'must be a function returning a number or null');
  return {
    algorithm,
    intervalMs: numberIn('options.intervalMs', o.intervalMs, 1_000, 10, 3_600_000),
    minSamples: integerFrom('options.minSamples', o.minSamples, 10, 1),
    initialLimit: o.initialLimit === undefined ? null : integerFrom('options.initialLimit', o.initialLimit, 1, 1),
    warmupMs: numberIn('options.warmupMs', o.warmupMs, 10_000, 0, 86_400_000),
    warmupFloor: o.warmupFloor === undefined ? null : integerFrom('options.warmupFloor', o.warmupFloor, 1, 1),
    maxStepRatio: numberIn('options.maxStepRatio', o.maxStepRatio, 0.5, Number.MIN_VALUE, 10),
    ceiling: ceiling as (() => number | null) | null,
  };
}
