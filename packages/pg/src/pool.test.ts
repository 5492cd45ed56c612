import { AgingPolicy, ConnectionTimeoutError, InvalidArgumentError, InvalidConfigError, MAX_TIMER_MS, PoolConfig } from '@pool/core';
import { FaultProxy } from '@pool/testkit';
import { useCleanup } from '@pool/testkit/conformance';
import { describe, expect, it, vi } from 'vitest';
import { createPgPool, mapPgPoolOptions, type PgPool } from './pool.js';
import { PG_TARGET, PG_URL, SECRET, SECRET_URL, terminate, uniqueName, urlVia } from './test-support/pg.js';

const cleanup = useCleanup();

function pool(options: Parameters<typeof createPgPool>[0] = {}): PgPool {
  const p = createPgPool({ connectionString: PG_URL, ...options });
  cleanup.defer(() => p.end());
  return p;
}

describe('createPgPool', () => {
  it('runs queries like pg.Pool#query: acquire, run, release', async () => {
    const db = pool({ max: 3 });
    const table = uniqueName('pool_pg_users');
    await db.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text)`);
    cleanup.defer(() => createPgPool({ connectionString: PG_URL }).query(`DROP TABLE IF EXISTS ${table}`));
    await Promise.all([1, 2, 3, 4, 5].map((id) => db.query(`INSERT INTO ${table} VALUES ($1, $2)`, [id, `user${id}`])));
    const { rows, rowCount } = await db.query<{ id: number; name: string }>(`SELECT id, name FROM ${table} WHERE id > $1 ORDER BY id`, [3]);
    expect(rowCount).toBe(2);
    expect(rows).toEqual([
      { id: 4, name: 'user4' },
      { id: 5, name: 'user5' },
    ]);
    expect(await db.query({ text: 'SELECT $1::int AS n', values: [7], rowMode: 'array' }).then((r) => r.rows)).toEqual([[7]]);
    expect(db.totalCount).toBeLessThanOrEqual(3);
    expect(db.waitingCount).toBe(0);
    // totalCount counts connections still opening (as pg.Pool does): one opened for a caller that a
    // release served first becomes idle once its connect ends.
    await vi.waitFor(() => expect(db.idleCount).toBe(db.totalCount));
    await db.query(`DROP TABLE ${table}`);
  });

  it('reports a query error to the pool at release and keeps the connection', async () => {
    const db = pool({ max: 1 });
    await expect(db.query('SELECT * FROM no_such_table_anywhere')).rejects.toMatchObject({ code: '42P01' });
    expect(await db.query('SELECT 1 AS ok').then((r) => r.rows)).toEqual([{ ok: 1 }]);
    const stats = db.statistics();
    expect(stats.releasedWithError).toBe(1);
    expect(stats.connectionsCreated).toBe(1);
    expect(db.factory.statistics().queryErrors).toBe(1);
  });

  it('feeds query errors to adaptive aging, which retires a connection that keeps failing', async () => {
    const db = pool({
      max: 1,
      poolOptions: { agingPolicy: AgingPolicy.Adaptive({ baseLifetimeMs: 3_600_000, errorThreshold: 0.5, windowSize: 4, minSamples: 4 }) },
    });
    const first = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    for (let i = 0; i < 3; i++) await expect(db.query('SELECT 1/0')).rejects.toMatchObject({ code: '22012' });
    await vi.waitFor(() => expect(db.statistics().destroyedByReason.errorRate).toBe(1));
    const next = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid;
    expect(next).not.toBe(first);
  });

  it('connect() and release() work as with pg.Pool, and release(true) destroys the connection', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    await client.query('BEGIN');
    await client.query("SET LOCAL application_name = 'in-tx'");
    const pid = client.processID;
    client.release();
    {
      await using again = await db.connect();
      expect(again.processID).toBe(pid);
      expect((again as unknown as { getTransactionStatus(): string }).getTransactionStatus()).toBe('I'); // reset rolled the transaction back
    }
    const doomed = await db.connect();
    doomed.release(true);
    await vi.waitFor(() => expect(db.statistics().destroyedByReason.destroyed).toBe(1));
    const fresh = await db.connect();
    expect(fresh.processID).not.toBe(pid);
    fresh.release();
    expect(() => fresh.release()).toThrow(/released/);
  });

  it('use() always releases, also when the callback throws', async () => {
    const db = pool({ max: 1 });
    await expect(
      db.use(async (conn) => {
        await conn.query('BEGIN');
        throw new Error('app failure');
      }),
    ).rejects.toThrow('app failure');
    expect(await db.use((conn) => conn.query('SELECT 1 AS one').then((r) => r.rows[0]))).toEqual({ one: 1 });
    expect(db.statistics().resets).toBeGreaterThanOrEqual(1);
  });

  it('rejects bad query arguments with errors naming them', async () => {
    const db = pool({ max: 1 });
    await expect(db.query(42 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(db.query('SELECT $1', 'x' as never)).rejects.toThrow(/values/);
    expect(db.statistics().releasedWithError).toBe(2);
  });

  it('fails fast with the connect error when the database is unreachable, as pg.Pool (no wait for the acquire timeout)', async () => {
    const db = createPgPool({ connectionString: urlVia({ host: '127.0.0.1', port: 1 }, SECRET_URL), connectionTimeoutMillis: 0 });
    cleanup.defer(() => db.end());
    const error = await db.query('SELECT 1').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ECONNREFUSED' });
    expect(String(error)).not.toContain(SECRET);
    expect(db.totalCount).toBe(0);
  });

  it("a second end() fails as in pg.Pool, and later queries fail with pg.Pool's message (the engine error as cause)", async () => {
    const db = pool();
    await db.query('SELECT 1');
    const [first, second] = await Promise.allSettled([db.end(), db.end()]);
    expect(first.status).toBe('fulfilled');
    expect(second).toMatchObject({ status: 'rejected', reason: { message: 'Called end on pool more than once' } });
    expect(db.ended).toBe(true);
    await expect(db.query('SELECT 1')).rejects.toThrow('Cannot use a pool after calling end on the pool');
  });
});

describe('createPgPool survives server-side failures', () => {
  it('replaces idle connections terminated by the server, without crashing the process', async () => {
    const db = pool({ min: 2, max: 2, poolConfig: { maintenanceIntervalMs: 50, createRetryDelayMs: 10 } });
    await Promise.all([db.query('SELECT pg_sleep(0.02)'), db.query('SELECT pg_sleep(0.02)')]);
    const pids = db.pool.connections().length;
    expect(pids).toBe(2);
    const backends = await Promise.all([db.connect(), db.connect()]);
    const victims = backends.map((c) => c.processID);
    for (const c of backends) c.release();
    for (const pid of victims) await terminate(pid);
    await vi.waitFor(() => expect(db.statistics().destroyedByReason.broken).toBe(2), { timeout: 10_000 });
    await vi.waitFor(() => expect(db.idleCount).toBe(2), { timeout: 10_000 });
    const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(victims).not.toContain(rows[0]?.pid);
  });

  it('fails a query whose connection is terminated mid-query with a clear error, then heals', async () => {
    const db = pool({ max: 1 });
    const client = await db.connect();
    const pid = client.processID;
    const running = client.query('SELECT pg_sleep(30)');
    running.catch(() => {}); // handled below, after the kill
    await vi.waitFor(async () => {
      const { rows } = await createAdminQuery(`SELECT state FROM pg_stat_activity WHERE pid = ${pid}`);
      expect(rows[0]?.state).toBe('active');
    });
    await terminate(pid);
    await expect(running).rejects.toThrow(/terminat/i);
    client.release();
    const { rows } = await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    expect(rows[0]?.pid).not.toBe(pid);
    // The query's rejection can come before the socket's close: the pool then learns the connection is
    // gone either from the client's error (broken) or from the reset at release that fails (reset).
    const { broken, reset } = db.statistics().destroyedByReason;
    expect(broken + reset).toBe(1);
  });

  it('survives a restart-like failure through a fault proxy: errors while down, healed after', async () => {
    const proxy = await FaultProxy.start({ target: PG_TARGET });
    cleanup.defer(() => proxy.close());
    const db = createPgPool({
      connectionString: urlVia(proxy, PG_URL),
      min: 2,
      max: 4,
      connectionTimeoutMillis: 500,
      poolConfig: { createRetryDelayMs: 20, createRetryMaxDelayMs: 100, maintenanceIntervalMs: 50 },
    });
    cleanup.defer(() => db.end());
    await Promise.all([db.query('SELECT 1'), db.query('SELECT 2')]);
    const errors: unknown[] = [];
    db.pool.on('createError', ({ error }) => errors.push(error));

    proxy.refuse(); // the server goes down...
    proxy.killAll(); // ...taking every session with it
    await vi.waitFor(() => expect(db.totalCount).toBe(0), { timeout: 10_000 });
    const down = await db.query('SELECT 1').catch((e: unknown) => e);
    // As pg.Pool: the caller whose request opened the failing connect gets its error at once.
    expect(down).not.toBeInstanceOf(ConnectionTimeoutError);
    expect((down as { code?: string }).code).toMatch(/^(ECONNRESET|ECONNREFUSED|EPIPE)$/);
    expect(errors.length).toBeGreaterThan(0);

    proxy.forward(); // ...and comes back
    await vi.waitFor(() => db.query('SELECT 1'), { timeout: 10_000 });
    const results = await Promise.all([1, 2, 3, 4].map((i) => db.query<{ n: number }>('SELECT $1::int AS n', [i])));
    expect(results.map((r) => r.rows[0]?.n)).toEqual([1, 2, 3, 4]);
  });
});

describe('pg.Pool option mapping', () => {
  it("honours pg's old poolSize as max instead of passing it to the client, and takes pg.Pool's own options", () => {
    const { client, config } = mapPgPoolOptions({ connectionString: PG_URL, poolSize: 4 } as never);
    expect(config.maxSize).toBe(4);
    expect(client).toEqual({ connectionString: PG_URL });
    expect(() => mapPgPoolOptions({ connectionString: PG_URL, poolSize: 4, max: 8 } as never)).toThrow(/poolSize.*max \(8\)/);
    const log = (): void => {};
    const verify = (): void => {};
    const onConnect = (): void => {};
    const mapped = mapPgPoolOptions({ connectionString: PG_URL, Promise, log, verify, onConnect, maxUses: 3 });
    expect(mapped.client).toEqual({ connectionString: PG_URL });
    expect(mapped.behaviour).toEqual({ Promise, log, verify, onConnect, maxUses: 3 });
    expect(mapped.config.createRetryDelayMs).toBe(0); // as pg.Pool: the next request after a failed connect tries again at once
    expect(mapped.config.idleTimeoutMs).toBe(10_000); // pg.Pool's default
  });

  it('maps pg.Pool options onto the pool config', () => {
    const { client, factory, config, poolOptions } = mapPgPoolOptions({
      connectionString: PG_URL,
      application_name: 'api',
      max: 20,
      min: 2,
      idleTimeoutMillis: 10_000,
      connectionTimeoutMillis: 2_000,
      maxLifetimeSeconds: 600,
      maxUses: 7_500,
      allowExitOnIdle: true,
      statementCacheSize: 50,
    });
    expect(client).toEqual({ connectionString: PG_URL, application_name: 'api' });
    expect(factory).toEqual({ allowExitOnIdle: true, statementCacheSize: 50 });
    expect(config).toMatchObject({
      maxSize: 20,
      minSize: 2,
      idleTimeoutMs: 10_000,
      maintenanceIntervalMs: 5_000,
      acquireTimeoutMs: 2_000,
      createTimeoutMs: 2_000,
      maxLifetimeMs: 600_000,
      statementCacheSize: 50,
    });
    expect(poolOptions.agingPolicy).toEqual(AgingPolicy.UsageBased({ maxBorrows: 7_500 }));
  });

  it("maps pg.Pool's zeros to 'no limit'", () => {
    const { config, poolOptions } = mapPgPoolOptions({
      idleTimeoutMillis: 0,
      connectionTimeoutMillis: 0,
      maxLifetimeSeconds: 0,
      maxUses: Number.POSITIVE_INFINITY,
    });
    expect(config).toMatchObject({ idleTimeoutMs: null, acquireTimeoutMs: MAX_TIMER_MS, maxLifetimeMs: null });
    expect(poolOptions.agingPolicy).toBeUndefined();
  });

  it('accepts a PoolConfig and pool options, and refuses conflicts', () => {
    const built = PoolConfig.builder().maxSize(5).statementCacheSize(9).build();
    const { config, factory, poolOptions } = mapPgPoolOptions({ poolConfig: built, poolOptions: { name: 'reports' } });
    expect(config.maxSize).toBe(5);
    expect(factory.statementCacheSize).toBe(9);
    expect(poolOptions.name).toBe('reports');
    expect(() => mapPgPoolOptions({ max: 5, poolConfig: { maxSize: 6 } })).toThrow(/max = 5: conflicts with poolConfig.maxSize \(6\)/);
    expect(() => mapPgPoolOptions({ maxUses: 3, poolOptions: { agingPolicy: AgingPolicy.UsageBased({ maxBorrows: 2 }) } })).toThrow(
      /maxUses/,
    );
    expect(() => mapPgPoolOptions({ statementCacheSize: 3, poolConfig: { statementCacheSize: 4 } })).toThrow(/statementCacheSize/);
  });

  it('rejects bad and unsupported values, naming them', () => {
    expect(() => mapPgPoolOptions({ max: 0 })).toThrow(InvalidConfigError);
    expect(() => mapPgPoolOptions({ max: 0 })).toThrow(/max = 0: must be an integer >= 1/);
    expect(() => mapPgPoolOptions({ idleTimeoutMillis: -1 })).toThrow(/idleTimeoutMillis = -1/);
    expect(() => mapPgPoolOptions({ maxLifetimeSeconds: Number.NaN })).toThrow(/maxLifetimeSeconds/);
    expect(() => mapPgPoolOptions({ verify: 42 } as never)).toThrow(/verify = 42/);
    expect(() => mapPgPoolOptions({ log: 'yes' } as never)).toThrow(/log/);
    expect(() => mapPgPoolOptions({ poolConfig: { maxSise: 3 } as never })).toThrow(/maxSise/);
    expect(() => createPgPool({ connectionString: 'nope' })).toThrow(/connectionString/);
  });
});

async function createAdminQuery(sql: string): Promise<{ rows: Record<string, unknown>[] }> {
  const { admin } = await import('./test-support/pg.js');
  return { rows: await admin(sql) };
}
