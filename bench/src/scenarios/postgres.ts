import { ConnectionPool } from '@pool/core';
import { createPgPool } from '@pool/pg';
import * as genericPool from 'generic-pool';
import pg from 'pg';
import { Pool as TarnPool } from 'tarn';
import { FloorPool } from '../floor-pool.js';
import type { Scenario } from '../scenario.js';
import { closedLoopQueries, type QuerySubject } from './closed-loop.js';
import { PG_URL, postgresUnavailable } from './postgres-server.js';

const MAX = 10;

async function openClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: PG_URL });
  await client.connect();
  return client;
}

function closeClient(client: pg.Client): Promise<void> {
  return client.end();
}

async function subjectFor(name: string): Promise<QuerySubject> {
  switch (name) {
    case 'floor+pg': {
      const pool = new FloorPool<pg.Client>({ create: openClient, destroy: closeClient }, MAX);
      await pool.fill(MAX);
      const clients: pg.Client[] = [];
      return {
        query: async () => {
          const c = await pool.acquire();
          try {
            return await c.query('SELECT 1');
          } finally {
            pool.release(c);
          }
        },
        close: async () => {
          for (let i = 0; i < MAX; i++) clients.push(await pool.acquire());
          await Promise.all(clients.map(closeClient));
        },
      };
    }
    case 'core+pg': {
      const pool = await ConnectionPool.create({ maxSize: MAX, minSize: MAX }, { create: openClient, close: closeClient });
      return { query: () => pool.use((c) => c.query('SELECT 1')), close: () => pool.close() };
    }
    case '@pool/pg': {
      // The drop-in pg.Pool replacement on the @pool/core engine, configured like the pg.Pool below.
      const pool = createPgPool({ connectionString: PG_URL, max: MAX });
      return { query: () => pool.query('SELECT 1'), close: () => pool.end() };
    }
    case 'pg.Pool': {
      const pool = new pg.Pool({ connectionString: PG_URL, max: MAX });
      return { query: () => pool.query('SELECT 1'), close: () => pool.end() };
    }
    case 'generic-pool+pg': {
      const pool = genericPool.createPool({ create: openClient, destroy: closeClient }, { max: MAX, min: MAX });
      return { query: () => pool.use((c) => c.query('SELECT 1')), close: () => pool.drain().then(() => pool.clear()) };
    }
    case 'tarn+pg': {
      const pool = new TarnPool<pg.Client>({ create: openClient, destroy: closeClient, min: 0, max: MAX });
      return {
        query: async () => {
          const c = await pool.acquire().promise;
          try {
            return await c.query('SELECT 1');
          } finally {
            pool.release(c);
          }
        },
        close: async () => {
          await pool.destroy();
        },
      };
    }
    default:
      throw new Error(`unknown subject '${name}'`);
  }
}

/**
 * Scenario 6: real PostgreSQL on 127.0.0.1, `SELECT 1` from 100 concurrent callers over 10 connections,
 * each library with its own idiomatic borrow-query-release (`pool.use`, `pool.query`, or try/finally).
 */
export const postgres: Scenario = {
  id: '6',
  title: 'PostgreSQL: SELECT 1, 100 callers over 10 connections',
  description: `100 callers loop borrow, SELECT 1, release over 10 real pg connections (${PG_URL.replace(/\/\/[^@]*@/, '//')}); time per query. @pool/pg is createPgPool (pg.Pool-compatible, pool.query); core+pg is @pool/core with a three-line pg.Client factory and pool.use.`,
  subjects: ['floor+pg', '@pool/pg', 'core+pg', 'pg.Pool', 'generic-pool+pg', 'tarn+pg'],
  primary: 'nsPerOp',
  metrics: [
    { key: 'nsPerOp', label: 'ns/query', digits: 0 },
    { key: 'relMad', label: 'in-run MAD', digits: 3 },
  ],
  floor: 'floor+pg',
  baseline: 'pg.Pool',
  unavailable: postgresUnavailable,
  // Every connection is opened by a first batch before the clock starts.
  run: async (subject, opts) => closedLoopQueries(await subjectFor(subject), opts),
};
