import { createMysqlPool, createMysqlPoolCluster } from '@pool/mysql';
import mysql from 'mysql2';
import type { Scenario } from '../scenario.js';
import { closedLoopQueries } from './closed-loop.js';

const MYSQL_URL = process.env.MYSQL_URL ?? 'mysql://root@127.0.0.1:3306/test';
const MAX = 10;
const CALLERS = 100;

/** Something with mysql2's callback `query(sql, callback)`: a pool, a cluster namespace. */
interface Queryable {
  query(sql: string, callback: (err: unknown, rows: unknown) => void): unknown;
}

/** `SELECT 1` through `target`'s callback API (the same call for every subject). */
function selectOne(target: Queryable): Promise<unknown> {
  return new Promise((resolve, reject) => {
    target.query('SELECT 1', (err, rows) => (err ? reject(err) : resolve(rows)));
  });
}

function subjectFor(name: string): { target: Queryable; close: () => Promise<void> } {
  switch (name) {
    case '@pool/mysql': {
      const pool = createMysqlPool({ uri: MYSQL_URL, connectionLimit: MAX });
      return { target: pool, close: () => pool.end() };
    }
    case 'cluster 1 node': {
      const cluster = createMysqlPoolCluster();
      cluster.add('a', { uri: MYSQL_URL, connectionLimit: MAX });
      return { target: cluster.of('*'), close: () => cluster.end() };
    }
    case 'cluster 2 nodes RR': {
      // Two nodes on the same server with half the connections each: the same 10 connections in all.
      const cluster = createMysqlPoolCluster();
      cluster.add('replica1', { uri: MYSQL_URL, connectionLimit: MAX / 2 });
      cluster.add('replica2', { uri: MYSQL_URL, connectionLimit: MAX / 2 });
      return { target: cluster.of('replica*', 'RR'), close: () => cluster.end() };
    }
    case 'mysql2 pool': {
      const pool = mysql.createPool({ uri: MYSQL_URL, connectionLimit: MAX });
      return { target: pool, close: () => new Promise((resolve) => pool.end(() => resolve())) };
    }
    case 'mysql2 cluster 1 node': {
      const cluster = mysql.createPoolCluster();
      cluster.add('a', { uri: MYSQL_URL, connectionLimit: MAX });
      return { target: cluster.of('*') as unknown as Queryable, close: () => new Promise((resolve) => cluster.end(() => resolve())) };
    }
    default:
      throw new Error(`unknown subject '${name}'`);
  }
}

/**
 * Scenario 10: what routing through `createMysqlPoolCluster` costs per call against a single
 * `createMysqlPool` on the same server (issue 19: at most 5 %), with mysql2's pool and cluster beside.
 */
export const mysqlCluster: Scenario = {
  id: '10',
  title: 'MySQL/MariaDB: SELECT 1 through a PoolCluster namespace, 100 callers over 10 connections',
  description: `100 callers loop query('SELECT 1', callback) over 10 real connections (${MYSQL_URL.replace(/\/\/[^@]*@/, '//')}); time per query. The floor is one createMysqlPool; the cluster subjects route every call through cluster.of(pattern) (one node; two nodes in turn with 5 connections each); mysql2's pool and PoolCluster for reference.`,
  subjects: ['@pool/mysql', 'cluster 1 node', 'cluster 2 nodes RR', 'mysql2 pool', 'mysql2 cluster 1 node'],
  primary: 'nsPerOp',
  metrics: [
    { key: 'nsPerOp', label: 'ns/query', digits: 0 },
    { key: 'relMad', label: 'in-run MAD', digits: 3 },
  ],
  floor: '@pool/mysql',
  unavailable: async () => {
    const conn = mysql.createConnection({ uri: MYSQL_URL, connectTimeout: 3_000 });
    conn.on('error', () => {});
    try {
      await new Promise<void>((resolve, reject) => conn.query('SELECT 1', (err) => (err ? reject(err) : resolve())));
      return null;
    } catch (error) {
      return `MySQL/MariaDB not reachable at ${MYSQL_URL}: ${String(error)}`;
    } finally {
      conn.destroy();
    }
  },
  run: async (subject, opts) => {
    const s = subjectFor(subject);
    // Every connection is opened by a first batch before the clock starts.
    return closedLoopQueries({ query: () => selectOne(s.target), close: () => s.close() }, opts, CALLERS);
  },
};
