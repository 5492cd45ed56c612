import { InvalidArgumentError } from '@pool/core';
import type { BorrowObserver, LimitTarget } from './limit-target.js';

/**
 * The part of `@pool/partitioning`'s `PartitionManager` the limiter uses (so this package does not
 * depend on it).
 */
export interface PartitionManagerLike {
  readonly name: string;
  partition(id: string):
    | {
        readonly state: 'active' | 'draining' | 'removed';
        readonly limits: { readonly maxConnections: number; readonly minConnections: number };
        statistics(): { active: number; acquiring: number; waiting: number };
      }
    | undefined;
  setLimits(id: string, limits: { maxConnections: number }): unknown;
  on(event: 'acquire', listener: (e: { partition: string; waitMs: number }) => void): unknown;
  on(event: 'release', listener: (e: { partition: string; holdMs: number }) => void): unknown;
  on(event: 'drain', listener: (e: { partition: string }) => void): unknown;
  off(event: 'acquire', listener: (e: { partition: string; waitMs: number }) => void): unknown;
  off(event: 'release', listener: (e: { partition: string; holdMs: number }) => void): unknown;
  off(event: 'drain', listener: (e: { partition: string }) => void): unknown;
}

/**
 * @internal A partition as a {@link LimitTarget}: its `maxConnections` is the limit, moved with
 * `manager.setLimits()` between its `minConnections` (at least 1) and the `maxConnections` it was
 * configured with. A `setLimits` of yours while the limiter runs sets that configured maximum.
 */
export function partitionTarget(manager: PartitionManagerLike, id: string): LimitTarget {
  if (
    typeof manager !== 'object' ||
    manager === null ||
    typeof manager.partition !== 'function' ||
    typeof manager.setLimits !== 'function'
  ) {
    throw new InvalidArgumentError('manager', manager, 'must be a PartitionManager (partition(id), setLimits(id, limits), on, off)');
  }
  const first = manager.partition(id);
  if (first === undefined || first.state !== 'active')
    throw new InvalidArgumentError('id', id, `must name an active partition of manager '${manager.name}'`);
  let partition = first;
  let configuredMax = first.limits.maxConnections;
  let lastApplied: number | null = null;
  const current = () => {
    const p = manager.partition(id);
    if (p !== undefined) partition = p;
    // A maxConnections we did not set is the owner's: it is the new ceiling.
    if (lastApplied !== null && partition.limits.maxConnections !== lastApplied) {
      configuredMax = partition.limits.maxConnections;
      lastApplied = null;
    }
    return partition;
  };
  return {
    name: `${manager.name}/${id}`,
    minLimit: () => Math.max(1, current().limits.minConnections),
    maxLimit: () => {
      current();
      return configuredMax;
    },
    borrowed: () => {
      const s = current().statistics();
      return s.active + s.acquiring;
    },
    waiting: () => current().statistics().waiting,
    apply: (limit) => {
      if (current().state !== 'active') return;
      lastApplied = limit;
      manager.setLimits(id, { maxConnections: limit });
    },
    watch(observer: BorrowObserver) {
      const onAcquire = (e: { partition: string; waitMs: number }): void => {
        if (e.partition === id) observer.acquired(e.waitMs > 0);
      };
      const onRelease = (e: { partition: string; holdMs: number }): void => {
        if (e.partition === id) observer.released(e.holdMs, false);
      };
      const onDrain = (e: { partition: string }): void => {
        if (e.partition === id) observer.closed();
      };
      manager.on('acquire', onAcquire);
      manager.on('release', onRelease);
      manager.on('drain', onDrain);
      return () => {
        manager.off('acquire', onAcquire);
        manager.off('release', onRelease);
        manager.off('drain', onDrain);
      };
    },
  };
}
