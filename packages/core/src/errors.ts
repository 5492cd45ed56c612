/**
 * Every error the pool produces is a {@link PoolError} with a stable `code`, so callers can branch on
 * `err.code` (or `instanceof`) without parsing messages.
 *
 * @example
 * ```ts
 * try {
 *   await pool.use((db) => db.query('SELECT 1'));
 * } catch (err) {
 *   if (err instanceof ConnectionTimeoutError) console.error(`timed out after ${err.timeoutMs} ms`, err.cause);
 *   else if (err instanceof PoolExhaustedError) console.error(`pool full: ${err.active}/${err.max}`);
 *   else throw err;
 * }
 * ```
 */

/** The stable codes of every {@link PoolError}. */
export type PoolErrorCode =
  | 'ERR_POOL_CONNECTION_TIMEOUT'
  | 'ERR_POOL_EXHAUSTED'
  | 'ERR_POOL_VALIDATION_FAILED'
  | 'ERR_POOL_CLOSED'
  | 'ERR_POOL_INVALID_CONFIG'
  | 'ERR_POOL_INVALID_ARGUMENT'
  | 'ERR_POOL_CONNECTION_CREATE'
  | 'ERR_POOL_ACQUIRE_ABORTED'
  | 'ERR_POOL_CONNECTION_RELEASED'
  | 'ERR_POOL_FOREIGN_CONNECTION'
  | 'ERR_POOL_LISTENER'
  | 'ERR_POOL_FACTORY'
  | 'ERR_POOL_DEADLOCK'
  | 'ERR_POOL_PARTITION_LIMIT'
  | 'ERR_POOL_PARTITION'
  | (string & {});

/**
 * The brand every {@link PoolError} carries on its prototype. `Symbol.for` gives the same symbol to
 * every copy of `@pool/core` in a process (two versions installed side by side, or a bundled copy), so
 * `isPoolError` and `instanceof` recognise an error made by any of them.
 */
const POOL_ERROR_BRAND: unique symbol = Symbol.for('@pool/core.PoolError') as never;

/** Base class of every error thrown or rejected by `@pool/*` packages. */
export class PoolError extends Error {
  /** A stable, machine-readable code such as `'ERR_POOL_EXHAUSTED'`. */
  readonly code: PoolErrorCode;

  /**
   * `error instanceof PoolError` (or any subclass) also holds for an error made by another copy of
   * `@pool/core`: it carries the shared brand and a class of the same name in its prototype chain.
   */
  static override [Symbol.hasInstance]<T>(this: abstract new (...args: never[]) => T, value: unknown): value is T {
    return Function.prototype[Symbol.hasInstance].call(this, value) || isBrandedAs(value, this.name);
  }

  constructor(code: PoolErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PoolError';
    this.code = code;
  }
}

Object.defineProperty(PoolError.prototype, POOL_ERROR_BRAND, { value: true });

/** True when `value` carries the PoolError brand and a class called `className` made it. */
function isBrandedAs(value: unknown, className: string): boolean {
  if (typeof value !== 'object' || value === null || (value as { [POOL_ERROR_BRAND]?: unknown })[POOL_ERROR_BRAND] !== true) return false;
  for (let proto = Object.getPrototypeOf(value); proto !== null && proto !== Error.prototype; proto = Object.getPrototypeOf(proto)) {
    if (Object.hasOwn(proto, 'constructor') && (proto.constructor as { name?: unknown }).name === className) return true;
  }
  return false;
}

/** What the pool was doing when an acquire timed out (see {@link ConnectionTimeoutError}). */
export interface TimeoutSituation {
  /** Connects in flight (`factory.create()` calls not finished). */
  readonly pendingConnects: number;
  /** How long the oldest of them had been running, in ms (undefined when none). */
  readonly oldestConnectMs: number | undefined;
  /** Connections borrowed (or being validated or reset between borrows). */
  readonly borrowed: number;
  /** The most connections the pool may have open: `maxSize`, or its lower limit. */
  readonly capacity: number;
  /** Callers still waiting besides this one. */
  readonly waiting: number;
  /** A sentence saying why no connection came (the slow database, the full pool), for the message. */
  readonly summary: string;
}

/**
 * An acquire waited `timeoutMs` without getting a connection. `cause` holds the last error seen while
 * trying to provide one (a failed `create()` or validation), when there was one. The message and
 * `situation` say what the pool was doing meanwhile: connects pending for how long (a slow database),
 * or every connection borrowed (a busy pool).
 */
export class ConnectionTimeoutError extends PoolError {
  /** How long the caller waited, in milliseconds. */
  readonly timeoutMs: number;
  /** What the pool was doing when the wait ended, when the pool said (it does for its own timeouts). */
  readonly situation: TimeoutSituation | undefined;

  constructor(timeoutMs: number, cause?: unknown, situation?: TimeoutSituation) {
    const what = situation === undefined ? '' : `: ${situation.summary}`;
    const why = cause === undefined ? '' : `; last error: ${describe(cause)}`;
    super('ERR_POOL_CONNECTION_TIMEOUT', `Timed out after ${timeoutMs} ms waiting for a connection${what}${why}`, {
      cause,
    });
    this.name = 'ConnectionTimeoutError';
    this.timeoutMs = timeoutMs;
    this.situation = situation;
  }
}

/** The wait queue is full (`maxWaitQueueSize`), so the acquire was refused at once. */
export class PoolExhaustedError extends PoolError {
  /** Connections in use when the acquire was refused. */
  readonly active: number;
  /** The pool's (or partition's) maximum number of connections. */
  readonly max: number;
  /** Callers already waiting. */
  readonly waiting: number;
  /** The partition that refused the acquire, when partitioning is in use. */
  readonly partition: string | undefined;

