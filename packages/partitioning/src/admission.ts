/**
 * Admission: when a partition may start one more acquisition. A partition holds at most
 * `maxConnections`; the shared pool's `maxSize` is the shared capacity, of which every partition's
 * unused `minConnections` stay reserved for it; capacity beyond the reservations goes to waiting
 * partitions round robin; budgets hold a partition's queue until they refill. Serving a queue is
 * deferred to one microtask flush per burst of changes.
 */
import { InvalidConfigError, now } from '@pool/core';
import { failWaiter, grant } from './acquisition.js';
import { type BudgetLimit, PartitionLimitError } from './errors.js';
import type { ManagerState } from './manager-state.js';
import type { PartitionState, PartitionWaiter } from './partition.js';
import { checkDrained } from './partition-removal.js';
import type { BlockReason } from './statistics.js';

/** @internal True when `reason` is one of the budgets (which refill with time or releases). */
export function blockedIsBudget(reason: BlockReason | null): reason is BudgetLimit {
  return reason === 'cpuLimitMs' || reason === 'ioLimit' || reason === 'memoryLimitBytes';
}

/** Capacity of the shared pool not held by partitions and not reserved for them. */
function sharedFree<C>(m: ManagerState<C>): number {
  return m.pool.config.maxSize - m.sharedGranted - m.reservedIdle;
}

/** @internal Why `p` cannot start one more acquisition now, or null. `viaRing`: it is being served from the ring. */
export function blockReason<C>(m: ManagerState<C>, p: PartitionState<C>, viaRing: boolean): BlockReason | null {
  if (p.granted >= p.limits.maxConnections) return 'maxConnections';
  if (p.isolated && p.granted >= p.link.pool.config.maxSize) return 'maxConnections';
  const cpu = p.limits.cpuLimitMs;
  if (p.io !== null || cpu !== null) {
    const t = now();
    if (p.io !== null && !p.io.available(t)) return 'ioLimit';
    if (cpu !== null && p.cpu.used(t) >= cpu) return 'cpuLimitMs';
  }
  const memory = p.limits.memoryLimitBytes;
  if (memory !== null && p.memoryUsed + p.memoryEstimate() > memory) return 'memoryLimitBytes';
  if (p.isolated || p.granted < p.effectiveMin()) return null;
  if (sharedFree(m) <= 0) return 'sharedCapacity';
  // Partitions already waiting for shared capacity go first (no barging), in round-robin order.
  if (!viaRing && m.ring.size > 0 && m.ring.head !== p) return 'sharedCapacity';
  return null;
}

/** @internal Records what holds `p`'s queue back: ring membership, budget timer, and fail-fast of doomed waiters. */
export function setBlocked<C>(m: ManagerState<C>, p: PartitionState<C>, reason: BlockReason | null): void {
  if (p.queue.size === 0) reason = null;
  p.blockedOn = reason;
  if (reason === 'sharedCapacity') m.ring.push(p);
  else m.ring.remove(p);
  m.budgetTimers.remove(p);
  p.wakeAt = Number.POSITIVE_INFINITY;
  p.wakeCertain = false;
  if (!blockedIsBudget(reason)) return;
  const t = now();
  if (reason === 'ioLimit') {
    p.wakeAt = t + (p.io?.delayMs(t) ?? 0);
    p.wakeCertain = true;
  } else if (reason === 'cpuLimitMs') {
    const delay = p.cpu.delayUntilBelow(p.limits.cpuLimitMs ?? Number.POSITIVE_INFINITY, t);
    p.wakeAt = t + delay;
    // With connections still held, a release makes room sooner than predicted: only an idle partition's refill time is certain.
    p.wakeCertain = p.cpu.active === 0;
  } else {
    // Memory is freed by releases only; with nothing held or being acquired it will never fit.
    p.wakeCertain = p.granted === 0;
  }
  if (Number.isFinite(p.wakeAt)) m.budgetTimers.add(p, Math.max(0, p.wakeAt - t), t);
  if (!p.wakeCertain) return;
  const doomed: PartitionWaiter[] = [];
  for (const w of p.queue.values()) {
    if ((w as PartitionWaiter).deadline >= p.wakeAt) break;
    doomed.push(w as PartitionWaiter);
  }
  for (const w of doomed) failWaiter(m, w, limitError(p, reason), reason, 'failed');
}

