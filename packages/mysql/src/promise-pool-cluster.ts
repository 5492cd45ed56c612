import { EventEmitter } from 'node:events';
import type { FieldPacket, QueryOptions, QueryResult } from 'mysql2';
import type { PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import type { ClusterPattern, ClusterSelectorName } from './cluster-selector.js';
import type { MysqlPoolCluster, MysqlPoolClusterEvents } from './pool-cluster.js';
import type { MysqlPoolOptions } from './pool-config.js';
import type { MysqlPoolNamespace } from './pool-namespace.js';

const FORWARDED = ['warn', 'remove', 'online', 'offline'] as const;

function noCallback(values: unknown): void {
  if (typeof values === 'function') throw new Error('Callback function is not available with promise clients.');
}

/** mysql2/promise's `PoolNamespace`: the promise view of a {@link MysqlPoolNamespace} (`poolNamespace`). */
export class MysqlPromisePoolNamespace extends EventEmitter {
  /** The callback namespace underneath. */
  readonly poolNamespace: MysqlPoolNamespace;
  readonly #Promise: PromiseConstructor;

  /** @internal Use `promiseCluster.of(pattern, selector)`. */
  constructor(poolNamespace: MysqlPoolNamespace, promiseImpl: PromiseConstructor = Promise) {
    super();
    this.poolNamespace = poolNamespace;
    this.#Promise = promiseImpl;
  }

  /** Resolves with mysql2/promise's `PoolConnection` from a node of the namespace. */
  getConnection(): Promise<PromisePoolConnection> {
    return new this.#Promise((resolve, reject) => {
      this.poolNamespace.getConnection((err, conn) => (err ? reject(err) : resolve(conn.promise(this.#Promise))));
    });
  }

  /** Resolves with `[result, fields]` of a text-protocol statement on a node of the namespace. */
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]> {
    noCallback(values);
    return new this.#Promise((resolve, reject) => {
      this.poolNamespace.query<T>(sql, values, (err, result, fields) => (err ? reject(err) : resolve([result, fields])));
    });
  }

  /** Resolves with `[result, fields]` of a prepared statement on a node of the namespace. */
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]> {
    noCallback(values);
    return new this.#Promise((resolve, reject) => {
      this.poolNamespace.execute<T>(sql, values, (err, result, fields) => (err ? reject(err) : resolve([result, fields])));
    });
  }
}

/**
 * mysql2/promise's `PoolCluster`: the promise view of a {@link MysqlPoolCluster} (`poolCluster`), what
 * `cluster.promise()` returns. The cluster's events (`warn`, `remove`, `online`, `offline`) are emitted
 * on it too.
 */
export class MysqlPromisePoolCluster extends EventEmitter<MysqlPoolClusterEvents> {
  /** The callback cluster underneath. */
  readonly poolCluster: MysqlPoolCluster;
  readonly #Promise: PromiseConstructor;

  /** @internal Use `cluster.promise()`. */
  constructor(poolCluster: MysqlPoolCluster, promiseImpl: PromiseConstructor = Promise) {
    super();
    this.poolCluster = poolCluster;
    this.#Promise = promiseImpl;
    for (const event of FORWARDED) {
      poolCluster.on(event, (...args: unknown[]) => (this.emit as (event: string, ...args: unknown[]) => boolean)(event, ...args));
    }
  }

  /** The cluster's options (`poolCluster.config`). */
  get config(): MysqlPoolCluster['config'] {
    return this.poolCluster.config;
  }

  /** Adds a node (see {@link MysqlPoolCluster.add}). */
  add(config: MysqlPoolOptions): void;
  add(id: string, config: MysqlPoolOptions | string): void;
  add(idOrConfig: string | MysqlPoolOptions, config?: MysqlPoolOptions | string): void {
    (this.poolCluster.add as (a: unknown, b?: unknown) => void)(idOrConfig, config);
  }

  /** Removes the nodes matching `pattern` (see {@link MysqlPoolCluster.remove}). */
  remove(pattern: ClusterPattern): void {
    this.poolCluster.remove(pattern);
  }

  /** Resolves with mysql2/promise's `PoolConnection` from a node matching `pattern`, picked with `selector`. */
  getConnection(pattern?: ClusterPattern, selector?: ClusterSelectorName): Promise<PromisePoolConnection> {
    return new this.#Promise((resolve, reject) => {
      this.poolCluster.getConnection(pattern, selector, (err, conn) => (err ? reject(err) : resolve(conn.promise(this.#Promise))));
    });
  }

  /** Resolves with `[result, fields]` of a text-protocol statement on a node picked by `defaultSelector`. */
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.of().query<T>(sql, values);
  }

  /** Resolves with `[result, fields]` of a prepared statement on a node picked by `defaultSelector`. */
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]> {
    return this.of().execute<T>(sql, values);
  }

  /** The promise view of `cluster.of(pattern, selector)`. */
  of(pattern?: ClusterPattern, selector?: ClusterSelectorName): MysqlPromisePoolNamespace {
    return new MysqlPromisePoolNamespace(this.poolCluster.of(pattern, selector), this.#Promise);
  }

  /** Ends the cluster; resolves when every node's pool has ended. */
  end(): Promise<void> {
    return new this.#Promise((resolve, reject) => this.poolCluster.end((err) => (err ? reject(err) : resolve())));
  }

  /** `await using cluster = createMysqlPoolCluster().promise()` ends it at the end of the scope. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.poolCluster._closed) await this.end();
  }
}
