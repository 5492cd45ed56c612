/**
 * Acquisition: a caller's way from `acquire()` to a connection within its partition. It goes straight
 * to the pool when the partition's queue is empty and admission allows, or waits in the queue (bounded
 * by its deadline, abortable by its signal) until admission grants it; a granted waiter acquires from
 * the partition's pool, is prepared if the partition has a `prepare` hook, and is delivered.
 */
import {
  AcquireAbortedError,
  type AcquireOptions,
  CallbackError,
  ConnectionTimeoutError,
  now,
  PoolClosedError,
  PoolError,
  PoolExhaustedError,
  type PooledConnection,
  type QueuePriority,
  type WaiterExit,
} from '@pool/core';
import { blockedIsBudget, blockReason, freed, limitError, schedule, setBlocked, syncReservation } from './admission.js';
import { PartitionError } from './errors.js';
import type { PartitionContext } from './events.js';
import type { ManagerState } from './manager-state.js';
import { type Grant, type PartitionState, PartitionWaiter } from './partition.js';
import { runPrepare } from './prepare.js';
import type { PartitionRequest } from './routing.js';
import type { RejectionReason } from './statistics.js';

/**
 * @internal Acquires a connection from partition `p` (already routed; `options` already validated):
 * refuses at once, starts an acquisition, or queues the caller.
 */
export function acquireFrom<C>(
  m: ManagerState<C>,
  p: PartitionState<C>,
  request: PartitionRequest | null,
  options: AcquireOptions | undefined,
): Promise<PooledConnection<C>> {
  if (p.state !== 'active') {
    return refuse(m, p, new PartitionError('removed', `Partition '${p.id}' is being removed`, { partition: p.id }), 'removed');
  }
  if (m.closing !== undefined) return refuse(m, p, new PoolClosedError('The partition manager is closed'), 'closed');
  if (p.link.pool.state !== 'open') return refuse(m, p, new PoolClosedError(`Cannot acquire: the pool is ${p.link.pool.state}`), 'closed');
  const signal = options?.signal;
  if (signal?.aborted) return refuse(m, p, new AcquireAbortedError(signal.reason), 'aborted');
  const timeoutMs = options?.timeoutMs ?? p.link.pool.config.acquireTimeoutMs;
  const context: PartitionContext = { partition: p.id, request, context: options?.context };
  const w = new PartitionWaiter(
    m.host,
    ++m.nextWaiterId,
    (options?.priority ?? 'normal') as QueuePriority,
    now(),
    timeoutMs,
    signal,
    options?.label,
    context,
    p as PartitionState<unknown>,
  );
  // Callers already waiting in this partition go first: only an empty queue lets a caller straight through.
  const wasEmpty = p.queue.size === 0;
  const reason = wasEmpty ? blockReason(m, p, false) : p.blockedOn;
  if (wasEmpty && reason === null) {
    grant(m, p, w, w.enqueuedAt);
    return w.promise as Promise<PooledConnection<C>>;
  }
  if (p.queue.size >= p.limits.maxWaitQueue) {
    if (blockedIsBudget(reason)) return refuse(m, p, limitError(p, reason), reason);
    const error = new PoolExhaustedError({
      active: p.granted,
      max: p.limits.maxConnections,
      waiting: p.queue.size,
      partition: p.id,
      reason:
        p.limits.maxWaitQueue === 0
          ? 'its maxWaitQueue is 0 (callers never wait)'
          : `${p.queue.size} callers are already waiting, its queue is full (maxWaitQueue ${p.limits.maxWaitQueue})`,
    });
    return refuse(m, p, error, 'queueFull');
  }
  w.stage = 'queued';
  m.deadlines.add(w, timeoutMs, w.enqueuedAt);
  if (signal !== undefined) {
    w.onAbort = () => failWaiter(m, w, new AcquireAbortedError(signal.reason), 'aborted', 'abort');
    signal.addEventListener('abort', w.onAbort, { once: true });
  }
  p.queue.enqueue(w);
  if (wasEmpty) setBlocked(m, p, reason);
  else if (reason === null) schedule(m, p);
  else if (blockedIsBudget(reason) && p.wakeCertain && w.deadline < p.wakeAt) {
    failWaiter(m, w, limitError(p, reason), reason, 'failed');
  }
  return w.promise as Promise<PooledConnection<C>>;
}

/** Refuses an acquire of `p` before it waited: counts the rejection and emits `reject`. */
function refuse<C>(m: ManagerState<C>, p: PartitionState<C>, error: PoolError, reason: RejectionReason): Promise<never> {
  p.rejections[reason]++;
  if (m.events.has('reject')) m.events.emit('reject', { partition: p.id, reason, error, waitMs: 0 });
  return Promise.reject(error);
}

/** @internal Starts one acquisition for `w` from `p`'s pool; `p`'s limits were checked. */
export function grant<C>(m: ManagerState<C>, p: PartitionState<C>, w: PartitionWaiter, t = now()): void {
  p.granted++;
  p.acquiring++;
  if (!p.isolated) m.sharedGranted++;
  syncReservation(m, p);
  if (p.inRing) m.ring.remove(p);
  p.io?.take(t);
  w.memReserved = p.memoryEstimate();
  p.memoryUsed += w.memReserved;
  if (w.stage === 'queued') {
    m.deadlines.remove(w);
    if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
    w.onAbort = undefined;
  }
  w.stage = 'acquiring';
  m.inFlight.add(w);
  const remaining = w.deadline - t;
  if (remaining <= 0) {
    queueMicrotask(() => grantFailed(m, p, w, new ConnectionTimeoutError(w.timeoutMs)));
    return;
  }
  const options: AcquireOptions = { timeoutMs: Math.ceil(remaining), priority: w.priority, context: w.context };
  if (w.signal !== undefined) options.signal = w.signal;
  const label = p.label ?? w.label;
  if (label !== undefined) options.label = label;
  p.link.pool.acquire(options).then(
    (conn) => granted(m, p, w, conn),
    (error: unknown) => grantFailed(m, p, w, error),
  );
}

