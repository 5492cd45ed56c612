import { isAbortSignal } from './abort-signal.js';
import { type AgingPolicy, agingLifetimeMs, agingVerdict, checkAgingPolicy, OutcomeWindow } from './aging-policy.js';
import { type BoundedOperation, createOperationScheduler, type Expirable, runBounded, withoutStack } from './bounded.js';
import { now, toEpochMs } from './clock.js';
import { PoolConfig, type PoolConfigOptions } from './config.js';
import { ConnectionValidator, type ValidationOutcome } from './connection-validator.js';
import { type DeadlineEntry, DeadlineQueue } from './deadline-queue.js';
import {
  AcquireAbortedError,
  CallbackError,
  ConnectionCreateError,
  ConnectionTimeoutError,
  InvalidArgumentError,
  InvalidConfigError,
  PoolClosedError,
  type PoolError,
  PoolExhaustedError,
  ValidationFailedError,
} from './errors.js';
import { DESTROY_REASONS, type DestroyReason, type PoolEventMap, PoolEvents } from './events.js';
import type { ConnectionFactory } from './factory.js';
import { IdleList } from './idle-list.js';
import {
  type BorrowMeta,
  kDestroyBorrowed,
  kGiveBack,
  kLender,
  kRevoke,
  type Lender,
  PooledConnection,
  type ReleaseOptions,
} from './pooled-connection.js';
import { QUEUE_PRIORITIES, type QueuePriority } from './queue-priority.js';
import { checkRecyclingStrategy, RecyclingStrategy } from './recycling-strategy.js';
import { Slot } from './slot.js';
import type { ConnectionInfo, PoolSize, PoolStatistics } from './statistics.js';
import { BasicWaitQueue, type Waiter, type WaiterExit, type WaitQueue } from './waiter.js';

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

/** Extensions and policies given to {@link ConnectionPool.create}, beside the config. */
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
const ACQUIRE_KEYS = ['signal', 'timeoutMs', 'priority', 'label', 'context'];
const OPEN = 0;
const CLOSING = 1;
const CLOSED = 2;
let poolCounter = 0;

const kFailWaiter: unique symbol = Symbol('pool.failWaiter');

interface WaiterHost {
  [kFailWaiter](waiter: PoolWaiter, error: PoolError, exit: WaiterExit): boolean;
}

/** A connection's lifetime deadline, kept on the pool's operations queue (one timer for all). */
class LifetimeEntry implements Expirable {
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  constructor(readonly expire: () => void) {}
}

/** What an acquire asked for beyond the defaults (absent for a plain `acquire()`). */
interface AcquireMeta extends BorrowMeta {
  readonly label: string | undefined;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** A caller waiting for a connection. Kept small: one is allocated per wait. */
class PoolWaiter implements Waiter, DeadlineEntry {
  prev: Waiter | null = null;
  next: Waiter | null = null;
  queueData: unknown = undefined;
  deadline = 0;
  dlPrev: DeadlineEntry | null = null;
  dlNext: DeadlineEntry | null = null;
  dlLane: unknown = null;
  settled = false;
  /** The last reason this waiter's connection was refused (validation), for its timeout's cause. */
  lastError: unknown = undefined;

  constructor(
    readonly host: WaiterHost,
    readonly id: number,
    public priority: QueuePriority,
    readonly enqueuedAt: number,
    readonly meta: AcquireMeta | undefined,
    readonly resolve: (conn: PooledConnection<never>) => void,
    readonly reject: (error: PoolError) => void,
  ) {}

  get label(): string | undefined {
    return this.meta?.label;
  }
  get context(): unknown {
    return this.meta?.context;
  }
  get owner(): unknown {
    return this.meta?.owner;
  }
  get trace(): { stack?: string } | undefined {
    return this.meta?.trace;
  }
  get stack(): string | undefined {
    return this.meta?.trace?.stack;
  }
  /** The timeout this waiter was given (whole milliseconds). */
  get timeoutMs(): number {
    // The deadline is start + a whole number of ms: rounding undoes the floating-point subtraction.
    return Math.round(this.deadline - this.enqueuedAt);
  }

  fail(error: PoolError): boolean {
    return this.host[kFailWaiter](this, error, 'failed');
  }
}

// One executor for every waiter's promise: it parks resolve/reject here for the constructor to take,
// so a wait allocates no closure for it.
let parkedResolve: ((conn: PooledConnection<never>) => void) | undefined;
let parkedReject: ((error: PoolError) => void) | undefined;
function parkSettlers(resolve: (conn: PooledConnection<never>) => void, reject: (error: PoolError) => void): void {
  parkedResolve = resolve;
  parkedReject = reject;
}

function emptyReasons(): Record<DestroyReason, number> {
  const out = {} as Record<DestroyReason, number>;
  for (const r of DESTROY_REASONS) out[r] = 0;
  return out;
}

function checkFactory(factory: unknown): void {
  if (typeof factory !== 'object' || factory === null) {
    throw new InvalidArgumentError('factory', factory, 'must be a ConnectionFactory object with create() and close()');
  }
  const f = factory as Record<string, unknown>;
  for (const name of ['create', 'close']) {
    if (typeof f[name] !== 'function') {
      throw new InvalidArgumentError(`factory.${name}`, f[name], 'must be a function');
    }
  }
  for (const name of ['validate', 'reset', 'isDirty']) {
    if (f[name] !== undefined && typeof f[name] !== 'function') {
      throw new InvalidArgumentError(`factory.${name}`, f[name], 'must be a function when given');
    }
  }
}

function captureTrace(below: (...args: never[]) => unknown): { stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, below);
  return holder;
}

/**
 * A pool of connections of type `C`, opened by a {@link ConnectionFactory}.
 *
 * The hot path (an idle connection is free) allocates one handle and needs no timer; a released
 * connection goes straight to the next waiter; every wait is bounded by its deadline, kept by one
 * timer for all waiters; removal of a waiter that times out or aborts is O(1).
 *
 * @example
 * ```ts
 * const config = PoolConfig.builder().minSize(10).maxSize(100).acquireTimeoutMs(30_000).build();
 * const pool = await ConnectionPool.create(config, factory);
 * const rows = await pool.use((db) => db.query('SELECT * FROM users'));
 * await pool.close();
 * ```
 */
