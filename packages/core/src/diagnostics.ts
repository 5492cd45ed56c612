import { channel, tracingChannel } from 'node:diagnostics_channel';
import type { ValidationOutcome } from './connection-validator.js';
import type { PoolError } from './errors.js';
import type { BorrowEnd, DestroyReason } from './events.js';
import type { PooledConnection } from './pooled-connection.js';
import type { QueuePriority } from './queue-priority.js';

/**
 * The names of the `node:diagnostics_channel` channels every pool publishes on, for APM agents,
 * OpenTelemetry instrumentations and your own subscribers (as undici does). All are under the prefix
 * `pool:`; the payloads are documented with their types below and stay stable within a major version.
 *
 * - `PoolChannel.Acquire` (`'pool:acquire'`) is a `TracingChannel`: subscribe with
 *   `diagnostics_channel.tracingChannel(PoolChannel.Acquire).subscribe({ start, end, asyncStart, asyncEnd, error })`.
 *   Its context is an {@link AcquireTrace}. While it has a subscriber, every acquire in the process is
 *   traced (an `AsyncLocalStorage` scope and a promise reaction each: several times the cost of an
 *   uncontended acquire).
 * - `PoolChannel.Wait` (`'pool:wait'`) is a `TracingChannel` with the same context, published only for
 *   acquires that had to wait: what to subscribe to for slow waits, at no cost to acquires served at once.
 * - The others are plain channels: `diagnostics_channel.subscribe(PoolChannel.Release, (message) => ...)`.
 *
 * Nothing is built or published while a channel has no subscriber: a pool nobody watches pays one
 * flag check per channel it would publish on.
 *
 * @example
 * ```ts
 * import diagnostics_channel from 'node:diagnostics_channel';
 * import { PoolChannel, type AcquireTrace } from '@pool/core';
 *
 * diagnostics_channel.tracingChannel<unknown, AcquireTrace>(PoolChannel.Acquire).subscribe({
 *   start() {},
 *   end() {},
 *   asyncStart() {},
 *   asyncEnd(trace) {
 *     if (trace.waitMs !== undefined && trace.waitMs > 100) console.warn(`${trace.pool}: waited ${trace.waitMs} ms`);
 *   },
 *   error() {},
 * });
 * ```
 */
export const PoolChannel = Object.freeze({
  /** `TracingChannel` around every `acquire()` (and `use()`): {@link AcquireTrace}. */
  Acquire: 'pool:acquire',
  /**
   * `TracingChannel` around the acquires that had to wait (no idle connection could be lent at once):
   * {@link AcquireTrace}. Cheap to subscribe to: an acquire served at once publishes nothing. Its `start`
   * is published synchronously in the caller's context (read `AsyncLocalStorage` there; stores bound with
   * `bindStore` are not entered), then `end`; `asyncStart` / `asyncEnd` (after `error`) when the wait ends.
   */
  Wait: 'pool:wait',
  /** A `factory.create()` finished, successfully or not: {@link CreateMessage}. */
  Create: 'pool:create',
  /** A validation finished (or was skipped by fast validation): {@link ValidateMessage}. */
  Validate: 'pool:validate',
  /** A `factory.reset()` finished: {@link ResetMessage}. */
  Reset: 'pool:reset',
  /** A borrow ended: {@link ReleaseMessage}. */
  Release: 'pool:release',
  /** A connection left the pool: {@link DestroyMessage}. */
  Destroy: 'pool:destroy',
  /** A borrow was held past `leakDetectionThresholdMs`: {@link LeakMessage}. */
  Leak: 'pool:leak',
} as const);

/** The name of one of the pool's channels (see {@link PoolChannel}). */
export type PoolChannel = (typeof PoolChannel)[keyof typeof PoolChannel];

/**
 * The context object of the `pool:acquire` tracing channel. `start` and `end` see the request fields;
 * `asyncStart` / `asyncEnd` see the outcome too (`result`, `connectionId`, `waitMs`), and `error` (then
 * `asyncStart` / `asyncEnd`) sees `error` and `waitMs`. The same object travels through all five
 * events, so a subscriber may keep its own data on it (a span, say) under a key of its own.
 */
export interface AcquireTrace {
  /** The pool's name. */
  readonly pool: string;
  /** The acquire's priority (`'normal'` unless given). */
  readonly priority: QueuePriority;
  /** The acquire's timeout in ms (`timeoutMs`, or the pool's `acquireTimeoutMs`). */
  readonly timeoutMs: number;
  /** The acquire's `context` (a partition request carries its partition there), if any. */
  readonly context: unknown;
  /** The acquire's `label`, if any. */
  readonly label: string | undefined;
  /** `acquire({ failFast: true })`. */
  readonly failFast: boolean;
  /** The borrow, once served. */
  result?: PooledConnection<unknown>;
  /** The id of the connection served. */
  connectionId?: number;
  /** Milliseconds from the call to the outcome (served or failed). */
  waitMs?: number;
  /** Why the acquire failed (`error.code` says which). */
  error?: PoolError;
}

/** A message on `pool:create`. */
export interface CreateMessage {
  readonly pool: string;
  /** `'created'`, or `'failed'` (the factory threw, or `createTimeoutMs` passed). */
  readonly outcome: 'created' | 'failed';
  /** The new connection's id (undefined when it failed). */
  readonly connectionId: number | undefined;
  readonly durationMs: number;
  /** What `create()` threw (undefined when it succeeded). */
  readonly error: unknown;
  /** The factory called the error fatal (`classifyCreateError`): waiters were failed at once. */
  readonly fatal: boolean;
  /** Failures in a row so far (0 after a success). */
  readonly consecutiveFailures: number;
}

