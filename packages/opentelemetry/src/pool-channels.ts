import diagnostics from 'node:diagnostics_channel';
import type { Context } from '@opentelemetry/api';
import type { ConnectionPool } from '@pool/core';

/** Where and when an acquire was called: the wait span's parent and start. */
export interface AcquireStart {
  parent: Context;
  startedAt: number;
}

/** What {@link subscribePoolChannels} reports to. */
export interface AcquireObserver {
  /** Whether to subscribe to the acquire channels at all. */
  readonly wantsAcquires: boolean;
  /** An acquire was called (synchronously, in the caller's context). */
  started(pool: ConnectionPool<unknown>): AcquireStart | undefined;
  acquired(
    pool: ConnectionPool<unknown>,
    waitMs: number,
    start: AcquireStart | undefined,
    priority: string | undefined,
    callerContext: unknown,
  ): void;
  failed(
    pool: ConnectionPool<unknown>,
    error: unknown,
    start: AcquireStart | undefined,
    priority: string | undefined,
    callerContext: unknown,
  ): void;
  released(pool: ConnectionPool<unknown>, holdMs: number): void;
  created(pool: ConnectionPool<unknown>, durationMs: number): void;
}

/** Subscribes to `@pool/core`'s diagnostics channels; returns the function that unsubscribes. */
export function subscribePoolChannels(observer: AcquireObserver): () => void {
  const undo: (() => void)[] = [];
  const kStart = Symbol('acquireStart');
  type AcquirePayload = {
    pool: ConnectionPool<unknown>;
    priority?: string;
    context?: unknown;
    waitMs?: number;
    error?: unknown;
    [kStart]?: AcquireStart | undefined;
  };
  if (observer.wantsAcquires) {
    const acquire = diagnostics.tracingChannel<unknown, AcquirePayload>('pool:acquire');
    const handlers = {
      start(p: AcquirePayload) {
        p[kStart] = observer.started(p.pool);
      },
      end() {},
      asyncStart(p: AcquirePayload) {
        if (p.error === undefined) observer.acquired(p.pool, p.waitMs ?? 0, p[kStart], p.priority, p.context);
      },
      asyncEnd() {},
      error(p: AcquirePayload) {
        observer.failed(p.pool, p.error, p[kStart], p.priority, p.context);
      },
    };
    acquire.subscribe(handlers);
    undo.push(() => acquire.unsubscribe(handlers));
  }
  const on = <P>(name: string, fn: (payload: P) => void) => {
    const listener = (message: unknown) => fn(message as P);
    diagnostics.subscribe(name, listener);
    undo.push(() => diagnostics.unsubscribe(name, listener));
  };
  on<{ pool: ConnectionPool<unknown>; holdMs: number }>('pool:release', (p) => observer.released(p.pool, p.holdMs));
  on<{ pool: ConnectionPool<unknown>; durationMs: number }>('pool:create', (p) => observer.created(p.pool, p.durationMs));
  return () => {
    for (const u of undo) u();
  };
}
