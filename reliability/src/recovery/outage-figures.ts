import type { ConnectAttempt } from './connect-log.js';

/** Connect attempts a pool made during an outage, from the client side (see {@link outageFigures}). */
export interface OutageFigures {
  /** Attempts started between the outage's start and the server's return. */
  readonly attempts: number;
  /**
   * Attempts started before the first failed one ended: before the pool could know from a connect that
   * the server was gone (a pool that connects for every waiting caller makes one each here).
   */
  readonly firstRound: number;
  /** The most attempts started within any 100 ms (a sliding window) of the outage. */
  readonly maxPer100ms: number;
  /** The most attempts in flight at once during the outage (counted when one starts, itself included). */
  readonly peakInFlight: number;
  /** The shortest gap between two attempt starts during the outage, in ms (`Infinity` with fewer than two). */
  readonly minGapMs: number;
}

/**
 * Figures of the connect attempts started in `[from, to)` (monotonic ms): how many, how many before the
 * first failure came back, the most in any 100 ms (a sliding window) and in flight at once.
 */
export function outageFigures(all: readonly ConnectAttempt[], from: number, to: number): OutageFigures {
  const during = all.filter((a) => a.startedAt >= from && a.startedAt < to).sort((a, b) => a.startedAt - b.startedAt);
  let firstFailureEnd = Number.POSITIVE_INFINITY;
  for (const a of during) if (a.failed === true && a.endedAt !== undefined && a.endedAt < firstFailureEnd) firstFailureEnd = a.endedAt;
  const firstRound = during.filter((a) => a.startedAt < firstFailureEnd).length;
  let maxPer100ms = 0;
  let lo = 0;
  for (let hi = 0; hi < during.length; hi++) {
    const t = (during[hi] as ConnectAttempt).startedAt;
    while ((during[lo] as ConnectAttempt).startedAt <= t - 100) lo++;
    maxPer100ms = Math.max(maxPer100ms, hi - lo + 1);
  }
  let minGapMs = Number.POSITIVE_INFINITY;
  for (let i = 1; i < during.length; i++) {
    minGapMs = Math.min(minGapMs, (during[i] as ConnectAttempt).startedAt - (during[i - 1] as ConnectAttempt).startedAt);
  }
  return {
    attempts: during.length,
    firstRound,
    maxPer100ms,
    peakInFlight: during.reduce((n, a) => Math.max(n, a.inFlightAtStart), 0),
    minGapMs,
  };
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
