import type { LimitChange } from './adaptive-events.js';

/** An adaptive limiter's state, as plain JSON (what a dashboard or an exporter reads). */
export interface AdaptiveStatistics {
  /** The pool (or `<pool>/<partition>`). */
  target: string;
  algorithm: string;
  /** `'running'` or `'stopped'`. */
  state: 'running' | 'stopped';
  /** The limit in force (whole connections). */
  limit: number;
  /** The algorithm's exact value (the limit is this, rounded with hysteresis). */
  estimate: number;
  /** The lowest and highest limit allowed now. */
  floor: number;
  ceiling: number;
  /** True during the warm-up period. */
  warmingUp: boolean;
  /** The no-load latency baseline, in ms (null before the first measured interval, or for AIMD). */
  baselineMs: number | null;
  /** The last judged interval's mean use time (ms), throughput (per second) and mean borrowed connections. */
  latencyMs: number | null;
  throughput: number | null;
  inflight: number | null;
  /** The last gradient (Gradient only). */
  gradient: number | null;
  /** Intervals judged, and changes of the limit up and down. */
  intervals: number;
  increases: number;
  decreases: number;
  /** The last change, or null. */
  lastChange: LimitChange | null;
}
