import {
  type AcquireOptions,
  ConnectionPool,
  InvalidArgumentError,
  InvalidConfigError,
  type PoolConfigOptions,
  type PooledConnection,
  type PoolOptions,
  type PoolSize,
} from '@pool/core';
import { checkMilliseconds } from '@pool/core/adapter';
import {
  type PartitionLimitsInput,
  PartitionManager,
  type PartitionRequest,
  type PartitionStatistics,
  PartitionType,
  RoutingStrategy,
} from '@pool/partitioning';
import type pg from 'pg';
import type { PgConnection, PgQuery } from './connection.js';
import type { PgFactory, PgFactoryOptions } from './factory.js';
import { HostMonitor, type PgHostRole, type PgHostState, type PgHostStatus } from './host-monitor.js';
import { hostClientConfig, hostKey, type PgHost, type PgMultiHostConfig, parseMultiHostConfig, withTarget } from './multi-host-config.js';
import { isReadOnlyError, type MultiHostPgFactory, multiHostPgFactory } from './multi-host-factory.js';
import { ReadBalancer } from './read-balancer.js';
import { PgReplicaClient } from './replica-client.js';

/** Options of one call of {@link PgReplicaPool.query} / {@link PgReplicaPool.connect}. */
export interface PgReplicaCallOptions extends AcquireOptions {
  /** `true`: a read, served by a standby (or the primary, see `primaryReadWeight`). Default `false`: the primary. */
  readOnly?: boolean;
}

/**
 * Options of {@link createPgReplicaPool}: the servers (a libpq multi-host connection string or
 * `hosts: [{ host, port, weight }]`), the `pg` client settings they share, this adapter's factory
 * options, and the replica pool's own settings below.
 */
export interface PgReplicaPoolOptions extends Omit<PgMultiHostConfig, 'targetSessionAttrs'>, PgFactoryOptions {
  /**
   * `target_session_attrs` of the write side: `'read-write'` (default) or `'primary'`. Reads are
   * routed by `readOnly`, not by this setting.
   */
  targetSessionAttrs?: 'read-write' | 'primary';
  /** Limits of the write side (one partition on the primary): `maxConnections` (default 10), `minConnections`, `maxWaitQueue`, `ioLimit`, `cpuLimitMs`. */
  primary?: PartitionLimitsInput;
  /** Limits of the read side, per host: each host's read pool has `maxConnections` (default 10) and keeps `minConnections` open. */
  replicas?: PartitionLimitsInput;
  /**
   * Share of reads the primary serves beside the standbys, in the units of the hosts' `weight`s.
   * Default `0`: the primary serves reads only while no standby can (libpq's `prefer-standby`).
   */
  primaryReadWeight?: number;
  /** A standby further behind than this gets no reads until it catches up. `null` (default): no limit. */
  maxReplicaLagMs?: number | null;
  /** How often each host's role and lag are checked. Default `1000`. */
  monitorIntervalMs?: number;
  /** A host check (connect and query) that takes longer fails, and the host counts as down. Default `2000`. */
  checkTimeoutMs?: number;
  /** `@pool/core` settings for every pool of the replica pool (`acquireTimeoutMs`, `maxLifetimeMs`...). Sizes come from `primary` and `replicas`. */
  poolConfig?: Omit<PoolConfigOptions, 'maxSize' | 'minSize' | 'enablePartitioning'>;
  /** `@pool/core` pool options for every pool (logger, agingPolicy, validator...). */
  poolOptions?: Omit<PoolOptions, 'name'>;
  /** A name for logs, management and metrics. Default `replicas-<n>`. */
  name?: string;
}

/** One host of a replica pool: what the monitor knows and the connections the pool has there. */
export interface PgReplicaHostStatistics {
  /** `host:port`. */
  host: string;
  role: PgHostRole;
  state: PgHostState;
  /** Replay lag of a standby in ms (see {@link PgHostStatus.lagMs}). */
  lagMs: number | null;
  /** The share of reads it gets now (0 when it gets none: down, lagging, or a primary with `primaryReadWeight` 0). */
  readWeight: number;
  /** True when it serves reads because no host has a read weight (the fallback). */
  readFallback: boolean;
  /** When it was last checked (ms since the epoch), or `null`. */
  checkedAt: number | null;
  /** Why the last check failed. */
  error: string | null;
  /** Connections to it: the read pool's, and the write side's. */
  connections: {
    read: PoolSize;
    write: number;
  };
  /** Reads it served (borrows through its read partition). */
  reads: number;
}

