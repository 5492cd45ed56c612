import { isAbortSignal } from './abort-signal.js';
import type { AgingPolicy } from './aging-policy.js';
import type { PoolConfig } from './config.js';
import { ConnectionValidator } from './connection-validator.js';
import { InvalidArgumentError, InvalidConfigError } from './errors.js';
import type { ConnectionFactory } from './factory.js';
import { QUEUE_PRIORITIES, type QueuePriority } from './queue-priority.js';
import type { RecyclingStrategy } from './recycling-strategy.js';
import type { WaitQueue } from './waiter.js';

/** Options of one `acquire()` call. */
export interface AcquireOptions {
  /** Abandons the wait when aborted; the acquire rejects with `AcquireAbortedError`. */
  signal?: AbortSignal;
  /** Overrides the pool's `acquireTimeoutMs` for this call. */
  timeoutMs?: number;
  /** Urgency, honoured by a priority wait queue (`@pool/queue`). Default `'normal'`. */
  priority?: QueuePriority;
  /** Prefer an idle connection carrying this label (see `PooledConnection.label`). */
  label?: string;
  /** Anything describing the caller (a partition request, a route); visible in events and leak reports. */
  context?: unknown;
  /**
   * Fail at once when connecting fails, instead of waiting for a retry (what `pg.Pool` and mysql2's pool
   * do; their facades set it). Default `false`.
   *
   * - When a connection the pool opens for this caller fails to open (any error), the caller is rejected
   *   with `ConnectionCreateError` whose `cause` is the driver's error: one such caller per failed
   *   attempt, the first in line.
   * - While the pool backs off after a failed connect, an acquire that no idle connection can serve is
   *   rejected at once with `ConnectionCreateError` (`cause`: the last connect error), unless the pool
   *   is at `maxSize`, where it waits for a release as usual.
   *
   * A caller without it keeps waiting through retries until its timeout, unless the error is fatal
   * (see `ConnectionFactory.classifyCreateError`). Either way a connection released meanwhile serves it.
   */
  failFast?: boolean;
}

/**
 * Tells the pool which async task is calling, so a deadlock detector can see a task that waits for a
 * connection while it holds one. `@pool/queue`'s `DeadlockDetector` provides one built on
 * `AsyncLocalStorage`.
 */
export interface OwnerScope {
  /** The task calling now, if known. Called synchronously inside `acquire()`. */
  current(): unknown;
  /** Runs `fn` as a task of its own (nested under the current one); `pool.use()` runs its callback in it. */
  run<T>(fn: () => T): T;
}

/** Extensions and policies given to `ConnectionPool.create`, beside the config. */
export interface PoolOptions {
  /** A name for metrics, logs and the management API. Default `pool-<n>`. */
  name?: string;
  /** The wait queue (default: the built-in FIFO queue, LIFO when `fairQueue` is false). */
  waitQueue?: WaitQueue;
  /** When connections are retired besides `maxLifetimeMs`. Default: none. */
  agingPolicy?: AgingPolicy | null;
  /** What happens to a released connection. Default `RecyclingStrategy.Adaptive`. */
  recyclingStrategy?: RecyclingStrategy;
  /** Used for `validateOnAcquire` / `validateOnRelease` (timeout, query, fast validation). */
  validator?: ConnectionValidator | null;
  /** Async-task identity for deadlock detection. */
  ownerScope?: OwnerScope | null;
  /** Record where each `acquire()` was called (for leak reports); costs a stack capture per acquire. Default `false`. */
  captureStacks?: boolean;
}

const OPTION_KEYS = ['name', 'waitQueue', 'agingPolicy', 'recyclingStrategy', 'validator', 'ownerScope', 'captureStacks'];
const ACQUIRE_KEYS = ['signal', 'timeoutMs', 'priority', 'label', 'context', 'failFast'];

/** @internal Throws `InvalidArgumentError` unless `factory` has the methods of a `ConnectionFactory`. */
export function checkFactory(factory: unknown): void {
  if (typeof factory !== 'object' || factory === null) {
    throw new InvalidArgumentError('factory', factory, 'must be a ConnectionFactory object with create() and close()');
  }
  const f = factory as Record<string, unknown>;
  for (const name of ['create', 'close']) {
    if (typeof f[name] !== 'function') {
      throw new InvalidArgumentError(`factory.${name}`, f[name], 'must be a function');
    }
  }
  for (const name of ['validate', 'reset', 'isDirty', 'classifyCreateError']) {
    if (f[name] !== undefined && typeof f[name] !== 'function') {
      throw new InvalidArgumentError(`factory.${name}`, f[name], 'must be a function when given');
    }
  }
}

