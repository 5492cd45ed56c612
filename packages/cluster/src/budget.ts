import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type ConnectionFactory,
  ConnectionPool,
  InvalidArgumentError,
  type PoolConfig,
  type PoolConfigOptions,
  PoolError,
  type PoolOptions,
  toPoolError,
} from '@pool/core';
import { BudgetContext } from './budget-context.js';
import type { BudgetState, ClusterBudgetEventMap } from './events.js';
import { FairSharing } from './fair-sharing.js';
import { LeaseQueue } from './lease-queue.js';
import { type ClusterBudgetOptions, checkLimit, checkName, checkTenants, resolveOptions } from './options.js';
import { PoolAttachments } from './pool-attachments.js';
import { readScopeStatistics, readStatistics, snapshotFromRaw } from './read-statistics.js';
import { openRedisStore } from './redis-connection.js';
import { Registration } from './registration.js';
import { DATABASE } from './scopes.js';
import { SlotReturns } from './slot-returns.js';
import type { BudgetSnapshot, ClusterBudgetStatistics } from './statistics.js';
import type { BudgetStore } from './store.js';
import { UnavailablePolicy } from './unavailable-policy.js';
import { wrapFactory } from './wrapped-factory.js';

/** Options of {@link ClusterBudget.wrap}. */
export interface WrapOptions {
  /**
   * The tenant whose global limit (the budget's `tenants` option) the connections also count against.
   * Default: none (only the database budget).
   */
  tenant?: string;
}

/** Options of {@link ClusterBudget.createPool}: the pool's options, and the tenant. */
export interface BudgetPoolOptions extends PoolOptions, WrapOptions {}

/**
 * The part of a `PartitionManager` (`@pool/partitioning`) that {@link ClusterBudget.attachPartitions}
 * uses: its isolated partitions' pools.
 */
export interface PartitionedPools<C> {
  listPartitions(): readonly { readonly id: string; readonly isolated: boolean }[];
  partition(id: string): { readonly pool: ConnectionPool<C> } | undefined;
  on?(event: 'create', listener: (payload: { partition: { id: string; isolated: boolean } }) => void): unknown;
  off?(event: 'create', listener: (payload: { partition: { id: string; isolated: boolean } }) => void): unknown;
}

/** @internal Lets tests run a budget on another store (the client-side logic under fake timers). */
export const kStore: unique symbol = Symbol('ClusterBudget.store');

/**
 * One global budget of database connections shared by every instance of an application, kept in
 * Redis: before a pool opens a connection it takes a slot (a lease), and closing the connection gives
 * the slot back. Borrowing a connection that is already open costs no Redis call.
 *
 * Leases expire unless renewed: each instance renews all of its leases with one script call per
 * heartbeat, so a crashed or partitioned instance's slots come back at most `leaseTtlMs` after its last
 * renewal (Redis server time). An instance that needs connections while the budget is full asks the
 * others (pub/sub) to shrink to their fair share. When Redis is unreachable, `onRedisUnavailable` says
 * what happens, and the change is visible in events and {@link statistics}.
 *
 * @example
 * ```ts
 * import { ClusterBudget } from '@pool/cluster';
 * import { pgFactory } from '@pool/pg';
 *
 * // Every instance: 100 connections in total against this PostgreSQL, whatever the number of instances.
 * const budget = new ClusterBudget({ redis: process.env.REDIS_URL, name: 'orders-db', maxConnections: 100 });
 * const pool = await budget.createPool({ maxSize: 40 }, pgFactory(process.env.DATABASE_URL));
 * const { rows } = await pool.use((db) => db.query('SELECT 1'));
 * await pool.close();
 * await budget.close();
 * ```
 */
export class ClusterBudget {
  /** The budget's name. */
  readonly name: string;
  /** This instance's id in the budget. */
  readonly instanceId: string;
  readonly #ctx: BudgetContext;
  readonly #policy: UnavailablePolicy;
  readonly #registration: Registration;
  readonly #leases: LeaseQueue;
  readonly #attachments: PoolAttachments;
  readonly #ready: Promise<void>;
  #closePromise: Promise<void> | undefined;

  /**
   * Creates the budget and starts registering this instance with Redis in the background (see
   * {@link ready}). Throws `InvalidConfigError` naming a bad option.
   */
  constructor(options: ClusterBudgetOptions) {
    const o = resolveOptions(options);
    const instanceId = o.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    const injected = (options as { [kStore]?: BudgetStore })[kStore];
    const ctx = new BudgetContext(o, instanceId, injected ?? openRedisStore(options.redis, o, instanceId));
    this.#ctx = ctx;
    this.name = ctx.name;
    this.instanceId = instanceId;
    const policy = new UnavailablePolicy(ctx);
    const fairSharing = new FairSharing(ctx);
    // A failed return is a Redis failure like any other: the registration deals with it.
    const returns = new SlotReturns(ctx, (error) => registration.failed(error));
    const registration = new Registration(ctx, policy, fairSharing, returns);
    this.#policy = policy;
    this.#registration = registration;
    this.#leases = new LeaseQueue(ctx, registration, policy, returns, fairSharing);
    this.#attachments = new PoolAttachments(ctx, registration);
    this.#ready = registration.start();
  }

