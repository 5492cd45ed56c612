import { type AgingPolicy, checkAgingPolicy } from './aging-policy.js';
import { now, toEpochMs } from './clock.js';
import { PoolConfig, type PoolConfigOptions } from './config.js';
import { CLOSING, ConnectionBag, OPEN } from './connection-bag.js';
import type { ConnectionValidator } from './connection-validator.js';
import { type AcquireTrace, acquireTraced, traceAcquire, traceWait, waitTraced } from './diagnostics.js';
import { ConnectionCreateError, InvalidArgumentError, PoolClosedError } from './errors.js';
import type { PoolEventMap } from './events.js';
import type { ConnectionFactory } from './factory.js';
import { Housekeeper } from './housekeeper.js';
import type { PoolLogger } from './pool-logger.js';
import { type AcquireOptions, checkFactory, checkPoolOptions, type OwnerScope, type PoolOptions } from './pool-options.js';
import { kLender, PooledConnection, type ReleaseOptions } from './pooled-connection.js';
import { checkRecyclingStrategy, RecyclingStrategy } from './recycling-strategy.js';
import type { ConnectionInfo, PoolSize, PoolStatistics } from './statistics.js';
import { BasicWaitQueue, type WaitQueue } from './waiter.js';

export type { AcquireOptions, OwnerScope, PoolOptions } from './pool-options.js';

