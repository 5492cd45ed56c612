import { InvalidConfigError } from '@pool/core';
import { clamp, type IntervalSample, type LimitAlgorithm, type LimitDecision, type LimitState } from './limit-algorithm.js';
import { numberIn, objectOrEmpty, rejectUnknownKeys } from './option-checks.js';
import { ThroughputByLimit } from './throughput-by-limit.js';

/** Judged intervals after which a limit's throughput measurement no longer counts (five minutes at one per second). */
const THROUGHPUT_MEMORY = 300;

/** Options of {@link GradientLimit}. Every one has a safe default. */
export interface GradientLimitOptions {
  /**
   * How much latency may rise above its baseline before the limit comes down: `1.5` (the default,
   * Gradient2's `rttTolerance`) tolerates 50 % more than the no-load use time. At least 1.
   */
  tolerance?: number;
  /**
   * How much of the way to its estimate the limit moves per interval when latency rose (Gradient2's
   * `smoothing`), between 0 (exclusive) and 1. Default `0.2`: the limit comes down over a few
   * intervals, so one slow interval does not halve the pool.
   */
  smoothing?: number;
  /**
   * How much the limit grows per interval while callers wait and latency is flat, as a fraction of
   * the limit (a slow start, as TCP's). Default `0.5`; the limiter's `maxStepRatio` bounds it too.
   */
  growth?: number;
  /**
   * Connections added to the estimate while callers wait even though latency rose (Gradient2's
   * `queueSize`), so the limit keeps probing a little above the point where latency started to rise.
   * Default `1`: on a database with few cores, a larger value keeps the limit above the knee.
   */
  headroom?: number;
  /**
   * Intervals over which the latency baseline follows a sustained rise while the pool runs above its
   * floor (Gradient2's `longWindow`, an exponential average). Default `600` (ten minutes at one interval
   * per second): the baseline tracks slow changes without drifting up with the queueing it measures.
   */
  longWindow?: number;
  /**
   * The throughput gain that justifies latency above tolerance: while the limit in force serves at
   * least this fraction more borrows per second than the best lower limit measured in the last 300
   * intervals, a latency rise does not lower it (more connections still buy throughput, as when the
   * database's CPU is shared with other work and more sessions win a larger share). Default `0.1`;
   * `false` lowers on latency alone.
   */
  throughputGain?: number | false;
}

const KEYS = ['tolerance', 'smoothing', 'growth', 'headroom', 'longWindow', 'throughputGain'];

/** `gradient.throughputGain`: a fraction of at least 0 (default 0.1), or `false` (handled by the caller). */
function gain(value: unknown): number {
  if (value === undefined) return 0.1;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0 && value <= 100) return value;
  throw new InvalidConfigError('gradient.throughputGain', value, 'must be false or a number >= 0 and <= 100');
}

/**
 * A latency-gradient concurrency limit after Netflix's `Gradient2Limit` (concurrency-limits), adapted
 * to a connection pool: each interval it compares the borrows' mean use time with a no-load baseline,
 * `gradient = clamp(tolerance × baseline / latency, 0.5, 1)`.
 *
 * - **Latency within tolerance** (gradient 1) **and callers waiting**: the limit grows to
 *   `limit × min(tolerance × baseline / latency, 1 + growth) + headroom`: as far as the latency leaves
 *   room for, at most by `growth` (a slow start). More connections still buy throughput.
 * - **Latency above `tolerance × baseline`** (gradient < 1): the estimate is `limit × gradient +
 *   headroom × (2 × gradient - 1)` and the limit moves `smoothing` of the way there. By Little's law (borrowed = throughput ×
 *   latency) a rise in latency at a given number of borrowed connections is exactly a loss of throughput
 *   per connection: the database is queueing, not working faster.
 *   Unless that latency bought throughput: while the limit in force serves `throughputGain` (10 %)
 *   more borrows per second than the best lower limit measured recently, it holds (the database is
 *   slower per query but serves more in all, so it is not only queueing).
 * - **No demand** (nobody waited and the pool did not use its whole limit): no change, as Gradient2
 *   does not grow an application-limited limit.
 *
 * The baseline is the part that differs from Gradient2, whose long average drifts up with sustained
 * queueing and so lets the limit ratchet up over time. Ours is TCP Vegas' "no-load RTT": it falls
 * quickly to any lower latency; it rises only slowly (over `longWindow` intervals), and only from
 * intervals within tolerance or without queueing on our side (at the floor, or with at most one
 * borrow at a time), never from intervals above tolerance while we queue. So another load passing
 * through the database lowers the limit without being learned as the new normal; the price is that
 * if every query becomes slower for good, the limit recovers only as the baseline follows, over
 * `longWindow` intervals at the floor (or at once with {@link GradientLimit.resetBaseline}).
 *
 * @see https://github.com/Netflix/concurrency-limits (Gradient2Limit, VegasLimit)
 * @example
 * ```ts
 * adaptiveLimit(pool, { algorithm: new GradientLimit({ tolerance: 2 }) });
 * ```
 */
