/**
 * The return path: the manager follows the pools its partitions draw from (the shared pool, and each
 * isolated partition's own). Every end of a borrow made through a partition arrives as the pool's
 * `release` event, also one the pool ended itself (reclaim, forced close); a closed pool fails the
 * partitions' waiters; a resized one lets them try again.
 */
import { ConnectionPool, now, PoolClosedError, type PoolConfigOptions, type PooledConnection } from '@pool/core';
import { failWaiter } from './acquisition.js';
import { freed, schedule, syncReservation } from './admission.js';
import type { PartitionLimits } from './limits.js';
import type { IsolatedPoolOptions } from './manager-options.js';
import type { ManagerState } from './manager-state.js';
import type { Grant, PartitionWaiter, PoolLink } from './partition.js';

/** @internal Starts following `pool`'s `release`, `close` and `resize` events; `detach()` on the link stops it. */
export function followPool<C>(m: ManagerState<C>, pool: ConnectionPool<C>): PoolLink<C> {
  const grants = new Map<number, Grant<C>>();
  // Every end of a borrow arrives here, also one the pool ended itself (reclaim, forced close).
  const onRelease = (e: { connection: PooledConnection<C> }): void => {
    const grant = grants.get(e.connection.id);
    if (grant === undefined || grant.handle !== e.connection) return;
    grants.delete(e.connection.id);
    returned(m, grant);
    grant.takenBack?.();
  };
  const onClose = (): void => {
    for (const p of m.registry.partitions.values()) {
      if (p.link !== link) continue;
      const error = new PoolClosedError('The pool was closed while waiting');
      for (const w of [...p.queue.values()]) failWaiter(m, w as PartitionWaiter, error, 'closed', 'closed');
    }
  };
  const onResize = (): void => {
    // More (or less) shared capacity: let waiting partitions of this pool try again.
    for (const p of m.registry.partitions.values()) if (p.link === link && p.queue.size > 0) schedule(m, p);
  };
  pool.on('release', onRelease).on('close', onClose).on('resize', onResize);
  const link: PoolLink<C> = {
    pool,
    grants,
    lastMemoryCost: 0,
    detach: () => {
      pool.off('release', onRelease).off('close', onClose).off('resize', onResize);
      m.links.delete(link);
    },
  };
  m.links.add(link);
  return link;
}

/** A borrow made through a partition ended: frees its slot, memory and hold time, and counts the release. */
function returned<C>(m: ManagerState<C>, grant: Grant<C>): void {
  const t = now();
  const holdMs = t - grant.since;
  const p = grant.partition;
  p.granted--;
  if (!p.isolated) m.sharedGranted--;
  p.memoryUsed -= grant.memoryCost;
  p.cpu.change(-1, t);
  syncReservation(m, p);
  if (grant.delivered) {
    // A connection the caller never got (its preparation failed or was cut short) was not released by it.
    p.released++;
    p.totalHoldMs += holdMs;
    if (m.events.has('release')) m.events.emit('release', { partition: p.id, connectionId: grant.handle.id, holdMs });
  }
  freed(m, p);
}

/**
 * @internal Opens the pool of isolated partition `id` (sized by its `limits` unless `isolated.config`
 * says otherwise) and follows it. Its name defaults to `<manager>/<id>`.
 */
export function openIsolated<C>(m: ManagerState<C>, id: string, isolated: IsolatedPoolOptions<C>, limits: PartitionLimits): PoolLink<C> {
  const config: PoolConfigOptions = {
    minSize: limits.minConnections,
    maxSize: limits.maxConnections,
    acquireTimeoutMs: m.pool.config.acquireTimeoutMs,
    ...isolated.config,
    enablePartitioning: true,
  };
  const pool = ConnectionPool.open(config, isolated.factory, { name: `${m.name}/${id}`, ...isolated.options });
  return followPool(m, pool);
}
