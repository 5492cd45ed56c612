import { EventEmitter } from 'node:events';
import { createPgPool, createPgReplicaPool } from '@pool/pg';
import type pg from 'pg';
import type { Scenario } from '../scenario.js';
import { closedLoopQueries, type QuerySubject } from './closed-loop.js';
import { PG_URL, postgresUnavailable } from './postgres-server.js';

const MAX = 10;

/** What every query of the no-network client returns: also a primary's answer to the role and monitor checks. */
const ROW = Object.freeze({ in_recovery: false, read_only: false, lag_ms: null });
const RESULT = Object.freeze({ rows: [ROW], rowCount: 1, command: 'SELECT', fields: [], oid: 0 });
let fakePid = 0;

/**
 * A socket-less stand-in for `pg.Client`: connect, query and end each cost one microtask, so scenario
 * 6r0 measures the pools' own CPU per call (what the routing adds in absolute terms).
 */
class NoNetworkClient extends EventEmitter {
  readonly processID = ++fakePid;
  connect(callback?: (error?: Error) => void): Promise<void> | undefined {
    // @pool/pg connects through the callback API, as pg.Pool does.
    if (callback === undefined) return Promise.resolve();
    queueMicrotask(() => callback());
    return undefined;
  }
  query(): Promise<typeof RESULT> {
    return Promise.resolve(RESULT);
  }
  getTransactionStatus(): string {
    return 'I';
  }
  end(): Promise<void> {
    queueMicrotask(() => this.emit('end'));
    return Promise.resolve();
  }
  ref(): void {}
  unref(): void {}
}
const Client = NoNetworkClient as unknown as typeof pg.Client;

async function subjectFor(name: string): Promise<QuerySubject> {
  switch (name) {
    case '@pool/pg no-network': {
      const pool = createPgPool({ connectionString: PG_URL, max: MAX, Client });
      return { query: () => pool.query('SELECT 1'), close: () => pool.end() };
    }
    case 'replica write no-network':
    case 'replica read no-network': {
      const pool = createPgReplicaPool({
        connectionString: PG_URL,
        primary: { maxConnections: MAX },
        replicas: { maxConnections: MAX },
        primaryReadWeight: 1,
        Client,
      });
      await pool.ready();
      const options = { readOnly: name === 'replica read no-network' };
      return { query: () => pool.query('SELECT 1', undefined, options), close: () => pool.close() };
    }
    case '@pool/pg': {
      const pool = createPgPool({ connectionString: PG_URL, max: MAX });
      return { query: () => pool.query('SELECT 1'), close: () => pool.end() };
    }
    case 'replica write':
    case 'replica read': {
      // The same server as the only host: the routing (partition manager, custom router, weighted pick,
      // stale-connection check) is all that differs from the single-host pool. primaryReadWeight 1 makes
      // reads take the weighted pick rather than the fallback.
      const pool = createPgReplicaPool({
        connectionString: PG_URL,
        primary: { maxConnections: MAX },
        replicas: { maxConnections: MAX },
        primaryReadWeight: 1,
      });
      await pool.ready();
      const readOnly = name === 'replica read';
      const options = { readOnly };
      return { query: () => pool.query('SELECT 1', undefined, options), close: () => pool.close() };
    }
    default:
      throw new Error(`unknown subject '${name}'`);
  }
}

/**
 * Scenario 6r (issue 19): what read/write routing costs per call. `SELECT 1` from 100 callers over 10
 * real connections, through `createPgPool` and through `createPgReplicaPool` (writes, and reads with
 * `{ readOnly: true }`) on the same single server, so the difference is the routing alone.
 */
export const replicaRouting: Scenario = {
  id: '6r',
  title: 'PostgreSQL: routing overhead of createPgReplicaPool against a single-host pool',
  description: `100 callers loop SELECT 1 over 10 real pg connections (${PG_URL.replace(/\/\/[^@]*@/, '//')}): @pool/pg is createPgPool's pool.query; "replica write" and "replica read" are createPgReplicaPool's pool.query (without and with { readOnly: true }) with that server as its only host. Time per query; the ratio column is the routing overhead.`,
  subjects: ['@pool/pg', 'replica write', 'replica read'],
  primary: 'nsPerOp',
  metrics: [
    { key: 'nsPerOp', label: 'ns/query', digits: 0 },
    { key: 'relMad', label: 'in-run MAD', digits: 3 },
  ],
  floor: '@pool/pg',
  unavailable: postgresUnavailable,
  run: (subject, opts) => measure(subject, opts),
};

async function measure(subject: string, opts: Parameters<Scenario['run']>[1]): Promise<Record<string, number>> {
  return closedLoopQueries(await subjectFor(subject), opts);
}

/**
 * Scenario 6r0: the same calls as 6r over a socket-less client (no server, no network), so the time per
 * call is the pools' own CPU and the difference is what routing adds in nanoseconds. The ratio here is
 * not the issue's target (a real query costs far more than these calls); 6r's is.
 */
export const replicaRoutingCpu: Scenario = {
  id: '6r0',
  title: 'Routing cost of createPgReplicaPool without a network (pool CPU only)',
  description:
    '100 callers loop pool.query over 10 connections of a socket-less pg.Client stand-in (each query one microtask): createPgPool against createPgReplicaPool writes and reads. The difference in ns/query is the per-call CPU cost of the routing.',
  subjects: ['@pool/pg no-network', 'replica write no-network', 'replica read no-network'],
  primary: 'nsPerOp',
  metrics: [
    { key: 'nsPerOp', label: 'ns/query', digits: 0 },
    { key: 'relMad', label: 'in-run MAD', digits: 3 },
  ],
  floor: '@pool/pg no-network',
  run: (subject, opts) => measure(subject, opts),
};