export class GradientLimit implements LimitAlgorithm {
  readonly name = 'gradient';
  readonly tolerance: number;
  readonly smoothing: number;
  readonly growth: number;
  readonly headroom: number;
  readonly longWindow: number;
  readonly throughputGain: number | false;
  #baseline: number | null = null;
  readonly #throughput = new ThroughputByLimit(THROUGHPUT_MEMORY);

  constructor(options: GradientLimitOptions = {}) {
    const o = objectOrEmpty('gradient', options);
    rejectUnknownKeys('gradient', o, KEYS);
    this.tolerance = numberIn('gradient.tolerance', o.tolerance, 1.5, 1, 100);
    this.smoothing = numberIn('gradient.smoothing', o.smoothing, 0.2, Number.MIN_VALUE, 1);
    this.growth = numberIn('gradient.growth', o.growth, 0.5, Number.MIN_VALUE, 10);
    this.headroom = numberIn('gradient.headroom', o.headroom, 1, 0, 1_000);
    this.longWindow = numberIn('gradient.longWindow', o.longWindow, 600, 1, 1e9);
    this.throughputGain = o.throughputGain === false ? false : gain(o.throughputGain);
  }

  get baselineMs(): number | null {
    return this.#baseline;
  }

  update(sample: IntervalSample, state: LimitState): LimitDecision {
    const latency = sample.latencyMs;
    const L = state.limit;
    if (!(latency > 0) || !Number.isFinite(latency)) return { limit: L, reason: 'steady', gradient: null };
    const baseline = this.#track(latency, sample, state);
    const ratio = (this.tolerance * baseline) / latency;
    const gradient = clamp(ratio, 0.5, 1);
    const demand = sample.waited > 0 || sample.waiting > 0;
    const saturated = demand || sample.peakInflight >= state.applied;
    this.#throughput.tick();
    if (!saturated) return { limit: L, reason: 'steady', gradient };
    // The measurements were taken at the applied (whole) limit: the estimate starts from it, and the
    // exact limit moves towards the estimate (so it settles instead of cycling between two integers).
    const A = state.applied;
    // Only a saturated interval measures what the limit can serve (an application-limited one, what the
    // application asked for).
    this.#throughput.record(A, sample.throughput);
    let next: number;
    if (ratio >= 1) {
      // Latency within tolerance: grow as far as it leaves room for (were latency to grow with the
      // limit from here), at most by `growth`, plus the headroom.
      next = demand ? Math.max(L, A * Math.min(ratio, 1 + this.growth) + this.headroom) : L;
    } else {
      // The headroom shrinks with the gradient (none at 0.5), so a small limit can still come down
      // when latency doubles: with a fixed headroom, limit × 0.5 + headroom >= limit below 2 × headroom.
      const estimate = A * gradient + (demand ? this.headroom * (2 * gradient - 1) : 0);
      if (demand && this.#boughtThroughput(A, estimate)) return { limit: L, reason: 'steady', gradient };
      next = L + this.smoothing * (estimate - L);
    }
    next = clamp(next, state.floor, state.ceiling);
    const reason = next > L ? 'demand' : next < L ? 'latency' : 'steady';
    return { limit: next, reason, gradient };
  }

  /**
   * Forgets the latency baseline: the next judged interval sets it again. Call it after a change that
   * made every query slower for good (a smaller database instance, a failover to a slower replica), so
   * the limit is not held low by a baseline that no longer holds.
   */
  resetBaseline(): void {
    this.#baseline = null;
  }

  /**
   * Whether the limit in force serves `throughputGain` more than the best lower limit measured recently
   * (down to where the estimate would take it): then the latency it costs bought throughput.
   */
  #boughtThroughput(applied: number, estimate: number): boolean {
    if (this.throughputGain === false) return false;
    const here = this.#throughput.at(applied);
    const lower = this.#throughput.bestBelow(applied, Math.floor(estimate));
    return here !== undefined && lower !== undefined && here >= lower * (1 + this.throughputGain);
  }

  #track(latency: number, sample: IntervalSample, state: LimitState): number {
    const b = this.#baseline;
    let next: number;
    if (b === null) next = latency;
    else if (latency < b) next = b + (latency - b) * 0.5;
    else if (latency <= this.tolerance * b || (state.applied <= state.floor && !state.warmingUp) || sample.peakInflight <= 1) {
      // Within tolerance, or measured with nothing queued on our side (at the floor, or one borrow at a
      // time): a long-term change, followed slowly (Gradient2's long average). Slowly also at the
      // floor, so that another load passing through the database is not learned as the new normal.
      next = b + (latency - b) / this.longWindow;
    } else {
      // Above tolerance while we queue: that rise is what the limit answers, not a new baseline
      // (following it would ratchet the limit up).
      next = b;
    }
    this.#baseline = next;
    return next;
  }
}
