import { context } from '@opentelemetry/api';
import type { PartitionSource } from './sources.js';
import { epochNow, type WaitSpans } from './wait-spans.js';

type Acquire = (this: unknown, request: unknown, options?: { priority?: string }) => Promise<unknown>;

/**
 * Wait spans for `manager.acquire()` and `manager.use()` of a `@pool/partitioning` manager. A caller
 * may wait in its partition's queue before the manager calls `pool.acquire()` for it, and that call is
 * then made from whichever task freed the room: only the manager's own `acquire()` runs in the
 * caller's context. So the method is wrapped on this one manager object (as OpenTelemetry's
 * instrumentations wrap a library's methods), and the span covers the whole wait, partition queue
 * included, under the caller's span. Returns the function that restores the method.
 */
export function traceManagerAcquires(manager: PartitionSource, spans: WaitSpans): () => void {
  const target = manager as unknown as { acquire: Acquire };
  const hadOwn = Object.hasOwn(target, 'acquire');
  const original = target.acquire;
  const poolName = manager.pool.name;
  const wrapped: Acquire = function (this: unknown, request, options) {
    const parent = context.active();
    const startedAt = epochNow();
    const promise = original.call(this, request, options);
    const priority = typeof options === 'object' && options !== null ? options.priority : undefined;
    promise.then(
      (conn) => {
        const c = conn as { poolName?: string; context?: { partition?: unknown } };
        const partition = typeof c.context?.partition === 'string' ? c.context.partition : undefined;
        spans.record({ pool: c.poolName ?? poolName, parent, startedAt, endedAt: epochNow(), priority, partition, error: undefined });
      },
      (error: unknown) => {
        const p = typeof error === 'object' && error !== null ? (error as { partition?: unknown }).partition : undefined;
        const partition = typeof p === 'string' ? p : undefined;
        spans.record({ pool: poolName, parent, startedAt, endedAt: epochNow(), priority, partition, error });
      },
    );
    return promise;
  };
  target.acquire = wrapped;
  return () => {
    if (target.acquire !== wrapped) return;
    if (hadOwn) target.acquire = original;
    else delete (target as { acquire?: Acquire }).acquire;
  };
}