/** Figures of a whole replica pool. */
export interface PgReplicaPoolStatistics {
  hosts: PgReplicaHostStatistics[];
  /** The write pool's size. */
  write: PoolSize;
  /** Writes routed to the primary (borrows through the write partition). */
  writes: number;
  /** Write connections retired after `25006` (their server was no longer a primary). */
  retiredWriteConnections: number;
  /** The partitions by id (`primary`, and `read:<host:port>` per host). */
  partitions: Record<string, PartitionStatistics>;
}

const FACTORY_KEYS = ['statementCacheSize', 'resetMode', 'validationQuery', 'onConnect', 'allowExitOnIdle', 'Client', 'logger'] as const;
const WRITE_PARTITION = 'primary';
const WRITE: PartitionRequest = Object.freeze({ service: 'write' });
const READ: PartitionRequest = Object.freeze({ service: 'read' });
const DEFAULT_SIDE_SIZE = 10;
let poolCounter = 0;

function checkSide(field: string, value: unknown): PartitionLimitsInput {
  if (value === undefined) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(
      field,
      value,
      'must be partition limits ({ maxConnections, minConnections, maxWaitQueue, ioLimit, cpuLimitMs })',
    );
  }
  if ((value as PartitionLimitsInput).memoryLimitBytes != null) {
    throw new InvalidConfigError(
      `${field}.memoryLimitBytes`,
      (value as PartitionLimitsInput).memoryLimitBytes,
      'is not supported by a replica pool',
    );
  }
  return value as PartitionLimitsInput;
}

function readOnlySession(client: pg.ClientConfig): pg.ClientConfig {
  // Startup options set the session's default, which RESET ALL (the session reset) returns to.
  const extra = '-c default_transaction_read_only=on';
  return { ...client, options: client.options === undefined ? extra : `${client.options} ${extra}` };
}

function splitCallOptions(options: PgReplicaCallOptions | undefined): AcquireOptions | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null) return options;
  // The common call passes only { readOnly }: no acquire options, and no object to allocate.
  let onlyReadOnly = true;
  for (const key in options) {
    if (key !== 'readOnly') {
      onlyReadOnly = false;
      break;
    }
  }
  if (onlyReadOnly) return undefined;
  const { readOnly: _readOnly, ...acquire } = options;
  return acquire;
}

/**
 * One PostgreSQL pool over a primary and its streaming replicas: writes go to the primary, reads
 * (`{ readOnly: true }`) to the standbys by weight, each side with its own limits. Built on
 * `@pool/partitioning`: a custom routing strategy sends each request to the `primary` partition (the
 * write pool, whose connects follow `target_session_attrs=read-write` across every host) or to one
 * host's read partition (an isolated pool of read-only sessions on that host). A host monitor checks
 * each host's role and replay lag; a standby beyond `maxReplicaLagMs`, or down, gets no reads.
 *
 * Failover: when the primary dies, writers wait (within their deadline) while the write pool keeps
 * probing every host; once a standby is promoted, the next probe connects to it and the waiting
 * writers are served — no restart. A write connection whose server was demoted fails with `25006`:
 * it is retired, never reused, and a `query()` that hit it is retried once on a fresh connection
 * (the statement was refused, so nothing ran).
 *
 * @example
 * ```ts
 * const pool = createPgReplicaPool({
 *   connectionString: 'postgres://app@db1:5432,db2:5432,db3:5432/app',
 *   primary: { maxConnections: 20 },
 *   replicas: { maxConnections: 10 },
 *   maxReplicaLagMs: 5_000,
 * });
 * await pool.query('INSERT INTO events (kind) VALUES ($1)', ['signup']);
 * const { rows } = await pool.query('SELECT count(*) FROM events', [], { readOnly: true });
 * await pool.close();
 * ```
 */
