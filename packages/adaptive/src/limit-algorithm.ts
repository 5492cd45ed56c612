/**
 * What the limiter measured over one interval, handed to a {@link LimitAlgorithm}. Latencies are the
 * borrows' use time (from acquire to release, what the database and the caller's code took), not the
 * time callers waited for a connection.
 */
export interface IntervalSample {
  /** Length of the interval, in ms. */
  readonly durationMs: number;
  /** Borrows that ended during the interval. */
  readonly completed: number;
  /** Mean use time of those borrows, in ms. */
  readonly latencyMs: number;
  /** Borrows ended per second. */
  readonly throughput: number;
  /** Mean number of connections borrowed during the interval (use time summed over the interval, Little's law). */
  readonly inflight: number;
  /** The most connections borrowed at once during the interval. */
  readonly peakInflight: number;
  /** Callers that had to wait for a connection during the interval. */
  readonly waited: number;
  /** Callers waiting when the interval ended. */
  readonly waiting: number;
  /** Borrows that ended with an error (released with `{ error }`, or destroyed with one). */
  readonly errors: number;
}

/** Where the limit stands when an algorithm is asked for the next one. */
export interface LimitState {
  /** The limit's exact value (fractional: algorithms move it in small steps; the pool gets it rounded). */
  readonly limit: number;
  /** The whole number of connections the pool is allowed now. */
  readonly applied: number;
  /** The lowest limit allowed now (`minSize`, or the warm-up floor). */
  readonly floor: number;
  /** The highest limit allowed now (`maxSize`, a partition's `maxConnections`, a cluster lease). */
  readonly ceiling: number;
  /** True during warm-up (then `floor` may be the warm-up floor rather than `minSize`). */
  readonly warmingUp: boolean;
}

/** Why the limit moved (or stayed). */
export type LimitReason =
  /** The limiter started and set its initial limit. */
  | 'start'
  /** Callers waited while latency stayed flat: more connections bring more throughput. */
  | 'demand'
  /** Latency rose above the tolerated multiple of its baseline: more connections only queue in the database. */
  | 'latency'
  /** Borrows failed (AIMD's "drop"). */
  | 'errors'
  /** Nothing to change: no demand, or latency and demand balance. */
  | 'steady'
  /** The ceiling fell below the limit (the pool was resized, a partition's `maxConnections` or a cluster lease shrank). */
  | 'ceiling'
  /** The floor rose above the limit (`minSize` grew). */
  | 'floor'
  /** Someone else set the pool's limit (`setLimit`, `resize`); the limiter goes on from there. */
  | 'external';

/** An algorithm's answer for one interval. */
export interface LimitDecision {
  /** The next limit, exact (the limiter bounds the step and keeps it within floor and ceiling). */
  readonly limit: number;
  readonly reason: LimitReason;
  /** For Gradient: min(1, tolerance × baseline / latency), at least 0.5; null for algorithms without one. */
  readonly gradient: number | null;
}

/**
 * A concurrency-limit algorithm: given what one interval measured and where the limit stands, it
 * proposes the next limit. Implementations keep their own state (a latency baseline...). Built in:
 * {@link GradientLimit} (the default) and {@link AimdLimit}; any object of this shape works.
 */
export interface LimitAlgorithm {
  /** A short name for statistics and events (`'gradient'`, `'aimd'`). */
  readonly name: string;
  /** The no-load latency the algorithm compares with, in ms, or null (none yet, or none used). */
  readonly baselineMs: number | null;
  /** Proposes the next limit. Called once per interval that has enough samples. */
  update(sample: IntervalSample, state: LimitState): LimitDecision;
}

/** Keeps `value` within `[min, max]` (max wins when they cross). */
export function clamp(value: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, value));
}
