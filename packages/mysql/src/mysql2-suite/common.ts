/**
 * The helpers of mysql2's own test suite (`test/common.test.mts` in sidorares/node-mysql2), pointed at
 * `createMysqlPool`: the ported tests create their pools exactly as mysql2's do, and their assertions
 * are mysql2's. `createPool(args)` is mysql2's `createPool` with the same argument handling;
 * `createPromisePool(args)` stands for `mysql2/promise`'s `createPool` (mysql2 builds it as
 * `createPool(args).promise()`, and so does this).
 */
import mysql, { type Connection, type ConnectionOptions, type PoolOptions } from 'mysql2';
import type { Pool as PromisePool } from 'mysql2/promise';
import { createMysqlPool, type MysqlPool } from '../pool.js';
import { createMysqlPoolCluster, type MysqlPoolCluster, type MysqlPoolClusterOptions } from '../pool-cluster.js';
import type { MysqlPromisePoolCluster } from '../promise-pool-cluster.js';
import { MYSQL_URL } from '../test-support/mysql.js';

const url = new URL(MYSQL_URL);

/** mysql2's test `config`, from MYSQL_URL. */
export const config = {
  host: url.hostname,
  user: decodeURIComponent(url.username) || 'root',
  password: decodeURIComponent(url.password),
  database: decodeURIComponent(url.pathname.slice(1)) || 'test',
  port: Number(url.port) || 3306,
};

/** mysql2's `getConfig`: the arguments mysql2's tests pass, with the test server's. */
export function getConfig(input?: ConnectionOptions | PoolOptions): PoolOptions {
  const args = input ?? {};
  const params: Record<string, unknown> = {
    host: args.host || config.host,
    rowsAsArray: args.rowsAsArray,
    user: args.user || config.user,
    password: args.password || config.password,
    database: args.database || config.database,
    multipleStatements: args ? args.multipleStatements : false,
    port: args.port || config.port,
    debug: args.debug,
    supportBigNumbers: args.supportBigNumbers,
    bigNumberStrings: args.bigNumberStrings,
    decimalNumbers: args.decimalNumbers,
    charset: args.charset,
    timezone: args.timezone,
    dateStrings: args.dateStrings,
    typeCast: args.typeCast,
    connectionLimit: (args as PoolOptions).connectionLimit,
    maxIdle: (args as PoolOptions).maxIdle,
    idleTimeout: (args as PoolOptions).idleTimeout,
    resetOnRelease: (args as PoolOptions).resetOnRelease,
    jsonStrings: args.jsonStrings,
    gracefulEnd: (args as { gracefulEnd?: boolean }).gracefulEnd,
  };
  // mysql2 hands `undefined` options to its config, which reads them as "not given"; so do we.
  for (const key of Object.keys(params)) if (params[key] === undefined) delete params[key];
  return params as PoolOptions;
}

/** mysql2's `createPool` helper, making a `createMysqlPool` instead. */
export function createPool(args?: PoolOptions): MysqlPool {
  return createMysqlPool(getConfig(args) as never);
}

/** `mysql2/promise`'s `createPool(args)`, made as mysql2 makes it: the callback pool's `promise()`. */
export function createPromisePool(args: PoolOptions): PromisePool {
  return createMysqlPool(args as never).promise();
}

/** mysql2's `createConnection` helper: a plain mysql2 connection (the tests use it beside the pool, to kill sessions). */
export function createConnection(args?: ConnectionOptions): Connection {
  return mysql.createConnection({ ...config, ...args });
}

/** mysql2's `createPoolCluster` helper, making a `createMysqlPoolCluster` instead. */
export function createPoolCluster(args?: MysqlPoolClusterOptions): MysqlPoolCluster {
  return createMysqlPoolCluster(args);
}

/** `mysql2/promise`'s `createPoolCluster(args)`: the callback cluster's `promise()`, as mysql2 builds it. */
export function createPromisePoolCluster(args?: MysqlPoolClusterOptions): MysqlPromisePoolCluster {
  return createMysqlPoolCluster(args).promise();
}
