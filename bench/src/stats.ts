/**
 * The statistics the harness reports. Pure functions over plain arrays, so they are tested on their own.
 *
 * Benchmarks here are judged by medians and ratios, not means: a shared 2-core machine produces
 * outliers (a GC, another process waking up) that a mean would smear into every figure.
 */

function sorted(values: readonly number[]): number[] {
  for (const v of values) {
    if (typeof v !== 'number' || Number.isNaN(v)) throw new TypeError(`statistics need numbers, got ${String(v)}`);
  }
  return [...values].sort((a, b) => a - b);
}

/**
 * The `q`-quantile (0 ≤ q ≤ 1) with linear interpolation between order statistics (the "type 7"
 * definition, as in R and NumPy). Throws on an empty sample.
 */
export function quantile(values: readonly number[], q: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile must be between 0 and 1, got ${q}`);
  const s = sorted(values);
  if (s.length === 0) throw new RangeError('quantile of an empty sample');
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = s[lo] as number;
  const b = s[hi] as number;
  return a + (b - a) * (pos - lo);
}

/** The median (the mean of the two middle values for an even count). */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** How much a set of measurements of the same thing disagrees. */
export interface Spread {
  readonly min: number;
  readonly max: number;
  /** Interquartile range (q3 - q1). */
  readonly iqr: number;
  /** Median absolute deviation from the median. */
  readonly mad: number;
  /** (max - min) / median: the whole range as a fraction of the typical value. 0 for a single value. */
  readonly relRange: number;
  /** mad / median: a robust relative spread. */
  readonly relMad: number;
}

/** The {@link Spread} of a non-empty sample. */
export function spread(values: readonly number[]): Spread {
  const s = sorted(values);
  if (s.length === 0) throw new RangeError('spread of an empty sample');
  const m = median(s);
  const deviations = s.map((v) => Math.abs(v - m));
  const mad = median(deviations);
  const min = s[0] as number;
  const max = s[s.length - 1] as number;
  return {
    min,
    max,
    iqr: quantile(s, 0.75) - quantile(s, 0.25),
    mad,
    relRange: m === 0 ? 0 : (max - min) / m,
    relMad: m === 0 ? 0 : mad / m,
  };
}

/** A median with its spread. */
export interface Summary extends Spread {
  readonly median: number;
  readonly count: number;
}

/** Median and spread of a non-empty sample. */
export function summarize(values: readonly number[]): Summary {
  return { median: median(values), count: values.length, ...spread(values) };
}

/**
 * The ratio of two interleaved series, round by round: `numerator[i] / denominator[i]` for every round
 * both measured, summarised by its median. Pairing rounds cancels slow drift of the machine (both sides
 * of a pair ran seconds apart), which a ratio of two overall medians would not. Rounds where either
 * side is missing (NaN / undefined) or the denominator is 0 are skipped; `null` when none remain.
 */
export function pairedRatio(numerator: readonly (number | undefined)[], denominator: readonly (number | undefined)[]): Summary | null {
  const ratios: number[] = [];
  const n = Math.min(numerator.length, denominator.length);
  for (let i = 0; i < n; i++) {
    const a = numerator[i];
    const b = denominator[i];
    if (a === undefined || b === undefined || Number.isNaN(a) || Number.isNaN(b) || b === 0) continue;
    ratios.push(a / b);
  }
  return ratios.length === 0 ? null : summarize(ratios);
}
