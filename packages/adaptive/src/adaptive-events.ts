import type { PoolError } from '@pool/core';
import type { LimitReason } from './limit-algorithm.js';

/** A change of the adaptive limit: why, from what to what, and what was measured. */
export interface LimitChange {
  /** The pool (or `<pool>/<partition>`) whose limit changed. */
  readonly target: string;
  /** The algorithm's name (`'gradient'`, `'aimd'`...). */
  readonly algorithm: string;
  readonly reason: LimitReason;
  /** The limit before, and now (whole connections). */
  readonly previous: number;
  readonly limit: number;
  /** Mean use time of the borrows of the interval that decided it, in ms (null for a change not measured: start, ceiling). */
  readonly latencyMs: number | null;
  /** The algorithm's no-load latency baseline, in ms, if it keeps one. */
  readonly baselineMs: number | null;
  /** Borrows ended per second over that interval. */
  readonly throughput: number | null;
  /** Mean connections borrowed over that interval. */
  readonly inflight: number | null;
  /** Callers waiting when it was decided. */
  readonly waiting: number;
  /** Gradient's `tolerance × baseline / latency` (clamped to [0.5, 1]), or null. */
  readonly gradient: number | null;
  /** Epoch ms. */
  readonly at: number;
}

/** The events an {@link AdaptiveLimiter} emits. */
export interface AdaptiveEventMap {
  /** The limit changed (never emitted when it stays). */
  limitChanged: LimitChange;
  /** A listener or the `ceiling` function threw; the limiter carries on. Without a listener, a process warning (`POOL_ADAPTIVE_ERROR`). */
  error: { error: PoolError };
}
