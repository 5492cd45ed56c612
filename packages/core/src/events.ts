import { CallbackError, type PoolError } from './errors.js';
import type { PooledConnection } from './pooled-connection.js';
import type { Waiter } from './waiter.js';

/** Why a connection was destroyed. */
export type DestroyReason =
  | 'idle'
  | 'lifetime'
  | 'usage'
  | 'errorRate'
  | 'validation'
  | 'reset'
  | 'replace'
  | 'broken'
  | 'destroyed'
  | 'evicted'
  | 'resize'
  | 'reclaimed'
  | 'closed';

/**
 * How a borrow ended: the borrower `released` or `destroyed` it, or the pool ended it (`reclaimed` by
 * `pool.reclaim`, `closed` by `close()` past its timeout).
 */
export type BorrowEnd = 'released' | 'destroyed' | 'reclaimed' | 'closed';

/** Every {@link DestroyReason}, in a stable order (for exporters). */
export const DESTROY_REASONS: readonly DestroyReason[] = Object.freeze([
  'idle',
  'lifetime',
  'usage',
  'errorRate',
  'validation',
  'reset',
  'replace',
  'broken',
  'destroyed',
  'evicted',
  'resize',
  'reclaimed',
  'closed',
]);

/**
 * The events a pool emits, with their payloads. All times are milliseconds. Listeners run
 * synchronously; one that throws is reported as an `error` event and never breaks the pool. An event
 * nobody listens to costs one property check.
 */
export interface PoolEventMap<C = unknown> {
  /** A connection was handed to a caller after waiting `waitMs` (0 when an idle one was free). */
  acquire: { connection: PooledConnection<C>; waitMs: number };
  /** A caller arrived with no connection free and started waiting. Emitted synchronously inside `acquire()`. */
  enqueue: { waiter: Waiter };
  /** An acquire failed (timeout, exhausted queue, abort, close, deadlock...); `error.code` says which. */
  acquireError: { error: PoolError; waitMs: number; context: unknown };
  /** An acquire timed out (also reported as `acquireError`). */
  timeout: { waitMs: number; timeoutMs: number; context: unknown };
  /**
   * A borrow ended after `holdMs` (NaN for a borrow that began before anyone listened): the borrower
   * released or destroyed it, or the pool ended it (`reclaim`, a forced close; `connection.released` is
   * then true and the connection is being destroyed); `ended` says which. `error` is what the borrower
   * reported, if anything.
   */
  release: { connection: PooledConnection<C>; holdMs: number; error: unknown; ended: BorrowEnd };
  /** A new connection opened in `durationMs`. */
  create: { connectionId: number; durationMs: number };
  /**
   * `factory.create()` failed (or timed out); the pool retries after `retryInMs`. `fatal`: the factory
   * says retrying cannot fix it (`classifyCreateError`), so the waiters only a new connection could
   * serve were failed at once.
   */
  createError: { error: unknown; durationMs: number; consecutiveFailures: number; retryInMs: number; fatal: boolean };
  /** A connection left the pool. */
  destroy: { connectionId: number; reason: DestroyReason; ageMs: number; borrows: number; error: unknown };
  /** A validation finished. `outcome` is `'skipped'` when fast validation trusted a recently used connection. */
  validation: { connectionId: number; outcome: 'valid' | 'invalid' | 'timeout' | 'error' | 'skipped'; durationMs: number };
  /** A borrow has been held longer than `leakDetectionThresholdMs`. Reported once per borrow. */
  leak: { connection: PooledConnection<C>; heldMs: number; stack: string | undefined };
  /** A problem the pool contained: a throwing listener or `factory.close`. */
  error: { error: PoolError };
  /** Background maintenance ran. */
  maintenance: { durationMs: number };
  /** `suspend()` / `resume()` / `resize()` took effect. */
  suspend: Record<string, never>;
  resume: Record<string, never>;
  resize: { minSize: number; maxSize: number };
  /** `close()` finished; nothing is open any more. */
  close: Record<string, never>;
}

/** The name of a pool event. */
export type PoolEventName = keyof PoolEventMap;

type Listener<P> = (payload: P) => void;

/** A small typed event emitter: copy-on-write listener arrays, contained listener errors. */
export class PoolEvents<M extends object> {
  readonly #listeners: { [K in keyof M]?: Listener<M[K]>[] } = Object.create(null);
  readonly #onListenerError: (error: PoolError) => void;

  constructor(onListenerError: (error: PoolError) => void) {
    this.#onListenerError = onListenerError;
  }

  /** True when someone listens to `name`: check it before building a payload. */
  has(name: keyof M): boolean {
    return this.#listeners[name] !== undefined;
  }

  count(name: keyof M): number {
    return this.#listeners[name]?.length ?? 0;
  }

  on<K extends keyof M>(name: K, listener: Listener<M[K]>): void {
    if (typeof listener !== 'function') {
      throw new TypeError(`listener for '${String(name)}' must be a function, got ${typeof listener}`);
    }
    this.#listeners[name] = [...(this.#listeners[name] ?? []), listener];
  }

  off<K extends keyof M>(name: K, listener: Listener<M[K]>): void {
    const list = this.#listeners[name];
    if (list === undefined) return;
    const i = list.indexOf(listener);
    if (i < 0) return;
    const next = list.slice(0, i).concat(list.slice(i + 1));
    if (next.length === 0) delete this.#listeners[name];
    else this.#listeners[name] = next;
  }

  emit<K extends keyof M>(name: K, payload: M[K]): void {
    const list = this.#listeners[name];
    if (list === undefined) return;
    for (const listener of list) {
      try {
        listener(payload);
      } catch (err) {
        if (name === 'error') {
          process.emitWarning(`A pool 'error' listener threw: ${String(err)}`, { code: 'POOL_LISTENER_ERROR' });
        } else {
          this.#onListenerError(new CallbackError('ERR_POOL_LISTENER', `A '${String(name)}' listener threw`, err));
        }
      }
    }
  }
}
