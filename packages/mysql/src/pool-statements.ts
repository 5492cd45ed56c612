import { InvalidArgumentError } from '@pool/core';
import mysql, { type FieldPacket, type QueryError, type QueryOptions, type QueryResult } from 'mysql2';
import type { MysqlPoolConnection } from './pool-connection.js';
import { awaitable } from './pool-query.js';

/** The callback of `getConnection(callback)`: mysql2's. */
export type GetConnectionCallback = (err: NodeJS.ErrnoException | null, connection: MysqlPoolConnection) => void;
/** The callback of `query()` and `execute()` on a pool, a cluster or a cluster namespace: mysql2's. */
export type QueryCallback<T extends QueryResult = QueryResult> = (err: QueryError | null, result: T, fields: FieldPacket[]) => void;

/** @internal Borrows one connection for one statement (a pool's or a cluster namespace's `getConnection`). */
export type Borrow = (done: GetConnectionCallback) => void;

const createQuery = (mysql as unknown as { createQuery(sql: unknown, values: unknown, cb: unknown, config: unknown): mysql.Query })
  .createQuery;

/**
 * @internal Runs one statement on the text protocol on a borrowed connection, as mysql2's `pool.query`
 * and `poolNamespace.query` do: the `Query` command is returned at once (awaitable without a callback,
 * see `PoolQuery`), sent once `borrow` has a connection, and the connection is released when it ends.
 * `connectionConfig`: the pool's (its `rowsAsArray`, `namedPlaceholders`...), or `null` when the
 * connection that runs it decides (a cluster namespace, whose nodes may differ).
 */
export function poolQuery(
  borrow: Borrow,
  connectionConfig: (mysql.ConnectionOptions & Record<string, unknown>) | null,
  sql: string | QueryOptions,
  values: unknown,
  callback: unknown,
): mysql.Query {
  const command = createQuery(sql, values, callback, connectionConfig ?? {}) as mysql.Query & {
    namedPlaceholders?: unknown;
    onResult?: ((err: unknown) => void) | null;
  };
  if (connectionConfig !== null && command.namedPlaceholders === undefined) command.namedPlaceholders = connectionConfig.namedPlaceholders;
  const onResult = command.onResult;
  const delivery = typeof onResult === 'function' ? null : awaitable(command).delivery;
  const fail = (error: unknown): void => (delivery === null ? (onResult as (err: unknown) => void)(error) : delivery.fail(error));
  borrow((err, conn) => {
    if (err) {
      fail(err);
      return;
    }
    try {
      delivery?.dispatch();
      (conn.query(command as never) as unknown as mysql.Query).once('end', () => conn.release());
    } catch (error) {
      conn.release();
      fail(error);
    }
  });
  return command;
}

/**
 * @internal Runs one statement as a prepared statement on a borrowed connection, as mysql2's
 * `pool.execute` and `poolNamespace.execute` do: with a callback, `callback(err, result, fields)` and
 * `undefined` is returned; without one, a promise of `[result, fields]`. The connection is released when
 * the statement ends.
 */
export function poolExecute(
  borrow: Borrow,
  sql: string | QueryOptions,
  values: unknown,
  callback: unknown,
): Promise<[unknown, FieldPacket[]]> | undefined {
  let cb = callback;
  let params = values;
  if (typeof params === 'function') {
    cb = params;
    params = undefined;
  }
  if (cb === undefined) {
    return new Promise((resolve, reject) => {
      poolExecute(borrow, sql, params, (err: QueryError | null, result: unknown, fields: FieldPacket[]) =>
        err ? reject(err) : resolve([result, fields]),
      );
    });
  }
  if (typeof cb !== 'function') throw new InvalidArgumentError('callback', cb, 'must be a function');
  const done = cb as (err: unknown, result?: unknown, fields?: unknown) => void;
  borrow((err, conn) => {
    if (err) {
      done(err);
      return;
    }
    try {
      const command = (conn.execute as (sql: unknown, values: unknown, cb: unknown) => mysql.Query)(sql, params, done);
      command.once('end', () => conn.release());
    } catch (error) {
      conn.release();
      done(error);
    }
  });
  return undefined;
}