let poolCounter = 0;

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
  /** Borrowing and hand-off, and the state the parts below share. */
  readonly #bag: ConnectionBag<C>;
  readonly #housekeeper: Housekeeper<C>;
  #closePromise: Promise<void> | undefined;

  private constructor(config: PoolConfig, factory: ConnectionFactory<C>, options: PoolOptions) {
    this.name = options.name ?? `pool-${++poolCounter}`;
    const queue = options.waitQueue ?? new BasicWaitQueue();
    this.#bag = new ConnectionBag({
      name: this.name,
      config,
      factory,
      queue,
      validator: options.validator ?? null,
      aging: options.agingPolicy == null ? null : checkAgingPolicy(options.agingPolicy),
      recycling: checkRecyclingStrategy(options.recyclingStrategy ?? RecyclingStrategy.Adaptive),
      ownerScope: options.ownerScope ?? null,
      captureStacks: options.captureStacks ?? false,
      entry: ConnectionPool.prototype.acquire,
      logger: options.logger ?? null,
    });
    this.#housekeeper = new Housekeeper(this.#bag);
    queue.attach?.(this);
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
    const initial = pool.config.initialSize;
    const results = await pool.#bag.opener.warmUp(initial);
    if (initial > 0 && results.every((r) => r !== true)) {
      await pool.close();
      const first = results.find((r) => r !== true);
      throw new ConnectionCreateError(`Could not open any of the ${initial} initial connections`, first);
    }
    pool.#housekeeper.start();
    pool.#bag.opener.fill();
    return pool;
  }

  /**
   * Creates a pool without opening any connection up front and without waiting (connections open on
   * demand and maintenance fills to `minSize` in the background). Validates like {@link create}.
   */
  static open<C>(config: PoolConfig | PoolConfigOptions, factory: ConnectionFactory<C>, options: PoolOptions = {}): ConnectionPool<C> {
    const pool = ConnectionPool.#construct(config, factory, options);
    pool.#housekeeper.start();
    pool.#bag.opener.fill();
    return pool;
  }

  static #construct<C>(config: PoolConfig | PoolConfigOptions, factory: ConnectionFactory<C>, options: PoolOptions): ConnectionPool<C> {
    const cfg = config instanceof PoolConfig ? config : PoolConfig.from(config);
    checkFactory(factory);
    checkPoolOptions(cfg, factory as ConnectionFactory<unknown>, options);
    return new ConnectionPool(cfg, factory, options);
  }

  // ---------------------------------------------------------------- what the pool is made of

  /** The current configuration (a new frozen object after `resize()`). */
  get config(): PoolConfig {
    return this.#bag.config;
  }

  /** The factory that opens this pool's connections. */
  get factory(): ConnectionFactory<C> {
    return this.#bag.factory;
  }

  /** The wait queue in use. */
  get waitQueue(): WaitQueue {
    return this.#bag.queue;
  }

  /** The validator in use, if any. */
  get validator(): ConnectionValidator | null {
    return this.#bag.validator;
  }

  /** The owner scope in use (deadlock detection), if any. */
  get ownerScope(): OwnerScope | null {
    return this.#bag.ownerScope;
  }

  /** The aging policy in use, if any. */
  get agingPolicy(): AgingPolicy | null {
    return this.#bag.aging;
  }

  /** The `logger` option, for adapters that log through the same object (see `writeLog`); null without one. */
  get logger(): PoolLogger | null {
    return this.#bag.log?.logger ?? null;
  }

  /** The recycling strategy in use. */
  get recyclingStrategy(): RecyclingStrategy {
    return this.#bag.recycling;
  }

  /** `'open'`, `'closing'` or `'closed'`. */
  get state(): 'open' | 'closing' | 'closed' {
    const state = this.#bag.state;
    return state === OPEN ? 'open' : state === CLOSING ? 'closing' : 'closed';
  }

  /** True while acquisition is suspended. */
  get suspended(): boolean {
    return this.#bag.suspended;
  }

  // ---------------------------------------------------------------- borrowing

  /**
   * Borrows a connection: an idle one at once when free, otherwise waits (FIFO by default) until one is
   * released or created, up to `timeoutMs` (default `acquireTimeoutMs`).
   *
   * Rejects with `ConnectionTimeoutError` (with the last creation error as `cause`), `PoolExhaustedError`
   * (wait queue full), `AcquireAbortedError`, `PoolClosedError` or `InvalidArgumentError`.
   *
   * Traced on the `pool:acquire` diagnostics channel when someone subscribes (see `PoolChannel`).
   */
  acquire(options?: AcquireOptions): Promise<PooledConnection<C>> {
    if (acquireTraced()) return this.#tracedAcquire(options);
    if (waitTraced()) return this.#waitTracedAcquire(options);
    return this.#bag.acquire(options);
  }

  #tracedAcquire(options: AcquireOptions | undefined): Promise<PooledConnection<C>> {
    const bag = this.#bag;
    const trace = this.#trace(options);
    if (!waitTraced()) return traceAcquire(trace, () => bag.acquire(options), now);
    return traceAcquire(trace, () => this.#waitTracedAcquire(options), now);
  }

  /** An acquire whose wait, if it has to wait, is published on `pool:wait`. */
  #waitTracedAcquire(options: AcquireOptions | undefined): Promise<PooledConnection<C>> {
    const bag = this.#bag;
    const waits = bag.waitsStarted;
    const promise = bag.acquire(options);
    if (bag.waitsStarted === waits) return promise; // served at once, or refused: no wait
    return traceWait(this.#trace(options), promise, bag.lastWaitStartedAt, now);
  }

  #trace(options: AcquireOptions | undefined): AcquireTrace {
    const o: AcquireOptions | undefined = typeof options === 'object' && options !== null ? options : undefined;
    return {
      pool: this.name,
      priority: o?.priority ?? 'normal',
      timeoutMs: o?.timeoutMs ?? this.#bag.config.acquireTimeoutMs,
      context: o?.context,
      label: o?.label,
      failFast: o?.failFast === true,
    };
  }

  /**
   * Acquires a connection, runs `fn` with it, and releases it, also when `fn` throws (the error is then
   * reported to the pool as the borrow's error, and rethrown). If `fn` released or destroyed the
   * connection itself, nothing more is done.
   */
  use<T>(fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
    if (typeof fn !== 'function') return Promise.reject(new InvalidArgumentError('fn', fn, 'must be a function'));
    const scope = this.#bag.ownerScope;
    // No closure per call unless owners are tracked (a hot path: every pool.use() comes through here).
    return scope === null ? this.#use(fn, options) : scope.run(() => this.#use(fn, options));
  }

  async #use<T>(fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>, options: AcquireOptions | undefined): Promise<T> {
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
  }

  /** Releases a connection acquired from this pool (same as `conn.release(options)`). */
  release(conn: PooledConnection<C>, options?: ReleaseOptions): void {
    this.#own(conn).release(options);
  }

  /** Destroys a connection acquired from this pool (same as `conn.destroy(error)`). */
  destroy(conn: PooledConnection<C>, error?: unknown): Promise<void> {
    return this.#own(conn).destroy(error);
  }

  #own(conn: PooledConnection<C>): PooledConnection<C> {
    if (!(conn instanceof PooledConnection)) {
      throw new InvalidArgumentError('conn', conn, 'must be a PooledConnection returned by acquire()');
    }
    if (conn[kLender] !== this.#bag) {
      throw new InvalidArgumentError(
        'conn',
        `connection ${conn.id} of pool '${conn.poolName}'`,
        `belongs to another pool, not to '${this.name}'`,
      );
    }
    return conn;
  }

  // ---------------------------------------------------------------- inspection

  /** How many connections are where, right now. */
  size(): PoolSize {
    const bag = this.#bag;
    const total = bag.slots.size;
    const idle = bag.idle.size;
    return { total, idle, active: total - idle, pending: bag.opener.pending, waiting: bag.queue.size, limit: bag.capacity };
  }

  /** A snapshot of the pool's counters. Cheap: no allocation beyond the returned object. */
  statistics(): PoolStatistics {
    return this.#bag.counters.snapshot(this.name, this.size(), this.#bag.suspended, this.state);
  }

  /** A snapshot of every open connection (for leak detection, dashboards, debugging). O(connections). */
  connections(): ConnectionInfo[] {
    const t = now();
    const out: ConnectionInfo[] = [];
    for (const slot of this.#bag.slots) {
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
    for (const slot of this.#bag.slots) if (slot.handle !== null) out.push(slot.handle);
    return out;
  }

  // ---------------------------------------------------------------- operator actions

  /**
   * Stops handing out connections (HikariCP's pool suspension): new and waiting acquires wait (and
   * time out as usual); borrowed connections keep working and come back to idle. Idempotent.
   */
  suspend(): void {
    this.#assertOpen('suspend');
    const bag = this.#bag;
    if (bag.suspended) return;
    bag.suspended = true;
    bag.retime();
    if (bag.events.has('suspend')) bag.events.emit('suspend', {});
  }

  /** Resumes handing out connections and serves the waiters. Idempotent. */
  resume(): void {
    this.#assertOpen('resume');
    const bag = this.#bag;
    if (!bag.suspended) return;
    bag.suspended = false;
    bag.retime();
    bag.dispatch();
    bag.opener.fill();
    if (bag.events.has('resume')) bag.events.emit('resume', {});
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
    const bag = this.#bag;
    const changes: PoolConfigOptions = {};
    if (sizes.minSize !== undefined) changes.minSize = sizes.minSize;
    if (sizes.maxSize !== undefined) {
      changes.maxSize = sizes.maxSize;
      // initialSize only matters at start; keep it within the new bounds rather than refuse the resize.
      if (typeof sizes.maxSize === 'number' && bag.config.initialSize > sizes.maxSize)
        changes.initialSize = Math.max(0, Math.floor(sizes.maxSize));
    }
    const config = bag.config.with(changes);
    const previous = bag.limit;
    const limit = previous === null ? null : Math.min(config.maxSize, Math.max(config.minSize, previous));
    bag.reconfigure(config, limit);
    this.#closeBeyondCapacity('resize');
    bag.opener.fill();
    if (bag.events.has('resize')) bag.events.emit('resize', { minSize: config.minSize, maxSize: config.maxSize });
    if (limit !== previous && bag.events.has('limit')) bag.events.emit('limit', { previous, limit, reason: 'resize' });
    return config;
  }

  /**
   * Caps how many connections may be open, and so borrowed, at once, below `maxSize` and without
   * changing the config: what an adaptive sizing policy (`@pool/adaptive`) or a cluster-wide budget
   * moves at run time. `limit` is an integer within `[minSize, maxSize]`, or `null` to lift the cap.
   *
   * Lowering it never takes a connection from its borrower: new borrows wait while as many are
   * borrowed as the limit allows, idle connections beyond it close at once (destroy reason `limit`),
   * and borrowed ones beyond it close as they come back. Raising it opens connections for the waiters
   * at once. `size().limit` and `statistics().limit` show the cap in force; a change emits a `limit`
   * event with `previous`, `limit` and your `reason`. A later `resize()` moves the limit into the new
   * bounds. Throws `InvalidArgumentError` for a value out of bounds, `PoolClosedError` once closing.
   *
   * @example
   * ```ts
   * pool.setLimit(8, 'latency rose without throughput gain');
   * pool.size().limit; // 8
   * pool.setLimit(null); // back to maxSize
   * ```
   */
  setLimit(limit: number | null, reason?: string): void {
    this.#assertOpen('set the limit');
    const bag = this.#bag;
    const { minSize, maxSize } = bag.config;
    if (limit !== null && (typeof limit !== 'number' || !Number.isInteger(limit) || limit < minSize || limit > maxSize)) {
      throw new InvalidArgumentError(
        'limit',
        limit,
        `must be an integer between minSize (${minSize}) and maxSize (${maxSize}), or null for no limit`,
      );
    }
    if (reason !== undefined && typeof reason !== 'string') throw new InvalidArgumentError('reason', reason, 'must be a string');
    const previous = bag.limit;
    if (limit === previous) return;
    bag.reconfigure(bag.config, limit);
    this.#closeBeyondCapacity('limit');
    bag.opener.fill();
    if (bag.events.has('limit')) bag.events.emit('limit', { previous, limit, reason });
  }

  /** The cap set by {@link setLimit}, or null when none is (then `maxSize` applies). */
  get limit(): number | null {
    return this.#bag.limit;
  }

  /** Closes idle connections, oldest first, while more are open than the capacity allows. */
  #closeBeyondCapacity(reason: 'resize' | 'limit'): void {
    const bag = this.#bag;
    for (const slot of bag.idle.oldestFirst()) {
      if (bag.slots.size <= bag.capacity) break;
      bag.closer.destroy(slot, bag.capacity < bag.config.maxSize ? 'limit' : reason);
    }
  }

  /**
   * Soft eviction (HikariCP's `softEvictConnections`): closes every idle connection now and retires every
   * borrowed one when it comes back; the pool then refills to `minSize`. Returns how many were closed now.
   */
  evictIdle(): number {
    this.#assertOpen('evict');
    const bag = this.#bag;
    let n = 0;
    for (const slot of bag.idle.oldestFirst()) {
      bag.closer.destroy(slot, 'evicted');
      n++;
    }
    for (const slot of bag.slots) if (slot.state !== 'idle' && slot.retire === null) slot.retire = 'evicted';
    bag.opener.fill();
    return n;
  }

  /**
   * Takes a borrowed connection back by force (an abandoned borrow): the borrower's handle stops working
   * and the connection is closed, freeing its place. Returns false when no such connection is borrowed.
   */
  reclaim(connectionId: number): boolean {
    for (const slot of this.#bag.slots) {
      if (slot.id === connectionId && slot.handle !== null) {
        this.#bag.closer.destroy(slot, 'reclaimed');
        return true;
      }
    }
    return false;
  }

  /** Runs a maintenance pass now (it also runs every `maintenanceIntervalMs`). */
  runMaintenance(): void {
    this.#housekeeper.run();
  }

  /**
   * Closes the pool: waiters reject with `PoolClosedError`, later acquires reject at once, idle
   * connections close now, borrowed ones close when released or after `closeTimeoutMs` (their handles
   * then stop working). Resolves when every connection is closed. Idempotent: every call returns the
   * same promise. Never rejects.
   */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    this.#bag.state = CLOSING;
    this.#bag.retime();
    this.#housekeeper.stop();
    // Awaited, this keeps the process alive until every connection is closed or its bound expired.
    this.#closePromise = this.#bag.closer.holdWhile(this.#bag.closer.shutDown());
    return this.#closePromise;
  }

  /** `await using pool = await ConnectionPool.create(...)` closes the pool at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(action: string): void {
    if (this.#bag.state !== OPEN) throw new PoolClosedError(`Cannot ${action}: the pool is ${this.state}`);
  }

  // ---------------------------------------------------------------- events

  /** Subscribes to an event (see {@link PoolEventMap}). Returns the pool for chaining. */
  on<K extends keyof PoolEventMap<C>>(event: K, listener: (payload: PoolEventMap<C>[K]) => void): this {
    this.#bag.events.on(event, listener);
    this.#bag.retime();
    return this;
  }

  /** Unsubscribes a listener added with `on` or `once`. */
  off<K extends keyof PoolEventMap<C>>(event: K, listener: (payload: PoolEventMap<C>[K]) => void): this {
    this.#bag.events.off(event, listener);
    this.#bag.retime();
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

  /** Listeners subscribed to `event`. */
  listenerCount(event: keyof PoolEventMap<C>): number {
    return this.#bag.events.count(event);
  }

  /**
   * Asks the pool to measure every borrow's start and end (and idle times) exactly, as it does while a
   * `release` listener, leak detection, stack capture or fast validation needs them. Call the returned
   * function to withdraw the request; the pool stops measuring when nobody needs it (each measurement
   * costs a clock read on the acquire and release paths). A leak detector uses this.
   */
  requestBorrowTiming(): () => void {
    const bag = this.#bag;
    bag.timingRequests++;
    bag.retime();
    let withdrawn = false;
    return () => {
      if (withdrawn) return;
      withdrawn = true;
      bag.timingRequests--;
      bag.retime();
    };
  }

  /** A short description for logs. */
  toString(): string {
    const s = this.size();
    return `ConnectionPool(${this.name}: ${s.active} active, ${s.idle} idle, ${s.pending} pending, ${s.waiting} waiting, ${this.state})`;
  }
}
