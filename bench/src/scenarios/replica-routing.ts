import { createPgPool, createPgReplicaPool } from '@pool/pg';
import pg from 'pg';
import { measureBatches } from '../measure.js';
import type { Scenario } from '../scenario.js';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const MAX = 10;
const CALLERS = 100;

interface Subject {
  query(): Promise<unknown>;
  close(): Promise<void>;
}

async function subjectFor(name: string): Promise<Subject> {
  switch (name) {
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
  unavailable: async () => {
    const client = new pg.Client({ connectionString: PG_URL, connectionTimeoutMillis: 3_000 });
    try {
      await client.connect();
      await client.query('SELECT 1');
      return null;
    } catch (error) {
      return `PostgreSQL not reachable at ${PG_URL}: ${String(error)}`;
    } finally {
      await client.end().catch(() => undefined);
    }
  },
  run: async (subject, opts) => {
    const s = await subjectFor(subject);
    const perCaller = opts.smoke ? 2 : 10;
    const batch = (): Promise<unknown> => {
      const runs: Promise<void>[] = [];
      for (let i = 0; i < CALLERS; i++) {
        runs.push(
          (async () => {
            for (let j = 0; j < perCaller; j++) await s.query();
          })(),
        );
      }
      return Promise.all(runs);
    };
    await batch();
    const r = await measureBatches(batch, CALLERS * perCaller, { ...opts, timeMs: opts.timeMs * 2 });
    await s.close();
    return { nsPerOp: r.nsPerOp, relMad: r.relMad };
  },
};
