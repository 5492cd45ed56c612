import {
  AcquireAbortedError,
  type AcquireOptions,
  BasicWaitQueue,
  CallbackError,
  type ConnectionFactory,
  ConnectionPool,
  ConnectionTimeoutError,
  DeadlineQueue,
  InvalidArgumentError,
  InvalidConfigError,
  isAbortSignal,
  now,
  OperationTimeoutError,
  PoolClosedError,
  type PoolConfigOptions,
  PoolError,
  PoolEvents,
  PoolExhaustedError,
  type PooledConnection,
  type PoolOptions,
  QUEUE_PRIORITIES,
  type QueuePriority,
  type WaiterExit,
  type WaitQueue,
} from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import { TokenBucket } from './budgets.js';
import { type BudgetLimit, PartitionError, PartitionLimitError } from './errors.js';
import type { PartitionContext, PartitionEventMap } from './events.js';
import { defaultLimits, type PartitionLimits, type PartitionLimitsInput, resolveLimits } from './limits.js';
import {
  type Grant,
  type Partition,
  type PartitionInfo,
  PartitionRing,
  PartitionState,
  PartitionWaiter,
  type PoolLink,
  type PrepareHook,
  type WaiterHost,
} from './partition.js';
import { checkPartitionType, type PartitionKind, type PartitionType } from './partition-type.js';
import { checkRequest, checkRouting, type PartitionRequest, ROUTING_KEYS, type RoutingStrategy } from './routing.js';
import type { BlockReason, PartitionStatistics, RejectionReason } from './statistics.js';

/** A per-connection memory cost: fixed bytes, or measured on each connection handed out. */
export type ConnectionMemoryCost<C> = number | ((connection: C) => number);

/**
 * A factory that reports what one of its connections costs in memory (an adapter may implement it;
 * the manager uses it for `memoryLimitBytes` when no `connectionMemoryBytes` option is given).
 */
export interface MemoryReportingFactory<C> {
  connectionMemoryBytes(connection: C): number;
}

/** Options of {@link PartitionManager}. */
export interface PartitionManagerOptions<C> {
  /** The shared pool. Its config must have `enablePartitioning: true`. */
  pool: ConnectionPool<C>;
  /** How requests find their partition. */
  routing: RoutingStrategy;
  /** The partition that serves requests no partition matches; `null` (default): such requests fail with `PartitionError` (`'unrouted'`). */
  defaultPartition?: string | null;
  /**
   * Memory one connection accounts for, for `memoryLimitBytes`: bytes, or a function measuring a
   * connection. Default: the factory's `connectionMemoryBytes(conn)` when it has one.
   */
  connectionMemoryBytes?: ConnectionMemoryCost<C> | null;
  /** A `prepare` hook for every partition that does not set its own. Default: none. */
  prepare?: PrepareHook<C> | null;
  /**
   * Makes the wait queue of each partition (a fresh queue per partition). Default: first come, first
   * served (core's `BasicWaitQueue`). Give `() => new PriorityWaitQueue()` from `@pool/queue` to honour
   * `acquire({ priority })` within a partition.
   */
  waitQueue?: (() => WaitQueue) | null;
  /** A name for logs and isolated pools' names. Default `partitions-<n>`. */
  name?: string;
}

/** Makes an isolated partition: it gets a pool of its own, opened by the manager and closed with the partition. */
export interface IsolatedPoolOptions<C> {
  /** Opens the partition's connections (a tenant on its own database, or its own credentials). */
  factory: ConnectionFactory<C>;
  /**
   * The pool's config. Defaults: `minSize` = `minConnections`, `maxSize` = `maxConnections`,
   * `acquireTimeoutMs` = the shared pool's; `enablePartitioning` is always on.
   */
  config?: PoolConfigOptions;
  /** Other pool options (validator, aging policy...); `name` defaults to `<manager>/<partition id>`. */
  options?: PoolOptions;
}

/** Options of {@link PartitionManager.createPartition}. */
export interface PartitionOptions<C> {
  /**
   * Request keys routed to this partition by a key-based strategy (tenants of a tier, for
   * `TenantBased`). More can be added later with `manager.assign()`.
   */
  routeKeys?: readonly string[];
  /** Prepares a connection for this partition (see {@link PrepareHook}); `null` switches off the manager's default hook. */
  prepare?: PrepareHook<C> | null;
  /** The label of connections prepared for this partition. Default `partition:<id>`. */
  label?: string;
  /** Per-connection memory cost for this partition's `memoryLimitBytes`; overrides the manager's. */
  connectionMemoryBytes?: ConnectionMemoryCost<C>;
  /** This partition's wait queue (overrides the manager's `waitQueue`). A queue serves one partition only. */
  waitQueue?: WaitQueue;
  /** Gives the partition its own pool instead of a share of the manager's. */
  isolated?: IsolatedPoolOptions<C>;
}

/** Options of {@link PartitionManager.removePartition}. */
export interface RemovePartitionOptions {
  /**
   * What happens to callers already waiting in the partition's queue: `'serve'` (default) lets them be
   * served under the partition's limits within their deadlines; `'fail'` rejects them at once with
   * `PartitionError` (`'removed'`) so they can retry elsewhere.
   */
  waiters?: 'serve' | 'fail';
}

const MANAGER_KEYS = ['pool', 'routing', 'defaultPartition', 'connectionMemoryBytes', 'prepare', 'waitQueue', 'name'];
const PARTITION_KEYS = ['routeKeys', 'prepare', 'label', 'connectionMemoryBytes', 'waitQueue', 'isolated'];
const ACQUIRE_KEYS = ['signal', 'timeoutMs', 'priority', 'label', 'context'];
const ISOLATED_KEYS = ['factory', 'config', 'options'];
const KEYED_KINDS: readonly PartitionKind[] = ['tenant', 'user', 'application', 'service'];
let managerCounter = 0;
/** The manager partitioning each pool: reservations only hold when one manager admits for a pool. */
const managers = new WeakMap<ConnectionPool<unknown>, string>();

function blockedIsBudget(reason: BlockReason | null): reason is BudgetLimit {
  return reason === 'cpuLimitMs' || reason === 'ioLimit' || reason === 'memoryLimitBytes';
}

function checkMemoryCost(field: string, cost: unknown): void {
  if (cost === undefined || cost === null || typeof cost === 'function') return;
  if (typeof cost !== 'number' || !Number.isFinite(cost) || cost < 0) {
    throw new InvalidConfigError(field, cost, 'must be a number of bytes (0 or more) or a function (connection) => bytes');
  }
}

