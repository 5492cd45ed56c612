/**
 * One PostgreSQL pool shared by three tenants, each with its own schema:
 *
 *   - routing: `{ tenant }` picks the tenant's partition (`RoutingStrategy.TenantBased`);
 *   - per-tenant preparation: a `prepare` hook sets `search_path` to the tenant's schema, and label
 *     affinity skips it when an idle connection already prepared for that tenant is free;
 *   - limits: reserved capacity (`minConnections`), caps (`maxConnections`), a bounded queue
 *     (`maxWaitQueue`) and a rate budget (`ioLimit`), each shown doing its job;
 *   - statistics per partition.
 *
 * The schemas are created under a prefix unique to the run and dropped at the end.
 * Run it with `pnpm --filter @pool/example-multi-tenant start` (PG_URL overrides the server).
 */
import { ConnectionPool, PoolConfig, PoolExhaustedError } from '@pool/core';
import { PartitionError, PartitionLimitError, PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { type PgConnection, pgFactory } from '@pool/pg';
import pg from 'pg';

const url = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const prefix = `pool_mt_${process.pid}_${Date.now().toString(36)}`;

/** Each tenant's schema and its orders (different data, so a mix-up would show). */
const TENANTS: Record<string, { orders: string[] }> = {
  acme: { orders: ['anvil', 'rocket skates', 'giant magnet'] },
  globex: { orders: ['doomsday device', 'hammock'] },
  initech: { orders: ['TPS report cover sheet'] },
};
const schemaOf = (tenant: string): string => `${prefix}_${tenant}`;

async function run(): Promise<void> {
  // ---------------------------------------------------------------- the pool and its partitions
  // A connection's tenant search_path is its clean state, so it is set through the raw client: the
  // adapter's dirty tracking does not count it as a change a reset must undo. When a borrower does change
  // the session (a SET, a temp table...), the adapter resets the connection (RESET ALL, which also resets
  // search_path) and the pool drops the connection's label with it: the next caller for that tenant
  // prepares it again instead of running in the default schema.
  const setSearchPath = async (db: PgConnection, schema: string): Promise<void> => {
    await db.client.query(`SET search_path TO ${db.client.escapeIdentifier(schema)}`);
  };
  const factory = pgFactory(url);

  const config = PoolConfig.builder().minSize(2).maxSize(6).acquireTimeoutMs(5_000).enablePartitioning(true).build();
  const pool = await ConnectionPool.create(config, factory, { name: 'tenants' });
  try {
    const manager = new PartitionManager({
      pool,
      routing: RoutingStrategy.TenantBased,
      // Runs when a tenant's caller gets a connection not prepared for that tenant; skipped otherwise.
      prepare: async (db, partition) => {
        await setSearchPath(db, schemaOf(partition.type.name));
      },
    });
    try {
      manager.createPartition('tenant_acme', PartitionType.Tenant('acme'), { maxConnections: 4, minConnections: 2 });
      manager.createPartition('tenant_globex', PartitionType.Tenant('globex'), { maxConnections: 2, minConnections: 1 });
      manager.createPartition('tenant_initech', PartitionType.Tenant('initech'), { maxConnections: 1, maxWaitQueue: 1, ioLimit: 5 });
      console.log(`pool: ${config.maxSize} connections shared by ${manager.listPartitions().length} partitions`);

      // Every request checks that it landed in its own tenant's schema.
      let requests = 0;
      let mixUps = 0;
      const check = (tenant: string, rows: { schema: string }[]): void => {
        requests += 1;
        if (rows.some((r) => r.schema !== schemaOf(tenant))) mixUps += 1;
      };
      const ordersOf = (tenant: string, options: { timeoutMs?: number } = {}) =>
        manager.use(
          { tenant },
          async (db) => {
            const { rows } = await db.query<{ schema: string; item: string }>(
              'SELECT current_schema() AS schema, item FROM orders ORDER BY id',
            );
            check(tenant, rows);
            return rows.map((r) => r.item);
          },
          options,
        );

      // ---------------------------------------------------------------- 1. routing and preparation
      for (const tenant of Object.keys(TENANTS)) {
        const partitionId = manager.routeRequest({ tenant });
        const items = await ordersOf(tenant);
        console.log(`routing: ${tenant} -> ${partitionId}, schema ${schemaOf(tenant)}: ${items.join(', ')}`);
      }

      // ---------------------------------------------------------------- 2. caps and reserved capacity
      // globex floods the pool with slow queries; it never holds more than its maxConnections (2), and
      // acme, whose two reserved connections nobody else may take, keeps being served meanwhile. Each
      // globex request also changes its session, so every release resets the connection: the schema
      // check shows that each reset was followed by a fresh preparation.
      let globexNow = 0;
      let globexPeak = 0;
      const flood = Array.from({ length: 12 }, () =>
        manager.use({ tenant: 'globex' }, async (db) => {
          globexPeak = Math.max(globexPeak, ++globexNow);
          try {
            // A session change: the connection is reset when released, its label dropped, and re-prepared.
            await db.query(`SET statement_timeout = '2s'`);
            const { rows } = await db.query<{ schema: string }>('SELECT current_schema() AS schema, pg_sleep(0.05)');
            check('globex', rows);
          } finally {
            globexNow -= 1;
          }
        }),
      );
      const during = manager.getPartitionStatistics().tenant_globex;
      console.log(
        `flood: globex sent 12 slow requests: ${(during?.active ?? 0) + (during?.acquiring ?? 0)} admitted, ${during?.waiting} queued (blocked on ${during?.blockedOn})`,
      );
      let acmeServed = 0;
      for (let i = 0; i < 4; i += 1) {
        await ordersOf('acme');
        acmeServed += 1;
      }
      const globexLeft = manager.getPartitionStatistics().tenant_globex?.waiting ?? 0;
      console.log(`flood: acme was served ${acmeServed} times, one after another, while ${globexLeft} globex requests still waited`);
      await Promise.all(flood);
      console.log(`flood: globex ran at most ${globexPeak} at once (its maxConnections is 2)`);

      // ---------------------------------------------------------------- 3. a bounded queue
      // initech may hold 1 connection and queue 1 caller: of 4 simultaneous requests, 2 are refused at once.
      const burst = await Promise.allSettled(Array.from({ length: 4 }, () => ordersOf('initech')));
      const refused = burst.filter((r) => r.status === 'rejected').map((r) => r.reason);
      const queueFull = refused.filter((e) => e instanceof PoolExhaustedError && e.partition === 'tenant_initech');
      console.log(
        `queue: initech sent 4 at once: ${burst.length - refused.length} served, ${queueFull.length} refused with PoolExhaustedError`,
      );
      if (queueFull.length !== refused.length) throw new AggregateError(refused, 'unexpected rejections');

      // ---------------------------------------------------------------- 4. a rate budget
      // initech may start 5 acquisitions per second (ioLimit). A caller that cannot wait for the budget to
      // refill (here: 50 ms) is refused at once with PartitionLimitError, which says when to retry.
      for (let i = 1; i <= 50; i += 1) {
        try {
          await ordersOf('initech', { timeoutMs: 50 });
        } catch (error) {
          if (!(error instanceof PartitionLimitError)) throw error;
          console.log(
            `rate: initech request ${i} refused: ${error.code} ${error.limit} (retry after about ${Math.ceil(error.retryAfterMs ?? 0)} ms)`,
          );
          break;
        }
      }

      // ---------------------------------------------------------------- 5. an unknown tenant
      try {
        await ordersOf('umbrella');
      } catch (error) {
        if (!(error instanceof PartitionError)) throw error;
        console.log(`unrouted: umbrella: ${error.code} reason ${error.reason}`);
      }

      // ---------------------------------------------------------------- 6. statistics
      for (const [id, s] of Object.entries(manager.getPartitionStatistics())) {
        const rejected = Object.entries(s.rejections)
          .filter(([, n]) => n > 0)
          .map(([reason, n]) => `${reason} ${n}`);
        console.log(
          `stats: ${id}: acquired ${s.connectionsAcquired}, released ${s.connectionsReleased}, ` +
            `rejected ${rejected.length === 0 ? 0 : rejected.join(', ')}, p99 wait ${s.p99WaitMs.toFixed(1)} ms, ` +
            `prepared ${s.preparation.prepared}, reused prepared ${s.preparation.reused}`,
        );
      }
      console.log(`isolation: ${requests} requests, ${mixUps} saw another tenant's schema`);
    } finally {
      await manager.close();
    }
  } finally {
    await pool.close();
  }
  console.log(`done: manager and pool closed (${pool.size().total} connections open after close)`);
}

/** Runs `fn` with a plain client of its own (schema setup and cleanup are not the example's point). */
async function admin(fn: (client: pg.Client) => Promise<void>): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await fn(client);
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  await admin(async (client) => {
    for (const [tenant, { orders }] of Object.entries(TENANTS)) {
      const schema = client.escapeIdentifier(schemaOf(tenant));
      await client.query(`CREATE SCHEMA ${schema}`);
      await client.query(`CREATE TABLE ${schema}.orders (id serial PRIMARY KEY, item text NOT NULL)`);
      for (const item of orders) await client.query(`INSERT INTO ${schema}.orders (item) VALUES ($1)`, [item]);
    }
  });
  try {
    await run();
  } finally {
    await admin(async (client) => {
      for (const tenant of Object.keys(TENANTS))
        await client.query(`DROP SCHEMA IF EXISTS ${client.escapeIdentifier(schemaOf(tenant))} CASCADE`);
    }).catch((error: unknown) => console.error(`could not drop the schemas ${prefix}_*: ${String(error)}`));
    console.log(`cleanup: dropped the schemas ${prefix}_*`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
