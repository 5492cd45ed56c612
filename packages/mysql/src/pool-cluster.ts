import { EventEmitter } from 'node:events';
import { InvalidArgumentError, InvalidConfigError, type LogLevel, now, type PoolLogger, writeLog } from '@pool/core';
import { checkBoolean, checkInteger, checkMilliseconds, checkOptionKeys } from '@pool/core/adapter';
import type { FieldPacket, Query, QueryOptions, QueryResult } from 'mysql2';
import type { PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import {
  type ClusterPattern,
  type ClusterSelector,
  type ClusterSelectorName,
  checkSelector,
  type Pick,
  patternMatcher,
} from './cluster-selector.js';
import { createMysqlPool, kClusterGetConnection, type MysqlPool } from './pool.js';
import type { MysqlPoolOptions } from './pool-config.js';
import type { MysqlPoolConnection } from './pool-connection.js';
import { MysqlPoolNamespace, type NamespaceHost } from './pool-namespace.js';
import type { PoolQuery } from './pool-query.js';
import type { GetConnectionCallback, QueryCallback } from './pool-statements.js';
import { MysqlPromisePoolCluster } from './promise-pool-cluster.js';

/** Options of {@link createMysqlPoolCluster}: mysql2's `PoolClusterOptions`, checked. */
export interface MysqlPoolClusterOptions {
  /**
   * When a node fails to give a connection, try again on the nodes the pattern still has online (the
   * same node included, once it may connect again), until one gives a connection or none is left.
   * `false`: the caller gets the node's error. Default `true`.
   */
  canRetry?: boolean;
  /**
   * Errors after which a node is taken out: offline (`restoreNodeTimeout` > 0) or removed. As in mysql2,
   * every error of the node's `getConnection` counts (a failed connect; also its `queueLimit` or
   * `acquireTimeoutMs` reached), except callers its pool refuses while it backs off. Default `5`.
   */
  removeNodeErrorCount?: number;
  /**
   * Milliseconds a node that reached `removeNodeErrorCount` stays offline before callers may try it again
   * (`'offline'`, then `'online'` when it gives a connection again). `0` (default): the node is removed
   * for good (`'remove'`), and its pool ended.
   */
  restoreNodeTimeout?: number;
  /** The selector of `of(pattern)` and `getConnection(pattern)` when none is given. Default `'RR'`. */
  defaultSelector?: ClusterSelectorName;
  /**
   * Where the cluster reports its nodes' health: `warn` when a node goes offline or is removed after
   * errors, `info` when it is back online. Also the `logger` of every node whose config gives
   * none (see `createMysqlPool`). Any object with `debug`, `info`, `warn` and `error` (`console`, pino,
   * winston, bunyan...). Not a mysql2 option. Default: none.
   */
  logger?: PoolLogger | null;
}

/** mysql2's cluster events, with mysql2's arguments. */
export interface MysqlPoolClusterEvents {
  /** A node reached `removeNodeErrorCount` with `restoreNodeTimeout: 0` and was removed (not emitted by `remove()`). */
  remove: [nodeId: string];
  /** A node reached `removeNodeErrorCount` and is offline for `restoreNodeTimeout` ms. */
  offline: [nodeId: string];
  /** An offline node gave a connection again. */
  online: [nodeId: string];
  /** A node failed to give a connection and the cluster tries again (`canRetry`): the node's error. */
  warn: [error: Error];
}

/** A node's state, as {@link MysqlPoolCluster.nodes} reports it. */
export interface ClusterNodeInfo {
  /** The node's name (`add(id, config)`). */
  id: string;
  /** `'offline'` while it sits out `restoreNodeTimeout` after `removeNodeErrorCount` failures. */
  state: 'online' | 'offline';
  /** Errors counted against it (each connection it gives takes one off). */
  errorCount: number;
  /** Milliseconds until an offline node may be tried again (0 when online). */
  offlineForMs: number;
  /** The node's pool (a {@link MysqlPool}: its `pool.statistics()`, `pool.size()`...). */
  pool: MysqlPool;
}

/** A node of the cluster: its name, its pool and its health. Mutable fields are mysql2's (`_nodes[id].errorCount`). */
export class ClusterNode {
  /** The node's name. */
  readonly id: string;
  /** The node's pool. */
  readonly pool: MysqlPool;
  /** Errors counted against the node (mysql2's `errorCount`). */
  errorCount = 0;
  /** @internal Monotonic time until which the node is offline (0: online). */
  offlineUntil = 0;
  /** @internal Monotonic time before which the node's pool refuses callers without connecting (it backs off). */
  retryAt = 0;

  /** @internal Made by `cluster.add()`. */
  constructor(id: string, pool: MysqlPool) {
    this.id = id;
    this.pool = pool;
  }
}

const OPTION_KEYS = ['canRetry', 'removeNodeErrorCount', 'restoreNodeTimeout', 'defaultSelector', 'logger'];
const LOG_LEVELS: readonly LogLevel[] = ['debug', 'info', 'warn', 'error'];

function clusterError(message: string, code: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** Settles a caller that asked through a namespace: its callback, once, never synchronously. */
type Done = GetConnectionCallback;

/**
 * Several MySQL / MariaDB servers behind one object, as mysql2's `PoolCluster`: named nodes
 * (`add('replica1', config)`), each a {@link MysqlPool} of its own; `of('replica*', 'RANDOM')` picks the
 * nodes by name pattern and a selector (`RR`, `RANDOM`, `ORDER`); a node that keeps failing to connect
 * is taken out after `removeNodeErrorCount` failures (for good, or for `restoreNodeTimeout` ms), and a
 * caller whose node failed is retried on another (`canRetry`). mysql2's events (`remove`, `offline`,
 * `online`, `warn`), `getConnection(pattern?, selector?, callback)`, `end(callback)` and `promise()`.
 *
 * What @pool adds: every node has the engine behind `createMysqlPool` (sessions reset, bounded waits,
 * broken connections replaced, statistics); a failed connect counts once against its node (callers the
 * node's pool refuses while it backs off are sent to another node, or wait for its next attempt, instead
 * of each counting as a failure); bad options and patterns fail with an error naming them.
 *
 * @example
 * ```ts
 * const cluster = createMysqlPoolCluster({ restoreNodeTimeout: 10_000 });
 * cluster.add('primary', { uri: process.env.PRIMARY_URL });
 * cluster.add('replica1', { uri: process.env.REPLICA1_URL });
 * cluster.add('replica2', { uri: process.env.REPLICA2_URL });
 * const [rows] = await cluster.of('replica*', 'RR').query('SELECT * FROM users WHERE id = ?', [42]);
 * cluster.getConnection('primary', (err, conn) => { ...; conn.release(); });
 * await cluster.end();
 * ```
 */
export class MysqlPoolCluster extends EventEmitter<MysqlPoolClusterEvents> implements NamespaceHost {
  /** The options, with mysql2's defaults filled in. */
  readonly config: Readonly<Required<Omit<MysqlPoolClusterOptions, 'defaultSelector' | 'logger'>> & { defaultSelector: ClusterSelector }>;
  /** The cluster's logger (also its nodes' unless their config gives one), or null. */
  readonly logger: PoolLogger | null;
  readonly #nodes = new Map<string, ClusterNode>();
  readonly #namespaces = new Map<string, MysqlPoolNamespace>();
  readonly #regexpNamespaces = new Map<RegExp, Map<ClusterSelector, MysqlPoolNamespace>>();
  /** Callers waiting for a node's next connect attempt: their timer and how to fail them on `end()`. */
  readonly #waits = new Map<NodeJS.Timeout, () => void>();
  #lastId = 0;
  #closed = false;
  #ended: Promise<void> | undefined;

  /** @internal Use {@link createMysqlPoolCluster}. */
  constructor(options: MysqlPoolClusterOptions = {}) {
    super();
    checkOptionKeys(options, OPTION_KEYS, 'createMysqlPoolCluster');
    const o = options as MysqlPoolClusterOptions;
    this.config = Object.freeze({
      canRetry: o.canRetry === undefined ? true : checkBoolean('canRetry', o.canRetry),
      removeNodeErrorCount: o.removeNodeErrorCount === undefined ? 5 : checkInteger('removeNodeErrorCount', o.removeNodeErrorCount, 1),
      restoreNodeTimeout: o.restoreNodeTimeout === undefined ? 0 : checkMilliseconds('restoreNodeTimeout', o.restoreNodeTimeout, 0),
      defaultSelector: o.defaultSelector === undefined ? 'RR' : checkSelector('defaultSelector', o.defaultSelector, true),
    });
    const logger = o.logger ?? null;
    if (logger !== null && (typeof logger !== 'object' || LOG_LEVELS.some((level) => typeof logger[level] !== 'function'))) {
      throw new InvalidConfigError(
        'logger',
        logger,
        'must be an object with debug, info, warn and error methods (console, pino, winston, bunyan...)',
      );
    }
    this.logger = logger;
  }

  /** True once `end()` was called (mysql2's `cluster._closed`). */
  get _closed(): boolean {
    return this.#closed;
  }

  /** The nodes by name (mysql2's `cluster._nodes`; `errorCount` can be set, as mysql2's tests do). */
  get _nodes(): Record<string, ClusterNode> {
    return Object.fromEntries(this.#nodes);
  }

  /** The names of the nodes, in the order they were added (mysql2's `cluster._serviceableNodeIds`). */
  get _serviceableNodeIds(): string[] {
    return [...this.#nodes.keys()];
  }

  /**
   * Adds a node: `add(id, config)` with a mysql2 pool config or a URL (anything `createMysqlPool`
   * takes), or `add(config)`, named `CLUSTER::<n>` as in mysql2. The node's pool is made at once and
   * connects on first use; its `poolOptions.name` defaults to the node's name.
   *
   * Throws `InvalidArgumentError` for a name already in use (mysql2 ignores the second `add`), and once
   * the cluster is ended.
   */
  add(config: MysqlPoolOptions): void;
  add(id: string, config: MysqlPoolOptions | string): void;
  add(idOrConfig: string | MysqlPoolOptions, maybeConfig?: MysqlPoolOptions | string): void {
    let id: string;
    let config: MysqlPoolOptions | string | undefined;
    if (typeof idOrConfig === 'object' && idOrConfig !== null) {
      id = `CLUSTER::${++this.#lastId}`;
      config = idOrConfig;
    } else {
      if (typeof idOrConfig !== 'string' || idOrConfig === '') {
        throw new InvalidArgumentError('id', idOrConfig, 'must be a non-empty node name, or the node config alone');
      }
      id = idOrConfig;
      config = maybeConfig;
    }
    if (this.#closed) throw new InvalidArgumentError('id', id, 'cannot be added: the cluster is ended');
    if (this.#nodes.has(id)) throw new InvalidArgumentError('id', id, 'is already a node of this cluster (remove it first)');
    if (typeof config === 'string') config = { uri: config };
    if (typeof config !== 'object' || config === null) {
      throw new InvalidArgumentError(
        'config',
        config,
        `must be a mysql2 pool config or a mysql:// URL, for node '${id}' (a string alone is a node name: add(id, url))`,
      );
    }
    const poolOptions = { name: id, ...config.poolOptions };
    const inherits = this.logger !== null && config.logger == null && poolOptions.logger == null;
    const pool = createMysqlPool(inherits ? { ...config, poolOptions, logger: this.logger } : { ...config, poolOptions });
    this.#nodes.set(id, new ClusterNode(id, pool));
  }

  /**
   * Removes the nodes whose names match `pattern` (a name, `'replica*'`, or a `RegExp`) and ends their
   * pools: borrowed connections close once their queued statements have run. No `'remove'` event, as in
   * mysql2. A pattern that matches nothing does nothing.
   */
  remove(pattern: ClusterPattern): void {
    const matches = patternMatcher('pattern', pattern);
    for (const node of [...this.#nodes.values()]) if (matches(node.id)) this.#removeNode(node);
  }

  /**
   * The namespace of the nodes matching `pattern` (default `'*'`), picking with `selector` (default
   * `defaultSelector`): see {@link MysqlPoolNamespace}. The same pattern and selector give the same
   * namespace. Throws `InvalidArgumentError` for a bad pattern or selector.
   */
  of(pattern: ClusterPattern = '*', selector?: ClusterSelectorName): MysqlPoolNamespace {
    const s = selector === undefined || selector === null ? this.config.defaultSelector : checkSelector('selector', selector);
    const p = pattern === null ? '*' : pattern;
    if (p instanceof RegExp) {
      let bySelector = this.#regexpNamespaces.get(p);
      if (bySelector === undefined) {
        bySelector = new Map();
        this.#regexpNamespaces.set(p, bySelector);
      }
      let namespace = bySelector.get(s);
      if (namespace === undefined) {
        namespace = new MysqlPoolNamespace(this, p, patternMatcher('pattern', p), s);
        bySelector.set(s, namespace);
      }
      return namespace;
    }
    const key = `${s}:${typeof p === 'string' ? p : ''}`;
    let namespace = this.#namespaces.get(key);
    if (namespace === undefined) {
      namespace = new MysqlPoolNamespace(this, p, patternMatcher('pattern', p), s);
      this.#namespaces.set(key, namespace);
    }
    return namespace;
  }

  /**
   * Borrows a connection from a node matching `pattern` (default `'*'`) picked with `selector`, as
   * mysql2's `cluster.getConnection([pattern], [selector], callback)`; `conn._clusterId` names the node.
   * Without a callback, resolves with mysql2/promise's `PoolConnection`.
   */
  getConnection(callback: GetConnectionCallback): void;
  getConnection(pattern: ClusterPattern, callback: GetConnectionCallback): void;
  getConnection(pattern: ClusterPattern | undefined, selector: ClusterSelectorName | undefined, callback: GetConnectionCallback): void;
  getConnection(pattern?: ClusterPattern, selector?: ClusterSelectorName): Promise<PromisePoolConnection>;
  getConnection(a?: unknown, b?: unknown, c?: unknown): Promise<PromisePoolConnection> | undefined {
    let pattern = a;
    let selector = b;
    let callback = c;
    if (typeof pattern === 'function') {
      callback = pattern;
      pattern = undefined;
      selector = undefined;
    } else if (typeof selector === 'function') {
      callback = selector;
      selector = undefined;
    }
    const namespace = this.of(pattern as ClusterPattern | undefined, selector as ClusterSelector | undefined);
    if (callback === undefined) return namespace.getConnection();
    if (typeof callback !== 'function') throw new InvalidArgumentError('callback', callback, 'must be a function');
    namespace.getConnection(callback as GetConnectionCallback);
    return undefined;
  }

  /** `of('*').query(...)`: a statement on a node picked by `defaultSelector` (mysql2 declares it on the promise cluster only). */
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, callback: QueryCallback<T>): Query;
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values: unknown, callback: QueryCallback<T>): Query;
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): PoolQuery<T>;
  query(sql: string | QueryOptions, values?: unknown, callback?: unknown): Query {
    return (this.of() as unknown as { query(sql: unknown, values: unknown, callback: unknown): Query }).query(sql, values, callback);
  }

  /** `of('*').execute(...)`: a prepared statement on a node picked by `defaultSelector`. */
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, callback: QueryCallback<T>): Query;
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values: unknown, callback: QueryCallback<T>): Query;
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]>;
  execute(sql: string | QueryOptions, values?: unknown, callback?: unknown): Promise<[unknown, FieldPacket[]]> | Query | undefined {
    return (
      this.of() as unknown as { execute(sql: unknown, values: unknown, callback: unknown): Promise<[unknown, FieldPacket[]]> | undefined }
    ).execute(sql, values, callback);
  }

  /** Every node with its state, error count and pool, in the order they were added. */
  nodes(): ClusterNodeInfo[] {
    const t = now();
    return [...this.#nodes.values()].map((node) => {
      const offline = node.offlineUntil > t;
      return {
        id: node.id,
        state: offline ? 'offline' : 'online',
        errorCount: node.errorCount,
        offlineForMs: offline ? Math.ceil(node.offlineUntil - t) : 0,
        pool: node.pool,
      };
    });
  }

  /**
   * Ends every node's pool, as mysql2's `cluster.end(callback)`; callers still waiting fail with `Pool is
   * closed.`. Calls back (or resolves) when every pool has ended. Idempotent.
   */
  end(): Promise<void>;
  end(callback: (err?: NodeJS.ErrnoException | null) => void): void;
  end(callback?: (err?: NodeJS.ErrnoException | null) => void): Promise<void> | undefined {
    if (callback !== undefined && typeof callback !== 'function')
      throw new InvalidArgumentError('callback', callback, 'must be a function');
    if (this.#ended === undefined) {
      this.#closed = true;
      for (const [timer, fail] of this.#waits) {
        clearTimeout(timer);
        fail();
      }
      this.#waits.clear();
      this.#ended = Promise.all([...this.#nodes.values()].map((node) => node.pool.end())).then(() => undefined);
    }
    if (callback === undefined) return this.#ended;
    this.#ended.then(
      () => callback(null),
      (error: NodeJS.ErrnoException) => callback(error),
    );
    return undefined;
  }

  /**
   * mysql2/promise's view of this cluster (`createPoolCluster` of `mysql2/promise`): `getConnection()`,
   * `query()`, `execute()` and `end()` return promises, `of()` gives promise namespaces, and the events
   * are forwarded to it.
   */
  promise(promiseImpl?: PromiseConstructor): MysqlPromisePoolCluster {
    return new MysqlPromisePoolCluster(this, promiseImpl);
  }

  /** `using cluster = createMysqlPoolCluster()` ends it at the end of the scope (mysql2's `Symbol.dispose`). */
  [Symbol.dispose](): void {
    if (!this.#closed) void this.end();
  }

  /** @internal Borrows for a namespace: see {@link NamespaceHost}. */
  _borrow(matches: (id: string) => boolean, pick: Pick, done: Done): void {
    if (this.#closed) {
      process.nextTick(done, clusterError('Pool is closed.', 'POOL_CLOSED'), undefined);
      return;
    }
    const t = now();
    const online: ClusterNode[] = [];
    let offline = 0;
    for (const node of this.#nodes.values()) {
      if (!matches(node.id)) continue;
      if (node.offlineUntil > t) offline++;
      else online.push(node);
    }
    if (online.length === 0) {
      const error =
        offline > 0
          ? clusterError('Pool does Not have online node.', 'POOL_NONEONLINE')
          : clusterError('Pool does Not exist.', 'POOL_NOEXIST');
      process.nextTick(done, error, undefined);
      return;
    }
    // With canRetry, a node whose pool backs off after a failed connect (it would refuse without
    // connecting) is skipped: another one serves; when all of them back off, the caller waits for the
    // first one's next attempt. Without canRetry the caller gets what the node says, as in mysql2.
    const ready = this.config.canRetry ? online.filter((node) => node.retryAt <= t) : online;
    if (ready.length === 0) {
      this.#waitForAttempt(Math.min(...online.map((node) => node.retryAt)) - t, matches, pick, done);
      return;
    }
    const ids = ready.map((node) => node.id);
    const node = this.#nodes.get(ids.length === 1 ? (ids[0] as string) : pick(ids)) as ClusterNode;
    let retryInMs: number | null = null;
    node.pool[kClusterGetConnection](
      (err, conn) => {
        if (!err) {
          this.#succeeded(node);
          (conn as MysqlPoolConnection & { _clusterId?: string })._clusterId = node.id;
          done(null, conn);
          return;
        }
        if (retryInMs !== null) {
          // Refused without a connect attempt: not a new failure of the node.
          node.retryAt = now() + retryInMs;
          if (this.config.canRetry) this._borrow(matches, pick, done);
          else done(err, conn);
          return;
        }
        this.#failed(node);
        if (this.config.canRetry && this.#hasOnline(matches)) {
          this.#emit('warn', err);
          this._borrow(matches, pick, done);
          return;
        }
        done(err, conn);
      },
      (ms) => {
        retryInMs = ms;
      },
    );
  }

  #waitForAttempt(ms: number, matches: (id: string) => boolean, pick: Pick, done: Done): void {
    const timer = setTimeout(
      () => {
        this.#waits.delete(timer);
        this._borrow(matches, pick, done);
      },
      Math.max(1, Math.ceil(ms)),
    );
    this.#waits.set(timer, () => process.nextTick(done, clusterError('Pool is closed.', 'POOL_CLOSED'), undefined));
  }

  #hasOnline(matches: (id: string) => boolean): boolean {
    const t = now();
    for (const node of this.#nodes.values()) if (matches(node.id) && node.offlineUntil <= t) return true;
    return false;
  }

  /** A connect failed on `node`: count it; at `removeNodeErrorCount`, take the node offline or out. */
  #failed(node: ClusterNode): void {
    if (this.#nodes.get(node.id) !== node) return; // removed meanwhile
    node.errorCount++;
    if (node.errorCount < this.config.removeNodeErrorCount) return;
    if (this.config.restoreNodeTimeout > 0) {
      const t = now();
      const wasOnline = node.offlineUntil <= t;
      node.offlineUntil = t + this.config.restoreNodeTimeout;
      if (wasOnline) {
        this.#log('warn', `Node ${node.id} is offline for ${this.config.restoreNodeTimeout} ms after ${node.errorCount} errors`, node);
        this.#emit('offline', node.id);
      }
      return;
    }
    this.#removeNode(node);
    this.#log('warn', `Node ${node.id} is removed from the cluster after ${node.errorCount} errors`, node);
    this.#emit('remove', node.id);
  }

  /** `node` gave a connection: one error less (as mysql2 counts), and back online if it was offline. */
  #succeeded(node: ClusterNode): void {
    node.retryAt = 0;
    node.errorCount = Math.max(1, Math.min(node.errorCount, this.config.removeNodeErrorCount)) - 1;
    if (node.offlineUntil !== 0) {
      node.offlineUntil = 0;
      this.#log('info', `Node ${node.id} is online again`, node);
      this.#emit('online', node.id);
    }
  }

  #log(level: LogLevel, message: string, node: ClusterNode): void {
    if (this.logger !== null)
      writeLog(this.logger, level, message, { node: node.id, errorCount: node.errorCount, pool: node.pool.pool.name });
  }

  #removeNode(node: ClusterNode): void {
    if (this.#nodes.get(node.id) !== node) return;
    this.#nodes.delete(node.id);
    void node.pool.end();
  }

  /** Emits an event; a throwing listener becomes an uncaught exception, never a failure of the caller's borrow. */
  #emit<K extends keyof MysqlPoolClusterEvents>(event: K, ...args: MysqlPoolClusterEvents[K]): void {
    try {
      (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args);
    } catch (error) {
      process.nextTick(() => {
        throw error;
      });
    }
  }
}

/**
 * Makes a cluster of MySQL / MariaDB pools, as mysql2's `createPoolCluster(options)`: see
 * {@link MysqlPoolCluster}. `createMysqlPoolCluster(options).promise()` is mysql2/promise's
 * `createPoolCluster(options)`. Throws `InvalidConfigError` naming a bad or unknown option.
 *
 * @example
 * ```ts
 * const cluster = createMysqlPoolCluster({ removeNodeErrorCount: 3, restoreNodeTimeout: 5_000, defaultSelector: 'ORDER' });
 * cluster.add('primary', 'mysql://app@db1/app');
 * cluster.add('replica1', 'mysql://app@db2/app');
 * cluster.on('offline', (id) => console.warn(`${id} is offline`));
 * const [rows] = await cluster.of('replica*', 'RR').query('SELECT 1');
 * await cluster.end();
 * ```
 */
export function createMysqlPoolCluster(options: MysqlPoolClusterOptions = {}): MysqlPoolCluster {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('options', options, 'must be an object of PoolCluster options (canRetry, removeNodeErrorCount...)');
  }
  return new MysqlPoolCluster(options);
}
