import { EventEmitter } from 'node:events';
import type { FieldPacket, Query, QueryOptions, QueryResult } from 'mysql2';
import type { PoolConnection as PromisePoolConnection } from 'mysql2/promise';
import { type ClusterPattern, type ClusterSelector, makePick, type Pick } from './cluster-selector.js';
import type { PoolQuery } from './pool-query.js';
import { type GetConnectionCallback, poolExecute, poolQuery, type QueryCallback } from './pool-statements.js';

/** @internal What a namespace asks of its cluster. */
export interface NamespaceHost {
  /** Borrows a connection from one of the nodes `matches` selects, with `pick`, with the cluster's retry rules. */
  _borrow(matches: (id: string) => boolean, pick: Pick, done: GetConnectionCallback): void;
}

/**
 * The nodes of a {@link MysqlPoolCluster} whose names match a pattern, with a selector: mysql2's
 * `PoolNamespace`, what `cluster.of('replica*', 'RANDOM')` returns. `getConnection(callback)`,
 * `query(...)` and `execute(...)` as on a pool: each call borrows from one online node the selector
 * picks (on a failure, another one when `canRetry`); nodes added or removed later are taken into
 * account on the next call. `cluster.of()` with the same pattern and selector returns the same
 * namespace, so round robin keeps its turn.
 *
 * @example
 * ```ts
 * const replicas = cluster.of('replica*', 'RR');
 * const [rows] = await replicas.query('SELECT * FROM users WHERE id = ?', [42]);
 * replicas.getConnection((err, conn) => { ...; conn.release(); });
 * ```
 */
export class MysqlPoolNamespace extends EventEmitter {
  /** The pattern the namespace was made with. */
  readonly pattern: ClusterPattern;
  /** The selector the namespace picks nodes with. */
  readonly selector: ClusterSelector;
  readonly #host: NamespaceHost;
  readonly #matches: (id: string) => boolean;
  readonly #pick: Pick;
  readonly #borrow = (done: GetConnectionCallback): void => this.getConnection(done);

  /** @internal Use `cluster.of(pattern, selector)`. */
  constructor(host: NamespaceHost, pattern: ClusterPattern, matches: (id: string) => boolean, selector: ClusterSelector) {
    super();
    this.#host = host;
    this.pattern = pattern;
    this.#matches = matches;
    this.selector = selector;
    this.#pick = makePick(selector);
  }

  /**
   * Borrows a connection from a node of the namespace: `callback(err, conn)`, never synchronously;
   * `conn._clusterId` names the node. Without a callback, resolves with mysql2/promise's
   * `PoolConnection`. Errors: `POOL_NOEXIST` (no node matches), `POOL_NONEONLINE` (every matching node is
   * offline), `Pool is closed.` (the cluster was ended), else the last node's error.
   */
  getConnection(callback: GetConnectionCallback): void;
  getConnection(): Promise<PromisePoolConnection>;
  getConnection(callback?: GetConnectionCallback): Promise<PromisePoolConnection> | undefined {
    if (callback !== undefined) {
      this.#host._borrow(this.#matches, this.#pick, callback);
      return undefined;
    }
    return new Promise((resolve, reject) => {
      this.#host._borrow(this.#matches, this.#pick, (err, conn) => (err ? reject(err) : resolve(conn.promise())));
    });
  }

  /**
   * Runs one statement on the text protocol on a node of the namespace (mysql2's `poolNamespace.query`):
   * with a callback, `callback(err, result, fields)`; the `Query` command is returned either way, and
   * without a callback it can be awaited (`[result, fields]`). The connection is released when it ends.
   */
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, callback: QueryCallback<T>): Query;
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values: unknown, callback: QueryCallback<T>): Query;
  query<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): PoolQuery<T>;
  query(sql: string | QueryOptions, values?: unknown, callback?: unknown): Query {
    return poolQuery(this.#borrow, null, sql, values, callback);
  }

  /**
   * Runs one statement as a prepared statement on a node of the namespace (mysql2's
   * `poolNamespace.execute`): with a callback, `callback(err, result, fields)`; without one, resolves
   * with `[result, fields]`. With a callback it returns `undefined` at run time, as mysql2's namespace
   * does (mysql2's typings, which these follow so that a cluster fits where mysql2's is expected, say `Query`).
   */
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, callback: QueryCallback<T>): Query;
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values: unknown, callback: QueryCallback<T>): Query;
  execute<T extends QueryResult = QueryResult>(sql: string | QueryOptions, values?: unknown): Promise<[T, FieldPacket[]]>;
  execute(sql: string | QueryOptions, values?: unknown, callback?: unknown): Promise<[unknown, FieldPacket[]]> | Query | undefined {
    return poolExecute(this.#borrow, sql, values, callback);
  }
}