function checkPool(pool: unknown): ConnectionPool<unknown> {
  if (!(pool instanceof ConnectionPool)) throw new InvalidConfigError('pool', pool, 'must be a ConnectionPool from @pool/core');
  return pool;
}

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
  readonly #defaultPartition: string | null;
  readonly #memoryCost: ConnectionMemoryCost<C> | null;
  readonly #prepare: PrepareHook<C> | null;
  readonly #makeQueue: () => WaitQueue;
  readonly #partitions = new Map<string, PartitionState<C>>();
  readonly #routes = new Map<string, PartitionState<C>>();
  readonly #byTypeName = new Map<string, PartitionState<C>>();
  readonly #deadlines: DeadlineQueue<PartitionWaiter>;
  readonly #budgetTimers: DeadlineQueue<PartitionState<C>>;
  readonly #ring = new PartitionRing<C>();
  readonly #events: PoolEvents<PartitionEventMap<C>>;
  readonly #shared: PoolLink<C>;
  readonly #links = new Set<PoolLink<C>>();
  readonly #host: WaiterHost;
  readonly #dirty = new Set<PartitionState<C>>();
  /** Waiters whose pool acquire (or prepare) is in progress. */
  readonly #inFlight = new Set<PartitionWaiter>();
  readonly #queuesInUse = new WeakSet<WaitQueue>();
  #flushScheduled = false;
  /** Connections held or being acquired by the shared pool's partitions. */
  #sharedGranted = 0;
  /** Reserved slots the shared pool's partitions do not use. */
  #reservedIdle = 0;
  #nextWaiterId = 0;
  #closePromise: Promise<void> | undefined;
  #unrouted = 0;

  constructor(options: PartitionManagerOptions<C>) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigError('options', options, 'must be { pool, routing, ... }');
    }
    checkOptionKeys(options, MANAGER_KEYS, 'PartitionManager');
    const pool = checkPool(options.pool) as ConnectionPool<C>;
    if (pool.config.enablePartitioning !== true) {
      throw new InvalidConfigError(
        'pool.config.enablePartitioning',
        pool.config.enablePartitioning,
        'must be true to partition this pool (PoolConfig.builder().enablePartitioning(true))',
      );
    }
    if (pool.state !== 'open') throw new InvalidConfigError('pool', `pool '${pool.name}' (${pool.state})`, 'must be open');
    const owner = managers.get(pool as ConnectionPool<unknown>);
    if (owner !== undefined) {
      throw new InvalidConfigError(
        'pool',
        `pool '${pool.name}'`,
        `is already partitioned by manager '${owner}'; one manager per pool (close it first), or give a partition its own pool with isolated`,
      );
    }
    this.routing = checkRouting(options.routing);
    const def = options.defaultPartition ?? null;
    if (def !== null && (typeof def !== 'string' || def === '')) {
      throw new InvalidConfigError('defaultPartition', def, 'must be a partition id (a non-empty string) or null');
    }
    checkMemoryCost('connectionMemoryBytes', options.connectionMemoryBytes);
    if (options.prepare != null && typeof options.prepare !== 'function') {
      throw new InvalidConfigError('prepare', options.prepare, 'must be a function (connection, partition, { signal }) => Promise<void>');
    }
    if (options.waitQueue != null && typeof options.waitQueue !== 'function') {
      throw new InvalidConfigError('waitQueue', options.waitQueue, 'must be a function returning a new WaitQueue');
    }
    if (options.name !== undefined && (typeof options.name !== 'string' || options.name.trim() === '')) {
      throw new InvalidConfigError('name', options.name, 'must be a non-empty string');
    }
    this.name = options.name ?? `partitions-${++managerCounter}`;
    this.pool = pool;
    this.#defaultPartition = def;
    this.#memoryCost = options.connectionMemoryBytes ?? null;
    this.#prepare = options.prepare ?? null;
    const makeQueue = options.waitQueue ?? null;
    this.#makeQueue = makeQueue === null ? () => new BasicWaitQueue({ order: 'fifo' }) : makeQueue;
    this.#events = new PoolEvents<PartitionEventMap<C>>((error) => this.#events.emit('error', { error }));
    this.#deadlines = new DeadlineQueue<PartitionWaiter>((w) => this.#expire(w));
    this.#budgetTimers = new DeadlineQueue<PartitionState<C>>((p) => this.#budgetRefilled(p));
    this.#host = { failWaiter: (w, error, reason) => this.#failWaiter(w, error, reason, 'failed') };
    this.#shared = this.#link(pool);
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
    const existing = this.#partitions.get(id);
    if (existing !== undefined) {
      throw new InvalidConfigError(
        'id',
        id,
        existing.state === 'active' ? 'a partition with this id exists' : 'that partition is being removed',
      );
    }
    const partitionType = checkPartitionType(type);
    if (typeof options !== 'object' || options === null) {
      throw new InvalidConfigError('options', options, 'must be an object of partition options');
    }
    for (const key of Object.keys(options)) {
      if (!PARTITION_KEYS.includes(key)) {
        throw new InvalidConfigError(
          `options.${key}`,
          (options as Record<string, unknown>)[key],
          `is not a partition option; known: ${PARTITION_KEYS.join(', ')}`,
        );
      }
    }
    const isolated = options.isolated;
    if (isolated !== undefined) this.#checkIsolated(isolated);
    const poolConfig = isolated === undefined ? this.pool.config : null;
    const base = defaultLimits(poolConfig ?? { maxSize: Number.MAX_SAFE_INTEGER, maxWaitQueueSize: this.pool.config.maxWaitQueueSize });
    let resolved = resolveLimits(limits ?? {}, base);
    if (isolated !== undefined && limits?.maxConnections === undefined) {
      const size = isolated.config?.maxSize ?? this.pool.config.maxSize;
      resolved = resolveLimits({ maxConnections: Math.max(size, resolved.minConnections) }, resolved);
    }
    if (isolated === undefined) this.#checkReservations(resolved.minConnections, null);
    const typeKey = KEYED_KINDS.includes(partitionType.kind) ? `${partitionType.kind}\u0000${partitionType.name}` : null;
    const sameType = typeKey === null ? undefined : this.#byTypeName.get(typeKey);
    if (sameType !== undefined) {
      throw new InvalidConfigError(
        'type',
        partitionType,
        `partition '${sameType.id}' already serves ${partitionType.kind} '${partitionType.name}'`,
      );
    }
    const routeKeys = this.#checkRouteKeys(options.routeKeys);
    const prepare = options.prepare === undefined ? this.#prepare : options.prepare;
    if (prepare !== null && typeof prepare !== 'function') {
      throw new InvalidConfigError('options.prepare', prepare, 'must be a function (connection, partition, { signal }) => Promise<void>');
    }
    if (options.label !== undefined && (typeof options.label !== 'string' || options.label === '')) {
      throw new InvalidConfigError('options.label', options.label, 'must be a non-empty string');
    }
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
    for (const m of ['enqueue', 'dequeue', 'requeue', 'remove', 'values'] as const) {
      if (typeof queue?.[m] !== 'function') {
        throw new InvalidConfigError(`waitQueue.${m}`, queue?.[m], 'must be a function (see the WaitQueue interface of @pool/core)');
      }
    }
    if (this.#queuesInUse.has(queue) || queue.size !== 0) {
      throw new InvalidConfigError('waitQueue', '[WaitQueue]', 'must be a new, empty queue: a queue serves one partition only');
    }
    // Everything is valid: only now open an isolated pool, so a refused partition leaves nothing behind.
    const link = isolated === undefined ? this.#shared : this.#openIsolated(id, isolated, resolved);
    const label = prepare === null ? null : (options.label ?? `partition:${id}`);
    const p = new PartitionState<C>(id, partitionType, resolved, link, isolated !== undefined, queue, prepare, label, memoryCost, now());
    this.#queuesInUse.add(queue);
    queue.attach?.({ name: `${this.name}/${id}`, config: { fairQueue: true } });
    p.handle = this.#makeHandle(p);
    this.#partitions.set(id, p);
    if (typeKey !== null) this.#byTypeName.set(typeKey, p);
    for (const key of routeKeys) {
      this.#routes.set(key, p);
      p.routeKeys.add(key);
    }
    this.#syncReservation(p);
    if (this.#events.has('create')) this.#events.emit('create', { partition: p.info() });
    return p.handle;
  }

  /**
   * Removes a partition gracefully: new acquires for it are refused at once (`PartitionError`,
   * `'removed'`) and it stops matching requests; callers already waiting are served or failed (see
   * {@link RemovePartitionOptions}); the promise resolves when every connection borrowed through it is
   * back (and, for an isolated partition, its pool is closed). Calling it again returns the same promise.
   */
  removePartition(id: string, options: RemovePartitionOptions = {}): Promise<void> {
    const p = this.#partitions.get(id);
    if (p === undefined) return Promise.reject(new PartitionError('unknown', `No partition '${String(id)}'`, { partition: String(id) }));
    if (p.drained !== null) return p.drained;
    if (typeof options !== 'object' || options === null) {
      return Promise.reject(new InvalidArgumentError('options', options, 'must be { waiters?: "serve" | "fail" }'));
    }
    const waiters = options.waiters ?? 'serve';
    if (waiters !== 'serve' && waiters !== 'fail') {
      return Promise.reject(new InvalidArgumentError('options.waiters', waiters, "must be 'serve' or 'fail'"));
    }
    p.state = 'draining';
    p.drained = new Promise<void>((resolve) => {
      p.resolveDrained = resolve;
    });
    this.#unroute(p);
    if (this.#events.has('drain')) this.#events.emit('drain', { partition: id });
    if (waiters === 'fail') {
      const error = () => new PartitionError('removed', `Partition '${id}' was removed while waiting`, { partition: id });
      for (const w of [...p.queue.values()]) this.#failWaiter(w as PartitionWaiter, error(), 'removed', 'failed');
    }
    this.#syncReservation(p);
    this.#schedule(p);
    return p.drained;
  }

  /** The partitions, as plain data (the seed's `list_partitions`). Draining partitions are included. */
  listPartitions(): PartitionInfo[] {
    const out: PartitionInfo[] = [];
    for (const p of this.#partitions.values()) out.push(p.info());
    return out;
  }

  /** The handle of partition `id`, or undefined. */
  partition(id: string): Partition<C> | undefined {
    return this.#partitions.get(id)?.handle;
  }

  /**
   * Changes a partition's limits at run time (a tenant upgraded to a bigger tier). Validated like
   * `createPartition`; waiters are served at once if the new limits allow. Returns the new limits.
   */
  setLimits(id: string, limits: PartitionLimitsInput): PartitionLimits {
    const p = this.#partitions.get(id);
    if (p === undefined || p.state !== 'active')
      throw new PartitionError('unknown', `No active partition '${String(id)}'`, { partition: String(id) });
    const next = resolveLimits(limits, p.limits);
    if (!p.isolated) this.#checkReservations(next.minConnections, p);
    if (next.memoryLimitBytes !== null && p.memoryCost === null) {
      throw new InvalidConfigError('limits.memoryLimitBytes', next.memoryLimitBytes, 'needs a per-connection cost (connectionMemoryBytes)');
    }
    const t = now();
    p.limits = next;
    if (next.ioLimit === null) p.io = null;
    else if (p.io === null) p.io = new TokenBucket(next.ioLimit, t);
    else p.io.setRate(next.ioLimit, t);
    this.#syncReservation(p);
    this.#schedule(p);
    return next;
  }

  /**
   * Routes requests whose key (the strategy's field: `tenant` for `TenantBased`...) is `key` to
   * partition `partitionId`, replacing an earlier assignment (tenants onboarded or moved between tiers
   * at run time). Needs a key-based routing strategy. Returns the partition it was routed to before, if any.
   */
  assign(key: string, partitionId: string): string | undefined {
    this.#assertKeyRouting('assign');
    if (typeof key !== 'string' || key === '') throw new InvalidArgumentError('key', key, 'must be a non-empty string');
    const p = this.#partitions.get(partitionId);
    if (p === undefined || p.state !== 'active') {
      throw new PartitionError('unknown', `No active partition '${String(partitionId)}'`, { partition: String(partitionId) });
    }
    const before = this.#routes.get(key);
    before?.routeKeys.delete(key);
    this.#routes.set(key, p);
    p.routeKeys.add(key);
    return before?.id;
  }

  /** Removes an assignment made with `assign()` or `routeKeys`; false when there was none. */
  unassign(key: string): boolean {
    const p = this.#routes.get(key);
    if (p === undefined) return false;
    p.routeKeys.delete(key);
    this.#routes.delete(key);
    return true;
  }

  // ---------------------------------------------------------------- routing

  /**
   * The id of the partition that would serve `request` (the seed's `route_request`), or `null` when
   * none matches and there is no default partition. Throws `InvalidArgumentError` for a malformed
   * request and `PartitionError` when a custom router throws.
   */
  routeRequest(request: PartitionRequest): string | null {
    const problem = checkRequest(request);
    if (problem !== null) throw problem;
    return this.#route(request)?.id ?? null;
  }

  #route(request: PartitionRequest): PartitionState<C> | null {
    const routing = this.routing;
    let chosen: PartitionState<C> | undefined;
    if (typeof routing === 'object') {
      let id: unknown;
      try {
        id = routing.route(request);
      } catch (error) {
        throw new PartitionError('unrouted', 'The custom router threw', { cause: error });
      }
      if (id !== null && id !== undefined && typeof id !== 'string') {
        throw new PartitionError('unrouted', `The custom router returned ${typeof id}, not a partition id or null`);
      }
      if (typeof id === 'string') chosen = this.#partitions.get(id);
    } else if (routing === 'loadBalanced') {
      chosen = this.#leastLoaded();
    } else {
      const { field, kind } = ROUTING_KEYS[routing];
      const key = request[field];
      if (typeof key === 'string' && key !== '') {
        chosen = this.#routes.get(key) ?? this.#byTypeName.get(`${kind}\u0000${key}`) ?? this.#partitions.get(key);
      }
    }
    if (chosen !== undefined && chosen.state === 'active') return chosen;
    if (this.#defaultPartition !== null) {
      const fallback = this.#partitions.get(this.#defaultPartition);
      if (fallback !== undefined && fallback.state === 'active') return fallback;
    }
    return null;
  }

  #leastLoaded(): PartitionState<C> | undefined {
    let best: PartitionState<C> | undefined;
    let bestLoad = Number.POSITIVE_INFINITY;
    for (const p of this.#partitions.values()) {
      if (p.state !== 'active') continue;
      const load = (p.granted + p.queue.size) / p.limits.maxConnections;
      if (load < bestLoad || (load === bestLoad && best !== undefined && p.granted < best.granted)) {
        best = p;
        bestLoad = load;
      }
    }
    return best;
  }

  #unroutedError(request: PartitionRequest): PartitionError {
    const routing = this.routing;
    let what: string;
    if (typeof routing === 'object') what = 'the custom router chose no active partition';
    else if (routing === 'loadBalanced') what = 'LoadBalanced routing found no active partition';
    else {
      const { field } = ROUTING_KEYS[routing];
      const key = request[field];
      what =
        typeof key === 'string' && key !== ''
          ? `no partition serves ${field} '${key}'`
          : `the request has no ${field}, which ${routing} routing needs`;
    }
    const fallback =
      this.#defaultPartition === null
        ? 'and no defaultPartition is set'
        : `and the default partition '${this.#defaultPartition}' is not active`;
    return new PartitionError('unrouted', `No partition for the request: ${what}, ${fallback}`);
  }

  // ---------------------------------------------------------------- acquire

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
    const problem = checkRequest(request) ?? this.#checkAcquireOptions(options);
    if (problem !== null) return this.#refuseUnrouted(problem, 'invalid');
    if (this.#closePromise !== undefined) return this.#refuseUnrouted(new PoolClosedError('The partition manager is closed'), 'closed');
    let p: PartitionState<C> | null;
    try {
      p = this.#route(request);
    } catch (error) {
      return this.#refuseUnrouted(error as PoolError, 'unrouted');
    }
    if (p === null) return this.#refuseUnrouted(this.#unroutedError(request), 'unrouted');
    return this.#acquireFrom(p, request, options);
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
    if (reason === 'unrouted') this.#unrouted++;
    if (this.#events.has('reject')) this.#events.emit('reject', { partition: null, reason, error, waitMs: 0 });
    return Promise.reject(error);
  }

  #checkAcquireOptions(options: AcquireOptions | undefined): InvalidArgumentError | null {
    if (options === undefined) return null;
    if (typeof options !== 'object' || options === null) {
      return new InvalidArgumentError('options', options, 'must be an object of acquire options');
    }
    for (const key in options) {
      if (!ACQUIRE_KEYS.includes(key)) {
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
      return new InvalidArgumentError('priority', priority, `must be one of ${QUEUE_PRIORITIES.map((q) => `'${q}'`).join(', ')}`);
    }
    if (label !== undefined && typeof label !== 'string') return new InvalidArgumentError('label', label, 'must be a string');
    return null;
  }

  #acquireFrom(p: PartitionState<C>, request: PartitionRequest | null, options: AcquireOptions | undefined): Promise<PooledConnection<C>> {
    if (p.state !== 'active') {
      return this.#refuse(p, new PartitionError('removed', `Partition '${p.id}' is being removed`, { partition: p.id }), 'removed');
    }
    if (this.#closePromise !== undefined) return this.#refuse(p, new PoolClosedError('The partition manager is closed'), 'closed');
    if (p.link.pool.state !== 'open')
      return this.#refuse(p, new PoolClosedError(`Cannot acquire: the pool is ${p.link.pool.state}`), 'closed');
    const signal = options?.signal;
    if (signal?.aborted) return this.#refuse(p, new AcquireAbortedError(signal.reason), 'aborted');
    const timeoutMs = options?.timeoutMs ?? p.link.pool.config.acquireTimeoutMs;
    const context: PartitionContext = { partition: p.id, request, context: options?.context };
    const w = new PartitionWaiter(
      this.#host,
      ++this.#nextWaiterId,
      (options?.priority ?? 'normal') as QueuePriority,
      now(),
      timeoutMs,
      signal,
      options?.label,
      context,
      p as PartitionState<unknown>,
    );
    // Callers already waiting in this partition go first: only an empty queue lets a caller straight through.
    const wasEmpty = p.queue.size === 0;
    const reason = wasEmpty ? this.#blockReason(p, false) : p.blockedOn;
    if (wasEmpty && reason === null) {
      this.#grant(p, w, w.enqueuedAt);
      return w.promise as Promise<PooledConnection<C>>;
    }
    if (p.queue.size >= p.limits.maxWaitQueue) {
      if (blockedIsBudget(reason)) return this.#refuse(p, this.#limitError(p, reason), reason);
      const error = new PoolExhaustedError({
        active: p.granted,
        max: p.limits.maxConnections,
        waiting: p.queue.size,
        partition: p.id,
        reason:
          p.limits.maxWaitQueue === 0
            ? 'its maxWaitQueue is 0 (callers never wait)'
            : `${p.queue.size} callers are already waiting, its queue is full (maxWaitQueue ${p.limits.maxWaitQueue})`,
      });
      return this.#refuse(p, error, 'queueFull');
    }
    w.stage = 'queued';
    this.#deadlines.add(w, timeoutMs, w.enqueuedAt);
    if (signal !== undefined) {
      w.onAbort = () => this.#failWaiter(w, new AcquireAbortedError(signal.reason), 'aborted', 'abort');
      signal.addEventListener('abort', w.onAbort, { once: true });
    }
    p.queue.enqueue(w);
    if (wasEmpty) this.#setBlocked(p, reason);
    else if (reason === null) this.#schedule(p);
    else if (blockedIsBudget(reason) && p.wakeCertain && w.deadline < p.wakeAt) {
      this.#failWaiter(w, this.#limitError(p, reason), reason, 'failed');
    }
    return w.promise as Promise<PooledConnection<C>>;
  }

  #refuse(p: PartitionState<C>, error: PoolError, reason: RejectionReason): Promise<never> {
    p.rejections[reason]++;
    if (this.#events.has('reject')) this.#events.emit('reject', { partition: p.id, reason, error, waitMs: 0 });
    return Promise.reject(error);
  }

  // ---------------------------------------------------------------- admission

  /** Capacity of the shared pool not held by partitions and not reserved for them. */
  #sharedFree(): number {
    return this.pool.config.maxSize - this.#sharedGranted - this.#reservedIdle;
  }

  /** Why `p` cannot start one more acquisition now, or null. `viaRing`: it is being served from the ring. */
  #blockReason(p: PartitionState<C>, viaRing: boolean): BlockReason | null {
    if (p.granted >= p.limits.maxConnections) return 'maxConnections';
    if (p.isolated && p.granted >= p.link.pool.config.maxSize) return 'maxConnections';
    const cpu = p.limits.cpuLimitMs;
    if (p.io !== null || cpu !== null) {
      const t = now();
      if (p.io !== null && !p.io.available(t)) return 'ioLimit';
      if (cpu !== null && p.cpu.used(t) >= cpu) return 'cpuLimitMs';
    }
    const memory = p.limits.memoryLimitBytes;
    if (memory !== null && p.memoryUsed + p.memoryEstimate() > memory) return 'memoryLimitBytes';
    if (p.isolated || p.granted < p.effectiveMin()) return null;
    if (this.#sharedFree() <= 0) return 'sharedCapacity';
    // Partitions already waiting for shared capacity go first (no barging), in round-robin order.
    if (!viaRing && this.#ring.size > 0 && this.#ring.head !== p) return 'sharedCapacity';
    return null;
  }

  /** Records what holds `p`'s queue back: ring membership, budget timer, and fail-fast of doomed waiters. */
  #setBlocked(p: PartitionState<C>, reason: BlockReason | null): void {
    if (p.queue.size === 0) reason = null;
    p.blockedOn = reason;
    if (reason === 'sharedCapacity') this.#ring.push(p);
    else this.#ring.remove(p);
    this.#budgetTimers.remove(p);
    p.wakeAt = Number.POSITIVE_INFINITY;
    p.wakeCertain = false;
    if (!blockedIsBudget(reason)) return;
    const t = now();
    if (reason === 'ioLimit') {
      p.wakeAt = t + (p.io?.delayMs(t) ?? 0);
      p.wakeCertain = true;
    } else if (reason === 'cpuLimitMs') {
      const delay = p.cpu.delayUntilBelow(p.limits.cpuLimitMs ?? Number.POSITIVE_INFINITY, t);
      p.wakeAt = t + delay;
      // With connections still held, a release makes room sooner than predicted: only an idle partition's refill time is certain.
      p.wakeCertain = p.cpu.active === 0;
    } else {
      // Memory is freed by releases only; with nothing held or being acquired it will never fit.
      p.wakeCertain = p.granted === 0;
    }
    if (Number.isFinite(p.wakeAt)) this.#budgetTimers.add(p, Math.max(0, p.wakeAt - t), t);
    if (!p.wakeCertain) return;
    const doomed: PartitionWaiter[] = [];
    for (const w of p.queue.values()) {
      if ((w as PartitionWaiter).deadline >= p.wakeAt) break;
      doomed.push(w as PartitionWaiter);
    }
    for (const w of doomed) this.#failWaiter(w, this.#limitError(p, reason), reason, 'failed');
  }

  #limitError(p: PartitionState<C>, limit: BudgetLimit): PartitionLimitError {
    const t = now();
    if (limit === 'ioLimit') {
      return new PartitionLimitError({
        partition: p.id,
        limit,
        max: p.limits.ioLimit ?? 0,
        used: p.io?.used(t) ?? 0,
        retryAfterMs: p.io?.delayMs(t) ?? 0,
      });
    }
    if (limit === 'cpuLimitMs') {
      const max = p.limits.cpuLimitMs ?? 0;
      const delay = p.cpu.delayUntilBelow(max, t);
      return new PartitionLimitError({
        partition: p.id,
        limit,
        max,
        used: p.cpu.used(t),
        retryAfterMs: p.cpu.active === 0 && Number.isFinite(delay) ? delay : null,
      });
    }
    return new PartitionLimitError({ partition: p.id, limit, max: p.limits.memoryLimitBytes ?? 0, used: p.memoryUsed, retryAfterMs: null });
  }

  /** Serves `p`'s queue as far as its own state allows; records what stops it. */
  #drain(p: PartitionState<C>): void {
    while (p.queue.size > 0) {
      const reason = this.#blockReason(p, false);
      if (reason !== null) {
        this.#setBlocked(p, reason);
        return;
      }
      this.#grant(p, p.queue.dequeue() as PartitionWaiter);
    }
    this.#setBlocked(p, null);
  }

  /** Hands free shared capacity to partitions waiting for it, one connection per partition per turn. */
  #pump(): void {
    while (this.#ring.head !== null && this.#sharedFree() > 0) {
      const p = this.#ring.head;
      const reason = p.queue.size === 0 ? null : this.#blockReason(p, true);
      if (p.queue.size === 0 || reason !== null) {
        this.#setBlocked(p, reason);
        if (reason === 'sharedCapacity') return; // cannot happen while capacity is free; never spin on it
        continue;
      }
      this.#ring.remove(p);
      this.#grant(p, p.queue.dequeue() as PartitionWaiter);
      if (p.queue.size === 0) this.#setBlocked(p, null);
      else {
        const next = this.#blockReason(p, false);
        if (next === null) this.#drain(p);
        else this.#setBlocked(p, next);
      }
    }
  }

  /** Keeps `p.reservedIdle` and the manager's total of unused reservations in step. */
  #syncReservation(p: PartitionState<C>): void {
    const idle = Math.max(0, p.effectiveMin() - p.granted);
    if (!p.isolated) this.#reservedIdle += idle - p.reservedIdle;
    p.reservedIdle = idle;
  }

  #checkReservations(minConnections: number, replacing: PartitionState<C> | null): void {
    let reserved = 0;
    for (const q of this.#partitions.values())
      if (!q.isolated && q !== replacing && q.state === 'active') reserved += q.limits.minConnections;
    const max = this.pool.config.maxSize;
    if (reserved + minConnections > max) {
      throw new InvalidConfigError(
        'limits.minConnections',
        minConnections,
        `the pool's maxSize (${max}) cannot hold it: other partitions already reserve ${reserved} connections`,
      );
    }
  }

  /** Capacity was freed or limits changed for `p`: serve what can be served, once the current call stack is done. */
  #schedule(p: PartitionState<C>): void {
    this.#dirty.add(p);
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(() => this.#flush());
  }

  /**
   * `p` gave a connection back (or never got it). That can only help `p`'s own queue (its cap and
   * budgets) and partitions waiting for shared capacity; with neither, there is nothing to do.
   */
  #freed(p: PartitionState<C>): void {
    if (p.queue.size > 0 || p.state !== 'active' || this.#ring.head !== null) this.#schedule(p);
  }

  #flush(): void {
    this.#flushScheduled = false;
    for (const p of this.#dirty) {
      this.#dirty.delete(p);
      if (p.state === 'removed') continue;
      this.#drain(p);
      this.#checkDrained(p);
    }
    this.#pump();
  }

  #budgetRefilled(p: PartitionState<C>): void {
    p.wakeAt = Number.POSITIVE_INFINITY;
    this.#schedule(p);
  }

  // ---------------------------------------------------------------- granting

  /** Starts one acquisition for `w` from `p`'s pool; `p`'s limits were checked. */
  #grant(p: PartitionState<C>, w: PartitionWaiter, t = now()): void {
    p.granted++;
    p.acquiring++;
    if (!p.isolated) this.#sharedGranted++;
    this.#syncReservation(p);
    if (p.inRing) this.#ring.remove(p);
    p.io?.take(t);
    w.memReserved = p.memoryEstimate();
    p.memoryUsed += w.memReserved;
    if (w.stage === 'queued') {
      this.#deadlines.remove(w);
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      w.onAbort = undefined;
    }
    w.stage = 'acquiring';
    this.#inFlight.add(w);
    const remaining = w.deadline - t;
    if (remaining <= 0) {
      queueMicrotask(() => this.#grantFailed(p, w, new ConnectionTimeoutError(w.timeoutMs)));
      return;
    }
    const options: AcquireOptions = { timeoutMs: Math.ceil(remaining), priority: w.priority, context: w.context };
    if (w.signal !== undefined) options.signal = w.signal;
    const label = p.label ?? w.label;
    if (label !== undefined) options.label = label;
    p.link.pool.acquire(options).then(
      (conn) => this.#granted(p, w, conn),
      (error: unknown) => this.#grantFailed(p, w, error),
    );
  }

  #granted(p: PartitionState<C>, w: PartitionWaiter, conn: PooledConnection<C>): void {
    let cost = w.memReserved;
    if (typeof p.memoryCost === 'function') {
      try {
        cost = Math.max(0, Number(p.memoryCost(conn.connection)) || 0);
        p.link.lastMemoryCost = cost;
      } catch (error) {
        this.#events.emit('error', { error: new CallbackError('ERR_POOL_FACTORY', 'connectionMemoryBytes() threw', error) });
      }
    }
    p.memoryUsed += cost - w.memReserved;
    const t = now();
    const grant: Grant<C> = { partition: p, handle: conn, memoryCost: cost, since: t, delivered: false, takenBack: undefined };
    p.link.grants.set(conn.id, grant);
    p.acquiring--;
    p.cpu.change(1, t);
    if (w.settled) {
      // The caller gave up meanwhile (manager closed, or failed by a detector): straight back to the pool.
      conn.release();
      return;
    }
    if (p.prepare === null) {
      this.#deliver(p, w, grant, false, t);
      return;
    }
    if (conn.label === p.label) {
      p.prepareReused++;
      this.#deliver(p, w, grant, false, t);
      return;
    }
    // Preparing is part of the acquire: it counts as acquiring, within the caller's deadline.
    p.acquiring++;
    this.#runPrepare(p, w, grant);
  }

  #runPrepare(p: PartitionState<C>, w: PartitionWaiter, grant: Grant<C>): void {
    const conn = grant.handle;
    const prepare = p.prepare as PrepareHook<C>;
    const start = now();
    const remaining = Math.max(1, Math.ceil(w.deadline - start));
    const controller = new AbortController();
    let done = false;
    const finish = (error: PoolError | null, reason: RejectionReason): void => {
      if (done) return;
      done = true;
      grant.takenBack = undefined;
      clearTimeout(timer);
      if (w.signal !== undefined) w.signal.removeEventListener('abort', onAbort);
      p.acquiring--;
      p.prepared++;
      if (error === null && !conn.released) {
        try {
          conn.label = p.label ?? undefined;
        } catch {
          // The pool took the connection back meanwhile: fall through to the failure below.
        }
      }
      if (error === null && !conn.released) {
        p.totalPrepareMs += now() - start;
        if (w.settled) conn.release();
        else this.#deliver(p, w, grant, true);
        return;
      }
      p.prepareFailures++;
      const failure =
        error ?? new PartitionError('prepare', `The connection was taken back while partition '${p.id}' prepared it`, { partition: p.id });
      if (!conn.released) void conn.destroy(failure);
      if (!w.settled) this.#failWaiter(w, failure, reason, 'failed');
    };
    const timer = setTimeout(() => {
      const cause = new OperationTimeoutError('prepare', remaining);
      controller.abort(cause);
      finish(new ConnectionTimeoutError(w.timeoutMs, cause), 'timeout');
    }, remaining);
    const onAbort = (): void => {
      controller.abort(w.signal?.reason);
      finish(new AcquireAbortedError(w.signal?.reason), 'aborted');
    };
    // The pool ended the borrow (reclaim, a forced close) while the hook ran: stop waiting for it.
    grant.takenBack = () => {
      controller.abort(
        new PartitionError('prepare', `The pool took the connection back while partition '${p.id}' prepared it`, { partition: p.id }),
      );
      finish(null, 'pool');
    };
    if (w.signal !== undefined) {
      if (w.signal.aborted) {
        queueMicrotask(onAbort);
        return;
      }
      w.signal.addEventListener('abort', onAbort, { once: true });
    }
    let pending: Promise<void>;
    try {
      pending = Promise.resolve(prepare(conn.connection, p.info(), { signal: controller.signal }));
    } catch (error) {
      pending = Promise.reject(error);
    }
    pending.then(
      () => finish(null, 'prepare'),
      (error: unknown) =>
        finish(
          new PartitionError('prepare', `The prepare hook of partition '${p.id}' failed`, { partition: p.id, cause: error }),
          'prepare',
        ),
    );
  }

  #deliver(p: PartitionState<C>, w: PartitionWaiter, grant: Grant<C>, prepared: boolean, t = now()): void {
    const conn = grant.handle;
    grant.delivered = true;
    w.settled = true;
    this.#inFlight.delete(w);
    const waitMs = t - w.enqueuedAt;
    p.acquired++;
    p.waits.record(waitMs);
    if (this.#events.has('acquire')) this.#events.emit('acquire', { partition: p.id, connection: conn, waitMs, prepared });
    w.resolve(conn as PooledConnection<never>);
  }

  #grantFailed(p: PartitionState<C>, w: PartitionWaiter, error: unknown): void {
    p.acquiring--;
    p.granted--;
    if (!p.isolated) this.#sharedGranted--;
    p.memoryUsed -= w.memReserved;
    this.#syncReservation(p);
    this.#freed(p);
    if (w.settled) return;
    let failure: PoolError;
    let reason: RejectionReason;
    if (error instanceof ConnectionTimeoutError) {
      failure = new ConnectionTimeoutError(w.timeoutMs, error.cause);
      reason = 'timeout';
    } else if (error instanceof AcquireAbortedError) {
      failure = error;
      reason = 'aborted';
    } else if (error instanceof PoolClosedError) {
      failure = error;
      reason = 'closed';
    } else {
      failure = error instanceof PoolError ? error : new PoolError('ERR_POOL_FACTORY', String(error), { cause: error });
      reason = 'pool';
    }
    this.#failWaiter(w, failure, reason, 'failed');
  }

  /** Fails `w` unless it settled; removes it from its queue and deadline. */
  #failWaiter(w: PartitionWaiter, error: PoolError, reason: RejectionReason, exit: WaiterExit): boolean {
    if (w.settled) return false;
    w.settled = true;
    this.#inFlight.delete(w);
    const p = w.partition as unknown as PartitionState<C>;
    if (w.stage === 'queued') {
      this.#deadlines.remove(w);
      if (w.onAbort !== undefined) w.signal?.removeEventListener('abort', w.onAbort);
      p.queue.remove(w, exit);
      if (p.queue.size === 0) {
        this.#setBlocked(p, null);
        if (p.state === 'draining') {
          this.#syncReservation(p);
          this.#schedule(p);
        }
      }
    }
    p.rejections[reason]++;
    if (reason === 'timeout') p.timeouts++;
    const waitMs = now() - w.enqueuedAt;
    if (this.#events.has('reject')) this.#events.emit('reject', { partition: p.id, reason, error, waitMs });
    w.reject(error);
    return true;
  }

  #expire(w: PartitionWaiter): void {
    if (w.settled) return;
    const p = w.partition as unknown as PartitionState<C>;
    const blocked = p.blockedOn;
    if (blockedIsBudget(blocked)) this.#failWaiter(w, this.#limitError(p, blocked), blocked, 'timeout');
    else this.#failWaiter(w, new ConnectionTimeoutError(w.timeoutMs), 'timeout', 'timeout');
  }

  // ---------------------------------------------------------------- the return path

  #link(pool: ConnectionPool<C>): PoolLink<C> {
    const grants = new Map<number, Grant<C>>();
    // Every end of a borrow arrives here, also one the pool ended itself (reclaim, forced close).
    const onRelease = (e: { connection: PooledConnection<C> }): void => {
      const grant = grants.get(e.connection.id);
      if (grant === undefined || grant.handle !== e.connection) return;
      grants.delete(e.connection.id);
      this.#returned(grant);
      grant.takenBack?.();
    };
    const onClose = (): void => {
      for (const p of this.#partitions.values()) {
        if (p.link !== link) continue;
        const error = new PoolClosedError('The pool was closed while waiting');
        for (const w of [...p.queue.values()]) this.#failWaiter(w as PartitionWaiter, error, 'closed', 'closed');
      }
    };
    const onResize = (): void => {
      // More (or less) shared capacity: let waiting partitions of this pool try again.
      for (const p of this.#partitions.values()) if (p.link === link && p.queue.size > 0) this.#schedule(p);
    };
    pool.on('release', onRelease).on('close', onClose).on('resize', onResize);
    const link: PoolLink<C> = {
      pool,
      grants,
      lastMemoryCost: 0,
      detach: () => {
        pool.off('release', onRelease).off('close', onClose).off('resize', onResize);
        this.#links.delete(link);
      },
    };
    this.#links.add(link);
    return link;
  }

  #returned(grant: Grant<C>): void {
    const t = now();
    const holdMs = t - grant.since;
    const p = grant.partition;
    p.granted--;
    if (!p.isolated) this.#sharedGranted--;
    p.memoryUsed -= grant.memoryCost;
    p.cpu.change(-1, t);
    this.#syncReservation(p);
    if (grant.delivered) {
      // A connection the caller never got (its preparation failed or was cut short) was not released by it.
      p.released++;
      p.totalHoldMs += holdMs;
      if (this.#events.has('release')) this.#events.emit('release', { partition: p.id, connectionId: grant.handle.id, holdMs });
    }
    this.#freed(p);
  }

  #checkDrained(p: PartitionState<C>): void {
    if (p.state !== 'draining' || p.queue.size > 0 || p.granted > 0) return;
    p.state = 'removed';
    this.#syncReservation(p);
    this.#budgetTimers.remove(p);
    this.#ring.remove(p);
    this.#partitions.delete(p.id);
    const resolve = p.resolveDrained as () => void;
    const finish = (): void => {
      if (this.#events.has('remove')) this.#events.emit('remove', { partition: p.id });
      resolve();
    };
    if (p.isolated) {
      p.link.detach();
      void p.link.pool.close().then(finish);
    } else finish();
  }

  #unroute(p: PartitionState<C>): void {
    for (const key of p.routeKeys) if (this.#routes.get(key) === p) this.#routes.delete(key);
    p.routeKeys.clear();
    const typeKey = `${p.type.kind}\u0000${p.type.name}`;
    if (this.#byTypeName.get(typeKey) === p) this.#byTypeName.delete(typeKey);
  }

  // ---------------------------------------------------------------- isolated partitions

  #checkIsolated(isolated: unknown): void {
    if (typeof isolated !== 'object' || isolated === null) {
      throw new InvalidConfigError('options.isolated', isolated, 'must be { factory, config?, options? }');
    }
    for (const key of Object.keys(isolated)) {
      if (!ISOLATED_KEYS.includes(key)) {
        throw new InvalidConfigError(
          `options.isolated.${key}`,
          (isolated as Record<string, unknown>)[key],
          `is not an isolated-pool option; known: ${ISOLATED_KEYS.join(', ')}`,
        );
      }
    }
    const f = (isolated as { factory?: unknown }).factory;
    if (typeof f !== 'object' || f === null || typeof (f as ConnectionFactory<C>).create !== 'function') {
      throw new InvalidConfigError('options.isolated.factory', f, 'must be a ConnectionFactory (create, close, ...)');
    }
  }

  #openIsolated(id: string, isolated: IsolatedPoolOptions<C>, limits: PartitionLimits): PoolLink<C> {
    const config: PoolConfigOptions = {
      minSize: limits.minConnections,
      maxSize: limits.maxConnections,
      acquireTimeoutMs: this.pool.config.acquireTimeoutMs,
      ...isolated.config,
      enablePartitioning: true,
    };
    const pool = ConnectionPool.open(config, isolated.factory, { name: `${this.name}/${id}`, ...isolated.options });
    return this.#link(pool);
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
    for (const p of this.#partitions.values()) {
      Object.defineProperty(out, p.id, { value: p.statistics(t), enumerable: true, writable: true, configurable: true });
    }
    return out;
  }

  /** Requests no partition matched (and no default served) since the manager was created. */
  get unroutedRequests(): number {
    return this.#unrouted;
  }

  /** Zeroes the counters and wait histograms of every partition (budgets are not affected). */
  resetStatistics(): void {
    for (const p of this.#partitions.values()) p.resetStatistics();
    this.#unrouted = 0;
  }

  /** Subscribes to an event (see {@link PartitionEventMap}). Returns the manager for chaining. */
  on<K extends keyof PartitionEventMap<C>>(event: K, listener: (payload: PartitionEventMap<C>[K]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof PartitionEventMap<C>>(event: K, listener: (payload: PartitionEventMap<C>[K]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  // ---------------------------------------------------------------- lifecycle

  /**
   * Closes the manager: waiting callers and acquisitions in progress fail with `PoolClosedError`
   * (a connection that arrives for one goes straight back to the pool), later acquires are refused,
   * and isolated partitions' pools are closed. The shared pool stays open (it is yours). Idempotent.
   */
  close(): Promise<void> {
    if (this.#closePromise !== undefined) return this.#closePromise;
    const error = (): PoolClosedError => new PoolClosedError('The partition manager was closed while waiting');
    const run = async (): Promise<void> => {
      for (const p of this.#partitions.values()) {
        for (const w of [...p.queue.values()]) this.#failWaiter(w as PartitionWaiter, error(), 'closed', 'closed');
      }
      // Their connections, when they arrive, go straight back to the pool.
      for (const w of [...this.#inFlight]) this.#failWaiter(w, error(), 'closed', 'closed');
      this.#budgetTimers.clear();
      this.#deadlines.clear();
      const closing: Promise<void>[] = [];
      for (const p of this.#partitions.values()) {
        if (p.isolated) closing.push(p.link.pool.close());
        p.resolveDrained?.();
      }
      await Promise.all(closing);
      for (const link of [...this.#links]) link.detach();
      if (managers.get(this.pool as ConnectionPool<unknown>) === this.name) managers.delete(this.pool as ConnectionPool<unknown>);
    };
    this.#closePromise = run();
    return this.#closePromise;
  }

  /** `await using manager = new PartitionManager(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  #assertOpen(action: string): void {
    if (this.#closePromise !== undefined) throw new PoolClosedError(`Cannot ${action}: the partition manager is closed`);
  }

  #assertKeyRouting(action: string): void {
    const r = this.routing;
    if (typeof r === 'object' || r === 'loadBalanced') {
      throw new InvalidConfigError(
        'routing',
        typeof r === 'object' ? 'custom' : r,
        `${action}() and routeKeys need a key-based routing strategy`,
      );
    }
  }

  #checkRouteKeys(keys: unknown): string[] {
    if (keys === undefined) return [];
    this.#assertKeyRouting('routeKeys');
    if (!Array.isArray(keys)) throw new InvalidConfigError('options.routeKeys', keys, 'must be an array of strings');
    for (const key of keys) {
      if (typeof key !== 'string' || key === '') throw new InvalidConfigError('options.routeKeys', key, 'must contain non-empty strings');
      const taken = this.#routes.get(key);
      if (taken !== undefined) throw new InvalidConfigError('options.routeKeys', key, `already routes to partition '${taken.id}'`);
    }
    return [...new Set(keys as string[])];
  }

  #makeHandle(p: PartitionState<C>): Partition<C> {
    const acquire = (options?: AcquireOptions): Promise<PooledConnection<C>> => {
      const problem = this.#checkAcquireOptions(options);
      if (problem !== null) return Promise.reject(problem);
      return this.#acquireFrom(p, null, options);
    };
    return Object.freeze({
      id: p.id,
      type: p.type,
      get limits() {
        return p.limits;
      },
      get state() {
        return p.state;
      },
      isolated: p.isolated,
      pool: p.link.pool,
      acquire,
      async use<T>(fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
        if (typeof fn !== 'function') throw new InvalidArgumentError('fn', fn, 'must be a function');
        return runWith(await acquire(options), fn);
      },
      statistics: () => p.statistics(now()),
      toJSON: () => p.info(),
    });
  }
}

async function runWith<C, T>(pooled: PooledConnection<C>, fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>): Promise<T> {
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