export class PgReplicaPool {
  /** The pool's name. */
  readonly name: string;
  /** The partition manager routing requests (for `@pool/management`'s partition endpoints and `@pool/prometheus`). */
  readonly manager: PartitionManager<PgConnection>;
  /** The write pool (the manager's shared pool). */
  readonly writePool: ConnectionPool<PgConnection>;
  /** The write side's factory. */
  readonly writeFactory: MultiHostPgFactory;
  /** The servers, in the configured order. */
  readonly hosts: readonly PgHost[];
  readonly #monitor: HostMonitor;
  readonly #balancer: ReadBalancer<string>;
  readonly #readIds: readonly string[];
  readonly #readFactories: readonly PgFactory[];
  readonly #primaryReadWeight: number;
  #fallback: string;
  #retired = 0;
  readonly #ready: Promise<void>;
  #closed: Promise<void> | null = null;
  readonly #clientHost = { readOnlyFailure: (conn: PgConnection, error: unknown) => this.#readOnlyFailure(conn, error) };

  /** @internal Use {@link createPgReplicaPool}. */
  constructor(options: PgReplicaPoolOptions) {
    if (typeof options !== 'object' || options === null) throw new InvalidConfigError('options', options, 'must be an object');
    const {
      primary,
      replicas,
      primaryReadWeight = 0,
      maxReplicaLagMs = null,
      monitorIntervalMs = 1000,
      checkTimeoutMs = 2000,
      poolConfig = {},
      poolOptions = {},
      name,
      targetSessionAttrs,
      ...rest
    } = options;
    const factoryOptions: PgFactoryOptions = {};
    // Anything else is the pg client config every host shares (as pg.Pool hands unknown keys to pg.Client).
    const connection: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(rest)) {
      if ((FACTORY_KEYS as readonly string[]).includes(key)) (factoryOptions as Record<string, unknown>)[key] = value;
      else connection[key] = value;
    }
    const resolved = parseMultiHostConfig(connection as PgMultiHostConfig);
    const urlTarget = resolved.targetSessionAttrs;
    const target = targetSessionAttrs ?? (urlTarget === 'any' ? 'read-write' : urlTarget);
    if (target !== 'read-write' && target !== 'primary') {
      throw new InvalidConfigError(
        'targetSessionAttrs',
        target,
        "must be 'read-write' or 'primary' for a replica pool's writes; reads are routed with { readOnly: true }",
      );
    }
    const writeSide = checkSide('primary', primary);
    const readSide = checkSide('replicas', replicas);
    if (typeof primaryReadWeight !== 'number' || !Number.isFinite(primaryReadWeight) || primaryReadWeight < 0) {
      throw new InvalidConfigError('primaryReadWeight', primaryReadWeight, 'must be a finite number of 0 or more');
    }
    if (maxReplicaLagMs !== null) checkMilliseconds('maxReplicaLagMs', maxReplicaLagMs, 1);
    checkMilliseconds('monitorIntervalMs', monitorIntervalMs, 10);
    checkMilliseconds('checkTimeoutMs', checkTimeoutMs, 1);
    if (name !== undefined && (typeof name !== 'string' || name.trim() === ''))
      throw new InvalidConfigError('name', name, 'must be a non-empty string');
    if (typeof poolConfig !== 'object' || poolConfig === null)
      throw new InvalidConfigError('poolConfig', poolConfig, 'must be an object of pool settings');
    for (const key of ['maxSize', 'minSize', 'enablePartitioning']) {
      if ((poolConfig as Record<string, unknown>)[key] !== undefined) {
        throw new InvalidConfigError(
          `poolConfig.${key}`,
          (poolConfig as Record<string, unknown>)[key],
          'is set by primary / replicas (maxConnections, minConnections)',
        );
      }
    }

