import { DESTROY_REASONS, type DestroyReason } from './events.js';
import type { PoolSize, PoolStatistics } from './statistics.js';

function emptyReasons(): Record<DestroyReason, number> {
  const out = {} as Record<DestroyReason, number>;
  for (const r of DESTROY_REASONS) out[r] = 0;
  return out;
}

/**
 * @internal The pool's counters since it was created: plain numbers bumped in place (no allocation on
 * the hot path), turned into a {@link PoolStatistics} snapshot on demand.
 */
export class PoolCounters {
  created = 0;
  destroyed = 0;
  readonly destroyedByReason = emptyReasons();
  createFailures = 0;
  fatalCreateFailures = 0;
  acquired = 0;
  released = 0;
  releasedWithError = 0;
  reclaimed = 0;
  acquireFailures = 0;
  timeouts = 0;
  rejected = 0;
  aborted = 0;
  waited = 0;
  validations = 0;
  validationFailures = 0;
  resets = 0;
  resetFailures = 0;
  leaks = 0;
  errors = 0;
  totalWaitMs = 0;
  maxWaitMs = 0;
  totalCreateMs = 0;

  /** Records a successful acquisition after a wait of `waitMs` (0: served at once). */
  recordAcquired(waitMs: number): void {
    this.acquired++;
    if (waitMs > 0) {
      this.totalWaitMs += waitMs;
      if (waitMs > this.maxWaitMs) this.maxWaitMs = waitMs;
    }
  }

  /** The counters with the pool's current sizes and state. */
  snapshot(name: string, size: PoolSize, suspended: boolean, state: PoolStatistics['state']): PoolStatistics {
    const attempts = this.acquired + this.acquireFailures;
    return {
      name,
      connectionsCreated: this.created,
      connectionsDestroyed: this.destroyed,
      destroyedByReason: { ...this.destroyedByReason },
      createFailures: this.createFailures,
      fatalCreateFailures: this.fatalCreateFailures,
      acquired: this.acquired,
      released: this.released,
      releasedWithError: this.releasedWithError,
      reclaimed: this.reclaimed,
      acquireFailures: this.acquireFailures,
      timeouts: this.timeouts,
      rejected: this.rejected,
      aborted: this.aborted,
      waited: this.waited,
      validations: this.validations,
      validationFailures: this.validationFailures,
      resets: this.resets,
      resetFailures: this.resetFailures,
      leaksDetected: this.leaks,
      errors: this.errors,
      activeConnections: size.active,
      idleConnections: size.idle,
      totalConnections: size.total,
      pendingCreates: size.pending,
      waiting: size.waiting,
      successRate: attempts === 0 ? 1 : this.acquired / attempts,
      averageAcquireTimeMs: this.acquired === 0 ? 0 : this.totalWaitMs / this.acquired,
      maxAcquireTimeMs: this.maxWaitMs,
      averageCreateTimeMs: this.created === 0 ? 0 : this.totalCreateMs / this.created,
      suspended,
      state,
    };
  }
}
