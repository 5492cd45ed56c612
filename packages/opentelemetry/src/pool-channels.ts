import diagnostics from 'node:diagnostics_channel';
import type { Context } from '@opentelemetry/api';
import type { ConnectionPool } from '@pool/core';

type Pool = ConnectionPool<unknown>;

/** Where and when an acquire was called: the wait span's parent. */
export interface AcquireStart {
  parent: Context;
}

/** What the acquire subscription reports. */
export interface AcquireObserver {
  /** An acquire was called (synchronously, in the caller's context). */
  started(pool: Pool): AcquireStart | undefined;
  /** It was served after `waitMs` with `connection` (a `PooledConnection`). */
  acquired(
    pool: Pool,
    connection: object,
    waitMs: number,
    start: AcquireStart | undefined,
    priority: string | undefined,
    callerContext: unknown,
  ): void;
  /** It failed after `waitMs`. */
  failed(
    pool: Pool,
    error: unknown,
    waitMs: number,
    start: AcquireStart | undefined,
    priority: string | undefined,
    callerContext: unknown,
  ): void;
}

/** Subscribes to `@pool/core`'s acquire tracing channel; returns the function that unsubscribes. */
export function subscribeAcquires(observer: AcquireObserver): () => void {
  const kStart = Symbol('acquireStart');
  type Payload = {
    pool: Pool;
    priority?: string;
    context?: unknown;
    waitMs?: number;
    connection?: object;
    error?: unknown;
    [kStart]?: AcquireStart | undefined;
  };
  const acquire = diagnostics.tracingChannel<unknown, Payload>('pool:acquire');
  const handlers = {
    start(p: Payload) {
      p[kStart] = observer.started(p.pool);
    },
    end() {},
    asyncStart(p: Payload) {
      if (p.error === undefined && p.connection !== undefined) {
        observer.acquired(p.pool, p.connection, p.waitMs ?? 0, p[kStart], p.priority, p.context);
      }
    },
    asyncEnd() {},
    error(p: Payload) {
      observer.failed(p.pool, p.error, p.waitMs ?? 0, p[kStart], p.priority, p.context);
    },
  };
  acquire.subscribe(handlers);
  return () => acquire.unsubscribe(handlers);
}

/** Subscribes to `@pool/core`'s release channel: `fn(pool, connection, holdMs)` for every borrow that ends. */
export function subscribeReleases(fn: (pool: Pool, connection: object, holdMs: number) => void): () => void {
  const listener = (message: unknown) => {
    const p = message as { pool: Pool; connection: object; holdMs: number };
    fn(p.pool, p.connection, p.holdMs);
  };
  diagnostics.subscribe('pool:release', listener);
  return () => diagnostics.unsubscribe('pool:release', listener);
}

/** Subscribes to `@pool/core`'s create channel: `fn(pool, durationMs)` for every connection opened. */
export function subscribeCreates(fn: (pool: Pool, durationMs: number) => void): () => void {
  const listener = (message: unknown) => {
    const p = message as { pool: Pool; durationMs: number; error?: unknown };
    if (p.error === undefined) fn(p.pool, p.durationMs);
  };
  diagnostics.subscribe('pool:create', listener);
  return () => diagnostics.unsubscribe('pool:create', listener);
}
