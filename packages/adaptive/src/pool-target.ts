import type { ConnectionPool, PoolEventMap } from '@pool/core';
import type { BorrowObserver, LimitTarget } from './limit-target.js';

/** Marks the reasons the limiter gives `setLimit`, so its own `limit` events are told from others'. */
export const REASON_PREFIX = 'adaptive: ';

/** Use times sampled per interval; beyond them the pool stops timing borrows until the next interval. */
export const SAMPLES_PER_INTERVAL = 64;

/**
 * @internal A pool as a {@link LimitTarget}: `pool.setLimit()` within `[minSize, maxSize]`. Ended
 * borrows, errors and waits come from the pool's counters; the use time from the first
 * {@link SAMPLES_PER_INTERVAL} borrows that end in each interval, so at high rates the pool times only a
 * few borrows per interval (a `release` listener makes it read the clock on every acquire and release).
 */
export function poolTarget<C>(pool: ConnectionPool<C>): LimitTarget {
  let observer: BorrowObserver | null = null;
  let sampled = 0;
  let timing = false;
  const onRelease = (e: PoolEventMap<C>['release']): void => {
    if (!Number.isFinite(e.holdMs)) return;
    observer?.released(e.holdMs, e.error !== undefined && e.error !== null);
    if (++sampled >= SAMPLES_PER_INTERVAL) stopTiming();
  };
  const startTiming = (): void => {
    sampled = 0;
    if (timing || pool.state !== 'open') return;
    timing = true;
    pool.on('release', onRelease);
  };
  const stopTiming = (): void => {
    if (!timing) return;
    timing = false;
    pool.off('release', onRelease);
  };
  return {
    name: pool.name,
    minLimit: () => Math.max(1, pool.config.minSize),
    maxLimit: () => pool.config.maxSize,
    borrowed: () => pool.size().active,
    waiting: () => pool.size().waiting,
    counters: () => {
      const s = pool.statistics();
      return { released: s.released, releasedWithError: s.releasedWithError, waited: s.waited };
    },
    intervalStarted: startTiming,
    apply: (limit, reason) => {
      if (pool.state === 'open') pool.setLimit(limit, REASON_PREFIX + reason);
    },
    watch(o: BorrowObserver) {
      observer = o;
      const onLimit = (e: PoolEventMap<C>['limit']): void => {
        if (e.reason?.startsWith(REASON_PREFIX)) return;
        o.changedElsewhere(pool.size().limit);
      };
      const onResize = (): void => o.changedElsewhere(pool.size().limit);
      const onClose = (): void => o.closed();
      pool.on('limit', onLimit).on('resize', onResize).on('close', onClose);
      startTiming();
      return () => {
        stopTiming();
        observer = null;
        pool.off('limit', onLimit).off('resize', onResize).off('close', onClose);
      };
    },
  };
}
