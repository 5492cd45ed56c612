import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import {
  type ConnectionFactory,
  ConnectionPool,
  type CreateContext,
  InvalidArgumentError,
  now,
  type OperationContext,
  type PoolConfig,
  type PoolConfigOptions,
  PoolError,
  PoolEvents,
  type PoolOptions,
  toPoolError,
} from '@pool/core';
import { Redis, type RedisOptions } from 'ioredis';
import { BudgetClosedError, BudgetExhaustedError, BudgetRedisError, BudgetUnavailableError, type RefusalReason } from './errors.js';
import type { BudgetState, ClusterBudgetEventMap } from './events.js';
import { type ClusterBudgetOptions, checkLimit, checkName, checkTenants, type ResolvedOptions, resolveOptions } from './options.js';
import { PoolHandle } from './pool-handle.js';
import type { BudgetCounters, BudgetSnapshot, ClusterBudgetStatistics, ScopeStatistics } from './statistics.js';
import {
  type BudgetMessage,
  type BudgetRedisClient,
  type BudgetStore,
  RedisBudgetStore,
  type ScopeLimit,
  type ShrinkRequest,
} from './store.js';
import { Wake } from './wake.js';

/** The scope of the database budget. */
const DATABASE = '*';
/** Slots asked for in one script call. */
const MAX_BATCH = 16;
/** How soon a refused request asks again while the channel that announces freed slots is not subscribed yet. */
const UNSUBSCRIBED_RETRY_MS = 100;
/** How long Redis keeps a budget's keys after the last activity. */
const KEEP_MS = 7 * 24 * 3_600_000;

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

/** A create waiting for a slot. */
interface LeaseRequest {
  readonly start: number;
  settled: boolean;
  resolve(): void;
  reject(error: unknown): void;
  cleanup(): void;
}

/** The connections opened through one wrapped factory shape: same scopes. */
class Group {
  /** Connections open or being opened with a slot (leased in Redis, or granted by the fallback policy). */
  open = 0;
  /** Lease ids registered in Redis. */
  ids: string[] = [];
  readonly queue: LeaseRequest[] = [];
  pumping = false;
  /** True while the current round of requests has been refused (one `refused` event per round). */
  refusing = false;
  readonly wake = new Wake();
  readonly pools = new Set<PoolHandle>();
  /** Connections created through this group and not closed (a count, in case a factory repeats values). */
  readonly conns = new Map<unknown, number>();

  constructor(
    readonly tenant: string | null,
    readonly scopes: readonly string[],
  ) {}

  has(scope: string): boolean {
    return this.scopes.includes(scope);
  }

  prune(): void {
    let i = 0;
    while (i < this.queue.length) {
      if ((this.queue[i] as LeaseRequest).settled) this.queue.splice(i, 1);
      else i++;
    }
  }
}

function emptyCounters(): BudgetCounters {
  return {
    granted: 0,
    fallbackGranted: 0,
    refused: { capacity: 0, fairness: 0, recovering: 0, unavailable: 0 },
    returned: 0,
    abandoned: 0,
    recoveries: 0,
    shed: 0,
    shrinkRequestsSent: 0,
    shrinkRequestsReceived: 0,
    shrinkClosed: 0,
    redisErrors: 0,
  };
}

