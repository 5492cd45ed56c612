import { Float64Histogram, Int32Histogram, type JsHistogram } from 'hdr-histogram-js';

/**
 * Recorded durations are kept in microseconds (so sub-millisecond waits of an uncontended pool are
 * resolved) up to this value, about 19 hours; a longer duration is counted at this value (its exact
 * value still sets `maxMs`).
 */
export const HIGHEST_TRACKABLE_US = 2 ** 36;

/** The percentiles every {@link HistogramSnapshot} reports, in milliseconds. */
export interface Percentiles {
  p50: number;
  p90: number;
  p95: number;
  p99: number;
  /** The 99.9th percentile. */
  p999: number;
}

/**
 * A summary of the durations recorded over the monitor's sliding window, in milliseconds. Percentiles
 * have the histogram's precision (`significantDigits`: 2 by default, so within 1%) and never exceed
 * `maxMs`; `count`, `meanMs` and `maxMs` are exact.
 */
export interface HistogramSnapshot {
  /** Values recorded in the window. */
  count: number;
  /** Their exact mean (0 when empty). */
  meanMs: number;
  /** The exact largest value (0 when empty). */
  maxMs: number;
  percentiles: Percentiles;
}

/** The cumulative (since attach) content of one histogram, for exporters such as `@pool/prometheus`. */
export interface CumulativeHistogram {
  /** Values recorded since the pool was attached. */
  readonly count: number;
  /** Their exact sum, in milliseconds. */
  readonly sumMs: number;
  /**
   * For each upper bound in `boundsMs` (ascending), how many values were at most that bound, within
   * the histogram's precision (a value in the same histogram bucket as a bound counts as below it).
   */
  countsAtOrBelow(boundsMs: readonly number[]): number[];
}

/** HdrHistogram's bucket layout for `lowestDiscernibleValue` 1 and the given significant digits. */
export class HistogramLayout {
  readonly digits: number;
  /** log2 of half the sub-bucket count. */
  readonly halfMagnitude: number;
  readonly halfCount: number;
  /** Sub-bucket count minus one. */
  readonly mask: number;

  constructor(digits: number) {
    this.digits = digits;
    const largestWithUnitResolution = 2 * 10 ** digits;
    const magnitude = Math.ceil(Math.log2(largestWithUnitResolution));
    this.halfMagnitude = Math.max(magnitude, 1) - 1;
    this.halfCount = 2 ** this.halfMagnitude;
    this.mask = 2 * this.halfCount - 1;
  }

  /** The counts-array index of integer `us` (0 ≤ us ≤ 2^31 - 1), identical to hdr-histogram-js's. */
  indexOf(us: number): number {
    const bucket = 31 - Math.clz32(us | this.mask) - this.halfMagnitude;
    return ((bucket + 1) << this.halfMagnitude) + (us >>> bucket) - this.halfCount;
  }

  /** A histogram with 32-bit counts (one window slot). */
  newSlotHistogram(): Int32Histogram {
    return new Int32Histogram(1, HIGHEST_TRACKABLE_US, this.digits);
  }

  /** A histogram with 64-bit float counts (cumulative totals and merges). */
  newTotalHistogram(): Float64Histogram {
    return new Float64Histogram(1, HIGHEST_TRACKABLE_US, this.digits);
  }
}

/**
 * Records durations (ms) into a histogram. The hot path is a handful of integer operations and one
 * array increment: hdr-histogram-js's own `recordValue` uses `Math.log2`/`Math.pow` and costs about
 * 150 ns, too much to pay on every acquire; the index computed here is the library's own layout (a
 * test checks it against `countsArrayIndex`), so merging and percentiles stay the library's.
 */
export class DurationRecorder {
  readonly hist: Int32Histogram;
  count = 0;
  sumMs = 0;
  maxMs = 0;
  readonly #halfMagnitude: number;
  readonly #halfCount: number;
  readonly #mask: number;

  constructor(layout: HistogramLayout) {
    this.hist = layout.newSlotHistogram();
    this.#halfMagnitude = layout.halfMagnitude;
    this.#halfCount = layout.halfCount;
    this.#mask = layout.mask;
  }

