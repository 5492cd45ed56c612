import { clamp, type IntervalSample, type LimitAlgorithm, type LimitDecision, type LimitState } from './limit-algorithm.js';
import { numberIn, objectOrEmpty, rejectUnknownKeys } from './option-checks.js';

/** Options of {@link AimdLimit}. */
export interface AimdLimitOptions {
  /** The factor the limit is multiplied by after an interval with errors or slow borrows, in [0.5, 1). Default `0.9`. */
  backoffRatio?: number;
  /** Mean use time above which an interval counts as a drop, in ms. Default `5000` (Netflix's AIMD timeout). */
  latencyThresholdMs?: number;
  /** Connections added per interval while the pool is busy. Default `1`. */
  increase?: number;
}

const KEYS = ['backoffRatio', 'latencyThresholdMs', 'increase'];

/**
 * Additive increase, multiplicative decrease, after Netflix's `AIMDLimit` (concurrency-limits): the
 * loss-based algorithm of TCP Reno. Each interval with a "drop" (a borrow that ended with an error, or
 * a mean use time above `latencyThresholdMs`) multiplies the limit by `backoffRatio`; otherwise, when
 * the pool was busy (callers waited, or at least half the limit was borrowed at once), it adds
 * `increase`.
 *
 * Simpler and more predictable than {@link GradientLimit}, but blind to queueing inside the database
 * until it turns into errors or timeouts: choose it when your queries carry a statement timeout and
 * errors are the signal you trust.
 *
 * @see https://github.com/Netflix/concurrency-limits (AIMDLimit)
 * @example
 * ```ts
 * adaptiveLimit(pool, { algorithm: new AimdLimit({ latencyThresholdMs: 200 }) });
 * ```
 */
export class AimdLimit implements LimitAlgorithm {
  readonly name = 'aimd';
  readonly backoffRatio: number;
  readonly latencyThresholdMs: number;
  readonly increase: number;

  constructor(options: AimdLimitOptions = {}) {
    const o = objectOrEmpty('aimd', options);
    rejectUnknownKeys('aimd', o, KEYS);
    this.backoffRatio = numberIn('aimd.backoffRatio', o.backoffRatio, 0.9, 0.5, 1, true);
    this.latencyThresholdMs = numberIn('aimd.latencyThresholdMs', o.latencyThresholdMs, 5_000, Number.MIN_VALUE, 1e9);
    this.increase = numberIn('aimd.increase', o.increase, 1, Number.MIN_VALUE, 1_000);
  }

  get baselineMs(): number | null {
    return null;
  }

  update(sample: IntervalSample, state: LimitState): LimitDecision {
    const L = state.limit;
    let next = L;
    let reason: LimitDecision['reason'] = 'steady';
    if (sample.errors > 0 || sample.latencyMs > this.latencyThresholdMs) {
      next = Math.floor(L * this.backoffRatio);
      reason = sample.errors > 0 ? 'errors' : 'latency';
    } else if (sample.waited > 0 || sample.waiting > 0 || sample.peakInflight * 2 >= L) {
      next = L + this.increase;
      reason = 'demand';
    }
    next = clamp(next, state.floor, state.ceiling);
    if (next === L) reason = 'steady';
    return { limit: next, reason, gradient: null };
  }
}
