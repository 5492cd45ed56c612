import type { PooledConnection } from '@pool/core';
import mysql, { type PoolConnection } from 'mysql2';
import { observeCommands } from './client.js';
import type { MysqlConnection } from './connection.js';

/** @internal The borrow in progress (the engine's handle), or null while the connection is not borrowed. */
export const kPooled: unique symbol = Symbol('pool.mysql.pooled');
/** @internal The factory's connection around this mysql2 connection. */
export const kConnection: unique symbol = Symbol('pool.mysql.connection');
/** @internal The pool this connection belongs to (mysql2 clears `_pool` when the connection leaves it). */
export const kOwner: unique symbol = Symbol('pool.mysql.owner');

/** @internal What a {@link MysqlPoolConnection} needs from its pool. */
export interface ConnectionOwner {
  releaseConnection(connection: MysqlPoolConnection): void;
  _removeConnection(connection: MysqlPoolConnection): void;
  readonly _closed: boolean;
}

const Mysql2PoolConnection = mysql.PoolConnection as unknown as abstract new (
  pool: ConnectionOwner | null,
  options: { config: object },
) => PoolConnection;

/**
 * A connection borrowed from a {@link MysqlPool} with `getConnection(callback)`: mysql2's own
 * `PoolConnection` (`instanceof mysql.PoolConnection` and `mysql.Connection` hold), so everything
 * written for mysql2 works on it: `query()` / `execute()` with callbacks or events, `.stream()`,
 * `changeUser()`, `beginTransaction()`, `promise()`, `release()` / `pool.releaseConnection(conn)`,
 * `destroy()`, and `end()`, which gives it back as mysql2's pool connection does (with mysql2's
 * deprecation warning), or closes it with `gracefulEnd: true`. `getConnection()` without a callback
 * gives the same connection inside mysql2/promise's `PoolConnection` (`conn.connection` is this one).
 *
 * What it adds: the pool sees every statement run on it, so a borrower that leaves a transaction open
 * or changes the session hands back a connection that is reset before anyone else gets it; a second
 * `release()` does nothing (as in mysql2) and can never hand it out twice.
 *
 * @example
 * ```ts
 * pool.getConnection((err, conn) => {
 *   if (err) throw err;
 *   conn.query('SELECT ? AS n', [1], (err, rows) => {
 *     conn.release();
 *   });
 * });
 * ```
 */
export class MysqlPoolConnection extends observeCommands(Mysql2PoolConnection) {
  /** @internal */
  [kPooled]: PooledConnection<MysqlConnection> | null = null;
  /** @internal */
  [kConnection]: MysqlConnection | undefined = undefined;
  /** @internal */
  [kOwner]: ConnectionOwner | null = null;

  /** Gives the connection back to its pool (the same as `pool.releaseConnection(conn)`); a second call does nothing. */
  override release(): void {
    this[kOwner]?.releaseConnection(this);
  }
}