  record(ms: number): void {
    const us = Math.round(ms * 1000);
    if (us >= 0 && us <= 0x7fffffff) {
      this.count++;
      this.sumMs += ms;
      if (ms > this.maxMs) this.maxMs = ms;
      const bucket = 31 - Math.clz32(us | this.#mask) - this.#halfMagnitude;
      this.hist.incrementCountAtIndex(((bucket + 1) << this.#halfMagnitude) + (us >>> bucket) - this.#halfCount);
      return;
    }
    this.#recordRare(ms, us);
  }

  /** Longer than ~35 minutes (or not a valid duration): rare, so the library's own path is fine. */
  #recordRare(ms: number, us: number): void {
    if (!(us >= 0)) return; // NaN or negative: not a duration
    this.count++;
    this.sumMs += ms;
    if (ms > this.maxMs) this.maxMs = ms;
    const clamped = Math.min(us, HIGHEST_TRACKABLE_US);
    this.hist.incrementCountAtIndex(this.hist.countsArrayIndex(clamped));
  }

  reset(): void {
    this.hist.reset();
    this.count = 0;
    this.sumMs = 0;
    this.maxMs = 0;
  }
}

/** The sum of several recorders' content: what a window (or the whole history) holds. */
export class DurationTotals {
  readonly hist: Float64Histogram;
  count = 0;
  sumMs = 0;
  maxMs = 0;

  constructor(layout: HistogramLayout) {
    this.hist = layout.newTotalHistogram();
  }

  add(r: DurationRecorder | DurationTotals): void {
    if (r.count === 0) return;
    this.hist.add(r.hist);
    this.count += r.count;
    this.sumMs += r.sumMs;
    if (r.maxMs > this.maxMs) this.maxMs = r.maxMs;
  }

  /** Adds `n` values of 0 (acquisitions served at once, known from counters rather than events). */
  addZeros(n: number): void {
    if (!(n > 0)) return;
    this.hist.recordValueWithCount(0, n);
    this.count += n;
  }

  reset(): void {
    this.hist.reset();
    this.count = 0;
    this.sumMs = 0;
    this.maxMs = 0;
  }

  snapshot(): HistogramSnapshot {
    const count = this.count;
    if (count === 0) return { count: 0, meanMs: 0, maxMs: 0, percentiles: { p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 } };
    const max = this.maxMs;
    const at = (p: number): number => Math.min(max, this.hist.getValueAtPercentile(p) / 1000);
    return {
      count,
      meanMs: this.sumMs / count,
      maxMs: max,
      percentiles: { p50: at(50), p90: at(90), p95: at(95), p99: at(99), p999: at(99.9) },
    };
  }
}

/**
 * Adds, for each bound (a counts-array index, ascending), the number of values of `hist` at or below
 * it to `out`. `total` is the number of values `hist` holds.
 */
export function accumulateAtOrBelow(hist: JsHistogram, total: number, boundIndexes: readonly number[], out: number[]): void {
  const n = boundIndexes.length;
  if (n === 0 || total === 0) return;
  const length = hist.countsArrayLength;
  let running = 0;
  let j = 0;
  for (let i = 0; i < length && j < n; i++) {
    running += hist.getCountAtIndex(i);
    while (j < n && (boundIndexes[j] as number) <= i) {
      out[j] = (out[j] as number) + running;
      j++;
    }
  }
  // Bounds beyond the last index hold everything.
  if (j < n) {
    for (; j < n; j++) out[j] = (out[j] as number) + total;
  }
}

/** The counts-array index of a bound given in ms (clamped to the trackable range). */
export function boundIndex(layout: HistogramLayout, hist: JsHistogram, boundMs: number): number {
  const us = Math.min(HIGHEST_TRACKABLE_US, Math.max(0, Math.round(boundMs * 1000)));
  return us <= 0x7fffffff ? layout.indexOf(us) : hist.countsArrayIndex(us);
}