  constructor(details: { active: number; max: number; waiting: number; partition?: string; reason?: string }) {
    const where = details.partition === undefined ? 'Pool' : `Partition '${details.partition}'`;
    const why = details.reason ?? `${details.waiting} callers are already waiting, the wait queue is full`;
    super('ERR_POOL_EXHAUSTED', `${where} exhausted: ${details.active}/${details.max} connections in use and ${why}`);
    this.name = 'PoolExhaustedError';
    this.active = details.active;
    this.max = details.max;
    this.waiting = details.waiting;
    this.partition = details.partition;
  }
}

/** A connection failed validation (the factory said it is unusable, it threw, or it hung). */
export class ValidationFailedError extends PoolError {
  /** The id of the connection that failed. */
  readonly connectionId: number | undefined;

  constructor(message: string, options?: { cause?: unknown; connectionId?: number }) {
    super('ERR_POOL_VALIDATION_FAILED', message, options);
    this.name = 'ValidationFailedError';
    this.connectionId = options?.connectionId;
  }
}

/** The pool is closed (or closing): no connection can be acquired from it any more. */
export class PoolClosedError extends PoolError {
  constructor(message = 'The pool is closed') {
    super('ERR_POOL_CLOSED', message);
    this.name = 'PoolClosedError';
  }
}

/** A configuration value broke a rule. `field`, `value` and `rule` say which and why. */
export class InvalidConfigError extends PoolError {
  readonly field: string;
  readonly value: unknown;
  readonly rule: string;

  constructor(field: string, value: unknown, rule: string) {
    super('ERR_POOL_INVALID_CONFIG', `Invalid pool config: ${field} = ${show(value)}: ${rule}`);
    this.name = 'InvalidConfigError';
    this.field = field;
    this.value = value;
    this.rule = rule;
  }
}

/** An argument to a pool method (for example an `acquire()` option) broke a rule. */
export class InvalidArgumentError extends PoolError {
  readonly argument: string;
  readonly value: unknown;
  readonly rule: string;

  constructor(argument: string, value: unknown, rule: string) {
    super('ERR_POOL_INVALID_ARGUMENT', `Invalid argument: ${argument} = ${show(value)}: ${rule}`);
    this.name = 'InvalidArgumentError';
    this.argument = argument;
    this.value = value;
    this.rule = rule;
  }
}

/** `factory.create()` failed; `cause` is what it threw. */
export class ConnectionCreateError extends PoolError {
  /**
   * `null` when a connect attempt made for this caller failed. A number when the pool refused the caller
   * without trying (it backs off after a failed connect; `cause` is the last attempt's error): how many
   * milliseconds until its next attempt is due. A router spreading callers over several pools (a cluster)
   * reads it to tell a fresh failure from a refusal, and when to ask again.
   */
  readonly retryInMs: number | null;

  constructor(message: string, cause?: unknown, retryInMs: number | null = null) {
    super('ERR_POOL_CONNECTION_CREATE', cause === undefined ? message : `${message}: ${describe(cause)}`, { cause });
    this.name = 'ConnectionCreateError';
    this.retryInMs = retryInMs;
  }
}

/** The caller's `AbortSignal` fired before a connection was handed over; `cause` is the signal's reason. */
export class AcquireAbortedError extends PoolError {
  constructor(cause?: unknown) {
    super('ERR_POOL_ACQUIRE_ABORTED', 'The acquire was aborted by its signal', { cause });
    this.name = 'AcquireAbortedError';
  }
}

/** A `PooledConnection` was used after it was released, destroyed or reclaimed. */
export class ConnectionReleasedError extends PoolError {
  readonly connectionId: number;

  constructor(connectionId: number, what: string) {
    super('ERR_POOL_CONNECTION_RELEASED', `Connection ${connectionId} ${what}`);
    this.name = 'ConnectionReleasedError';
    this.connectionId = connectionId;
  }
}

/** An error thrown by a user callback (an event listener or a factory method) that the pool contained. */
export class CallbackError extends PoolError {
  constructor(code: 'ERR_POOL_LISTENER' | 'ERR_POOL_FACTORY', message: string, cause: unknown) {
    super(code, `${message}: ${describe(cause)}`, { cause });
    this.name = 'CallbackError';
  }
}

/**
 * True when `error` is a {@link PoolError}, optionally with the given code. It recognises errors made
 * by any copy of `@pool/core` in the process (they share a `Symbol.for` brand), so it is the check to
 * use in code that may see errors from a package resolved to another copy of core.
 */
export function isPoolError(error: unknown, code?: PoolErrorCode): error is PoolError {
  return error instanceof PoolError && (code === undefined || error.code === code);
}

/**
 * Turns any thrown value into a {@link PoolError}: a `PoolError` is returned as is, anything else is
 * wrapped with the given code and kept as `cause`.
 */
export function toPoolError(error: unknown, code: PoolErrorCode = 'ERR_POOL_FACTORY'): PoolError {
  if (error instanceof PoolError) return error;
  return new PoolError(code, describe(error), { cause: error });
}

/** A short, human description of any thrown value. */
export function describe(error: unknown): string {
  if (error instanceof Error) return error.message || error.name;
  if (typeof error === 'string') return error;
  return show(error);
}

function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (typeof value === 'function') return `[function ${value.name || 'anonymous'}]`;
  if (typeof value === 'symbol') return value.toString();
  if (value === undefined) return 'undefined';
  if (typeof value === 'number') return Object.is(value, -0) ? '-0' : String(value);
  try {
    const json = JSON.stringify(value);
    return json === undefined ? String(value) : json.length > 80 ? `${json.slice(0, 77)}...` : json;
  } catch {
    return Object.prototype.toString.call(value);
  }
}
