/**
 * @pool/pg's replica pool: one pool object over a primary and its streaming replicas.
 *
 *   1. `createPgReplicaPool` from a libpq multi-host connection string.
 *   2. Writes (`pool.query(sql, values)`) go to the primary; reads (`{ readOnly: true }`) to the
 *      standbys by weight, or to the primary while no standby can serve them.
 *   3. `pool.connect({ readOnly })` for several statements on one session.
 *   4. What the pool knows about each host (role, state, lag, connections), for logs and dashboards.
 *
 * Run it with `pnpm --filter @pool/example-read-replicas start`. PG_HOSTS_URL gives the servers, e.g.
 * `postgres://app@db1:5432,db2:5432/app`; the default is the local server plus a port nobody listens
 * on, so the program also shows how a host that is down is reported and avoided.
 */
import { createPgReplicaPool } from '@pool/pg';

const url = process.env.PG_HOSTS_URL ?? 'postgres://postgres@127.0.0.1:5432,127.0.0.1:1/test';
const table = `pool_example_read_replicas_${process.pid}_${Date.now().toString(36)}`;

async function run(): Promise<void> {
  const pool = createPgReplicaPool({
    connectionString: url,
    primary: { maxConnections: 10 }, // the write side
    replicas: { maxConnections: 10 }, // per host, the read side
    maxReplicaLagMs: 5_000, // a standby further behind gets no reads until it catches up
    monitorIntervalMs: 1_000, // how often each host's role and lag are checked
    connectionTimeoutMillis: 2_000,
    poolConfig: { acquireTimeoutMs: 10_000 }, // how long a caller waits, also through a failover
  });
  try {
    await pool.ready(); // every host checked once
    for (const h of pool.hostStatistics()) {
      console.log(`host ${h.host}: ${h.role}, ${h.state}${h.error === null ? '' : ` (${h.error.split('\n')[0]})`}`);
    }

    // ------------------------------------------------------------- writes go to the primary
    await pool.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, name text NOT NULL)`);
    await pool.query(`INSERT INTO ${table} (name) VALUES ($1), ($2), ($3)`, ['ada', 'grace', 'alan']);
    const where = await pool.query<{ standby: boolean }>('SELECT pg_is_in_recovery() AS standby');
    console.log(`write: 3 rows inserted on a ${where.rows[0]?.standby ? 'standby (!)' : 'primary'}`);

    // ------------------------------------------------------------- reads go to the standbys
    const read = await pool.query<{ standby: boolean; ro: string }>(
      "SELECT pg_is_in_recovery() AS standby, current_setting('transaction_read_only') AS ro",
      [],
      { readOnly: true },
    );
    const r = read.rows[0];
    console.log(`read: served by a ${r?.standby ? 'standby' : 'primary (no standby available)'}, read-only session: ${r?.ro}`);

    // ------------------------------------------------------------- several statements on one session
    const client = await pool.connect({ readOnly: true });
    try {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`);
      const refused = await client.query(`DELETE FROM ${table}`).catch((error: { code?: string }) => error.code);
      console.log(`connect({ readOnly: true }) on ${client.host}: ${rows[0]?.n} rows visible, a write is refused with ${refused}`);
    } finally {
      client.release();
    }

    // ------------------------------------------------------------- what the pool knows about each host
    const stats = pool.statistics();
    console.log(`statistics: ${stats.writes} writes, reads per host ${stats.hosts.map((h) => `${h.host}=${h.reads}`).join(' ')}`);
  } finally {
    await pool.query(`DROP TABLE IF EXISTS ${table}`).catch(() => {});
    await pool.close();
  }
  console.log(`done: pool closed (${pool.writeFactory.openConnections} write connections open)`);
}

run().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
