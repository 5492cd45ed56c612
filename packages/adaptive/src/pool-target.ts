import type { ConnectionPool, PoolEventMap } from '@pool/core';
import type { BorrowObserver, LimitTarget } from './limit-target.js';

/** Marks the reasons the limiter gives `setLimit`, so its own `limit` events are told from others'. */
export const REASON_PREFIX = 'adaptive: ';

/** @internal A pool as a {@link LimitTarget}: `pool.setLimit()` within `[minSize, maxSize]`. */
export function poolTarget<C>(pool: ConnectionPool<C>): LimitTarget {
  return {
    name: pool.name,
    minLimit: () => Math.max(1, pool.config.minSize),
    maxLimit: () => pool.config.maxSize,
    borrowed: () => {
      const s = pool.size();
      return s.active;
    },
    waiting: () => pool.size().waiting,
    apply: (limit, reason) => {
      if (pool.state === 'open') pool.setLimit(limit, REASON_PREFIX + reason);
    },
    watch(observer: BorrowObserver) {
      const onAcquire = (e: PoolEventMap<C>['acquire']): void => observer.acquired(e.waitMs > 0);
      const onEnqueue = (): void => observer.enqueued();
      const onRelease = (e: PoolEventMap<C>['release']): void => observer.released(e.holdMs, e.error !== undefined && e.error !== null);
      const onLimit = (e: PoolEventMap<C>['limit']): void => {
        if (e.reason?.startsWith(REASON_PREFIX)) return;
        observer.changedElsewhere(pool.size().limit);
      };
      const onResize = (): void => observer.changedElsewhere(pool.size().limit);
      const onClose = (): void => observer.closed();
      pool.on('acquire', onAcquire).on('enqueue', onEnqueue).on('release', onRelease).on('limit', onLimit);
      pool.on('resize', onResize).on('close', onClose);
      return () => {
        pool.off('acquire', onAcquire).off('enqueue', onEnqueue).off('release', onRelease).off('limit', onLimit);
        pool.off('resize', onResize).off('close', onClose);
      };
    },
  };
}
