import { CallbackError, now, type PoolError, PoolEvents } from '@pool/core';
import type { AdaptiveEventMap, LimitChange } from './adaptive-events.js';
import type { ResolvedAdaptiveOptions } from './adaptive-options.js';
import type { AdaptiveStatistics } from './adaptive-statistics.js';
import { clamp, type IntervalSample, type LimitDecision, type LimitReason } from './limit-algorithm.js';
import type { LimitTarget } from './limit-target.js';
import { SAMPLES_PER_INTERVAL } from './pool-target.js';

/** How far past a whole number the exact limit must move before the applied one follows (hysteresis). */
const SNAP = 0.75;

/**
 * The whole number of connections for the exact limit `estimate`, given the one in force: it moves only
 * once the estimate is `SNAP` past it, so noise around a value between two integers does not make the
 * pool flap between them.
 */
export function snap(estimate: number, applied: number): number {
  if (estimate >= applied + SNAP) return Math.floor(estimate + (1 - SNAP));
  if (estimate <= applied - SNAP) return Math.ceil(estimate - (1 - SNAP));
  return applied;
}

/**
 * Moves a pool's (or a partition's) connection limit to what the database serves best, one interval at
 * a time, with the algorithm of its options. Made by `adaptiveLimit(pool)` or
 * `adaptivePartitionLimit(manager, id)`; it stops by itself when its pool closes.
 *
 * Every interval with at least `minSamples` ended borrows is judged: the algorithm proposes a limit,
 * the limiter bounds the step (`maxStepRatio`), keeps it within `[floor, ceiling]` (the floor is
 * `minSize`, or the warm-up floor while warming up; the ceiling `maxSize`, or a lower `ceiling()`), and
 * applies it rounded with hysteresis. A change emits `limitChanged`.
 */
export class AdaptiveLimiter {
  readonly #target: LimitTarget;
  readonly #o: ResolvedAdaptiveOptions;
  readonly #events = new PoolEvents<AdaptiveEventMap>((error) => this.#report(error));
  readonly #startedAt: number;
  #timer: ReturnType<typeof setInterval> | undefined;
  #unwatch: () => void;
  #stopped = false;
  #estimate: number;
  #applied: number;
  #intervalStart: number;
  // The interval's accumulators.
  #completed = 0;
  #holdSum = 0;
  #timed = 0;
  #errors = 0;
  #waited = 0;
  #inflight: number;
  #peak: number;
  /** The target's counters at the start of the interval (when it keeps counters). */
  #counted: { released: number; releasedWithError: number; waited: number } | null;
  // The last judged interval.
  #last: IntervalSample | null = null;
  #gradient: number | null = null;
  #intervals = 0;
  #increases = 0;
  #decreases = 0;
  #lastChange: LimitChange | null = null;