    this.name = name ?? `replicas-${++poolCounter}`;
    this.hosts = resolved.hosts;
    this.#primaryReadWeight = primaryReadWeight;
    this.#monitor = new HostMonitor({
      hosts: resolved.hosts,
      clientConfig: (host) => hostClientConfig(resolved.client, host),
      ...(factoryOptions.Client === undefined ? {} : { Client: factoryOptions.Client }),
      intervalMs: monitorIntervalMs,
      checkTimeoutMs,
      maxReplicaLagMs,
      onChange: () => this.#refreshWeights(),
    });
    const monitor = this.#monitor;
    this.writeFactory = multiHostPgFactory(withTarget(resolved, target), {
      ...factoryOptions,
      onHostChecked: (host, outcome) => monitor.report(host, outcome),
      orderHosts: (hosts) => {
        const known = monitor.primary();
        return known === null ? hosts : [known, ...hosts.filter((h) => h !== known)];
      },
    });
    const writeMax = writeSide.maxConnections ?? DEFAULT_SIDE_SIZE;
    this.writePool = ConnectionPool.open(
      { ...poolConfig, maxSize: writeMax, minSize: writeSide.minConnections ?? 0, enablePartitioning: true },
      this.writeFactory,
      { ...poolOptions, name: `${this.name}/primary` },
    );
    const readIds: string[] = [];
    const readFactories: PgFactory[] = [];
    this.manager = new PartitionManager<PgConnection>({
      pool: this.writePool,
      routing: RoutingStrategy.Custom((request) => (request === WRITE ? WRITE_PARTITION : this.#pickRead())),
      name: this.name,
    });
    try {
      this.#createPartitions(resolved, writeMax, writeSide, readSide, factoryOptions, poolConfig, poolOptions, readIds, readFactories);
    } catch (error) {
      // Limits the manager refused: close what was opened, so a refused pool leaves nothing behind.
      void this.manager.close().then(() => this.writePool.close());
      throw error;
    }
    this.#readIds = readIds;
    this.#readFactories = readFactories;
    this.#balancer = new ReadBalancer(readIds);
    this.#fallback = readIds[0] as string;
    this.#refreshWeights();
    this.#ready = monitor.start();
  }

  #createPartitions(
    resolved: ReturnType<typeof parseMultiHostConfig>,
    writeMax: number,
    writeSide: PartitionLimitsInput,
    readSide: PartitionLimitsInput,
    factoryOptions: PgFactoryOptions,
    poolConfig: NonNullable<PgReplicaPoolOptions['poolConfig']>,
    poolOptions: NonNullable<PgReplicaPoolOptions['poolOptions']>,
    readIds: string[],
    readFactories: PgFactory[],
  ): void {
    const monitor = this.#monitor;
    this.manager.createPartition(WRITE_PARTITION, PartitionType.ResourceGroup('primary'), { maxConnections: writeMax, ...writeSide });
    for (const host of resolved.hosts) {
      const id = `read:${hostKey(host)}`;
      // One host, any role, read-only sessions; a failed connect makes the monitor check the host at once.
      const factory = multiHostPgFactory(
        withTarget(
          { hosts: [host], targetSessionAttrs: 'any', loadBalanceHosts: 'disable', client: readOnlySession(resolved.client) },
          'any',
        ),
        { ...factoryOptions, onHostChecked: (h, outcome) => monitor.report(h, outcome) },
      );
      this.manager.createPartition(
        id,
        PartitionType.ResourceGroup(`read ${hostKey(host)}`),
        { maxConnections: DEFAULT_SIDE_SIZE, ...readSide },
        {
          isolated: { factory, config: { ...poolConfig }, options: { ...poolOptions } },
        },
      );
      readIds.push(id);
      readFactories.push(factory);
    }
  }

  /** Resolves when every host has been checked once (reads are spread by weight before that too). */
  ready(): Promise<void> {
    return this.#ready;
  }

  /** Checks every host now (after an operator's switchover, for example) and updates the routing. */
  checkHosts(): Promise<void> {
    return this.#monitor.checkNow();
  }

  #pickRead(): string {
    return this.#balancer.pick() ?? this.#fallback;
  }

  #readWeightOf(status: PgHostStatus, host: PgHost): number {
    if (status.state === 'down' || status.state === 'lagging') return 0;
    if (status.role === 'standby') return host.weight;
    if (status.role === 'primary') return this.#primaryReadWeight;
    return host.weight; // not checked yet: any host may serve a read-only session
  }

  #refreshWeights(): void {
    const statuses = this.#monitor.statuses();
    let fallback: string | null = null;
    let firstAlive: string | null = null;
    statuses.forEach((status, i) => {
      this.#balancer.setWeight(i, this.#readWeightOf(status, this.hosts[i] as PgHost));
      const id = this.#readIds[i] as string;
      if (status.state !== 'down') firstAlive ??= id;
      if (status.role === 'primary' && status.state === 'up') fallback ??= id;
    });
    // With no host to spread reads over: the primary (prefer-standby), else any host that answers.
    this.#fallback = fallback ?? firstAlive ?? (this.#readIds[0] as string);
  }

  #readOnlyFailure(conn: PgConnection, error: unknown): void {
    this.#retired++;
    this.writeFactory.retire(conn, error);
    void this.#monitor.checkNow();
  }

  /** A write connection on a host the monitor now sees as a standby is retired before use. */
  #stale(pooled: PooledConnection<PgConnection>): boolean {
    const host = this.writeFactory.hostOf(pooled.connection);
    if (host === undefined) return false;
    const status = this.#monitor.status(host);
    if (status.role !== 'standby') return false;
    this.#retired++;
    this.writeFactory.retire(pooled.connection);
    pooled.release();
    return true;
  }

  async #acquire(readOnly: boolean, options: AcquireOptions | undefined): Promise<PooledConnection<PgConnection>> {
    if (readOnly) return this.manager.acquire(READ, options);
    for (;;) {
      const pooled = await this.manager.acquire(WRITE, options);
      if (!this.#stale(pooled)) return pooled;
    }
  }

  /**
   * Runs one query on a connection of the right side and releases it, like `pg.Pool#query`. With
   * `{ readOnly: true }` it is a read (a standby's read-only session); otherwise a write on the
   * primary. `timeoutMs` / `signal` bound the wait for a connection (through a failover too). A write
   * refused with `25006` (the server was demoted) is retried once on a new connection within the
   * same deadline.
   */
  async query<R extends pg.QueryResultRow = Record<string, unknown>>(
    query: PgQuery,
    values?: unknown[],
    options?: PgReplicaCallOptions,
  ): Promise<pg.QueryResult<R>> {
    const readOnly = options?.readOnly === true;
    let acquireOptions = splitCallOptions(options);
    const started = readOnly ? 0 : Date.now();
    for (let attempt = 0; ; attempt++) {
      const pooled = await this.#acquire(readOnly, acquireOptions);
      const conn = pooled.connection;
      let result: pg.QueryResult<R>;
      try {
        result = await conn.query<R>(query, values);
      } catch (error) {
        if (readOnly || !isReadOnlyError(error) || attempt > 0) {
          pooled.release({ error });
          throw error;
        }
        this.#readOnlyFailure(conn, error);
        pooled.release({ error });
        const budget = (acquireOptions?.timeoutMs ?? this.writePool.config.acquireTimeoutMs) - (Date.now() - started);
        if (budget <= 0) throw error;
        acquireOptions = { ...acquireOptions, timeoutMs: budget };
        continue;
      }
      pooled.release();
      return result;
    }
  }

  /**
   * Borrows a connection: a write session on the primary, or with `{ readOnly: true }` a read session
   * on a standby. Give it back with `client.release()`.
   */
  async connect(options?: PgReplicaCallOptions): Promise<PgReplicaClient> {
    const readOnly = options?.readOnly === true;
    const pooled = await this.#acquire(readOnly, splitCallOptions(options));
    const host = readOnly ? this.#readHostOf(pooled) : (this.writeFactory.hostOf(pooled.connection) as PgHost);
    return new PgReplicaClient(pooled, readOnly, hostKey(host), this.#clientHost);
  }

  #readHostOf(pooled: PooledConnection<PgConnection>): PgHost {
    const partition = (pooled.context as { partition?: string } | undefined)?.partition;
    const i = this.#readIds.indexOf(partition as string);
    return this.hosts[Math.max(i, 0)] as PgHost;
  }

  /** Each host: role, state, lag, read weight, connections and reads served. */
  hostStatistics(): PgReplicaHostStatistics[] {
    const partitions = this.manager.getPartitionStatistics();
    return this.#monitor.statuses().map((status, i) => {
      const id = this.#readIds[i] as string;
      const readPool = this.manager.partition(id)?.pool;
      const writeFactory = this.writeFactory.factoryOf(status.host);
      const weight = this.#balancer.weight(i);
      return {
        host: status.key,
        role: status.role,
        state: status.state,
        lagMs: status.lagMs,
        readWeight: weight,
        readFallback: !this.#balancer.available && this.#fallback === id,
        checkedAt: status.checkedAt,
        error: status.error,
        connections: {
          read: readPool === undefined ? { total: 0, idle: 0, active: 0, pending: 0, waiting: 0 } : readPool.size(),
          write: writeFactory?.openConnections ?? 0,
        },
        reads: partitions[id]?.connectionsAcquired ?? 0,
      } as PgReplicaHostStatistics;
    });
  }

  /** Figures of the whole pool: each host, the write side, and the partitions. */
  statistics(): PgReplicaPoolStatistics {
    const partitions = this.manager.getPartitionStatistics();
    return {
      hosts: this.hostStatistics(),
      write: this.writePool.size(),
      writes: partitions[WRITE_PARTITION]?.connectionsAcquired ?? 0,
      retiredWriteConnections: this.#retired,
      partitions,
    };
  }

  /**
   * The pools to give `@pool/management` (`serveManagement({ pools: replicaPool.managedPools() })`):
   * the write pool with the partition manager and the hosts (role, state, lag at
   * `/pools/{pool}/hosts`), and each host's read pool: `<name>-primary`, `<name>-read-<host:port>`
   * (management names cannot hold a slash).
   */
  managedPools(): Record<
    string,
    { pool: ConnectionPool<PgConnection>; partitions?: PartitionManager<PgConnection>; hosts?: PgReplicaPool }
  > {
    const out: Record<string, { pool: ConnectionPool<PgConnection>; partitions?: PartitionManager<PgConnection>; hosts?: PgReplicaPool }> =
      {
        [`${this.name}-primary`]: { pool: this.writePool, partitions: this.manager, hosts: this },
      };
    this.#readIds.forEach((id) => {
      const pool = this.manager.partition(id)?.pool;
      if (pool !== undefined) out[`${this.name}-${id.replace(':', '-')}`] = { pool };
    });
    return out;
  }

  /** Statement-cache figures of the read factories, per host, in the configured order. */
  readFactoryStatistics(): ReturnType<PgFactory['statistics']>[] {
    return this.#readFactories.map((f) => f.statistics());
  }

  /**
   * Closes everything: waiting callers fail with `PoolClosedError`, borrowed connections are waited for
   * (the pools' `closeTimeoutMs`), the monitor's connections are closed. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      await this.#monitor.close();
      await this.manager.close();
      await this.writePool.close();
    })();
    return this.#closed;
  }

  /** pg.Pool's name for {@link close}. */
  end(): Promise<void> {
    return this.close();
  }

  /** `await using pool = createPgReplicaPool(...)` closes it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Makes a {@link PgReplicaPool}: writes to the primary, reads (`{ readOnly: true }`) to the standbys,
 * across a failover. Nothing connects until first use, except the host monitor's one connection per
 * host; `await pool.ready()` waits until every host has been checked once.
 *
 * @example
 * ```ts
 * const pool = createPgReplicaPool({ connectionString: 'postgres://app@db1,db2/app', maxReplicaLagMs: 2_000 });
 * const { rows } = await pool.query('SELECT * FROM users WHERE id = $1', [42], { readOnly: true });
 * ```
 */
export function createPgReplicaPool(options: PgReplicaPoolOptions): PgReplicaPool {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidArgumentError('options', options, 'must be an object ({ connectionString } or { hosts })');
  }
  return new PgReplicaPool(options);
}