export class ConnectionPool<C> {
  /** The pool's name (for metrics and the management API). */
  readonly name: string;
  readonly #factory: ConnectionFactory<C>;
  #config: PoolConfig;
  readonly #queue: WaitQueue;
  readonly #deadlines: DeadlineQueue<PoolWaiter>;
  readonly #idle = new IdleList<Slot<C>>();
  readonly #slots = new Set<Slot<C>>();
  readonly #events: PoolEvents<PoolEventMap<C>>;
  readonly #lender: Lender<C> = this;
  readonly #validator: ConnectionValidator | null;
  readonly #aging: AgingPolicy | null;
  readonly #recycling: RecyclingStrategy;
  readonly #ownerScope: OwnerScope | null;
  readonly #captureStacks: boolean;
  /** Creations in progress (abandoned on close). */
  readonly #creations = new Set<BoundedOperation<unknown>>();
  /** One timer for the deadlines of every create, validate, reset and close in progress. */
  readonly #operations = createOperationScheduler();
  readonly #closing = new Set<Promise<void>>();
  readonly #reasons = emptyReasons();
  readonly #warned = new Set<string>();
  #state = OPEN;
  #suspended = false;
  #pending = 0;
  #nextConnectionId = 0;
  #nextWaiterId = 0;
  #lastCreateError: unknown = undefined;
  /** Bumped whenever a connection proves healthy (validated, or released without error). */
  #healthEpoch = 0;
  /**
   * Whether borrow and idle times are measured. A clock read costs as much as the rest of an
   * acquire/release, so it happens only when something needs the times: leak detection, stack capture,
   * fast validation, or an `acquire`/`release` listener (a monitor).
   */
  #timed = false;
  #onAcquire = false;
  #onRelease = false;
  /** Outstanding requestBorrowTiming() calls. */
  #timingRequests = 0;
  /** No owner scope, no stack capture, no acquire-time validation: the fast path applies. */
  #plain = false;
  /** `#plain`, open and not suspended: a plain acquire may take an idle connection directly. */
  #fastOk = false;
  #onEnqueue = false;
  /** The waiter #newWaiter made last (saves allocating a tuple to return it with its promise). */
  #newest: PoolWaiter | undefined;
  /** `config.maxSize`, read on every return. */
  #maxSize = 0;
  /** An upper bound of "now" until the next maintenance pass: the idle stamp when times are not measured. */
  #nextTickAt = 0;
  readonly #validateOnAcquire: boolean;
  readonly #validateOnRelease: boolean;
  /** What release does: 0 return as is, 1 reset, 2 reset when dirty, 3 replace. */
  readonly #recycleMode: 0 | 1 | 2 | 3;
  #consecutiveFailures = 0;
  #lastFailureAt = Number.NEGATIVE_INFINITY;
  #backoffUntil = 0;
  #tokens = 0;
  #tokensAt = 0;
  #fillTimer: ReturnType<typeof setTimeout> | undefined;
  #fillAt = Number.POSITIVE_INFINITY;
  #maintenanceTimer: ReturnType<typeof setInterval> | undefined;
  #closePromise: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  // counters
  #created = 0;
  #destroyed = 0;
  #createFailures = 0;
  #acquired = 0;
  #released = 0;
  #releasedWithError = 0;
  #reclaimed = 0;
  #acquireFailures = 0;
  #timeouts = 0;
  #rejected = 0;
  #aborted = 0;
  #waited = 0;
  #validations = 0;
  #validationFailures = 0;
  #resets = 0;
  #resetFailures = 0;
  #leaks = 0;
  #errors = 0;
  #totalWaitMs = 0;
  #maxWaitMs = 0;
  #totalCreateMs = 0;

  private constructor(config: PoolConfig, factory: ConnectionFactory<C>, options: PoolOptions) {
    this.name = options.name ?? `pool-${++poolCounter}`;
    this.#config = config;
    this.#factory = factory;
    this.#validator = options.validator ?? null;
    this.#aging = options.agingPolicy == null ? null : checkAgingPolicy(options.agingPolicy);
    this.#recycling = checkRecyclingStrategy(options.recyclingStrategy ?? RecyclingStrategy.Adaptive);
    this.#ownerScope = options.ownerScope ?? null;
    this.#captureStacks = options.captureStacks ?? false;
    this.#events = new PoolEvents((error) => this.#report(error));
    this.#deadlines = new DeadlineQueue<PoolWaiter>((w) => this.#expire(w));
    this.#queue = options.waitQueue ?? new BasicWaitQueue();
    this.#queue.attach?.(this);
    this.#tokens = config.creationThrottle ?? 0;
    this.#tokensAt = now();
    this.#nextTickAt = this.#tokensAt + config.maintenanceIntervalMs;
    this.#validateOnAcquire = config.validateOnAcquire;
    this.#maxSize = config.maxSize;
    this.#plain = this.#ownerScope === null && !this.#captureStacks && !config.validateOnAcquire;
    this.#fastOk = this.#plain;
    this.#validateOnRelease = config.validateOnRelease;
    const canReset = factory.reset !== undefined;
    const mode = this.#recycling;
    this.#recycleMode =
      mode === 'replace' ? 3 : !canReset || mode === 'fast' ? 0 : mode === 'adaptive' && factory.isDirty !== undefined ? 2 : 1;
    this.#retime();
  }

  /**
   * Creates a pool and opens `initialSize` connections before resolving.
   *
   * If the database is unreachable at start (every initial connection fails), the pool is closed and
   * the promise rejects with `ConnectionCreateError` whose `cause` is the first failure, so a wrong URL or
   * a down database is noticed at boot. With `initialSize: 0` nothing is opened up front and the pool
   * starts even when the database is down (connections are opened, with retry and backoff, on demand).
   * When only some initial connections fail, the pool starts and maintenance opens the rest.
   */
  static async create<C>(
    config: PoolConfig | PoolConfigOptions,
    factory: ConnectionFactory<C>,
    options: PoolOptions = {},
  ): Promise<ConnectionPool<C>> {
    const pool = ConnectionPool.#construct(config, factory, options);
    const initial = pool.#config.initialSize;
    const results = await pool.#warmUp(initial);
    if (initial > 0 && results.every((r) => r !== true)) {
      await pool.close();
      const first = results.find((r) => r !== true);
      throw new ConnectionCreateError(`Could not open any of the ${initial} initial connections`, first);
    }
    pool.#startMaintenance();
    pool.#fill();
    return pool;
  }

  /**
   * Creates a pool without opening any connection up front and without waiting (connections open on
   * demand and maintenance fills to `minSize` in the background). Validates like {@link create}.
   */
  static open<C>(config: PoolConfig | PoolConfigOptions, factory: ConnectionFactory<C>, options: PoolOptions = {}): ConnectionPool<C> {
    const pool = ConnectionPool.#construct(config, factory, options);
    pool.#startMaintenance();
    pool.#fill();
    return pool;
  }

