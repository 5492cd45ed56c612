import { AcquireAbortedError, ConnectionTimeoutError, now, OperationTimeoutError, type PoolError } from '@pool/core';
import { deliver, failWaiter } from './acquisition.js';
import { PartitionError } from './errors.js';
import type { ManagerState } from './manager-state.js';
import type { Grant, PartitionState, PartitionWaiter, PrepareHook } from './partition.js';
import type { RejectionReason } from './statistics.js';

/**
 * @internal Runs `p`'s `prepare` hook on the connection of `grant` before delivering it to `w`: within
 * `w`'s deadline, aborted with `w`'s signal or when the pool takes the connection back. On success the
 * connection is labelled with `p`'s label and delivered; otherwise it is destroyed (its state is
 * unknown) and `w` fails.
 */
export function runPrepare<C>(m: ManagerState<C>, p: PartitionState<C>, w: PartitionWaiter, grant: Grant<C>): void {
  const conn = grant.handle;
  const prepare = p.prepare as PrepareHook<C>;
  const start = now();
  const remaining = Math.max(1, Math.ceil(w.deadline - start));
  const controller = new AbortController();
  let done = false;
  const finish = (error: PoolError | null, reason: RejectionReason): void => {
    if (done) return;
    done = true;
    grant.takenBack = undefined;
    clearTimeout(timer);
    if (w.signal !== undefined) w.signal.removeEventListener('abort', onAbort);
    p.acquiring--;
    p.prepared++;
    if (error === null && !conn.released) {
      try {
        conn.label = p.label ?? undefined;
      } catch {
        // The pool took the connection back meanwhile: fall through to the failure below.
      }
    }
    if (error === null && !conn.released) {
      p.totalPrepareMs += now() - start;
      if (w.settled) conn.release();
      else deliver(m, p, w, grant, true);
      return;
    }
    p.prepareFailures++;
    const failure =
      error ?? new PartitionError('prepare', `The connection was taken back while partition '${p.id}' prepared it`, { partition: p.id });
    if (!conn.released) void conn.destroy(failure);
    if (!w.settled) failWaiter(m, w, failure, reason, 'failed');
  };
  const timer = setTimeout(() => {
    const cause = new OperationTimeoutError('prepare', remaining);
    controller.abort(cause);
    finish(new ConnectionTimeoutError(w.timeoutMs, cause), 'timeout');
  }, remaining);
  const onAbort = (): void => {
    controller.abort(w.signal?.reason);
    finish(new AcquireAbortedError(w.signal?.reason), 'aborted');
  };
  // The pool ended the borrow (reclaim, a forced close) while the hook ran: stop waiting for it.
  grant.takenBack = () => {
    controller.abort(
      new PartitionError('prepare', `The pool took the connection back while partition '${p.id}' prepared it`, { partition: p.id }),
    );
    finish(null, 'pool');
  };
  if (w.signal !== undefined) {
    if (w.signal.aborted) {
      queueMicrotask(onAbort);
      return;
    }
    w.signal.addEventListener('abort', onAbort, { once: true });
  }
  let pending: Promise<void>;
  try {
    pending = Promise.resolve(prepare(conn.connection, p.info(), { signal: controller.signal }));
  } catch (error) {
    pending = Promise.reject(error);
  }
  pending.then(
    () => finish(null, 'prepare'),
    (error: unknown) =>
      finish(new PartitionError('prepare', `The prepare hook of partition '${p.id}' failed`, { partition: p.id, cause: error }), 'prepare'),
  );
}
