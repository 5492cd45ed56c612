import {
  type AcquireOptions,
  type ConnectionFactory,
  type ConnectionPool,
  InvalidArgumentError,
  InvalidConfigError,
  now,
  PoolClosedError,
  type PoolError,
  type PooledConnection,
  type WaitQueue,
} from '@pool/core';
import { acquireFrom, failWaiter } from './acquisition.js';
import { checkReservations, schedule, syncReservation } from './admission.js';
import { TokenBucket } from './budgets.js';
import { PartitionError } from './errors.js';
import type { PartitionEventMap } from './events.js';
import { defaultLimits, type PartitionLimits, type PartitionLimitsInput, resolveLimits } from './limits.js';
import {
  type ConnectionMemoryCost,
  checkAcquireOptions,
  checkManagerPool,
  checkMemoryCost,
  checkPartitionOptions,
  checkPrepareOptions,
  checkWaitQueue,
  type MemoryReportingFactory,
  type PartitionManagerOptions,
  type PartitionOptions,
  type RemovePartitionOptions,
  resolveManagerOptions,
} from './manager-options.js';
import { ManagerState } from './manager-state.js';
import { type Partition, type PartitionInfo, PartitionState, type PartitionWaiter, type PoolLink, type PrepareHook } from './partition.js';
import { makePartitionHandle, runWith } from './partition-handle.js';
import { PartitionRegistry } from './partition-registry.js';
import { startDraining } from './partition-removal.js';
import { checkPartitionType, type PartitionType } from './partition-type.js';
import { followPool, openIsolated } from './pool-link.js';
import { checkRequest, type PartitionRequest, type RoutingStrategy } from './routing.js';
import type { PartitionStatistics } from './statistics.js';

let managerCounter = 0;
/** The manager partitioning each pool: reservations only hold when one manager admits for a pool. */
const managers = new WeakMap<ConnectionPool<unknown>, string>();

/**
 * Splits one pool between tenants, users, applications or services (the seed's `PartitionManager`):
 * requests are routed to partitions, and each partition's limits are enforced in front of the pool.
 *
 * Admission: the manager is the gate in front of `pool.acquire()`. A partition may hold at most
 * `maxConnections`; the pool's `maxSize` is the shared capacity, of which every partition's unused
 * `minConnections` stay reserved for it, so a partition under its minimum is served at once even while
 * a neighbour floods. Capacity beyond the reservations goes to waiting partitions round robin (one
 * connection per partition per turn), so a flood from one partition cannot starve another; within a
 * partition callers are served first come, first served (or by the injected queue's order). Budgets
 * (`cpuLimitMs`, `ioLimit`, `memoryLimitBytes`) hold a partition's queue until they refill; a caller
 * whose deadline comes first fails with `PartitionLimitError` naming the budget, at once when the
 * refill time is known. Every wait is bounded by the caller's deadline (one timer for all) and
 * abortable with its signal.
 *
 * Connections are the pool's own `PooledConnection`s: release them as usual (`release()`, `destroy()`,
 * `await using`, or `manager.use()`); the manager follows the pool's `release` and `destroy` events.
 * All acquisitions from a partitioned pool should go through the manager: a direct `pool.acquire()`
 * is not counted against any partition and can take reserved capacity.
 *
 * @example
 * ```ts
 * const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(200).enablePartitioning(true).build(), factory);
 * const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
 * manager.createPartition('tenant_acme', PartitionType.Tenant('acme_corp'), { maxConnections: 50, minConnections: 5 });
 * const rows = await manager.use({ tenant: 'acme_corp' }, (db) => db.query('SELECT * FROM orders'));
 * ```
 */
export class PartitionManager<C> {
  /** The manager's name. */
  readonly name: string;
  /** The shared pool. */
  readonly pool: ConnectionPool<C>;
  /** The routing strategy. */
  readonly routing: RoutingStrategy;
  readonly #memoryCost: ConnectionMemoryCost<C> | null;
  readonly #prepare: PrepareHook<C> | null;
  readonly #makeQueue: () => WaitQueue;
  /** What the manager's modules (registry, admission, acquisition, return path, removal) share. */
  readonly #m: ManagerState<C>;
  readonly #registry: PartitionRegistry<C>;
  readonly #shared: PoolLink<C>;

  constructor(options: PartitionManagerOptions<C>) {
    const pool = checkManagerPool(options);
    const owner = managers.get(pool as ConnectionPool<unknown>);
    if (owner !== undefined) {
      throw new InvalidConfigError(
        'pool',
        `pool '${pool.name}'`,
        `is already partitioned by manager '${owner}'; one manager per pool (close it first), or give a partition its own pool with isolated`,
      );
    }
    const resolved = resolveManagerOptions(options);
    this.routing = resolved.routing;
    this.name = resolved.name ?? `partitions-${++managerCounter}`;
    this.pool = pool;
    this.#memoryCost = resolved.memoryCost;
    this.#prepare = resolved.prepare;
    this.#makeQueue = resolved.makeQueue;
    this.#registry = new PartitionRegistry<C>(resolved.routing, resolved.defaultPartition);
    this.#m = new ManagerState<C>(this.name, pool, this.#registry);
    this.#shared = followPool(this.#m, pool);
    managers.set(pool as ConnectionPool<unknown>, this.name);
  }

