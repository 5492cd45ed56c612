import type { ConnectionFactory } from '@pool/core';
import { type PgConnection, pgFactory } from '@pool/pg';
import { type SeededRandom, type SimulatedConnection, SimulatedFactory } from '@pool/testkit';
import pg from 'pg';

/**
 * What the soak runs against: a factory plus the few things the soak does beside the pool — run a
 * query, leave session state behind, kill connections from the server side, and count what is still
 * open on the server after the pool closed.
 */
export interface SoakBackend<C> {
  readonly name: string;
  readonly factory: ConnectionFactory<C>;
  /** A short query; rejects when the connection is broken (or, sometimes, by design). */
  query(conn: C): Promise<unknown>;
  /** Leaves state a reset must clear (an open transaction). */
  dirty(conn: C): Promise<unknown>;
  /** Kills one of our connections from the server side. */
  killOne(random: SeededRandom): Promise<void>;
  /** Kills all of our connections from the server side (a server restart, as seen by the pool). */
  killAll(): Promise<void>;
  /** Our connections still open on the server. */
  openOnServer(): Promise<number>;
  /** Releases what the backend itself holds (admin connections). */
  dispose(): Promise<void>;
}

/** The default: the testkit's SimulatedFactory, with latency and a little query failure and hang. */
export function simulatedBackend(seed: number): SoakBackend<SimulatedConnection> {
  const factory = new SimulatedFactory({
    seed,
    connectLatencyMs: { minMs: 1, maxMs: 15 },
    queryLatencyMs: { minMs: 0, maxMs: 4 },
    resetLatencyMs: { minMs: 0, maxMs: 3 },
    closeLatencyMs: { minMs: 0, maxMs: 2 },
    queryFailureRate: 0.01,
    queryHangRate: 0.0005,
  });
  return {
    name: 'simulated',
    factory,
    query: (conn) => conn.query('SELECT 1'),
    dirty: (conn) => conn.query('BEGIN'),
    async killOne(random) {
      const open = factory.connections();
      const victim = open[random.int(0, Math.max(0, open.length - 1))];
      if (victim !== undefined) factory.kill(victim);
    },
    async killAll() {
      factory.killAll();
    },
    async openOnServer() {
      return factory.connections().length;
    },
    async dispose() {},
  };
}

/** A real PostgreSQL (`PG_URL`): our sessions carry a unique application_name, and only those are ever killed. */
export function pgBackend(url: string): SoakBackend<PgConnection> {
  const applicationName = `rel_soak_${process.pid}`;
  const factory = pgFactory({ connectionString: url, application_name: applicationName, query_timeout: 5_000 });
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const c = new pg.Client({ connectionString: url, application_name: `${applicationName}_admin` });
    await c.connect();
    try {
      return await fn(c);
    } finally {
      await c.end();
    }
  };
  const kill = (limit: number | null): Promise<void> =>
    admin(async (c) => {
      await c.query(
        `SELECT pg_terminate_backend(pid) FROM (
           SELECT pid FROM pg_stat_activity WHERE application_name = $1 ORDER BY random() LIMIT $2) victims`,
        [applicationName, limit],
      );
    });
  return {
    name: 'postgresql',
    factory,
    query: (conn) => conn.query('SELECT pg_sleep(0.001)'),
    dirty: (conn) => conn.query('BEGIN'),
    killOne: () => kill(1),
    killAll: () => kill(null),
    openOnServer: () =>
      admin(async (c) => {
        const { rows } = await c.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1', [
          applicationName,
        ]);
        return rows[0]?.n ?? -1;
      }),
    async dispose() {},
  };
}
