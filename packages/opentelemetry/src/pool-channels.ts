import diagnostics from 'node:diagnostics_channel';
import type { Context } from '@opentelemetry/api';
import { type AcquireTrace, type CreateMessage, PoolChannel, type ReleaseMessage } from '@pool/core';

/**
 * What this package keeps on an acquire's trace object (under a symbol of its own): the caller's
 * context when it called `acquire()`, the wait span's parent.
 */
export type AcquireStart = Context;

/** What the acquire subscription reports, by pool name. */
export interface AcquireObserver {
  /** An acquire was called (synchronously, in the caller's context). */
  started(trace: AcquireTrace): AcquireStart | undefined;
  /** It was served after `trace.waitMs`. */
  acquired(trace: AcquireTrace, start: AcquireStart | undefined): void;
  /** It failed (`trace.error`) after `trace.waitMs`. */
  failed(trace: AcquireTrace, start: AcquireStart | undefined): void;
}

const kStart: unique symbol = Symbol('@pool/opentelemetry.acquireStart');
type Traced = AcquireTrace & { [kStart]?: AcquireStart | undefined };

/**
 * Subscribes to `@pool/core`'s `pool:acquire` tracing channel; returns the function that unsubscribes.
 * While anyone subscribes, every `acquire()` in the process is traced by core (see `PoolChannel`).
 */
export function subscribeAcquires(observer: AcquireObserver): () => void {
  return subscribeTraces(PoolChannel.Acquire, observer);
}

/**
 * Subscribes to `@pool/core`'s `pool:wait` tracing channel: only the acquires that had to wait are
 * published there, so an acquire served at once costs nothing. Returns the function that unsubscribes.
 */
export function subscribeWaits(observer: AcquireObserver): () => void {
  return subscribeTraces(PoolChannel.Wait, observer);
}

function subscribeTraces(name: string, observer: AcquireObserver): () => void {
  const acquire = diagnostics.tracingChannel<unknown, Traced>(name);
  const handlers = {
    start(message: unknown) {
      const t = message as Traced;
      t[kStart] = observer.started(t);
    },
    end() {},
    asyncStart(message: unknown) {
      const t = message as Traced;
      if (t.error === undefined) observer.acquired(t, t[kStart]);
    },
    asyncEnd() {},
    error(message: unknown) {
      const t = message as Traced;
      observer.failed(t, t[kStart]);
    },
  };
  acquire.subscribe(handlers);
  return () => acquire.unsubscribe(handlers);
}

/**
 * Subscribes to `@pool/core`'s `pool:release` channel (while subscribed, pools time every borrow).
 * Returns the function that unsubscribes.
 */
export function subscribeReleases(fn: (m: ReleaseMessage) => void): () => void {
  const listener = (message: unknown) => fn(message as ReleaseMessage);
  diagnostics.subscribe(PoolChannel.Release, listener);
  return () => diagnostics.unsubscribe(PoolChannel.Release, listener);
}

/** Subscribes to `@pool/core`'s `pool:create` channel; returns the function that unsubscribes. */
export function subscribeCreates(fn: (m: CreateMessage) => void): () => void {
  const listener = (message: unknown) => fn(message as CreateMessage);
  diagnostics.subscribe(PoolChannel.Create, listener);
  return () => diagnostics.unsubscribe(PoolChannel.Create, listener);
}