/** The pool handed a connection for `w`: records the borrow, then delivers it (after preparing it, when needed). */
function granted<C>(m: ManagerState<C>, p: PartitionState<C>, w: PartitionWaiter, conn: PooledConnection<C>): void {
  let cost = w.memReserved;
  if (typeof p.memoryCost === 'function') {
    try {
      cost = Math.max(0, Number(p.memoryCost(conn.connection)) || 0);
      p.link.lastMemoryCost = cost;
    } catch (error) {
      m.events.emit('error', { error: new CallbackError('ERR_POOL_FACTORY', 'connectionMemoryBytes() threw', error) });
    }
  }
  p.memoryUsed += cost - w.memReserved;
  const t = now();
  const grant: Grant<C> = { partition: p, handle: conn, memoryCost: cost, since: t, delivered: false, takenBack: undefined };
  p.link.grants.set(conn.id, grant);
  p.acquiring--;
  p.cpu.change(1, t);
  if (w.settled) {
    // The caller gave up meanwhile (manager closed, or failed by a detector): straight back to the pool.
    conn.release();
    return;
  }
  if (p.prepare === null) {
    deliver(m, p, w, grant, false, t);
    return;
  }
  if (conn.label === p.label) {
    p.prepareReused++;
    deliver(m, p, w, grant, false, t);
    return;
  }
  // Preparing is part of the acquire: it counts as acquiring, within the caller's deadline.
  p.acquiring++;
  runPrepare(m, p, w, grant);
}

/** @internal Hands the connection of `grant` to its caller `w`: the acquire succeeded. */
export function deliver<C>(
  m: ManagerState<C>,
  p: PartitionState<C>,
  w: PartitionWaiter,
  grant: Grant<C>,
  prepared: boolean,
  t = now(),
): void {
  const conn = grant.handle;
  grant.delivered = true;
  w.settled = true;
  m.inFlight.delete(w);
  const waitMs = t - w.enqueuedAt;
  p.acquired++;
  p.waits.record(waitMs);
  if (m.events.has('acquire')) m.events.emit('acquire', { partition: p.id, connection: conn, waitMs, prepared });
  w.resolve(conn as PooledConnection<never>);
}

/** The pool acquire for `w` failed: gives the slot back and fails `w` with the matching error. */
function grantFailed<C>(m: ManagerState<C>, p: PartitionState<C>, w: PartitionWaiter, error: unknown): void {
  p.acquiring--;
  p.granted--;
  if (!p.isolated) m.sharedGranted--;
  p.memoryUsed -= w.memReserved;
  syncReservation(m, p);
  freed(m, p);
  if (w.settled) return;
  let failure: PoolError;
  let reason: RejectionReason;
  if (error instanceof ConnectionTimeoutError) {
    failure = new ConnectionTimeoutError(w.timeoutMs, error.cause);
    reason = 'timeout';
  } else if (error instanceof AcquireAbortedError) {
    failure = error;
    reason = 'aborted';
  } else if (error instanceof PoolClosedError) {
    failure = error;
    reason = 'closed';
  } else {
    failure = error instanceof PoolError ? error : new PoolError('ERR_POOL_FACTORY', String(error), { cause: error });
    reason = 'pool';
  }
  failWaiter(m, w, failure, reason, 'failed');
}

/** @internal Fails `w` unless it settled; removes it from its queue and deadline. */
export function failWaiter<C>(
  m: ManagerState<C>,
  w: PartitionWaiter,
  error: PoolError,
  reason: RejectionReason,
  exit: WaiterExit,
): boolean {
  if (w.settled) return false;
  w.settled = true;
  m.inFlight.delete(w);
  const p = w.partition as unknown as PartitionState<C>;
  if (w.stage === 'queued') {
    m.deadlines.remove(w);
    if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
    p.queue.remove(w, exit);
    if (p.queue.size === 0) {
      setBlocked(m, p, null);
      if (p.state === 'draining') {
        syncReservation(m, p);
        schedule(m, p);
      }
    }
  }
  p.rejections[reason]++;
  if (reason === 'timeout') p.timeouts++;
  const waitMs = now() - w.enqueuedAt;
  if (m.events.has('reject')) m.events.emit('reject', { partition: p.id, reason, error, waitMs });
  w.reject(error);
  return true;
}

/** @internal `w`'s deadline passed while it waited: fails it with the budget that held it, or a timeout. */
export function expire<C>(m: ManagerState<C>, w: PartitionWaiter): void {
  if (w.settled) return;
  const p = w.partition as unknown as PartitionState<C>;
  const blocked = p.blockedOn;
  if (blockedIsBudget(blocked)) failWaiter(m, w, limitError(p, blocked), blocked, 'timeout');
  else failWaiter(m, w, new ConnectionTimeoutError(w.timeoutMs), 'timeout', 'timeout');
}