  static #construct<C>(config: PoolConfig | PoolConfigOptions, factory: ConnectionFactory<C>, options: PoolOptions): ConnectionPool<C> {
    const cfg = config instanceof PoolConfig ? config : PoolConfig.from(config);
    checkFactory(factory);
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
    return new ConnectionPool(cfg, factory, options);
  }

  // ---------------------------------------------------------------- public API

  /** The current configuration (a new frozen object after `resize()`). */
  get config(): PoolConfig {
    return this.#config;
  }

  /** The factory that opens this pool's connections. */
  get factory(): ConnectionFactory<C> {
    return this.#factory;
  }

  /** The wait queue in use. */
  get waitQueue(): WaitQueue {
    return this.#queue;
  }

  /** The validator in use, if any. */
  get validator(): ConnectionValidator | null {
    return this.#validator;
  }

  /** The owner scope in use (deadlock detection), if any. */
  get ownerScope(): OwnerScope | null {
    return this.#ownerScope;
  }

  /** The aging policy in use, if any. */
  get agingPolicy(): AgingPolicy | null {
    return this.#aging;
  }

  /** The recycling strategy in use. */
  get recyclingStrategy(): RecyclingStrategy {
    return this.#recycling;
  }

  /** `'open'`, `'closing'` or `'closed'`. */
  get state(): 'open' | 'closing' | 'closed' {
    return this.#state === OPEN ? 'open' : this.#state === CLOSING ? 'closing' : 'closed';
  }

  /** True while acquisition is suspended. */
  get suspended(): boolean {
    return this.#suspended;
  }

  /**
   * Borrows a connection: an idle one at once when free, otherwise waits (FIFO by default) until one is
   * released or created, up to `timeoutMs` (default `acquireTimeoutMs`).
   *
   * Rejects with `ConnectionTimeoutError` (with the last creation error as `cause`), `PoolExhaustedError`
   * (wait queue full), `AcquireAbortedError`, `PoolClosedError` or `InvalidArgumentError`.
   */
  acquire(options?: AcquireOptions): Promise<PooledConnection<C>> {
    // The common case first: no options, an idle connection free, nothing to validate or record.
    if (options === undefined && this.#fastOk && this.#idle.size > 0 && this.#queue.size === 0) {
      const slot = this.#takeIdle(undefined);
      if (slot !== undefined) return Promise.resolve(this.#lend(slot, 0, undefined));
    }
    let timeoutMs = this.#config.acquireTimeoutMs;
    let signal: AbortSignal | undefined;
    let priority: QueuePriority = 'normal';
    let label: string | undefined;
    let context: unknown;
    if (options !== undefined) {
      const problem = this.#checkAcquireOptions(options);
      if (problem !== null) return Promise.reject(problem);
      if (options.timeoutMs !== undefined) timeoutMs = options.timeoutMs;
      signal = options.signal;
      if (options.priority !== undefined) priority = options.priority;
      label = options.label;
      context = options.context;
    }
    if (this.#state !== OPEN) return this.#refuse(new PoolClosedError(), context);
    if (signal?.aborted) {
      this.#aborted++;
      return this.#refuse(new AcquireAbortedError(signal.reason), context);
    }
    const owner = this.#ownerScope === null ? undefined : this.#ownerScope.current();
    const trace = this.#captureStacks ? captureTrace(this.acquire) : undefined;
    if (!this.#suspended && this.#queue.size === 0 && this.#idle.size > 0) {
      const slot = this.#takeIdle(label);
      if (slot !== undefined) {
        if (!this.#validateOnAcquire || !this.#needsValidation(slot)) {
          const meta = context === undefined && owner === undefined && trace === undefined ? undefined : { context, owner, trace };
          return Promise.resolve(this.#lend(slot, 0, meta));
        }
        const promise = this.#newWaiter(priority, timeoutMs, signal, label, context, owner, trace);
        const waiter = this.#newest as PoolWaiter;
        this.#serve(slot, waiter, false, waiter.enqueuedAt); // the waiter's start is this very moment
        return promise;
      }
    }
    // The line is full only for callers the pool cannot open a connection for: a caller that will be
    // served by a creation of its own is admitted even with maxWaitQueueSize 0.
    const queued = this.#queue.size;
    if (queued >= this.#config.maxWaitQueueSize && this.#slots.size + Math.max(this.#pending, queued) >= this.#maxSize) {
      this.#rejected++;
      return this.#refuse(
        new PoolExhaustedError({ active: this.#slots.size - this.#idle.size, max: this.#config.maxSize, waiting: this.#queue.size }),
        context,
      );
    }
    const promise = this.#newWaiter(priority, timeoutMs, signal, label, context, owner, trace);
    const waiter = this.#newest as PoolWaiter;
    this.#queue.enqueue(waiter);
    if (this.#onEnqueue) this.#events.emit('enqueue', { waiter });
    if (!waiter.settled && this.#slots.size + this.#pending < this.#maxSize) this.#fill();
    return promise;
  }

  /**
   * Acquires a connection, runs `fn` with it, and releases it, also when `fn` throws (the error is then
   * reported to the pool as the borrow's error, and rethrown). If `fn` released or destroyed the
   * connection itself, nothing more is done.
   */
  use<T>(fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError('fn', fn, 'must be a function'));
    const run = async (): Promise<T> => {
      const pooled = await this.acquire(options);
      let result: T;
      try {
        result = await fn(pooled.connection, pooled);
      } catch (error) {
        if (!pooled.released) pooled.release({ error });
        throw error;
      }
      if (!pooled.released) pooled.release();
      return result;
    };
    return this.#ownerScope === null ? run() : this.#ownerScope.run(run);
  }

  /** Releases a connection acquired from this pool (same as `conn.release(options)`). */
  release(conn: PooledConnection<C>, options?: ReleaseOptions): void {
    this.#own(conn).release(options);
  }

  /** Destroys a connection acquired from this pool (same as `conn.destroy(error)`). */
  destroy(conn: PooledConnection<C>, error?: unknown): Promise<void> {
    return this.#own(conn).destroy(error);
  }

  /** How many connections are where, right now. */
  size(): PoolSize {
    const total = this.#slots.size;
    const idle = this.#idle.size;
    return { total, idle, active: total - idle, pending: this.#pending, waiting: this.#queue.size };
  }

  /** A snapshot of the pool's counters. Cheap: no allocation beyond the returned object. */
  statistics(): PoolStatistics {
    const size = this.size();
    const attempts = this.#acquired + this.#acquireFailures;
    return {
      name: this.name,
      connectionsCreated: this.#created,
      connectionsDestroyed: this.#destroyed,
      destroyedByReason: { ...this.#reasons },
      createFailures: this.#createFailures,
      acquired: this.#acquired,
      released: this.#released,
      releasedWithError: this.#releasedWithError,
      reclaimed: this.#reclaimed,
      acquireFailures: this.#acquireFailures,
      timeouts: this.#timeouts,
      rejected: this.#rejected,
      aborted: this.#aborted,
      waited: this.#waited,
      validations: this.#validations,
      validationFailures: this.#validationFailures,
      resets: this.#resets,
      resetFailures: this.#resetFailures,
      leaksDetected: this.#leaks,
      errors: this.#errors,
      activeConnections: size.active,
      idleConnections: size.idle,
      totalConnections: size.total,
      pendingCreates: size.pending,
      waiting: size.waiting,
      successRate: attempts === 0 ? 1 : this.#acquired / attempts,
      averageAcquireTimeMs: this.#acquired === 0 ? 0 : this.#totalWaitMs / this.#acquired,
      maxAcquireTimeMs: this.#maxWaitMs,
      averageCreateTimeMs: this.#created === 0 ? 0 : this.#totalCreateMs / this.#created,
      suspended: this.#suspended,
      state: this.state,
    };
  }

  /** A snapshot of every open connection (for leak detection, dashboards, debugging). O(connections). */
  connections(): ConnectionInfo[] {
    const t = now();
    const out: ConnectionInfo[] = [];
    for (const slot of this.#slots) {
      const h = slot.handle;
      out.push({
        id: slot.id,
        state: slot.state,
        createdAt: toEpochMs(slot.createdAt),
        ageMs: t - slot.createdAt,
        borrows: slot.borrows,
        label: slot.label,
        acquiredAt: h === null || Number.isNaN(slot.borrowedAt) ? undefined : toEpochMs(slot.borrowedAt),
        heldMs: h === null || Number.isNaN(slot.borrowedAt) ? undefined : t - slot.borrowedAt,
        idleMs: slot.state === 'idle' ? Math.max(0, t - slot.idleSince) : undefined,
        context: h?.context,
        owner: h?.owner,
        stack: h?.stack,
        retiring: slot.retire,
        leakReported: slot.leakReported,
      });
    }
    return out;
  }

  /** The borrows in progress, as handles (what a deadlock or leak detector inspects). O(connections). */
  borrowed(): PooledConnection<C>[] {
    const out: PooledConnection<C>[] = [];
    for (const slot of this.#slots) if (slot.handle !== null) out.push(slot.handle);
    return out;
  }

  /**
   * Stops handing out connections (HikariCP's pool suspension): new and waiting acquires wait (and
   * time out as usual); borrowed connections keep working and come back to idle. Idempotent.
   */
  suspend(): void {
    this.#assertOpen('suspend');
    if (this.#suspended) return;
    this.#suspended = true;
    this.#retime();
    if (this.#events.has('suspend')) this.#events.emit('suspend', {});
  }

  /** Resumes handing out connections and serves the waiters. Idempotent. */
  resume(): void {
    this.#assertOpen('resume');
    if (!this.#suspended) return;
    this.#suspended = false;
    this.#retime();
    this.#dispatch();
    this.#fill();
    if (this.#events.has('resume')) this.#events.emit('resume', {});
  }

  /**
   * Changes `minSize` / `maxSize` at run time (validated like the config; throws `InvalidConfigError`).
   * Shrinking closes idle connections at once and retires borrowed ones as they come back.
   */
  resize(sizes: { minSize?: number; maxSize?: number }): PoolConfig {
    this.#assertOpen('resize');
    if (typeof sizes !== 'object' || sizes === null) throw new InvalidArgumentError('sizes', sizes, 'must be { minSize?, maxSize? }');
    for (const key of Object.keys(sizes)) {
      if (key !== 'minSize' && key !== 'maxSize')
        throw new InvalidArgumentError(`sizes.${key}`, (sizes as Record<string, unknown>)[key], 'only minSize and maxSize can be resized');
    }
    const changes: PoolConfigOptions = {};
    if (sizes.minSize !== undefined) changes.minSize = sizes.minSize;
    if (sizes.maxSize !== undefined) {
      changes.maxSize = sizes.maxSize;
      // initialSize only matters at start; keep it within the new bounds rather than refuse the resize.
      if (typeof sizes.maxSize === 'number' && this.#config.initialSize > sizes.maxSize)
        changes.initialSize = Math.max(0, Math.floor(sizes.maxSize));
    }
    this.#config = this.#config.with(changes);
    this.#maxSize = this.#config.maxSize;
    for (const slot of this.#idle.oldestFirst()) {
      if (this.#slots.size <= this.#config.maxSize) break;
      this.#destroy(slot, 'resize');
    }
    this.#fill();
    if (this.#events.has('resize')) this.#events.emit('resize', { minSize: this.#config.minSize, maxSize: this.#config.maxSize });
    return this.#config;
  }

  /**
   * Soft eviction (HikariCP's `softEvictConnections`): closes every idle connection now and retires every
   * borrowed one when it comes back; the pool then refills to `minSize`. Returns how many were closed now.
   */
  evictIdle(): number {
    this.#assertOpen('evict');
    let n = 0;
    for (const slot of this.#idle.oldestFirst()) {
      this.#destroy(slot, 'evicted');
      n++;
    }
    for (const slot of this.#slots) if (slot.state !== 'idle' && slot.retire === null) slot.retire = 'evicted';
    this.#fill();
    return n;
  }

  /**
   * Takes a borrowed connection back by force (an abandoned borrow): the borrower's handle stops working
   * and the connection is closed, freeing its place. Returns false when no such connection is borrowed.
   */
  reclaim(connectionId: number): boolean {
    for (const slot of this.#slots) {
      if (slot.id === connectionId && slot.handle !== null) {
        this.#destroy(slot, 'reclaimed');
        return true;
      }
    }
    return false;
  }

  /** Runs a maintenance pass now (it also runs every `maintenanceIntervalMs`). */
  runMaintenance(): void {
    if (this.#state !== OPEN) return;
    const start = now();
    const cfg = this.#config;
    const idleTimeout = cfg.idleTimeoutMs;
    this.#nextTickAt = start + cfg.maintenanceIntervalMs;
    for (const slot of this.#idle.oldestFirst()) {
      let reason = this.#retireReason(slot);
      if (reason === null && idleTimeout !== null && start - slot.idleSince >= idleTimeout && this.#slots.size > cfg.minSize) {
        reason = 'idle';
      }
      if (reason !== null) this.#destroy(slot, reason);
    }
    const leakMs = cfg.leakDetectionThresholdMs;
    if (leakMs !== null) {
      for (const slot of this.#slots) {
        const h = slot.handle;
        // NaN (a borrow that began before times were measured) never compares as a leak.
        if (h === null || slot.leakReported || !(start - slot.borrowedAt >= leakMs)) continue;
        slot.leakReported = true;
        this.#leaks++;
        if (this.#events.has('leak')) this.#events.emit('leak', { connection: h, heldMs: start - slot.borrowedAt, stack: h.stack });
      }
    }
    this.#fill();
    if (this.#events.has('maintenance')) this.#events.emit('maintenance', { durationMs: now() - start });
  }

  /**
   * Closes the pool: waiters reject with `PoolClosedError`, later acquires reject at once, idle
   * connections close now, borrowed ones close when released or after `closeTimeoutMs` (their handles
   * then stop working). Resolves when every connection is closed. Idempotent: every call returns the
   * same promise. Never rejects.
   */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.#state = CLOSING;
    this.#retime();
    this.#closePromise = this.#shutDown();
    return this.#closePromise;
  }

  /** `await using pool = await ConnectionPool.create(...)` closes the pool at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  /** Subscribes to an event (see {@link PoolEventMap}). Returns the pool for chaining. */
  on<K extends keyof PoolEventMap<C>>(event: K, listener: (payload: PoolEventMap<C>[K]) => void): this {
    this.#events.on(event, listener);
    this.#retime();
    return this;
  }

  /** Unsubscribes a listener added with `on` or `once`. */
  off<K extends keyof PoolEventMap<C>>(event: K, listener: (payload: PoolEventMap<C>[K]) => void): this {
    this.#events.off(event, listener);
    this.#retime();
    return this;
  }

  /** Subscribes for one occurrence. Returns a function that cancels the subscription. */
  once<K extends keyof PoolEventMap<C>>(event: K, listener: (payload: PoolEventMap<C>[K]) => void): () => void {
    const wrapper = (payload: PoolEventMap<C>[K]): void => {
      this.off(event, wrapper);
      listener(payload);
    };
    this.on(event, wrapper);
    return () => {
      this.off(event, wrapper);
    };
  }

  /**
   * Asks the pool to measure every borrow's start and end (and idle times) exactly, as it does while a
   * `release` listener, leak detection, stack capture or fast validation needs them. Call the returned
   * function to withdraw the request; the pool stops measuring when nobody needs it (each measurement
   * costs a clock read on the acquire and release paths). A leak detector uses this.
   */
  requestBorrowTiming(): () => void {
    this.#timingRequests++;
    this.#retime();
    let withdrawn = false;
    return () => {
      if (withdrawn) return;
      withdrawn = true;
      this.#timingRequests--;
      this.#retime();
    };
  }

  /** Recomputes what the hot path must measure and announce. */
  #retime(): void {
    this.#onAcquire = this.#events.has('acquire');
    this.#onEnqueue = this.#events.has('enqueue');
    this.#fastOk = this.#plain && this.#state === OPEN && !this.#suspended;
    this.#onRelease = this.#events.has('release');
    this.#timed =
      this.#timingRequests > 0 ||
      this.#onRelease ||
      this.#captureStacks ||
      this.#config.leakDetectionThresholdMs !== null ||
      this.#validator?.fastValidation === true;
  }

  /** Listeners subscribed to `event`. */
  listenerCount(event: keyof PoolEventMap<C>): number {
    return this.#events.count(event);
  }

  /** A short description for logs. */
  toString(): string {
    const s = this.size();
    return `ConnectionPool(${this.name}: ${s.active} active, ${s.idle} idle, ${s.pending} pending, ${s.waiting} waiting, ${this.state})`;
  }

  // ---------------------------------------------------------------- acquisition

  #checkAcquireOptions(options: AcquireOptions): InvalidArgumentError | null {
    if (typeof options !== 'object' || options === null) {
      return new InvalidArgumentError('options', options, 'must be an object of acquire options');
    }
    for (const key in options) {
      if (key !== 'timeoutMs' && key !== 'signal' && key !== 'priority' && key !== 'label' && key !== 'context') {
        return new InvalidArgumentError(
          `options.${key}`,
          (options as Record<string, unknown>)[key],
          `is not an acquire option; known: ${ACQUIRE_KEYS.join(', ')}`,
        );
      }
    }
    const { timeoutMs, signal, priority, label } = options;
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
    return null;
  }

  #refuse(error: PoolError, context: unknown): Promise<never> {
    this.#acquireFailures++;
    if (this.#events.has('acquireError')) this.#events.emit('acquireError', { error, waitMs: 0, context });
    return Promise.reject(error);
  }

  /** Creates a waiter with its deadline (and abort listener); returns it with the promise its caller gets. */
  #newWaiter(
    priority: QueuePriority,
    timeoutMs: number,
    signal: AbortSignal | undefined,
    label: string | undefined,
    context: unknown,
    owner: unknown,
    trace: { stack?: string } | undefined,
  ): Promise<PooledConnection<C>> {
    const meta: AcquireMeta | undefined =
      signal === undefined && label === undefined && context === undefined && owner === undefined && trace === undefined
        ? undefined
        : { label, context, owner, trace, signal, onAbort: undefined };
    const start = now();
    const promise = new Promise<PooledConnection<never>>(parkSettlers) as Promise<PooledConnection<C>>;
    const w = new PoolWaiter(
      this,
      ++this.#nextWaiterId,
      priority,
      start,
      meta,
      parkedResolve as (conn: PooledConnection<never>) => void,
      parkedReject as (error: PoolError) => void,
    );
    parkedResolve = undefined;
    parkedReject = undefined;
    this.#deadlines.add(w, timeoutMs, start);
    if (signal !== undefined && meta !== undefined) {
      const onAbort = (): void => {
        this.#aborted++;
        this[kFailWaiter](
          w,
          withoutStack(() => new AcquireAbortedError(signal.reason)),
          'abort',
        );
      };
      meta.onAbort = onAbort;
      signal.addEventListener('abort', onAbort, { once: true });
    }
    this.#newest = w;
    return promise;
  }

  #expire(w: PoolWaiter): void {
    if (w.settled) return;
    this.#timeouts++;
    const error = withoutStack(() => new ConnectionTimeoutError(w.timeoutMs, w.lastError ?? this.#lastCreateError));
    if (this.#events.has('timeout'))
      this.#events.emit('timeout', { waitMs: now() - w.enqueuedAt, timeoutMs: w.timeoutMs, context: w.context });
    this[kFailWaiter](w, error, 'timeout');
  }

  /** @internal Fails a waiter unless it already settled: the implementation of `Waiter.fail`. */
  [kFailWaiter](w: PoolWaiter, error: PoolError, exit: WaiterExit): boolean {
    if (w.settled) return false;
    this.#settle(w);
    this.#queue.remove(w, exit);
    this.#acquireFailures++;
    if (this.#events.has('acquireError')) this.#events.emit('acquireError', { error, waitMs: now() - w.enqueuedAt, context: w.context });
    w.reject(error);
    return true;
  }

  #settle(w: PoolWaiter): void {
    w.settled = true;
    this.#deadlines.remove(w);
    const meta = w.meta;
    if (meta !== undefined && meta.onAbort !== undefined) meta.signal?.removeEventListener('abort', meta.onAbort);
  }

  /** Hands idle connections to waiters while both exist. */
  #dispatch(): void {
    while (!this.#suspended && this.#state === OPEN && this.#queue.size > 0 && this.#idle.size > 0) {
      const w = this.#queue.dequeue() as PoolWaiter | undefined;
      if (w === undefined) return;
      const slot = this.#takeIdle(w.label);
      if (slot === undefined) {
        this.#queue.requeue(w);
        return;
      }
      this.#serve(slot, w, false);
    }
  }

  /** Takes a reusable idle connection, destroying the ones found expired or broken on the way. */
  #takeIdle(label: string | undefined): Slot<C> | undefined {
    for (;;) {
      const slot = this.#idle.pop(label);
      if (slot === undefined) return undefined;
      const reason = this.#retireReason(slot);
      if (reason === null) return slot;
      this.#destroy(slot, reason);
    }
  }

  /** Whether an acquire must validate `slot` first; records a skip when fast validation trusts it. */
  #needsValidation(slot: Slot<C>): boolean {
    if (!this.#validateOnAcquire) return false;
    const v = this.#validator;
    if (v === null || !v.canSkip(slot.lastSuccessAt)) return true;
    this.#validations++;
    v.recordSkipped();
    if (this.#events.has('validation')) this.#events.emit('validation', { connectionId: slot.id, outcome: 'skipped', durationMs: 0 });
    return false;
  }

  /** Gives `slot` to dequeued (or never queued) waiter `w`, validating first when required. */
  #serve(slot: Slot<C>, w: PoolWaiter, fresh: boolean, t = Number.NaN): void {
    if (fresh || !this.#needsValidation(slot)) {
      this.#handOver(slot, w);
      return;
    }
    slot.state = 'validating';
    this.#validate(slot, t).then((outcome) => {
      if (outcome === 'valid' || outcome === 'skipped') {
        if (!w.settled && this.#state === OPEN) {
          this.#handOver(slot, w);
          return;
        }
        this.#makeAvailable(slot, true);
        if (!w.settled) this[kFailWaiter](w, new PoolClosedError('The pool was closed while waiting'), 'closed');
        return;
      }
      w.lastError = new ValidationFailedError(`Connection ${slot.id} failed validation (${outcome})`, { connectionId: slot.id });
      this.#destroy(slot, 'validation', w.lastError);
      if (w.settled) return;
      if (this.#state !== OPEN) {
        this[kFailWaiter](w, new PoolClosedError('The pool was closed while waiting'), 'closed');
        return;
      }
      this.#queue.requeue(w);
      this.#dispatch();
      this.#fill();
    });
  }

  #handOver(slot: Slot<C>, w: PoolWaiter): void {
    this.#settle(w);
    const waitMs = now() - w.enqueuedAt;
    this.#waited++;
    w.resolve(this.#lend(slot, waitMs, w.meta) as PooledConnection<never>);
  }

  #lend(slot: Slot<C>, waitMs: number, meta: BorrowMeta | undefined): PooledConnection<C> {
    slot.state = 'borrowed';
    slot.borrows++;
    slot.borrowedAt = this.#timed ? now() : Number.NaN;
    slot.leakReported = false;
    this.#acquired++;
    if (waitMs > 0) {
      this.#totalWaitMs += waitMs;
      if (waitMs > this.#maxWaitMs) this.#maxWaitMs = waitMs;
    }
    const handle = new PooledConnection(slot, meta);
    slot.handle = handle;
    if (this.#onAcquire) this.#events.emit('acquire', { connection: handle, waitMs });
    return handle;
  }

  #own(conn: PooledConnection<C>): PooledConnection<C> {
    if (!(conn instanceof PooledConnection)) {
      throw new InvalidArgumentError('conn', conn, 'must be a PooledConnection returned by acquire()');
    }
    if (conn[kLender] !== this.#lender) {
      throw new InvalidArgumentError(
        'conn',
        `connection ${conn.id} of pool '${conn.poolName}'`,
        `belongs to another pool, not to '${this.name}'`,
      );
    }
    return conn;
  }

  // ---------------------------------------------------------------- return path

  /** @internal Called by `PooledConnection.release()`. */
  [kGiveBack](handle: PooledConnection<C>, slot: Slot<C>, error: unknown): void {
    const t = this.#timed ? now() : Number.NaN;
    slot.handle = null;
    this.#released++;
    const failed = error !== undefined;
    if (failed) {
      this.#releasedWithError++;
      slot.lastSuccessAt = Number.NEGATIVE_INFINITY; // a failed use earns no fast-validation trust
    } else {
      if (!Number.isNaN(t)) slot.lastSuccessAt = t;
      this.#healthEpoch++;
      this.#consecutiveFailures = 0;
    }
    const aging = this.#aging;
    if (aging !== null) {
      if (aging.kind === 'adaptive') {
        slot.outcomes ??= new OutcomeWindow();
        slot.outcomes.record(failed, aging.windowSize ?? 20);
      }
      if (slot.retire === null) slot.retire = agingVerdict(aging, slot.borrows, slot.outcomes);
    }
    if (this.#onRelease) this.#events.emit('release', { connection: handle, holdMs: t - slot.borrowedAt, error, ended: 'released' });
    this.#recycle(slot, t);
  }

  /** @internal Called by `PooledConnection.destroy()`. */
  [kDestroyBorrowed](handle: PooledConnection<C>, slot: Slot<C>, error: unknown): Promise<void> {
    slot.handle = null;
    this.#released++;
    if (error !== undefined) this.#releasedWithError++;
    if (this.#onRelease) this.#events.emit('release', { connection: handle, holdMs: now() - slot.borrowedAt, error, ended: 'destroyed' });
    return this.#destroy(slot, 'destroyed', error);
  }

  /** Why `slot` must not be reused, or null. */
  #retireReason(slot: Slot<C>): DestroyReason | null {
    if (this.#state !== OPEN) return 'closed';
    if (slot.retire !== null) return slot.retire;
    if (slot.brokenError !== undefined) return 'broken';
    if (this.#slots.size > this.#maxSize) return 'resize';
    return null;
  }

  /** A released connection: retire it, or reset/replace/keep it per the recycling strategy. `t`: release time, NaN when untimed. */
  #recycle(slot: Slot<C>, t: number): void {
    const reason = this.#retireReason(slot);
    if (reason !== null) {
      this.#destroy(slot, reason);
      return;
    }
    const mode = this.#recycleMode;
    if (mode === 0 || (mode === 2 && !this.#isDirty(slot))) {
      if (this.#validateOnRelease) this.#afterReset(slot, t);
      else this.#offer(slot, false, t); // just checked above: nothing can have changed
      return;
    }
    if (mode === 3) {
      this.#destroy(slot, 'replace');
      return;
    }
    const factory = this.#factory;
    {
      slot.state = 'resetting';
      this.#resets++;
      // A label names session state (a tenant's search_path, say) that a reset clears: drop it, so a
      // caller preferring that label prepares the connection again instead of trusting stale state.
      slot.label = undefined;
      const resetFn = factory.reset as NonNullable<ConnectionFactory<C>['reset']>;
      runBounded('reset', this.#config.resetTimeoutMs, (ctx) => resetFn.call(factory, slot.connection, ctx), {
        scheduler: this.#operations,
      }).then((r) => {
        if (!r.ok) {
          this.#resetFailures++;
          this.#destroy(slot, 'reset', r.error);
          return;
        }
        this.#afterReset(slot, Number.NaN);
      });
    }
  }

  /** Asks the factory whether a connection carries state to reset; a throwing hook counts as dirty. */
  #isDirty(slot: Slot<C>): boolean {
    try {
      return (this.#factory.isDirty as NonNullable<ConnectionFactory<C>['isDirty']>).call(this.#factory, slot.connection) !== false;
    } catch {
      return true;
    }
  }

  #afterReset(slot: Slot<C>, t: number): void {
    if (!this.#validateOnRelease) {
      this.#makeAvailable(slot, false, t);
      return;
    }
    slot.state = 'validating';
    this.#validate(slot).then((outcome) => {
      if (outcome === 'valid' || outcome === 'skipped') this.#makeAvailable(slot, true);
      else this.#destroy(slot, 'validation');
    });
  }

  /**
   * A connection is ready for reuse: straight to the next waiter, else idle. `checked`: it was just
   * created or validated, so acquire-time validation is not needed.
   */
  #makeAvailable(slot: Slot<C>, checked: boolean, t = Number.NaN): void {
    if (slot.state === 'closing') return;
    const reason = this.#retireReason(slot);
    if (reason !== null) {
      this.#destroy(slot, reason);
      return;
    }
    this.#offer(slot, checked, t);
  }

  /** {@link #makeAvailable} for a connection known to be reusable. */
  #offer(slot: Slot<C>, checked: boolean, t: number): void {
    if (!this.#suspended && this.#queue.size > 0) {
      const w = this.#queue.dequeue() as PoolWaiter | undefined;
      if (w !== undefined) {
        this.#serve(slot, w, checked);
        return;
      }
    }
    slot.state = 'idle';
    // Exact when times are measured; otherwise the next maintenance pass (an upper bound), so the idle
    // timeout never reaps early and at most one maintenance interval late.
    slot.idleSince = !Number.isNaN(t) ? t : this.#timed ? now() : this.#nextTickAt;
    this.#idle.push(slot);
  }

  /** Validates `slot`, bounded by the validation timeout. `t`: "now", when the caller just read the clock. */
  #validate(slot: Slot<C>, t = Number.NaN): Promise<ValidationOutcome> {
    this.#validations++;
    const timed = this.#events.has('validation');
    const start = timed && Number.isNaN(t) ? now() : t;
    const done = (outcome: ValidationOutcome): ValidationOutcome => {
      if (outcome === 'valid') {
        // Only fast validation reads this; a clock read costs as much as the rest of the bookkeeping.
        if (this.#timed) slot.lastSuccessAt = now();
        this.#healthEpoch++;
        this.#consecutiveFailures = 0;
      } else if (outcome !== 'skipped') this.#validationFailures++;
      if (timed) this.#events.emit('validation', { connectionId: slot.id, outcome, durationMs: now() - start });
      return outcome;
    };
    if (this.#validator !== null) return this.#validator.check(this.#factory, slot.connection, slot.lastSuccessAt).then(done);
    const factory = this.#factory;
    const validate = factory.validate as NonNullable<ConnectionFactory<C>['validate']>;
    return runBounded('validate', this.#config.validationTimeoutMs, (ctx) => validate.call(factory, slot.connection, ctx), {
      scheduler: this.#operations,
      ...(Number.isNaN(t) ? {} : { start: t }),
    }).then((r) => done(r.ok ? (r.value === true ? 'valid' : 'invalid') : r.timedOut ? 'timeout' : 'error'));
  }

  // ---------------------------------------------------------------- creation

  /** Starts creations for waiters and for `minSize`, within `maxSize`, backoff and throttle. */
  #fill(): void {
    if (this.#state !== OPEN) return;
    const cfg = this.#config;
    const open = this.#slots.size + this.#pending;
    const room = cfg.maxSize - open;
    if (room <= 0) return;
    const forWaiters = this.#suspended ? 0 : this.#queue.size - this.#pending;
    const forMinimum = cfg.minSize - open;
    let want = Math.min(room, Math.max(forWaiters, forMinimum));
    while (want-- > 0 && this.#mayCreate()) void this.#create();
  }

  #mayCreate(): boolean {
    const t = now();
    if (t < this.#backoffUntil) {
      this.#scheduleFill(this.#backoffUntil);
      return false;
    }
    const rate = this.#config.creationThrottle;
    if (rate === null) return true;
    this.#tokens = Math.min(rate, this.#tokens + ((t - this.#tokensAt) * rate) / 1000);
    this.#tokensAt = t;
    if (this.#tokens >= 1) {
      this.#tokens -= 1;
      return true;
    }
    this.#scheduleFill(t + ((1 - this.#tokens) * 1000) / rate);
    return false;
  }

  #scheduleFill(at: number): void {
    if (this.#fillTimer !== undefined && this.#fillAt <= at) return;
    if (this.#fillTimer !== undefined) clearTimeout(this.#fillTimer);
    this.#fillAt = at;
    this.#fillTimer = setTimeout(
      () => {
        this.#fillTimer = undefined;
        this.#fillAt = Number.POSITIVE_INFINITY;
        this.#fill();
      },
      Math.max(0, Math.ceil(at - now())),
    );
    this.#fillTimer.unref?.();
  }

  /** Opens one connection. Resolves true on success, or the error. Never rejects. */
  #create(): Promise<true | unknown> {
    this.#pending++;
    const start = now();
    let slot: Slot<C> | undefined;
    let brokenEarly: unknown;
    const markBroken = (error?: unknown): void => {
      const why = error ?? new Error('connection reported broken by its factory');
      if (slot !== undefined) this.#onBroken(slot, why);
      else brokenEarly = why;
    };
    const factory = this.#factory;
    let op: BoundedOperation<C> | undefined;
    return runBounded<C>(
      'create',
      this.#config.createTimeoutMs,
      (ctx) => factory.create(ctx),
      // A connection that arrives after the pool gave up on it is unwanted, but never leaked.
      { scheduler: this.#operations, start, markBroken, onLate: (conn) => this.#closeQuietly(conn) },
      (started) => {
        op = started;
        this.#creations.add(started as BoundedOperation<unknown>);
      },
    ).then((r) => {
      this.#pending--;
      this.#creations.delete(op as BoundedOperation<unknown>);
      if (!r.ok) {
        const error = r.timedOut
          ? new ConnectionCreateError(`factory.create() did not finish within ${this.#config.createTimeoutMs} ms`, r.error)
          : r.error;
        this.#createFailed(error, start);
        this.#checkDrained();
        return error;
      }
      slot = this.#adopt(r.value, start);
      if (brokenEarly !== undefined) slot.brokenError = brokenEarly;
      this.#makeAvailable(slot, true);
      this.#checkDrained();
      return true;
    });
  }

  #adopt(conn: C, start: number): Slot<C> {
    const t = now();
    const lifetime = this.#lifetimeMs();
    const expiresAt = lifetime === null ? Number.POSITIVE_INFINITY : start + lifetime - Math.random() * lifetime * 0.025;
    const slot = new Slot(this.#lender, ++this.#nextConnectionId, conn, t, expiresAt);
    slot.healthEpoch = this.#healthEpoch;
    if (lifetime !== null) {
      // An entry on the pool's deadline queue (no timer of its own) retires it at its lifetime, even when
      // idle. Every connection's entry goes in the lane of the pool's lifetime, whatever its jitter, so
      // connections share one lane rather than each making its own.
      slot.expiry = new LifetimeEntry(() => this.#expireSlot(slot));
      const lane = Math.ceil(lifetime);
      this.#operations.add(slot.expiry, lane, expiresAt - lane);
    }
    this.#slots.add(slot);
    slot.state = 'validating';
    this.#created++;
    this.#totalCreateMs += t - start;
    // A connect succeeded: creations may proceed now. The failure streak ends only when a connection
    // proves healthy (see #healthy), so a database that accepts connects but fails them keeps backing off.
    this.#lastCreateError = undefined;
    this.#backoffUntil = 0;
    if (this.#events.has('create')) this.#events.emit('create', { connectionId: slot.id, durationMs: t - start });
    return slot;
  }

  #expireSlot(slot: Slot<C>): void {
    slot.expiry = null;
    if (slot.state === 'closing') return;
    if (slot.retire === null) slot.retire = 'lifetime';
    if (slot.state === 'idle') this.#destroy(slot, slot.retire);
  }

  #lifetimeMs(): number | null {
    const a = this.#config.maxLifetimeMs;
    const b = agingLifetimeMs(this.#aging);
    if (a === null) return b;
    if (b === null) return a;
    return Math.min(a, b);
  }

  #createFailed(error: unknown, start: number): void {
    const t = now();
    this.#createFailures++;
    this.#lastCreateError = error;
    const delay = this.#backOff(start);
    if (this.#events.has('createError')) {
      this.#events.emit('createError', { error, durationMs: t - start, consecutiveFailures: this.#consecutiveFailures, retryInMs: delay });
    }
    if (this.#state === OPEN) this.#fill();
  }

  /**
   * Delays the next creation exponentially (with up to 20% jitter) after a failure of a connection
   * attempt that started at `start`. Returns the delay.
   */
  #backOff(start: number): number {
    const t = now();
    // Failures of attempts that started before the previous failure belong to the same round.
    if (start > this.#lastFailureAt || this.#consecutiveFailures === 0) this.#consecutiveFailures++;
    this.#lastFailureAt = t;
    const cfg = this.#config;
    const exp = Math.min(this.#consecutiveFailures - 1, 30);
    const base = Math.min(cfg.createRetryMaxDelayMs, cfg.createRetryDelayMs * 2 ** exp);
    const delay = Math.min(cfg.createRetryMaxDelayMs, base * (1 + Math.random() * 0.2));
    this.#backoffUntil = t + delay;
    return delay;
  }

  async #warmUp(n: number): Promise<(true | unknown)[]> {
    const runs: Promise<true | unknown>[] = [];
    for (let i = 0; i < n && this.#state === OPEN; i++) {
      const rate = this.#config.creationThrottle;
      if (rate !== null) {
        const t = now();
        this.#tokens = Math.min(rate, this.#tokens + ((t - this.#tokensAt) * rate) / 1000);
        this.#tokensAt = t;
        if (this.#tokens < 1) await new Promise((r) => setTimeout(r, Math.ceil(((1 - this.#tokens) * 1000) / rate)));
        this.#tokens = Math.max(0, this.#tokens - 1);
      }
      runs.push(this.#create());
    }
    return Promise.all(runs);
  }

  #onBroken(slot: Slot<C>, error: unknown): void {
    if (slot.state === 'closing') return;
    slot.brokenError = error;
    if (slot.state === 'idle') this.#destroy(slot, 'broken', error);
  }

  // ---------------------------------------------------------------- destruction

  /** Takes `slot` out of the pool and closes its connection. Resolves when closed; never rejects. */
  #destroy(slot: Slot<C>, reason: DestroyReason, error?: unknown): Promise<void> {
    if (slot.state === 'closing') return Promise.resolve();
    this.#idle.remove(slot);
    const handle = slot.handle;
    if (handle !== null) {
      // The pool ends a live borrow (reclaim, forced close): the borrow is over, as a release says.
      handle[kRevoke](reason === 'reclaimed' ? 'reclaimed by the pool' : 'closed by the pool');
      slot.handle = null;
      this.#released++;
      this.#reclaimed++;
      if (this.#onRelease) {
        const ended = reason === 'reclaimed' ? 'reclaimed' : 'closed';
        this.#events.emit('release', { connection: handle, holdMs: now() - slot.borrowedAt, error, ended });
      }
    }
    if (slot.expiry !== null) this.#operations.remove(slot.expiry);
    slot.state = 'closing';
    this.#slots.delete(slot);
    this.#destroyed++;
    this.#reasons[reason]++;
    if (this.#events.has('destroy')) {
      this.#events.emit('destroy', { connectionId: slot.id, reason, ageMs: now() - slot.createdAt, borrows: slot.borrows, error });
    }
    if ((reason === 'validation' || reason === 'broken') && slot.healthEpoch === this.#healthEpoch) {
      // Nothing has been healthy since this connection opened: new connections are bad (the database
      // accepts connects but fails them), so replacing it at once would spin. Back off as for a failed create.
      this.#backOff(slot.createdAt);
    }
    const closed = this.#closeConnection(slot.connection, slot.id);
    if (this.#state === OPEN) this.#fill();
    else this.#checkDrained();
    return closed;
  }

  #closeConnection(conn: C, id: number | undefined): Promise<void> {
    const factory = this.#factory;
    const bound = Math.max(1, this.#config.closeTimeoutMs);
    const p = runBounded('close', bound, (ctx) => factory.close(conn, ctx), { scheduler: this.#operations }).then((r) => {
      this.#closing.delete(p);
      if (!r.ok) {
        const which = id === undefined ? 'an abandoned connection' : `connection ${id}`;
        this.#report(new CallbackError('ERR_POOL_FACTORY', `factory.close() failed for ${which}`, r.error));
      }
    });
    this.#closing.add(p);
    return p;
  }

  #closeQuietly(conn: C): void {
    void this.#closeConnection(conn, undefined);
  }

  #report(error: PoolError): void {
    this.#errors++;
    if (this.#events.has('error')) {
      this.#events.emit('error', { error });
      return;
    }
    if (!this.#warned.has(error.code)) {
      this.#warned.add(error.code);
      process.emitWarning(
        `[${this.name}] ${error.message} (further ${error.code} problems are counted in statistics().errors; listen to 'error' to see them)`,
        {
          code: error.code,
        },
      );
    }
  }

  #assertOpen(action: string): void {
    if (this.#state !== OPEN) throw new PoolClosedError(`Cannot ${action}: the pool is ${this.state}`);
  }

  #startMaintenance(): void {
    this.#maintenanceTimer = setInterval(() => this.runMaintenance(), this.#config.maintenanceIntervalMs);
    this.#maintenanceTimer.unref?.();
  }

  #checkDrained(): void {
    if (this.#drained !== undefined && this.#slots.size === 0 && this.#pending === 0) this.#drained();
  }

  async #shutDown(): Promise<void> {
    clearInterval(this.#maintenanceTimer);
    if (this.#fillTimer !== undefined) clearTimeout(this.#fillTimer);
    this.#suspended = false;
    const closedError = new PoolClosedError('The pool was closed while waiting');
    for (const w of [...this.#queue.values()]) this[kFailWaiter](w as PoolWaiter, closedError, 'closed');
    for (const op of [...this.#creations]) op.abandon(new PoolClosedError('The pool closed while this connection was being opened'));
    for (const slot of this.#idle.oldestFirst()) this.#destroy(slot, 'closed');
    if (this.#slots.size > 0 || this.#pending > 0) {
      const drained = new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
      let timer: ReturnType<typeof setTimeout> | undefined;
      const waited = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#config.closeTimeoutMs);
      });
      await Promise.race([drained, waited]);
      clearTimeout(timer);
      this.#drained = undefined;
      for (const slot of [...this.#slots]) this.#destroy(slot, 'closed');
    }
    while (this.#closing.size > 0) await Promise.all(this.#closing);
    this.#deadlines.clear();
    this.#state = CLOSED;
    if (this.#events.has('close')) this.#events.emit('close', {});
  }
}
