import { type DeadlineEntry, DeadlineQueue } from './deadline-queue.js';

/** The result of {@link runBounded}. */
export type BoundedResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly timedOut: boolean; readonly error: unknown };

/** The reason a bounded operation's signal aborts with. */
export class OperationTimeoutError extends Error {
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
  ) {
    super(`${operation} did not finish within ${timeoutMs} ms`);
    this.name = 'TimeoutError';
  }
}

/**
 * Builds an error without capturing a stack trace. For errors created in timer and abort callbacks,
 * whose stack shows only timer internals: capturing it costs more than everything else a timeout does.
 */
export function withoutStack<E>(make: () => E): E {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return make();
  } finally {
    Error.stackTraceLimit = limit;
  }
}

function ignoreBroken(): void {}

/** Options of {@link runBounded}. */
export interface BoundedOptions<T> {
  /** Keeps the deadline on this queue (one timer for many operations) instead of a timer of its own. */
  readonly scheduler?: DeadlineQueue<Expirable>;
  /** Exposed to the callback as `ctx.query` (validation). */
  readonly query?: string | undefined;
  /** Exposed to the callback as `ctx.markBroken` (creation). */
  readonly markBroken?: (error?: unknown) => void;
  /** Receives a value that arrived after the operation timed out or was aborted (to close it, say). */
  readonly onLate?: (value: T) => void;
  /** "Now" (`performance.now()`), when the caller just read it: saves a clock read. */
  readonly start?: number;
}

/** A deadline entry that knows what to do when it expires. */
export interface Expirable extends DeadlineEntry {
  expire(): void;
}

/**
 * A running bounded operation, and the context its callback receives. Its `signal` is created only
 * when read: most factory calls never look at it, and an `AbortController` costs more than the rest of
 * the bookkeeping.
 */
export class BoundedOperation<T> implements Expirable {
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  /** For validation: the query to run, if the validator chose one. */
  readonly query: string | undefined;
  /** For creation: tells the pool the connection broke on its own. */
  readonly markBroken: (error?: unknown) => void;
  #controller: AbortController | undefined = undefined;
  #reason: unknown = undefined;
  #settled = false;
  readonly #resolve: (result: BoundedResult<T>) => void;
  readonly #onLate: ((value: T) => void) | undefined;
  readonly #scheduler: DeadlineQueue<Expirable> | undefined;
  readonly #start: number | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined = undefined;

  /** @internal Created by {@link runBounded}. */
  constructor(
    readonly operation: string,
    readonly timeoutMs: number,
    resolve: (result: BoundedResult<T>) => void,
    options: BoundedOptions<T> | undefined,
  ) {
    this.#resolve = resolve;
    this.query = options?.query;
    this.markBroken = options?.markBroken ?? ignoreBroken;
    this.#onLate = options?.onLate;
    this.#scheduler = options?.scheduler;
    this.#start = options?.start;
  }

  /** Aborts when the operation times out or is abandoned. Created on first read. */
  get signal(): AbortSignal {
    let controller = this.#controller;
    if (controller === undefined) {
      controller = this.#controller = new AbortController();
      if (this.#reason !== undefined) controller.abort(this.#reason);
    }
    return controller.signal;
  }

  /** True once the operation finished, timed out or was abandoned. */
  get settled(): boolean {
    return this.#settled;
  }

  /** @internal */
  start(timeoutMs: number): void {
    const scheduler = this.#scheduler;
    if (scheduler !== undefined) {
      scheduler.add(this, timeoutMs, this.#start);
      return;
    }
    this.#timer = setTimeout(() => this.expire(), timeoutMs);
    this.#timer.unref?.();
  }

  /** @internal The callback finished. */
  finish(result: BoundedResult<T>): void {
    if (this.#settled) {
      if (result.ok) this.#onLate?.(result.value);
      return;
    }
    this.#settled = true;
    this.#unschedule();
    this.#resolve(result);
  }

  /** @internal The deadline passed. */
  expire(): void {
    this.abandon(
      withoutStack(() => new OperationTimeoutError(this.operation, this.timeoutMs)),
      true,
    );
  }

  /** Gives up on the operation now: its signal aborts with `reason`, and its result, if any, goes to `onLate`. */
  abandon(reason: unknown, timedOut = false): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#unschedule();
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#resolve({ ok: false, timedOut, error: reason });
  }

  #unschedule(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    else this.#scheduler?.remove(this);
  }
}

/**
 * A deadline queue for bounded operations and anything else {@link Expirable}: give it to
 * {@link runBounded} as `scheduler`. Its timer is unref'd.
 */
export function createOperationScheduler(): DeadlineQueue<Expirable> {
  return new DeadlineQueue<Expirable>((entry) => entry.expire(), { unref: true });
}

/**
 * Runs `fn` with a context whose `signal` aborts after `timeoutMs`, and settles by then whatever `fn`
 * does (a callback that ignores the signal and hangs is abandoned, not awaited). Never rejects: a throw
 * (synchronous or not) becomes `{ ok: false }`. Returns the promise of the result; `onStart` receives
 * the running operation (to abandon it early).
 */
export function runBounded<T>(
  operation: string,
  timeoutMs: number,
  fn: (ctx: BoundedOperation<T>) => Promise<T>,
  options?: BoundedOptions<T>,
  onStart?: (op: BoundedOperation<T>) => void,
): Promise<BoundedResult<T>> {
  return new Promise<BoundedResult<T>>((resolve) => {
    const op = new BoundedOperation<T>(operation, timeoutMs, resolve, options);
    op.start(timeoutMs);
    onStart?.(op);
    let promise: Promise<T>;
    try {
      promise = Promise.resolve(fn(op));
    } catch (error) {
      op.finish({ ok: false, timedOut: false, error });
      return;
    }
    promise.then(
      (value) => op.finish({ ok: true, value }),
      (error: unknown) => op.finish({ ok: false, timedOut: false, error }),
    );
  });
}
