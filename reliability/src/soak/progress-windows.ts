/**
 * Throughput per window of a soak: how many acquires were served in each `windowMs`. A pool that stops
 * serving (wedged, deadlocked, suspended for good) shows as windows far below the first one, which a
 * total such as `served > 0` never shows.
 */
export class ProgressWindows {
  /** Served acquires of each finished window, in order. */
  readonly served: number[] = [];
  #current = 0;

  constructor(readonly windowMs: number) {
    if (!Number.isFinite(windowMs) || windowMs < 1) throw new RangeError(`windowMs: ${windowMs} must be a number of ms ≥ 1`);
  }

  /** One acquire was served. */
  record(): void {
    this.#current++;
  }

  /** Closes the current window (called every `windowMs`). */
  roll(): void {
    this.served.push(this.#current);
    this.#current = 0;
  }
}

/**
 * Why the windows show a stall (empty when they do not): every window after the first must serve at
 * least `minFraction` of the first window's acquires. A soak shorter than two windows has nothing to
 * compare and passes this check.
 */
export function progressFailures(served: readonly number[], windowMs: number, minFraction: number): string[] {
  const first = served[0];
  if (first === undefined) return [];
  if (first === 0) return [`no acquire was served in the first ${windowMs} ms window`];
  const floor = first * minFraction;
  const out: string[] = [];
  for (let i = 1; i < served.length; i++) {
    const n = served[i] as number;
    if (n < floor) {
      out.push(
        `window ${i + 1} (${(i * windowMs) / 1000}-${((i + 1) * windowMs) / 1000} s) served ${n}, below ${Math.round(minFraction * 100)}% of the first window's ${first}`,
      );
    }
  }
  return out;
}