/** @internal The `PartitionLimitError` for `p` being over `limit` now, with its expected refill time when known. */
export function limitError<C>(p: PartitionState<C>, limit: BudgetLimit): PartitionLimitError {
  const t = now();
  if (limit === 'ioLimit') {
    return new PartitionLimitError({
      partition: p.id,
      limit,
      max: p.limits.ioLimit ?? 0,
      used: p.io?.used(t) ?? 0,
      retryAfterMs: p.io?.delayMs(t) ?? 0,
    });
  }
  if (limit === 'cpuLimitMs') {
    const max = p.limits.cpuLimitMs ?? 0;
    const delay = p.cpu.delayUntilBelow(max, t);
    return new PartitionLimitError({
      partition: p.id,
      limit,
      max,
      used: p.cpu.used(t),
      retryAfterMs: p.cpu.active === 0 && Number.isFinite(delay) ? delay : null,
    });
  }
  return new PartitionLimitError({ partition: p.id, limit, max: p.limits.memoryLimitBytes ?? 0, used: p.memoryUsed, retryAfterMs: null });
}

/** Serves `p`'s queue as far as its own state allows; records what stops it. */
function serveQueue<C>(m: ManagerState<C>, p: PartitionState<C>): void {
  while (p.queue.size > 0) {
    const reason = blockReason(m, p, false);
    if (reason !== null) {
      setBlocked(m, p, reason);
      return;
    }
    grant(m, p, p.queue.dequeue() as PartitionWaiter);
  }
  setBlocked(m, p, null);
}

/** Hands free shared capacity to partitions waiting for it, one connection per partition per turn. */
function pump<C>(m: ManagerState<C>): void {
  while (m.ring.head !== null && sharedFree(m) > 0) {
    const p = m.ring.head;
    const reason = p.queue.size === 0 ? null : blockReason(m, p, true);
    if (p.queue.size === 0 || reason !== null) {
      setBlocked(m, p, reason);
      if (reason === 'sharedCapacity') return; // cannot happen while capacity is free; never spin on it
      continue;
    }
    m.ring.remove(p);
    grant(m, p, p.queue.dequeue() as PartitionWaiter);
    if (p.queue.size === 0) setBlocked(m, p, null);
    else {
      const next = blockReason(m, p, false);
      if (next === null) serveQueue(m, p);
      else setBlocked(m, p, next);
    }
  }
}

/** @internal Keeps `p.reservedIdle` and the manager's total of unused reservations in step. */
export function syncReservation<C>(m: ManagerState<C>, p: PartitionState<C>): void {
  const idle = Math.max(0, p.effectiveMin() - p.granted);
  if (!p.isolated) m.reservedIdle += idle - p.reservedIdle;
  p.reservedIdle = idle;
}

/**
 * @internal Throws `InvalidConfigError` unless the shared pool's `maxSize` holds the active shared
 * partitions' minimums plus `minConnections` (for a new partition, or for `replacing`'s new limits).
 */
export function checkReservations<C>(m: ManagerState<C>, minConnections: number, replacing: PartitionState<C> | null): void {
  let reserved = 0;
  for (const q of m.registry.partitions.values())
    if (!q.isolated && q !== replacing && q.state === 'active') reserved += q.limits.minConnections;
  const max = m.pool.config.maxSize;
  if (reserved + minConnections > max) {
    throw new InvalidConfigError(
      'limits.minConnections',
      minConnections,
      `the pool's maxSize (${max}) cannot hold it: other partitions already reserve ${reserved} connections`,
    );
  }
}

/** @internal Capacity was freed or limits changed for `p`: serve what can be served, once the current call stack is done. */
export function schedule<C>(m: ManagerState<C>, p: PartitionState<C>): void {
  m.dirty.add(p);
  if (m.flushScheduled) return;
  m.flushScheduled = true;
  queueMicrotask(() => flush(m));
}

/**
 * @internal `p` gave a connection back (or never got it). That can only help `p`'s own queue (its cap
 * and budgets) and partitions waiting for shared capacity; with neither, there is nothing to do.
 */
export function freed<C>(m: ManagerState<C>, p: PartitionState<C>): void {
  if (p.queue.size > 0 || p.state !== 'active' || m.ring.head !== null) schedule(m, p);
}

function flush<C>(m: ManagerState<C>): void {
  m.flushScheduled = false;
  for (const p of m.dirty) {
    m.dirty.delete(p);
    if (p.state === 'removed') continue;
    serveQueue(m, p);
    checkDrained(m, p);
  }
  pump(m);
}

/** @internal The budget `p`'s queue waits for is expected to have refilled (its budget timer fired). */
export function budgetRefilled<C>(m: ManagerState<C>, p: PartitionState<C>): void {
  p.wakeAt = Number.POSITIVE_INFINITY;
  schedule(m, p);
}
