/**
 * Removing a partition gracefully: it stops matching requests and refuses new acquires at once, its
 * waiters are served or failed, and it is gone once every connection borrowed through it is back
 * (and, for an isolated partition, its pool is closed).
 */
import { failWaiter } from './acquisition.js';
import { schedule, syncReservation } from './admission.js';
import { PartitionError } from './errors.js';
import type { ManagerState } from './manager-state.js';
import type { PartitionState, PartitionWaiter } from './partition.js';

/**
 * @internal Starts draining `p` (see `PartitionManager.removePartition`); `failWaiters`: its waiters
 * fail at once with `PartitionError` (`'removed'`) instead of being served. Returns `p.drained`.
 */
export function startDraining<C>(m: ManagerState<C>, p: PartitionState<C>, failWaiters: boolean): Promise<void> {
  const id = p.id;
  p.state = 'draining';
  p.drained = new Promise<void>((resolve) => {
    p.resolveDrained = resolve;
  });
  m.registry.unroute(p);
  if (m.events.has('drain')) m.events.emit('drain', { partition: id });
  if (failWaiters) {
    const error = () => new PartitionError('removed', `Partition '${id}' was removed while waiting`, { partition: id });
    for (const w of [...p.queue.values()]) failWaiter(m, w as PartitionWaiter, error(), 'removed', 'failed');
  }
  syncReservation(m, p);
  schedule(m, p);
  return p.drained;
}

/** @internal Finishes removing draining `p` once nobody waits in it and nothing borrowed through it is out. */
export function checkDrained<C>(m: ManagerState<C>, p: PartitionState<C>): void {
  if (p.state !== 'draining' || p.queue.size > 0 || p.granted > 0) return;
  p.state = 'removed';
  syncReservation(m, p);
  m.budgetTimers.remove(p);
  m.ring.remove(p);
  m.registry.partitions.delete(p.id);
  const resolve = p.resolveDrained as () => void;
  const finish = (): void => {
    if (m.events.has('remove')) m.events.emit('remove', { partition: p.id });
    resolve();
  };
  if (p.isolated) {
    p.link.detach();
    void p.link.pool.close().then(finish);
  } else finish();
}