/** A message on `pool:validate`. */
export interface ValidateMessage {
  readonly pool: string;
  readonly connectionId: number;
  /** `'skipped'`: fast validation trusted a recently used connection. */
  readonly outcome: ValidationOutcome;
  readonly durationMs: number;
}

/** A message on `pool:reset`. */
export interface ResetMessage {
  readonly pool: string;
  readonly connectionId: number;
  /** `'reset'`, `'failed'` (it threw) or `'timeout'` (`resetTimeoutMs`); a failed reset destroys the connection. */
  readonly outcome: 'reset' | 'failed' | 'timeout';
  readonly durationMs: number;
  readonly error: unknown;
}

/** A message on `pool:release`. */
export interface ReleaseMessage {
  readonly pool: string;
  readonly connectionId: number;
  /** How long the borrow lasted (NaN for a borrow that began before anyone subscribed). */
  readonly holdMs: number;
  /** How it ended: released or destroyed by the borrower, reclaimed or closed by the pool. */
  readonly ended: BorrowEnd;
  /** The error the borrower reported, if any. */
  readonly error: unknown;
  /** The acquire's `context`, if any. */
  readonly context: unknown;
}

/** A message on `pool:destroy`. */
export interface DestroyMessage {
  readonly pool: string;
  readonly connectionId: number;
  readonly reason: DestroyReason;
  readonly ageMs: number;
  readonly borrows: number;
  readonly error: unknown;
}

/** A message on `pool:leak`. */
export interface LeakMessage {
  readonly pool: string;
  readonly connectionId: number;
  readonly heldMs: number;
  /** Where the borrow was acquired, with `captureStacks`. */
  readonly stack: string | undefined;
  /** The acquire's `context`, if any. */
  readonly context: unknown;
}

/** @internal The channels, created once. */
export const acquireChannel = tracingChannel<unknown, AcquireTrace>(PoolChannel.Acquire);
/** @internal */
export const createChannel = channel(PoolChannel.Create);
/** @internal */
export const validateChannel = channel(PoolChannel.Validate);
/** @internal */
export const resetChannel = channel(PoolChannel.Reset);
/** @internal */
export const releaseChannel = channel(PoolChannel.Release);
/** @internal */
export const destroyChannel = channel(PoolChannel.Destroy);
/** @internal */
export const leakChannel = channel(PoolChannel.Leak);

/** @internal */
export const waitChannel = tracingChannel<unknown, AcquireTrace>(PoolChannel.Wait);

const { start, end, asyncStart, asyncEnd, error: errorChannel } = acquireChannel;
const waitEvents = waitChannel;

/** @internal Whether anyone listens to any event of the wait tracing channel. */
export function waitTraced(): boolean {
  return (
    waitEvents.start.hasSubscribers ||
    waitEvents.asyncEnd.hasSubscribers ||
    waitEvents.error.hasSubscribers ||
    waitEvents.end.hasSubscribers ||
    waitEvents.asyncStart.hasSubscribers
  );
}

/**
 * @internal Publishes the wait of an acquire that was queued: `start` and `end` now (the caller's
 * context), then `asyncStart` / `asyncEnd` (after `error`) when `promise` settles, `waitMs` counted
 * from `t0`. Returns the promise the caller gets.
 */
export function traceWait<C>(
  trace: AcquireTrace,
  promise: Promise<PooledConnection<C>>,
  t0: number,
  clock: () => number,
): Promise<PooledConnection<C>> {
  waitEvents.start.publish(trace);
  waitEvents.end.publish(trace);
  return promise.then(
    (conn) => {
      trace.result = conn as PooledConnection<unknown>;
      trace.connectionId = conn.id;
      trace.waitMs = clock() - t0;
      waitEvents.asyncStart.publish(trace);
      waitEvents.asyncEnd.publish(trace);
      return conn;
    },
    (error: PoolError) => {
      trace.error = error;
      trace.waitMs = clock() - t0;
      waitEvents.error.publish(trace);
      waitEvents.asyncStart.publish(trace);
      waitEvents.asyncEnd.publish(trace);
      throw error;
    },
  );
}

/** @internal Whether anyone listens to any event of the acquire tracing channel. */
export function acquireTraced(): boolean {
  return start.hasSubscribers || asyncEnd.hasSubscribers || errorChannel.hasSubscribers || end.hasSubscribers || asyncStart.hasSubscribers;
}

/**
 * @internal Runs `acquire` as a traced operation: `start` (in whose stores the acquire runs, so an
 * `AsyncLocalStorage` bound to it is active), `end` when it returned its promise, then `asyncStart` /
 * `asyncEnd` with the outcome, after `error` when it failed.
 */
export function traceAcquire<C>(
  trace: AcquireTrace,
  acquire: () => Promise<PooledConnection<C>>,
  clock: () => number,
): Promise<PooledConnection<C>> {
  return start.runStores(trace, () => {
    const t0 = clock();
    let promise: Promise<PooledConnection<C>>;
    try {
      promise = acquire();
    } finally {
      end.publish(trace);
    }
    return promise.then(
      (conn) => {
        trace.result = conn as PooledConnection<unknown>;
        trace.connectionId = conn.id;
        trace.waitMs = clock() - t0;
        asyncStart.publish(trace);
        asyncEnd.publish(trace);
        return conn;
      },
      (error: PoolError) => {
        trace.error = error;
        trace.waitMs = clock() - t0;
        errorChannel.publish(trace);
        asyncStart.publish(trace);
        asyncEnd.publish(trace);
        throw error;
      },
    );
  });
}