  /** @internal */
  static [kStore](options: Omit<ClusterBudgetOptions, 'redis'>, store: BudgetStore): ClusterBudget {
    return new ClusterBudget({ redis: 'redis://unused', ...options, [kStore]: store } as ClusterBudgetOptions);
  }

  /**
   * Resolves once the first registration attempt is over: the state is then `'connected'`, or
   * `'degraded'` when Redis could not be reached (the budget keeps trying). Never rejects.
   */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Where this instance stands with the budget. */
  get state(): BudgetState {
    return this.#ctx.state;
  }

  // ---------------------------------------------------------------- wiring into pools

  /**
   * Wraps a connection factory so that every connection it opens holds a slot of the budget: `create`
   * first takes a slot (waiting while the budget is full), `close` gives it back once the connection is
   * closed, and a failed `create` gives it back at once. Everything else is passed through, so borrowing
   * an open connection costs nothing extra. Give the wrapped factory to one pool, then
   * {@link attach} that pool so fair sharing and shedding can resize it (or use {@link createPool}).
   *
   * @throws InvalidArgumentError when `factory` is not a factory, or `tenant` has no limit in `tenants`.
   */
  wrap<C>(factory: ConnectionFactory<C>, options: WrapOptions = {}): ConnectionFactory<C> {
    if (typeof factory !== 'object' || factory === null || typeof factory.create !== 'function' || typeof factory.close !== 'function') {
      throw new InvalidArgumentError('factory', factory, 'must be a ConnectionFactory with create() and close()');
    }
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', options, 'must be { tenant? }');
    for (const key of Object.keys(options)) {
      if (key !== 'tenant')
        throw new InvalidArgumentError(`options.${key}`, (options as Record<string, unknown>)[key], 'is not a wrap option; known: tenant');
    }
    const tenant = options.tenant ?? null;
    if (tenant !== null) {
      checkName('tenant', tenant, true);
      if (!this.#ctx.o.tenants.has(tenant)) {
        throw new InvalidArgumentError(
          'tenant',
          tenant,
          `has no global limit: add it to the budget's tenants option (or setLimits({ tenants }))`,
        );
      }
    }
    const group = this.#ctx.group(tenant);
    const wrapped = wrapFactory(factory, group, this.#leases);
    this.#attachments.addWrapper(wrapped, group);
    return wrapped;
  }

  /**
   * Lets the budget resize `pool` (whose factory came from {@link wrap}): close its idle connections
   * above `minSize` when another instance below its fair share asks, shed connections the budget no
   * longer grants after an outage, and stop waiting for a slot when the pool no longer needs the
   * connection. Returns a function that detaches it (the pool's own sizes are given back). A pool is
   * detached when it closes.
   *
   * @throws InvalidArgumentError when the pool's factory did not come from this budget's `wrap()`.
   */
  attach<C>(pool: ConnectionPool<C>): () => void {
    return this.#attachments.attach(pool);
  }

  /**
   * Creates a pool whose connections hold slots of this budget and attaches it: `wrap` +
   * `ConnectionPool.create` + `attach`. `options` are the pool's options plus `tenant`.
   */
  async createPool<C>(
    config: PoolConfig | PoolConfigOptions,
    factory: ConnectionFactory<C>,
    options: BudgetPoolOptions = {},
  ): Promise<ConnectionPool<C>> {
    const { tenant, ...poolOptions } = options;
    const pool = await ConnectionPool.create(config, this.wrap(factory, tenant === undefined ? {} : { tenant }), poolOptions);
    this.attach(pool);
    return pool;
  }

  /**
   * Attaches the pools of a `PartitionManager`'s isolated partitions whose factories came from
   * {@link wrap} (typically `wrap(factory, { tenant })`, so each tenant's partition counts against the
   * tenant's global limit), now and as partitions are created. Returns a function that detaches them.
   *
   * @example
   * ```ts
   * const budget = new ClusterBudget({ redis, name: 'main-db', maxConnections: 100, tenants: { acme: 30 } });
   * const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
   * manager.createPartition('tenant_acme', PartitionType.Tenant('acme'), { maxConnections: 20 }, {
   *   isolated: { factory: budget.wrap(pgFactory(url), { tenant: 'acme' }) },
   * });
   * budget.attachPartitions(manager);
   * ```
   */
  attachPartitions<C>(manager: PartitionedPools<C>): () => void {
    if (
      typeof manager !== 'object' ||
      manager === null ||
      typeof manager.listPartitions !== 'function' ||
      typeof manager.partition !== 'function'
    ) {
      throw new InvalidArgumentError('manager', manager, 'must be a PartitionManager (listPartitions(), partition(id))');
    }
    const detachers: (() => void)[] = [];
    const attachOne = (id: string): void => {
      const pool = manager.partition(id)?.pool;
      if (pool !== undefined && this.#attachments.isWrapper(pool.factory as object)) detachers.push(this.attach(pool));
    };
    for (const p of manager.listPartitions()) if (p.isolated) attachOne(p.id);
    const onCreate = (payload: { partition: { id: string; isolated: boolean } }): void => {
      if (payload.partition.isolated) attachOne(payload.partition.id);
    };
    manager.on?.('create', onCreate);
    return () => {
      manager.off?.('create', onCreate);
      for (const d of detachers.splice(0)) d();
    };
  }

  /**
   * Changes the global limits at run time (every instance should be given the same values; while they
   * differ, each enforces its own). Returns nothing; the new limits apply to the next slot asked for.
   */
  setLimits(limits: { maxConnections?: number; tenants?: Readonly<Record<string, number>> }): void {
    if (typeof limits !== 'object' || limits === null)
      throw new InvalidArgumentError('limits', limits, 'must be { maxConnections?, tenants? }');
    for (const key of Object.keys(limits)) {
      if (key !== 'maxConnections' && key !== 'tenants') {
        throw new InvalidArgumentError(
          `limits.${key}`,
          (limits as Record<string, unknown>)[key],
          'only maxConnections and tenants can be changed',
        );
      }
    }
    const ctx = this.#ctx;
    const max = limits.maxConnections === undefined ? ctx.o.maxConnections : checkLimit('maxConnections', limits.maxConnections);
    const tenants = limits.tenants === undefined ? ctx.o.tenants : checkTenants('tenants', limits.tenants);
    for (const g of ctx.groups.values()) {
      if (g.tenant !== null && !tenants.has(g.tenant)) {
        throw new InvalidArgumentError(`limits.tenants.${g.tenant}`, undefined, 'is in use by a wrapped factory and needs a limit');
      }
    }
    ctx.o.maxConnections = max;
    ctx.o.tenants = tenants;
    for (const g of ctx.groups.values()) g.wake.notify();
  }

  // ---------------------------------------------------------------- observation

  /** Subscribes to an event (see {@link ClusterBudgetEventMap}). Returns the budget for chaining. */
  on<K extends keyof ClusterBudgetEventMap>(event: K, listener: (payload: ClusterBudgetEventMap[K]) => void): this {
    this.#ctx.events.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof ClusterBudgetEventMap>(event: K, listener: (payload: ClusterBudgetEventMap[K]) => void): this {
    this.#ctx.events.off(event, listener);
    return this;
  }

  /** This instance's view of the budget: plain JSON-safe data, read without any Redis call. */
  statistics(): ClusterBudgetStatistics {
    return readStatistics(this.#ctx, () => this.#policy.cap(DATABASE), this.#attachments.poolNames());
  }

  /**
   * The whole budget as Redis holds it now: every live instance with its leases (one script call).
   * Rejects with `BudgetRedisError` when Redis cannot be reached.
   */
  async inspect(): Promise<BudgetSnapshot> {
    return snapshotFromRaw(this.name, await this.#ctx.store.inspect());
  }

  // ---------------------------------------------------------------- close

  /**
   * Stops the budget: waiting requests fail with `BudgetClosedError`, the heartbeat stops, attached
   * pools get their own sizes back, and this instance leaves the budget in Redis. Close your pools
   * first: slots still held by open connections are left to expire (after `leaseTtlMs`), and an `error`
   * event says so. Idempotent; never rejects.
   */
  close(): Promise<void> {
    this.#closePromise ??= this.#shutDown();
    return this.#closePromise;
  }

  /** `await using budget = new ClusterBudget(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #shutDown(): Promise<void> {
    const ctx = this.#ctx;
    const wasReachable = ctx.state === 'connected';
    ctx.setState('closed', undefined);
    this.#registration.stop();
    this.#leases.closeAll();
    this.#attachments.detachAll();
    await this.#ready;
    await ctx.recovering;
    let open = 0;
    for (const g of ctx.groups.values()) open += g.open;
    if (open > 0) {
      ctx.report(
        new PoolError(
          'ERR_POOL_BUDGET_LEASES_LEFT',
          `Cluster budget '${this.name}' closed while ${open} connection${open === 1 ? ' holds a slot' : 's hold slots'}: close the pools before the budget; those slots expire in Redis after leaseTtlMs (${ctx.o.leaseTtlMs} ms)`,
        ),
      );
    } else if (wasReachable || ctx.registered) {
      try {
        await ctx.store.deregister();
      } catch (error) {
        ctx.counters.redisErrors++;
        ctx.report(toPoolError(error));
      }
    }
    await ctx.store.close();
  }

  /** A short description for logs. */
  toString(): string {
    const s = readScopeStatistics(this.#ctx, DATABASE, this.#ctx.o.maxConnections);
    return `ClusterBudget(${this.name}: ${s.held} held by ${this.instanceId}, ${s.globalUsed ?? '?'}/${s.limit} used, ${this.#ctx.state})`;
  }
}