  /** @internal Use `adaptiveLimit()` or `adaptivePartitionLimit()`. */
  constructor(target: LimitTarget, options: ResolvedAdaptiveOptions) {
    this.#target = target;
    this.#o = options;
    this.#startedAt = now();
    this.#intervalStart = this.#startedAt;
    this.#inflight = target.borrowed();
    this.#peak = this.#inflight;
    this.#counted = target.counters?.() ?? null;
    const { floor, ceiling } = this.#bounds();
    const initial = clamp(options.initialLimit ?? target.minLimit(), floor, ceiling);
    this.#estimate = initial;
    this.#applied = initial;
    this.#unwatch = target.watch({
      acquired: (waited) => {
        this.#inflight++;
        if (this.#inflight > this.#peak) this.#peak = this.#inflight;
        if (waited) this.#waited++;
      },
      enqueued: () => {
        this.#waited++;
      },
      released: (holdMs, failed) => {
        if (Number.isFinite(holdMs)) {
          this.#holdSum += holdMs;
          this.#timed++;
        }
        if (this.#counted !== null) return; // counted by the target; this borrow is a use-time sample
        if (this.#inflight > 0) this.#inflight--;
        this.#completed++;
        if (failed) this.#errors++;
      },
      changedElsewhere: (limit) => this.#adopt(limit),
      closed: () => this.stop({ restore: false }),
    });
    this.#apply(initial, 'start', null);
    this.#timer = setInterval(() => this.#tick(), options.intervalMs);
    this.#timer.unref?.();
  }

  /** The limit in force (whole connections). */
  get limit(): number {
    return this.#applied;
  }

  /** The algorithm in use. */
  get algorithm(): string {
    return this.#o.algorithm.name;
  }

  /** What the limiter adapts (the pool's name, or `<pool>/<partition>`). */
  get target(): string {
    return this.#target.name;
  }

  /** True until `stop()` (or the pool closed). */
  get running(): boolean {
    return !this.#stopped;
  }

  /** Subscribes to `limitChanged` or `error`. Returns the limiter for chaining. */
  on<K extends keyof AdaptiveEventMap>(event: K, listener: (payload: AdaptiveEventMap[K]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof AdaptiveEventMap>(event: K, listener: (payload: AdaptiveEventMap[K]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** The limiter's state as plain JSON. */
  statistics(): AdaptiveStatistics {
    const { floor, ceiling } = this.#stopped ? { floor: this.#applied, ceiling: this.#applied } : this.#bounds();
    const last = this.#last;
    return {
      target: this.#target.name,
      algorithm: this.#o.algorithm.name,
      state: this.#stopped ? 'stopped' : 'running',
      limit: this.#applied,
      estimate: this.#estimate,
      floor,
      ceiling,
      warmingUp: this.#warmingUp(),
      baselineMs: this.#o.algorithm.baselineMs,
      latencyMs: last?.latencyMs ?? null,
      throughput: last?.throughput ?? null,
      inflight: last?.inflight ?? null,
      gradient: this.#gradient,
      intervals: this.#intervals,
      increases: this.#increases,
      decreases: this.#decreases,
      lastChange: this.#lastChange,
    };
  }

  /**
   * Stops adapting: no more intervals, no more listeners on the pool. By default the limit is lifted
   * (`restore: true`: the pool goes back to `maxSize`); `restore: false` leaves the last limit in force.
   * Idempotent.
   */
  stop(options: { restore?: boolean } = {}): void {
    if (this.#stopped) return;
    this.#stopped = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
    this.#unwatch();
    if (options.restore !== false) {
      const max = this.#target.maxLimit();
      if (this.#applied !== max) this.#target.apply(max, 'stopped');
    }
  }

  /** `using limiter = adaptiveLimit(pool)` stops it at the end of the scope. */
  [Symbol.dispose](): void {
    this.stop();
  }

  #warmingUp(): boolean {
    return now() - this.#startedAt < this.#o.warmupMs;
  }

  #bounds(): { floor: number; ceiling: number } {
    const min = this.#target.minLimit();
    const max = this.#target.maxLimit();
    let floor = min;
    if (this.#warmingUp()) floor = Math.max(floor, this.#o.warmupFloor ?? this.#o.initialLimit ?? min);
    let ceiling = max;
    const extra = this.#readCeiling();
    if (extra !== null) ceiling = Math.min(ceiling, Math.floor(extra));
    // The pool's own bounds always win: never below minSize, never above maxSize.
    floor = Math.min(floor, max);
    ceiling = Math.max(ceiling, min);
    if (ceiling < floor) floor = ceiling;
    return { floor, ceiling };
  }

  #readCeiling(): number | null {
    const fn = this.#o.ceiling;
    if (fn === null) return null;
    let value: number | null;
    try {
      value = fn();
    } catch (err) {
      this.#report(new CallbackError('ERR_POOL_LISTENER', 'The adaptive ceiling() threw', err));
      return null;
    }
    if (value === null || value === undefined) return null;
    if (typeof value !== 'number' || Number.isNaN(value)) {
      this.#report(
        new CallbackError('ERR_POOL_LISTENER', `The adaptive ceiling() returned ${String(value)}, not a number or null`, undefined),
      );
      return null;
    }
    return Math.max(0, value);
  }

  /** An `error` event, or a process warning when nobody listens (a problem is never silent). */
  #report(error: PoolError): void {
    if (this.#events.has('error')) this.#events.emit('error', { error });
    else process.emitWarning(`${this.#target.name}: ${error.message}`, { code: 'POOL_ADAPTIVE_ERROR' });
  }

  /** Someone else set the limit: go on from there. */
  #adopt(limit: number): void {
    if (this.#stopped || limit === this.#applied) return;
    const previous = this.#applied;
    this.#applied = limit;
    this.#estimate = limit;
    this.#record(previous, 'external', null);
  }

  #tick(): void {
    if (this.#stopped) return;
    const t = now();
    const { floor, ceiling } = this.#bounds();
    const waiting = this.#target.waiting();
    let decision: LimitDecision | null = null;
    let sample: IntervalSample | null = null;
    let completed = this.#completed;
    let errors = this.#errors;
    let waited = this.#waited;
    const counters = this.#counted === null ? null : (this.#target.counters?.() ?? null);
    if (counters !== null && this.#counted !== null) {
      completed = counters.released - this.#counted.released;
      errors = counters.releasedWithError - this.#counted.releasedWithError;
      waited = counters.waited - this.#counted.waited;
    }
    if (completed >= this.#o.minSamples && this.#timed >= Math.min(this.#o.minSamples, SAMPLES_PER_INTERVAL)) {
      const durationMs = Math.max(1, t - this.#intervalStart);
      const latencyMs = this.#holdSum / this.#timed;
      // Little's law: mean borrowed = throughput x use time.
      const inflight = (completed * latencyMs) / durationMs;
      sample = {
        durationMs,
        completed,
        latencyMs,
        throughput: (completed * 1000) / durationMs,
        inflight,
        peakInflight: counters === null ? this.#peak : Math.max(this.#target.borrowed(), Math.round(inflight)),
        waited,
        waiting,
        errors,
      };
      decision = this.#o.algorithm.update(sample, {
        limit: this.#estimate,
        applied: this.#applied,
        floor,
        ceiling,
        warmingUp: this.#warmingUp(),
      });
      this.#intervals++;
      this.#last = sample;
      this.#gradient = decision.gradient;
      this.#intervalStart = t;
      this.#completed = 0;
      this.#holdSum = 0;
      this.#timed = 0;
      this.#errors = 0;
      this.#waited = 0;
      this.#peak = this.#inflight;
      this.#counted = counters;
      this.#target.intervalStarted?.();
    }
    let estimate = this.#estimate;
    let reason: LimitReason = 'steady';
    if (decision !== null && Number.isFinite(decision.limit)) {
      const step = Math.max(1, estimate * this.#o.maxStepRatio);
      estimate = clamp(decision.limit, estimate - step, estimate + step);
      reason = decision.reason;
    }
    if (estimate > ceiling) {
      estimate = ceiling;
      if (this.#applied > ceiling) reason = 'ceiling';
    }
    if (estimate < floor) {
      estimate = floor;
      if (this.#applied < floor) reason = 'floor';
    }
    this.#estimate = estimate;
    const next = clamp(snap(estimate, this.#applied), floor, ceiling);
    if (next !== this.#applied) this.#apply(next, reason, sample);
  }

  #apply(limit: number, reason: LimitReason, sample: IntervalSample | null): void {
    const previous = this.#applied;
    this.#applied = limit;
    this.#target.apply(limit, describe(reason, sample, this.#o.algorithm.baselineMs));
    this.#record(previous, reason, sample);
  }

  #record(previous: number, reason: LimitReason, sample: IntervalSample | null): void {
    const limit = this.#applied;
    if (limit > previous) this.#increases++;
    else if (limit < previous) this.#decreases++;
    const change: LimitChange = {
      target: this.#target.name,
      algorithm: this.#o.algorithm.name,
      reason,
      previous,
      limit,
      latencyMs: sample?.latencyMs ?? null,
      baselineMs: this.#o.algorithm.baselineMs,
      throughput: sample?.throughput ?? null,
      inflight: sample?.inflight ?? null,
      waiting: sample?.waiting ?? this.#target.waiting(),
      gradient: sample === null ? null : this.#gradient,
      at: Date.now(),
    };
    this.#lastChange = change;
    if (this.#events.has('limitChanged')) this.#events.emit('limitChanged', change);
  }
}

function ms(value: number | null): string {
  return value === null ? '?' : `${value.toFixed(1)} ms`;
}

/** The reason text the pool's own `limit` event carries. */
function describe(reason: LimitReason, sample: IntervalSample | null, baselineMs: number | null): string {
  switch (reason) {
    case 'latency':
      return `latency ${ms(sample?.latencyMs ?? null)} rose above its baseline ${ms(baselineMs)} without throughput gain`;
    case 'demand':
      return `callers waited while latency held at ${ms(sample?.latencyMs ?? null)}`;
    case 'errors':
      return `${sample?.errors ?? 0} borrow(s) failed`;
    default:
      return reason;
  }
}