function isClient(value: unknown): value is BudgetRedisClient {
  const v = value as { call?: unknown; duplicate?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.call === 'function' && typeof v.duplicate === 'function';
}

function jitter(ms: number): number {
  return ms * (0.8 + Math.random() * 0.4);
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
  readonly #o: ResolvedOptions;
  readonly #store: BudgetStore;
  readonly #events: PoolEvents<ClusterBudgetEventMap>;
  readonly #groups = new Map<string, Group>();
  readonly #wrappers = new WeakMap<object, Group>();
  readonly #handles = new Map<ConnectionPool<unknown>, { group: Group; handle: PoolHandle; detach: () => void }>();
  readonly #stateWake = new Wake();
  readonly #inflightWake = new Wake();
  readonly #counters = emptyCounters();
  readonly #warned = new Set<string>();
  #state: BudgetState = 'connecting';
  #epoch = '';
  #seq = 0;
  /** Takes in flight (a claim waits for them, so it sees their outcome). */
  #inflight = 0;
  /** Returns in flight. */
  #returning = 0;
  /** Take and return calls sent so far (the heartbeat's check needs a quiet moment). */
  #ops = 0;
  /** Some call's effect on Redis is unknown: the next contact re-registers (claim) instead of renewing. */
  #dirty = false;
  #recovering: Promise<void> | undefined;
  #returnQueue: string[] = [];
  #returnScheduled = false;
  /** Slots held per scope when Redis was lost (the 'hold' policy's default cap); null while connected. */
  #heldAtLoss: Map<string, number> | null = null;
  #degradedSince: number | null = null;
  #lastError: unknown;
  /** Monotonic time until which this instance's leases are surely alive in Redis. */
  #validUntil = Number.NEGATIVE_INFINITY;
  #lastContactAt: number | null = null;
  #live: number | null = null;
  readonly #globalUsed = new Map<string, number>();
  /** Server time of the last shrink request acted on, per scope. */
  readonly #shrinkSeen = new Map<string, number>();
  #beatTimer: ReturnType<typeof setTimeout> | undefined;
  #strictTimer: ReturnType<typeof setTimeout> | undefined;
  #registered = false;
  readonly #ready: Promise<void>;
  /** Whether the subscriber has joined the budget's channel (freed slots are announced there). */
  #subscribed = false;
  #closePromise: Promise<void> | undefined;

  /**
   * Creates the budget and starts registering this instance with Redis in the background (see
   * {@link ready}). Throws `InvalidConfigError` naming a bad option.
   */
  constructor(options: ClusterBudgetOptions) {
    this.#o = resolveOptions(options);
    this.name = this.#o.name;
    this.instanceId = this.#o.instanceId ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
    this.#events = new PoolEvents<ClusterBudgetEventMap>((error) => this.#report(error));
    const injected = (options as { [kStore]?: BudgetStore })[kStore];
    if (injected !== undefined) this.#store = injected;
    else {
      const redis = options.redis;
      const owns = !isClient(redis);
      // A client of our own fails fast while disconnected, instead of queueing the budget's commands.
      const defaults = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
      // ioredis' constructor types trip over exactOptionalPropertyTypes; the options are ioredis' own.
      const RedisClient = Redis as unknown as new (...args: unknown[]) => Redis;
      const client: BudgetRedisClient = isClient(redis)
        ? redis
        : typeof redis === 'string'
          ? new RedisClient(redis, defaults)
          : new RedisClient({ ...defaults, ...(redis as RedisOptions) });
      if (owns) client.on('error', () => {}); // reported through the budget's state and events instead
      this.#store = new RedisBudgetStore(
        client,
        owns,
        `${this.#o.keyPrefix}{${this.name}}`,
        this.instanceId,
        KEEP_MS,
        this.#o.commandTimeoutMs,
      );
    }
    this.#ready = this.#start();
  }

  /** @internal */
  static [kStore](options: Omit<ClusterBudgetOptions, 'redis'>, store: BudgetStore): ClusterBudget {
    return new ClusterBudget({ redis: 'redis://unused', ...options, [kStore]: store } as ClusterBudgetOptions);
  }

  async #start(): Promise<void> {
    this.#store.watchConnection((event) => {
      if (this.#state === 'closed') return;
      if (event === 'lost') {
        if (this.#state === 'connected')
          this.#failed(new BudgetRedisError('connection', false, new Error('the connection to Redis closed')));
      } else if (this.#state === 'degraded') void this.#recover();
      else if (this.#state === 'connected') void this.#beat();
    });
    await this.#store.whenReady(this.#o.commandTimeoutMs);
    if (this.#state === 'closed') return;
    const subscribed = this.#store
      .subscribe((message) => this.#onMessage(message))
      .then(
        () => {
          this.#subscribed = true;
        },
        (error: unknown) => {
          this.#report(toPoolError(new BudgetRedisError('subscribe', false, error)));
        },
      );
    await this.#recover();
    this.#scheduleBeat();
    // ready() also means the instance hears freed slots announced on the channel, unless subscribing
    // takes longer than a command may (until then, a refused request polls: see #takeRound).
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      subscribed,
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.#o.commandTimeoutMs);
        timer.unref?.();
      }),
    ]);
    clearTimeout(timer);
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
    return this.#state;
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
      if (!this.#o.tenants.has(tenant)) {
        throw new InvalidArgumentError(
          'tenant',
          tenant,
          `has no global limit: add it to the budget's tenants option (or setLimits({ tenants }))`,
        );
      }
    }
    const group = this.#group(tenant);
    const budget = this;
    const wrapped: ConnectionFactory<C> = {
      async create(ctx: CreateContext): Promise<C> {
        await budget.#lease(group, ctx.signal);
        let conn: C;
        try {
          conn = await factory.create(ctx);
        } catch (error) {
          budget.#unlease(group);
          throw error;
        }
        group.conns.set(conn, (group.conns.get(conn) ?? 0) + 1);
        return conn;
      },
      async close(conn: C, ctx: OperationContext): Promise<void> {
        let given = false;
        const give = (): void => {
          if (given) return;
          given = true;
          const n = group.conns.get(conn);
          if (n === undefined) return;
          if (n <= 1) group.conns.delete(conn);
          else group.conns.set(conn, n - 1);
          budget.#unlease(group);
        };
        // The slot comes back once the connection is closed, or when the pool gives up waiting for the
        // close (it then abandons the connection; adapters destroy the socket on that signal).
        ctx.signal.addEventListener('abort', give, { once: true });
        try {
          await factory.close(conn, ctx);
        } finally {
          ctx.signal.removeEventListener('abort', give);
          give();
        }
      },
    };
    if (factory.validate !== undefined)
      wrapped.validate = (conn, ctx) => (factory.validate as NonNullable<typeof factory.validate>).call(factory, conn, ctx);
    if (factory.reset !== undefined)
      wrapped.reset = (conn, ctx) => (factory.reset as NonNullable<typeof factory.reset>).call(factory, conn, ctx);
    if (factory.isDirty !== undefined)
      wrapped.isDirty = (conn) => (factory.isDirty as NonNullable<typeof factory.isDirty>).call(factory, conn);
    if (factory.connectionMemoryBytes !== undefined) {
      wrapped.connectionMemoryBytes = (conn) =>
        (factory.connectionMemoryBytes as NonNullable<typeof factory.connectionMemoryBytes>).call(factory, conn);
    }
    if (factory.statistics !== undefined)
      wrapped.statistics = () => (factory.statistics as NonNullable<typeof factory.statistics>).call(factory);
    this.#wrappers.set(wrapped, group);
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
    if (!(pool instanceof ConnectionPool)) throw new InvalidArgumentError('pool', pool, 'must be a ConnectionPool');
    const group = this.#wrappers.get(pool.factory as object);
    if (group === undefined) {
      throw new InvalidArgumentError('pool', pool.name, `must use a factory returned by this budget's wrap() (budget '${this.name}')`);
    }
    const existing = this.#handles.get(pool as ConnectionPool<unknown>);
    if (existing !== undefined) return existing.detach;
    const handle = new PoolHandle(pool as ConnectionPool<unknown>);
    const onClose = (): void => detach();
    const detach = (): void => {
      const entry = this.#handles.get(pool as ConnectionPool<unknown>);
      if (entry === undefined || entry.handle !== handle) return;
      this.#handles.delete(pool as ConnectionPool<unknown>);
      group.pools.delete(handle);
      pool.off('close', onClose);
      handle.detach();
    };
    pool.on('close', onClose);
    group.pools.add(handle);
    this.#handles.set(pool as ConnectionPool<unknown>, { group, handle, detach });
    if (this.#state === 'connected' && group.open > group.ids.length) this.#settleExcess(group);
    return detach;
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
      if (pool !== undefined && this.#wrappers.has(pool.factory as object)) detachers.push(this.attach(pool));
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
    const max = limits.maxConnections === undefined ? this.#o.maxConnections : checkLimit('maxConnections', limits.maxConnections);
    const tenants = limits.tenants === undefined ? this.#o.tenants : checkTenants('tenants', limits.tenants);
    for (const g of this.#groups.values()) {
      if (g.tenant !== null && !tenants.has(g.tenant)) {
        throw new InvalidArgumentError(`limits.tenants.${g.tenant}`, undefined, 'is in use by a wrapped factory and needs a limit');
      }
    }
    this.#o.maxConnections = max;
    this.#o.tenants = tenants;
    for (const g of this.#groups.values()) g.wake.notify();
  }

  // ---------------------------------------------------------------- observation

  /** Subscribes to an event (see {@link ClusterBudgetEventMap}). Returns the budget for chaining. */
  on<K extends keyof ClusterBudgetEventMap>(event: K, listener: (payload: ClusterBudgetEventMap[K]) => void): this {
    this.#events.on(event, listener);
    return this;
  }

  /** Unsubscribes a listener. */
  off<K extends keyof ClusterBudgetEventMap>(event: K, listener: (payload: ClusterBudgetEventMap[K]) => void): this {
    this.#events.off(event, listener);
    return this;
  }

  /** This instance's view of the budget: plain JSON-safe data, read without any Redis call. */
  statistics(): ClusterBudgetStatistics {
    const tenants: Record<string, ScopeStatistics> = {};
    for (const tenant of this.#o.tenants.keys()) tenants[tenant] = this.#scopeStats(`t:${tenant}`, this.#o.tenants.get(tenant) as number);
    const c = this.#counters;
    return {
      budget: this.name,
      instanceId: this.instanceId,
      state: this.#state,
      policy: this.#o.onRedisUnavailable,
      database: this.#scopeStats(DATABASE, this.#o.maxConnections),
      tenants,
      instances: this.#live,
      lastContactAt: this.#lastContactAt,
      degradedSince: this.#degradedSince,
      fallbackCap: this.#state === 'degraded' && this.#o.onRedisUnavailable === 'hold' ? this.#cap(DATABASE) : null,
      leaseTtlMs: this.#o.leaseTtlMs,
      heartbeatIntervalMs: this.#o.heartbeatIntervalMs,
      pools: [...this.#handles.keys()].map((p) => p.name),
      counters: { ...c, refused: { ...c.refused } },
    };
  }

  #scopeStats(scope: string, limit: number): ScopeStatistics {
    let held = 0;
    let open = 0;
    let waiting = 0;
    for (const g of this.#groups.values()) {
      if (!g.has(scope)) continue;
      held += g.ids.length;
      open += g.open;
      waiting += g.queue.filter((r) => !r.settled).length;
    }
    return { limit, held, open, unleased: Math.max(0, open - held), globalUsed: this.#globalUsed.get(scope) ?? null, waiting };
  }

  /**
   * The whole budget as Redis holds it now: every live instance with its leases (one script call).
   * Rejects with `BudgetRedisError` when Redis cannot be reached.
   */
  async inspect(): Promise<BudgetSnapshot> {
    const raw = await this.#store.inspect();
    const byInstance = new Map<string, { held: number; tenants: Record<string, number> }>();
    for (const inst of raw.instances) byInstance.set(inst.id, { held: 0, tenants: {} });
    for (const h of raw.held) {
      const entry = byInstance.get(h.instance);
      if (entry === undefined) continue;
      if (h.scope === DATABASE) entry.held = h.leases;
      else if (h.scope.startsWith('t:')) entry.tenants[h.scope.slice(2)] = h.leases;
    }
    const tenantsUsed: Record<string, number> = {};
    for (const [scope, n] of Object.entries(raw.used)) if (scope.startsWith('t:')) tenantsUsed[scope.slice(2)] = n;
    return {
      budget: this.name,
      serverTime: raw.nowMs,
      epoch: raw.epoch,
      recoveringForMs: Math.max(0, raw.recoverUntil - raw.nowMs),
      used: raw.used[DATABASE] ?? 0,
      tenantsUsed,
      instances: raw.instances.map((i) => ({
        id: i.id,
        expiresInMs: i.expiresAt - raw.nowMs,
        ...(byInstance.get(i.id) as { held: number; tenants: Record<string, number> }),
      })),
      waiting: raw.wanting.map((w) => ({
        instance: w.instance,
        tenant: w.scope === DATABASE ? null : w.scope.slice(2),
        forMs: w.until - raw.nowMs,
      })),
    };
  }

  // ---------------------------------------------------------------- slots

  #group(tenant: string | null): Group {
    const key = tenant ?? '';
    let g = this.#groups.get(key);
    if (g === undefined) {
      g = new Group(tenant, tenant === null ? [DATABASE] : [DATABASE, `t:${tenant}`]);
      this.#groups.set(key, g);
    }
    return g;
  }

  #limit(scope: string): number {
    if (scope === DATABASE) return this.#o.maxConnections;
    return this.#o.tenants.get(scope.slice(2)) ?? 0;
  }

  #scopeLimits(scopes: readonly string[]): ScopeLimit[] {
    return scopes.map((scope) => ({ scope, limit: this.#limit(scope) }));
  }

  /** Every scope in use, database first. */
  #allScopes(): string[] {
    const out = [DATABASE];
    for (const g of this.#groups.values()) for (const s of g.scopes) if (!out.includes(s)) out.push(s);
    return out;
  }

  #nextId(): string {
    return (++this.#seq).toString(36);
  }

  /** Waits for a slot for `group` (bounded by `signal`); on success the slot counts in `group.open`. */
  #lease(group: Group, signal: AbortSignal): Promise<void> {
    if (this.#state === 'closed') return Promise.reject(new BudgetClosedError(this.name));
    if (signal.aborted) return Promise.reject(signal.reason);
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        if (req.settled) return;
        req.settled = true;
        this.#counters.abandoned++;
        reject(signal.reason);
      };
      const req: LeaseRequest = {
        start: now(),
        settled: false,
        resolve,
        reject,
        cleanup: () => signal.removeEventListener('abort', onAbort),
      };
      signal.addEventListener('abort', onAbort, { once: true });
      group.queue.push(req);
      void this.#pump(group);
    });
  }

  /** Settles a request: granted (`error` undefined) or failed. */
  #settle(req: LeaseRequest, error?: unknown): void {
    req.settled = true;
    req.cleanup();
    if (error === undefined) req.resolve();
    else req.reject(error);
  }

  /** A connection of `group` closed (or its creation failed): its slot goes back. */
  #unlease(group: Group): void {
    group.open = Math.max(0, group.open - 1);
    // While re-registering, the claim decides; surplus is returned once it answered.
    if (this.#state === 'recovering' || this.#state === 'connecting') return;
    this.#reconcile(group);
    if (this.#state === 'degraded') this.#wakeAll();
  }

  /** Gives back lease ids `group` holds beyond its open connections, and lifts shedding when done. */
  #reconcile(group: Group): void {
    while (group.ids.length > group.open) {
      const id = group.ids.pop() as string;
      if (this.#state === 'connected') this.#returnQueue.push(id);
      else this.#dirty = true; // unreachable: the next claim leaves it out
    }
    if (this.#returnQueue.length > 0 && !this.#returnScheduled) {
      this.#returnScheduled = true;
      queueMicrotask(() => this.#flushReturns());
    }
    if (group.open <= group.ids.length) for (const h of group.pools) h.unshed();
  }

  #flushReturns(): void {
    this.#returnScheduled = false;
    const ids = this.#returnQueue.splice(0);
    if (ids.length === 0) return;
    if (this.#state !== 'connected') {
      this.#dirty = true;
      return;
    }
    this.#ops++;
    this.#returning++;
    this.#store
      .giveBack(ids)
      .then((r) => {
        this.#counters.returned += r.returned;
      })
      .catch((error: unknown) => this.#failed(error))
      .finally(() => {
        this.#returning--;
      });
  }

  /** Serves `group`'s queue: one take in flight at a time per group, batched. */
  async #pump(group: Group): Promise<void> {
    if (group.pumping) {
      group.wake.notify();
      return;
    }
    group.pumping = true;
    try {
      for (;;) {
        group.prune();
        if (group.queue.length === 0) return;
        const state = this.#state;
        if (state === 'closed') {
          for (const req of group.queue.splice(0)) this.#settle(req, new BudgetClosedError(this.name));
          return;
        }
        if (state === 'connecting' || state === 'recovering' || (state === 'degraded' && this.#recovering !== undefined)) {
          await this.#stateWake.wait(this.#o.retryIntervalMs);
          continue;
        }
        if (state === 'degraded') {
          if (this.#grantFallback(group)) continue;
          this.#refused(group, 'unavailable');
          await group.wake.wait(jitter(this.#o.retryIntervalMs));
          this.#abandonIfUnneeded(group, () => this.#unavailableError());
          continue;
        }
        await this.#takeRound(group);
      }
    } finally {
      group.pumping = false;
    }
  }

  /** One take for the head of `group`'s queue (connected). */
  async #takeRound(group: Group): Promise<void> {
    const batch = group.queue.slice(0, MAX_BATCH);
    const ids = batch.map(() => this.#nextId());
    const scopes = this.#scopeLimits(group.scopes);
    // A slot announced free while this take is on its way (the announcement comes on another
    // connection and can arrive before the refusal) must not leave the group asleep until the retry.
    const seen = group.wake.notified;
    this.#inflight++;
    this.#ops++;
    let reply: Awaited<ReturnType<BudgetStore['take']>>;
    try {
      reply = await this.#store.take({
        epoch: this.#epoch,
        ttlMs: this.#o.leaseTtlMs,
        wantTtlMs: 3 * this.#o.retryIntervalMs,
        shrinkGapMs: this.#o.shrinkIntervalMs,
        scopes,
        ids,
      });
    } catch (error) {
      this.#failed(error);
      return;
    } finally {
      this.#inflight--;
      if (this.#inflight === 0) this.#inflightWake.notify();
    }
    if (reply.status !== 'OK') {
      void this.#recover();
      return;
    }
    this.#live = reply.live;
    group.scopes.forEach((s, i) => {
      const used = reply.used[i];
      if (used !== undefined) this.#globalUsed.set(s, used);
    });
    let orphaned = false;
    for (let i = 0; i < reply.granted; i++) {
      const req = batch[i] as LeaseRequest;
      group.ids.push(ids[i] as string);
      this.#counters.granted++;
      if (req.settled) {
        orphaned = true; // its creation gave up meanwhile: the slot goes straight back
        continue;
      }
      group.open++;
      group.refusing = false;
      this.#settle(req);
      if (this.#events.has('lease')) this.#events.emit('lease', { tenant: group.tenant, waitMs: now() - req.start, fallback: false });
    }
    if (orphaned || this.#state !== 'connected') this.#reconcile(group);
    if (reply.granted >= batch.length) return;
    const reason = reply.reason === '' ? 'capacity' : reply.reason;
    if (reply.shrinkRequested) {
      this.#counters.shrinkRequestsSent++;
      if (this.#events.has('shrink')) this.#events.emit('shrink', { direction: 'sent', tenant: group.tenant, share: this.#share(group) });
    }
    this.#refused(group, reason);
    let delay = reason === 'recovering' ? Math.min(Math.max(reply.retryMs, 10), this.#o.retryIntervalMs) : jitter(this.#o.retryIntervalMs);
    // Until the channel is subscribed, a freed slot cannot wake this instance: ask again soon instead.
    if (!this.#subscribed) delay = Math.min(delay, UNSUBSCRIBED_RETRY_MS);
    await group.wake.wait(delay, seen);
    this.#abandonIfUnneeded(group, () => this.#exhaustedError(group, reason));
  }

  #share(group: Group): number {
    const live = Math.max(1, this.#live ?? 1);
    const scope = group.scopes[group.scopes.length - 1] as string;
    return Math.max(1, Math.floor(this.#limit(scope) / live));
  }

  #refused(group: Group, reason: RefusalReason): void {
    if (group.refusing) return;
    group.refusing = true;
    this.#counters.refused[reason]++;
    if (this.#events.has('refused')) {
      const scope = this.#blockingScope(group);
      this.#events.emit('refused', {
        tenant: group.tenant,
        reason,
        used: this.#globalUsed.get(scope) ?? -1,
        limit: this.#limit(scope),
      });
    }
  }

  /** The scope that is (probably) full: the tenant's when it is at its limit, else the database's. */
  #blockingScope(group: Group): string {
    for (const s of group.scopes) {
      if (s !== DATABASE && (this.#globalUsed.get(s) ?? 0) >= this.#limit(s)) return s;
    }
    return DATABASE;
  }

  #exhaustedError(group: Group, reason: Exclude<RefusalReason, 'unavailable'>): BudgetExhaustedError {
    const scope = this.#blockingScope(group);
    return new BudgetExhaustedError({
      budget: this.name,
      tenant: scope === DATABASE ? null : scope.slice(2),
      reason,
      used: this.#globalUsed.get(scope) ?? -1,
      limit: this.#limit(scope),
    });
  }

  #unavailableError(): BudgetUnavailableError {
    const mode = this.#o.onRedisUnavailable === 'strict' ? 'strict' : 'hold';
    return new BudgetUnavailableError(this.name, mode, mode === 'strict' ? 0 : this.#cap(DATABASE), this.#lastError);
  }

  /**
   * Requests of `group` beyond what its attached pools still need (a waiting caller each, plus what
   * they lack of `minSize`) fail with `makeError()`: the pool records a failed creation (the cause its
   * next timed-out callers see) instead of holding a ticket for a slot nobody wants.
   */
  #abandonIfUnneeded(group: Group, makeError: () => PoolError): void {
    if (group.pools.size === 0) return;
    // Connections the attached pools still want: one per waiting caller, plus what they lack of minSize.
    let needed = 0;
    for (const h of group.pools) {
      const pool = h.pool;
      if (pool.state !== 'open') continue;
      const s = pool.size();
      needed += s.waiting + Math.max(0, h.minSize - s.total);
    }
    group.prune();
    const extra = group.queue.length - needed;
    if (extra <= 0) return;
    // The newest requests go: the older ones have waited longest for their slot.
    const error = makeError();
    for (const req of group.queue.splice(group.queue.length - extra, extra)) {
      this.#counters.abandoned++;
      this.#settle(req, error);
    }
    if (group.queue.length === 0) group.refusing = false;
  }

  // ---------------------------------------------------------------- Redis unreachable

  /** Connections this instance holds in `scope`, leased or not. */
  #localHeld(scope: string): number {
    let n = 0;
    for (const g of this.#groups.values()) if (g.has(scope)) n += g.open;
    return n;
  }

  /** The 'hold' policy's cap for `scope`. */
  #cap(scope: string): number {
    const fallback = this.#o.fallbackMaxConnections;
    if (fallback !== null) return Math.min(fallback, this.#limit(scope));
    return this.#heldAtLoss?.get(scope) ?? 0;
  }

  /** Grants queued requests of `group` under the policy while Redis is unreachable. Returns whether it granted any. */
  #grantFallback(group: Group): boolean {
    const mode = this.#o.onRedisUnavailable;
    if (mode === 'strict') return false;
    let any = false;
    for (const req of group.queue) {
      if (req.settled) continue;
      if (mode === 'hold' && !group.scopes.every((s) => this.#localHeld(s) < this.#cap(s))) break;
      group.open++;
      this.#counters.fallbackGranted++;
      group.refusing = false;
      this.#settle(req);
      any = true;
      if (this.#events.has('lease')) this.#events.emit('lease', { tenant: group.tenant, waitMs: now() - req.start, fallback: true });
    }
    return any;
  }

  /** A Redis call failed: its effect is unknown, and Redis is treated as unreachable until a claim succeeds. */
  #failed(error: unknown): void {
    this.#counters.redisErrors++;
    this.#lastError = error;
    this.#dirty = true;
    if (this.#state === 'closed' || this.#state === 'degraded') return;
    if (this.#heldAtLoss === null) {
      // What this instance legitimately held when Redis was lost: its leases (none before it registered).
      const held = new Map<string, number>();
      for (const scope of this.#allScopes()) {
        let n = 0;
        for (const g of this.#groups.values()) if (g.has(scope)) n += Math.min(g.ids.length, g.open);
        held.set(scope, this.#registered ? n : 0);
      }
      this.#heldAtLoss = held;
    }
    this.#degradedSince = Date.now();
    this.#setState('degraded', error);
    this.#report(toPoolError(error));
    if (this.#o.onRedisUnavailable === 'strict') this.#armStrict();
    this.#scheduleBeat();
  }

  /** Under 'strict': once the leases may have expired in Redis, stop using their connections. */
  #armStrict(): void {
    if (this.#strictTimer !== undefined) clearTimeout(this.#strictTimer);
    const fire = (): void => {
      this.#strictTimer = undefined;
      if (this.#state !== 'degraded') return;
      for (const g of this.#groups.values()) {
        for (const h of g.pools) {
          if (h.pool.state !== 'open') continue;
          const excess = h.pool.size().total;
          h.shed(0);
          this.#counters.shed += excess;
          if (this.#events.has('shed')) this.#events.emit('shed', { pool: h.pool.name, excess, reason: 'strict' });
        }
      }
    };
    const delay = this.#validUntil - now();
    if (delay <= 0) {
      fire();
      return;
    }
    this.#strictTimer = setTimeout(fire, delay);
    this.#strictTimer.unref?.();
  }

  // ---------------------------------------------------------------- registration and heartbeat

  /** Re-registers every slot this instance holds (single flight). */
  #recover(): Promise<void> {
    this.#recovering ??= this.#claim().finally(() => {
      this.#recovering = undefined;
      this.#wakeAll();
    });
    return this.#recovering;
  }

  /** Reads the state afresh (after an await, TypeScript would keep an earlier narrowing). */
  #closed(): boolean {
    return this.#state === 'closed';
  }

  async #claim(): Promise<void> {
    if (this.#closed()) return;
    // A probe while degraded stays 'degraded' (fallback grants pause meanwhile); a resync of a
    // connected instance is 'recovering'.
    if (this.#state === 'connected') this.#setState('recovering', undefined);
    // Takes in flight first: the claim must see their outcome.
    while (this.#inflight > 0) await this.#inflightWake.wait(this.#o.commandTimeoutMs);
    if (this.#closed()) return;
    const scopes = this.#allScopes();
    const leases: { id: string; scopes: number[] }[] = [];
    const plan: { group: Group; ids: string[] }[] = [];
    for (const g of this.#groups.values()) {
      const indexes = g.scopes.map((s) => scopes.indexOf(s));
      // The slots this instance legitimately held first, then the connections opened without one.
      const ids = g.ids.slice(0, g.open);
      while (ids.length < g.open) ids.push(this.#nextId());
      for (const id of ids) leases.push({ id, scopes: indexes });
      plan.push({ group: g, ids });
    }
    const sentAt = now();
    let reply: Awaited<ReturnType<BudgetStore['claim']>>;
    try {
      reply = await this.#store.claim({ knownEpoch: this.#epoch, ttlMs: this.#o.leaseTtlMs, scopes: this.#scopeLimits(scopes), leases });
    } catch (error) {
      if (!this.#closed()) {
        // Unreachable: stay (or become) degraded, with the cap of the last time Redis answered.
        this.#failed(error);
      }
      return;
    }
    if (this.#closed()) return;
    if (this.#registered) this.#counters.recoveries++;
    this.#registered = true;
    this.#epoch = reply.epoch;
    this.#live = reply.live;
    this.#validUntil = sentAt + this.#o.leaseTtlMs;
    this.#lastContactAt = Date.now();
    this.#dirty = false;
    let k = 0;
    for (const { group, ids } of plan) {
      group.ids = ids.filter(() => reply.granted[k++] === true);
    }
    this.#heldAtLoss = null;
    this.#degradedSince = null;
    if (this.#strictTimer !== undefined) clearTimeout(this.#strictTimer);
    this.#strictTimer = undefined;
    this.#setState('connected', undefined);
    for (const g of this.#groups.values()) {
      // Connections closed while the claim ran give their slots back now.
      this.#reconcile(g);
      this.#settleExcess(g);
    }
    this.#wakeAll();
  }

  /** Sheds `group`'s connections beyond its leases (connected only), or lifts shedding. */
  #settleExcess(group: Group): void {
    if (this.#state !== 'connected') return;
    let excess = group.open - group.ids.length;
    if (excess <= 0) {
      for (const h of group.pools) h.unshed();
      return;
    }
    this.#counters.shed += excess;
    for (const h of group.pools) {
      if (excess <= 0) break;
      if (h.pool.state !== 'open') continue;
      const total = h.pool.size().total;
      const k = Math.min(excess, total);
      if (k <= 0) continue;
      h.shed(total - k);
      excess -= k;
      if (this.#events.has('shed')) this.#events.emit('shed', { pool: h.pool.name, excess: k, reason: 'recovery' });
    }
  }

  #scheduleBeat(): void {
    if (this.#state === 'closed') return;
    if (this.#beatTimer !== undefined) clearTimeout(this.#beatTimer);
    // While Redis is unreachable, probe more often than the heartbeat.
    const delay = this.#state === 'degraded' ? Math.min(this.#o.heartbeatIntervalMs, this.#o.retryIntervalMs) : this.#o.heartbeatIntervalMs;
    this.#beatTimer = setTimeout(() => {
      this.#beatTimer = undefined;
      void this.#beat().finally(() => this.#scheduleBeat());
    }, delay);
    this.#beatTimer.unref?.();
  }

  /** One heartbeat: renew every lease (or re-register when needed). */
  async #beat(): Promise<void> {
    const state = this.#state;
    if (state === 'degraded' || (state === 'connected' && this.#dirty)) {
      await this.#recover();
      return;
    }
    if (state !== 'connected') return;
    const quiet = this.#inflight === 0 && this.#returning === 0 && this.#returnQueue.length === 0;
    const ops = this.#ops;
    let expected = 0;
    for (const g of this.#groups.values()) expected += g.ids.length;
    const scopes = this.#allScopes();
    const sentAt = now();
    let reply: Awaited<ReturnType<BudgetStore['renew']>>;
    try {
      reply = await this.#store.renew({ epoch: this.#epoch, ttlMs: this.#o.leaseTtlMs, scopes });
    } catch (error) {
      this.#failed(error);
      return;
    }
    if (this.#state !== 'connected') return;
    if (reply.status !== 'OK') {
      await this.#recover();
      return;
    }
    this.#validUntil = sentAt + this.#o.leaseTtlMs;
    this.#lastContactAt = Date.now();
    this.#live = reply.live;
    scopes.forEach((s, i) => {
      const used = reply.used[i];
      if (used !== undefined) this.#globalUsed.set(s, used);
    });
    // A shrink request this instance missed on pub/sub (its subscriber was reconnecting) still counts
    // while it is recent.
    for (const request of reply.shrink) {
      if (request !== null && reply.serverNowMs - request.at <= this.#o.shrinkIntervalMs + this.#o.heartbeatIntervalMs)
        this.#onShrinkRequest(request);
    }
    // Nothing was sent meanwhile, so Redis must hold exactly our leases; if not (a write lost in a
    // failover, a return that timed out), re-register.
    if (quiet && ops === this.#ops && reply.leases !== expected) {
      this.#dirty = true;
      await this.#recover();
    }
  }

  #onMessage(message: BudgetMessage): void {
    if (this.#state === 'closed') return;
    if (message.type === 'freed') {
      this.#wakeAll();
      return;
    }
    this.#onShrinkRequest(message);
  }

  /** Fair sharing: another instance, below its share, asks those above it to shrink. */
  #onShrinkRequest(message: ShrinkRequest): void {
    if (message.from === this.instanceId || !this.#o.fairSharing || this.#state !== 'connected') return;
    const scope = message.scope;
    // The same request may arrive twice (pub/sub and the heartbeat): act on each once.
    if (message.at <= (this.#shrinkSeen.get(scope) ?? Number.NEGATIVE_INFINITY)) return;
    this.#shrinkSeen.set(scope, message.at);
    if (scope !== DATABASE && !scope.startsWith('t:')) return;
    this.#counters.shrinkRequestsReceived++;
    let held = 0;
    for (const g of this.#groups.values()) if (g.has(scope)) held += g.ids.length;
    let surplus = held - message.share;
    if (surplus <= 0) return;
    for (const g of this.#groups.values()) {
      if (!g.has(scope)) continue;
      for (const h of g.pools) {
        if (surplus <= 0) return;
        if (h.pool.state !== 'open') continue;
        const closed = h.closeIdle(surplus);
        surplus -= closed;
        this.#counters.shrinkClosed += closed;
        let heldAt: number | null = null;
        if (surplus > 0 && this.#o.shrinkHoldMs > 0) {
          // Busy above its share: keep the pool smaller for a while, so borrowed connections above it
          // close when released and their slots reach the instance that asked.
          const total = h.pool.size().total;
          const k = Math.min(surplus, total - h.minSize);
          if (k > 0) {
            heldAt = total - k;
            h.hold(heldAt, this.#o.shrinkHoldMs);
            surplus -= k;
          }
        }
        if (this.#events.has('shrink')) {
          this.#events.emit('shrink', {
            direction: 'received',
            tenant: scope === DATABASE ? null : scope.slice(2),
            share: message.share,
            from: message.from,
            pool: h.pool.name,
            closed,
            heldAt,
          });
        }
      }
    }
  }

  #wakeAll(): void {
    this.#stateWake.notify();
    for (const g of this.#groups.values()) g.wake.notify();
  }

  #setState(to: BudgetState, error: unknown): void {
    const from = this.#state;
    if (from === to) return;
    this.#state = to;
    if (this.#events.has('state')) this.#events.emit('state', { from, to, error });
    this.#wakeAll();
  }

  #report(error: PoolError): void {
    if (this.#events.has('error')) {
      this.#events.emit('error', { error });
      return;
    }
    if (!this.#warned.has(error.code)) {
      this.#warned.add(error.code);
      process.emitWarning(
        `[cluster budget ${this.name}] ${error.message} (further ${error.code} problems are counted in statistics().counters; listen to 'error' to see them)`,
        { code: error.code },
      );
    }
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
    const wasReachable = this.#state === 'connected';
    this.#setState('closed', undefined);
    if (this.#beatTimer !== undefined) clearTimeout(this.#beatTimer);
    if (this.#strictTimer !== undefined) clearTimeout(this.#strictTimer);
    for (const g of this.#groups.values()) for (const req of g.queue.splice(0)) this.#settle(req, new BudgetClosedError(this.name));
    for (const { detach } of [...this.#handles.values()]) detach();
    await this.#ready;
    await this.#recovering;
    let open = 0;
    for (const g of this.#groups.values()) open += g.open;
    if (open > 0) {
      this.#report(
        new PoolError(
          'ERR_POOL_BUDGET_LEASES_LEFT',
          `Cluster budget '${this.name}' closed while ${open} connection${open === 1 ? ' holds a slot' : 's hold slots'}: close the pools before the budget; those slots expire in Redis after leaseTtlMs (${this.#o.leaseTtlMs} ms)`,
        ),
      );
    } else if (wasReachable || this.#registered) {
      try {
        await this.#store.deregister();
      } catch (error) {
        this.#counters.redisErrors++;
        this.#report(toPoolError(error));
      }
    }
    await this.#store.close();
  }

  /** A short description for logs. */
  toString(): string {
    const s = this.#scopeStats(DATABASE, this.#o.maxConnections);
    return `ClusterBudget(${this.name}: ${s.held} held by ${this.instanceId}, ${s.globalUsed ?? '?'}/${s.limit} used, ${this.#state})`;
  }
}