/** @internal Throws `InvalidConfigError` for an unknown or malformed pool option, or one the factory cannot serve. */
export function checkPoolOptions(cfg: PoolConfig, factory: ConnectionFactory<unknown>, options: PoolOptions): void {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('options', options, 'must be an object of pool options');
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.includes(key)) {
      throw new InvalidConfigError(
        key,
        (options as Record<string, unknown>)[key],
        `is not a pool option; known: ${OPTION_KEYS.join(', ')}`,
      );
    }
  }
  if (options.name !== undefined && (typeof options.name !== 'string' || options.name.trim() === '')) {
    throw new InvalidConfigError('name', options.name, 'must be a non-empty string');
  }
  if (options.validator != null && !(options.validator instanceof ConnectionValidator)) {
    throw new InvalidConfigError('validator', options.validator, 'must be a ConnectionValidator');
  }
  const wq = options.waitQueue;
  if (wq !== undefined) {
    for (const m of ['enqueue', 'dequeue', 'requeue', 'remove', 'values'] as const) {
      if (typeof wq?.[m] !== 'function')
        throw new InvalidConfigError(`waitQueue.${m}`, wq?.[m], 'must be a function (see the WaitQueue interface)');
    }
  }
  const scope = options.ownerScope;
  if (scope != null && (typeof scope.current !== 'function' || typeof scope.run !== 'function')) {
    throw new InvalidConfigError('ownerScope', scope, 'must have current() and run(fn)');
  }
  if (options.captureStacks !== undefined && typeof options.captureStacks !== 'boolean') {
    throw new InvalidConfigError('captureStacks', options.captureStacks, 'must be true or false');
  }
  const validating = cfg.validateOnAcquire || cfg.validateOnRelease;
  if ((validating || options.validator != null) && factory.validate === undefined) {
    const field = cfg.validateOnAcquire ? 'validateOnAcquire' : cfg.validateOnRelease ? 'validateOnRelease' : 'validator';
    throw new InvalidConfigError(
      field,
      field === 'validator' ? '[ConnectionValidator]' : true,
      'needs a factory with validate(); this factory has none',
    );
  }
}

/** @internal The problem with an `acquire()` call's options, or null when they are fine. */
export function checkAcquireOptions(options: AcquireOptions): InvalidArgumentError | null {
  if (typeof options !== 'object' || options === null) {
    return new InvalidArgumentError('options', options, 'must be an object of acquire options');
  }
  for (const key in options) {
    if (key !== 'timeoutMs' && key !== 'signal' && key !== 'priority' && key !== 'label' && key !== 'context' && key !== 'failFast') {
      return new InvalidArgumentError(
        `options.${key}`,
        (options as Record<string, unknown>)[key],
        `is not an acquire option; known: ${ACQUIRE_KEYS.join(', ')}`,
      );
    }
  }
  const { timeoutMs, signal, priority, label, failFast } = options;
  if (timeoutMs !== undefined && (typeof timeoutMs !== 'number' || !(timeoutMs > 0) || timeoutMs > 2_147_483_647)) {
    return new InvalidArgumentError(
      'timeoutMs',
      timeoutMs,
      'must be a finite number of milliseconds greater than 0 and at most 2147483647',
    );
  }
  if (signal !== undefined && !isAbortSignal(signal)) {
    return new InvalidArgumentError('signal', signal, 'must be an AbortSignal');
  }
  if (priority !== undefined && !QUEUE_PRIORITIES.includes(priority)) {
    return new InvalidArgumentError('priority', priority, `must be one of ${QUEUE_PRIORITIES.map((p) => `'${p}'`).join(', ')}`);
  }
  if (label !== undefined && typeof label !== 'string') {
    return new InvalidArgumentError('label', label, 'must be a string');
  }
  if (failFast !== undefined && typeof failFast !== 'boolean') {
    return new InvalidArgumentError('failFast', failFast, 'must be true or false');
  }
  return null;
}
