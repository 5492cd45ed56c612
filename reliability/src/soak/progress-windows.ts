/**
 * Throughput per window of a soak: how many acquires were served in each `windowMs`. A pool that stops
 * serving (wedged, deadlocked, suspended for good) shows as windows far below the first one, which a
 * total such as `served > 0` never shows.
 */
export class ProgressWindows {
  readonly #counts: number[] = [];

  /** `start`: when the load began (monotonic ms, `performance.now()`). */
  constructor(
    readonly windowMs: number,
    readonly start: number,
  ) {
    if (!Number.isFinite(windowMs) || windowMs < 1) throw new RangeError(`windowMs: ${windowMs} must be a number of ms ≥ 1`);
  }

  /**
   * One acquire was served at `t` (monotonic ms). Windows are cut by the clock, not by a timer, so a
   * busy event loop cannot shift them.
   */
  record(t: number = performance.now()): void {
    const i = Math.max(0, Math.floor((t - this.start) / this.windowMs));
    while (this.#counts.length <= i) this.#counts.push(0);
    this.#counts[i] = (this.#counts[i] as number) + 1;
  }

  /** Served acquires of each full window within the first `durationMs` (a last partial window is left out). */
  served(durationMs: number): number[] {
    const full = Math.floor(durationMs / this.windowMs);
    return Array.from({ length: full }, (_, i) => this.#counts[i] ?? 0);
  }

  /** Served acquires of the last window that has ended by `t`, or undefined before the first ends. */
  lastFull(t: number = performance.now()): number | undefined {
    const i = Math.floor((t - this.start) / this.windowMs) - 1;
    return i < 0 ? undefined : (this.#counts[i] ?? 0);
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