  // ---------------------------------------------------------------- partitions

  /**
   * Creates a partition (the seed's `create_partition`). `limits` may be partial; missing fields take
   * the defaults of {@link PartitionLimits}. Throws `InvalidConfigError` naming the field for bad input,
   * a duplicate id, a duplicate `PartitionType` name for a key kind, or minimums that no longer fit in
   * the pool's `maxSize`.
   *
   * @example
   * ```ts
   * const partition = manager.createPartition('tenant_acme', PartitionType.Tenant('ACME Corp'), {
   *   maxConnections: 50,
   *   minConnections: 5,
   *   maxWaitQueue: 100,
   *   cpuLimitMs: 60_000,
   *   memoryLimitBytes: 1024 * 1024 * 1024,
   *   ioLimit: 1000,
   * });
   * ```
   */
  createPartition(id: string, type: PartitionType, limits?: PartitionLimitsInput, options: PartitionOptions<C> = {}): Partition<C> {
    this.#assertOpen('create a partition');
    if (typeof id !== 'string' || id.trim() === '') throw new InvalidArgumentError('id', id, 'must be a non-empty string');
    const existing = this.#registry.partitions.get(id);
    if (existing !== undefined) {
      throw new InvalidConfigError(
        'id',
        id,
        existing.state === 'active' ? 'a partition with this id exists' : 'that partition is being removed',
      );
    }
    const partitionType = checkPartitionType(type);
    checkPartitionOptions(options);
    const isolated = options.isolated;
    const poolConfig = isolated === undefined ? this.pool.config : null;
    const base = defaultLimits(poolConfig ?? { maxSize: Number.MAX_SAFE_INTEGER, maxWaitQueueSize: this.pool.config.maxWaitQueueSize });
    let resolved = resolveLimits(limits ?? {}, base);
    if (isolated !== undefined && limits?.maxConnections === undefined) {
      const size = isolated.config?.maxSize ?? this.pool.config.maxSize;
      resolved = resolveLimits({ maxConnections: Math.max(size, resolved.minConnections) }, resolved);
    }
    if (isolated === undefined) checkReservations(this.#m, resolved.minConnections, null);
    const typeKey = this.#registry.typeKey(partitionType);
    const sameType = this.#registry.servingType(typeKey);
    if (sameType !== undefined) {
      throw new InvalidConfigError(
        'type',
        partitionType,
        `partition '${sameType.id}' already serves ${partitionType.kind} '${partitionType.name}'`,
      );
    }
    const routeKeys = this.#registry.checkRouteKeys(options.routeKeys);
    const prepare = options.prepare === undefined ? this.#prepare : options.prepare;
    checkPrepareOptions(prepare, options.label);
    checkMemoryCost('options.connectionMemoryBytes', options.connectionMemoryBytes);
    const factory = (isolated?.factory ?? this.pool.factory) as ConnectionFactory<C> & Partial<MemoryReportingFactory<C>>;
    let memoryCost: ConnectionMemoryCost<C> | null = options.connectionMemoryBytes ?? this.#memoryCost;
    if (memoryCost === null && typeof factory.connectionMemoryBytes === 'function') {
      const report = factory.connectionMemoryBytes;
      memoryCost = (conn: C) => report.call(factory, conn);
    }
    if (resolved.memoryLimitBytes !== null && memoryCost === null) {
      throw new InvalidConfigError(
        'limits.memoryLimitBytes',
        resolved.memoryLimitBytes,
        'needs a per-connection cost: connectionMemoryBytes in the manager or partition options, or a factory with connectionMemoryBytes(conn)',
      );
    }
    const queue = options.waitQueue ?? this.#makeQueue();
    checkWaitQueue(queue, this.#registry.queueInUse(queue));
    // Everything is valid: only now open an isolated pool, so a refused partition leaves nothing behind.
    const link = isolated === undefined ? this.#shared : openIsolated(this.#m, id, isolated, resolved);
    const label = prepare === null ? null : (options.label ?? `partition:${id}`);
    const p = new PartitionState<C>(id, partitionType, resolved, link, isolated !== undefined, queue, prepare, label, memoryCost, now());
    this.#registry.claimQueue(queue);
    queue.attach?.({ name: `${this.name}/${id}`, config: { fairQueue: true } });
    p.handle = makePartitionHandle(this.#m, p);
    this.#registry.add(p, typeKey, routeKeys);
    syncReservation(this.#m, p);
    if (this.#m.events.has('create')) this.#m.events.emit('create', { partition: p.info() });
    return p.handle;
  }

  /**
   * Removes a partition gracefully: new acquires for it are refused at once (`PartitionError`,
   * `'removed'`) and it stops matching requests; callers already waiting are served or failed (see
   * {@link RemovePartitionOptions}); the promise resolves when every connection borrowed through it is
   * back (and, for an isolated partition, its pool is closed). Calling it again returns the same promise.
   */
  removePartition(id: string, options: RemovePartitionOptions = {}): Promise<void> {
    const p = this.#registry.partitions.get(id);
    if (p === undefined) return Promise.reject(new PartitionError('unknown', `No partition '${String(id)}'`, { partition: String(id) }));
    if (p.drained !== null) return p.drained;
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(new InvalidArgumentError('options', options, 'must be { waiters?: "serve" | "fail" }'));
    }
    const waiters = options.waiters ?? 'serve';
    if (waiters !== 'serve' && waiters !== 'fail') {
      return Promise.reject(new InvalidArgumentError('options.waiters', waiters, "must be 'serve' or 'fail'"));
    }
    return startDraining(this.#m, p, waiters === 'fail');
  }

  /** The partitions, as plain data (the seed's `list_partitions`). Draining partitions are included. */
  listPartitions(): PartitionInfo[] {
    const out: PartitionInfo[] = [];
    for (const p of this.#registry.partitions.values()) out.push(p.info());
    return out;
  }

  /** The handle of partition `id`, or undefined. */
  partition(id: string): Partition<C> | undefined {
    return this.#registry.partitions.get(id)?.handle;
  }

  /**
   * Changes a partition's limits at run time (a tenant upgraded to a bigger tier). Validated like
   * `createPartition`; waiters are served at once if the new limits allow. Returns the new limits.
   */
  setLimits(id: string, limits: PartitionLimitsInput): PartitionLimits {
    const p = this.#registry.partitions.get(id);
    if (p === undefined || p.state !== 'active')
      throw new PartitionError('unknown', `No active partition '${String(id)}'`, { partition: String(id) });
    const next = resolveLimits(limits, p.limits);
    if (!p.isolated) checkReservations(this.#m, next.minConnections, p);
    if (next.memoryLimitBytes !== null && p.memoryCost === null) {
      throw new InvalidConfigError('limits.memoryLimitBytes', next.memoryLimitBytes, 'needs a per-connection cost (connectionMemoryBytes)');
    }
    const t = now();
    p.limits = next;
    if (next.ioLimit === null) p.io = null;
    else if (p.io === null) p.io = new TokenBucket(next.ioLimit, t);
    else p.io.setRate(next.ioLimit, t);
    syncReservation(this.#m, p);
    schedule(this.#m, p);
    return next;
  }

  /**
   * Routes requests whose key (the strategy's field: `tenant` for `TenantBased`...) is `key` to
   * partition `partitionId`, replacing an earlier assignment (tenants onboarded or moved between tiers
   * at run time). Needs a key-based routing strategy. Returns the partition it was routed to before, if any.
   */
  assign(key: string, partitionId: string): string | undefined {
    this.#registry.assertKeyRouting('assign');
    if (typeof key !== 'string' || key === '') throw new InvalidArgumentError('key', key, 'must be a non-empty string');
    const p = this.#registry.partitions.get(partitionId);
    if (p === undefined || p.state !== 'active') {
      throw new PartitionError('unknown', `No active partition '${String(partitionId)}'`, { partition: String(partitionId) });
    }
    return this.#registry.assign(key, p)?.id;
  }

  /** Removes an assignment made with `assign()` or `routeKeys`; false when there was none. */
  unassign(key: string): boolean {
    return this.#registry.unassign(key);
  }

  // ---------------------------------------------------------------- routing and acquire

  /**
   * The id of the partition that would serve `request` (the seed's `route_request`), or `null` when
   * none matches and there is no default partition. Throws `InvalidArgumentError` for a malformed
   * request and `PartitionError` when a custom router throws.
   */
  routeRequest(request: PartitionRequest): string | null {
    const problem = checkRequest(request);
    if (problem !== null) throw problem;
    return this.#registry.route(request)?.id ?? null;
  }

  /**
   * Routes `request` to its partition and acquires a connection from the pool on the partition's
   * behalf, within its limits. Options are core's `AcquireOptions` (`signal`, `timeoutMs`, `priority`,
   * `label`, `context`); the connection's `context` is a {@link PartitionContext}.
   *
   * Rejects with `PartitionError` (no partition matches, or it is being removed), `PoolExhaustedError`
   * naming the partition (its queue is full), `PartitionLimitError` (a budget did not refill in time),
   * `ConnectionTimeoutError`, `AcquireAbortedError`, `PoolClosedError` or `InvalidArgumentError`.
   */
  acquire(request: PartitionRequest, options?: AcquireOptions): Promise<PooledConnection<C>> {
    const problem = checkRequest(request) ?? checkAcquireOptions(options);
    if (problem !== null) return this.#refuseUnrouted(problem, 'invalid');
    if (this.#m.closing !== undefined) return this.#refuseUnrouted(new PoolClosedError('The partition manager is closed'), 'closed');
    let p: PartitionState<C> | null;
    try {
      p = this.#registry.route(request);
    } catch (error) {
      return this.#refuseUnrouted(error as PoolError, 'unrouted');
    }
    if (p === null) return this.#refuseUnrouted(this.#registry.unroutedError(request), 'unrouted');
    return acquireFrom(this.#m, p, request, options);
  }

  /**
   * Acquires a connection for `request`, runs `fn` with it and releases it, also when `fn` throws (the
   * error is then reported to the pool as the borrow's error, and rethrown).
   */
  async use<T>(
    request: PartitionRequest,
    fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>,
    options?: AcquireOptions,
  ): Promise<T> {
    if (typeof fn !== 'function') throw new InvalidArgumentError('fn', fn, 'must be a function');
    return runWith(await this.acquire(request, options), fn);
  }

  #refuseUnrouted(error: PoolError, reason: 'invalid' | 'unrouted' | 'closed'): Promise<never> {
    if (reason === 'unrouted') this.#m.unrouted++;
    if (this.#m.events.has('reject')) this.#m.events.emit('reject', { partition: null, reason, error, waitMs: 0 });
    return Promise.reject(error);
  }

  // ---------------------------------------------------------------- statistics and events

  /**
   * Statistics of every partition, by id (the seed's `get_partition_statistics`): plain JSON-safe data.
   *
   * @example
   * ```ts
   * for (const [id, stats] of Object.entries(manager.getPartitionStatistics())) {
   *   console.log(`${id}: ${stats.connectionsAcquired} acquired, ${stats.connectionsReleased} released`);
   * }
   * ```
   */
  getPartitionStatistics(): Record<string, PartitionStatistics> {
    const t = now();
    const out: Record<string, PartitionStatistics> = {};
    for (const p of this.#registry.partitions.values()) {
      Object.defineProperty(out, p.id, { value: p.statistics(t), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** Requests no partition matched (and no default served) since the manager was created. */
  get unroutedRequests(): number {
    return this.#m.unrouted;
  }

  /** Zeroes the counters and wait histograms of every partition (budgets are not affected). */
  resetStatistics(): void {
    for (const p of this.#registry.partitions.values()) p.resetStatistics();
    this.#m.unrouted = 0;
  }

  /** Subscribes to an event (see {@link PartitionEventMap}). Returns the manager for chaining. */
  on<K extends keyof PartitionEventMap<C>>(event: K, listener: (payload: PartitionEventMap<C>[K]) => void): this {
    this.#m.events.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof PartitionEventMap<C>>(event: K, listener: (payload: PartitionEventMap<C>[K]) => void): this {
    this.#m.events.off(event, listener);
    return this;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Closes the manager: waiting callers and acquisitions in progress fail with `PoolClosedError`
   * (a connection that arrives for one goes straight back to the pool), later acquires are refused,
   * and isolated partitions' pools are closed. The shared pool stays open (it is yours). Idempotent.
   */
  close(): Promise<void> {
    const m = this.#m;
    if (m.closing !== undefined) return m.closing;
    const error = (): PoolClosedError => new PoolClosedError('The partition manager was closed while waiting');
    const run = async (): Promise<void> => {
      for (const p of m.registry.partitions.values()) {
        for (const w of [...p.queue.values()]) failWaiter(m, w as PartitionWaiter, error(), 'closed', 'closed');
      }
      // Their connections, when they arrive, go straight back to the pool.
      for (const w of [...m.inFlight]) failWaiter(m, w, error(), 'closed', 'closed');
      m.budgetTimers.clear();
      m.deadlines.clear();
      const closing: Promise<void>[] = [];
      for (const p of m.registry.partitions.values()) {
        if (p.isolated) closing.push(p.link.pool.close());
        p.resolveDrained?.();
      }
      await Promise.all(closing);
      for (const link of [...m.links]) link.detach();
      if (managers.get(this.pool as ConnectionPool<unknown>) === this.name) managers.delete(this.pool as ConnectionPool<unknown>);
    };
    m.closing = run();
    return m.closing;
  }

  /** `await using manager = new PartitionManager(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(action: string): void {
    if (this.#m.closing !== undefined) throw new PoolClosedError(`Cannot ${action}: the partition manager is closed`);
  }
}
