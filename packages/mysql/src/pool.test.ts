import { Socket } from 'node:net';
import {
  AgingPolicy,
  ConnectionTimeoutError,
  InvalidArgumentError,
  InvalidConfigError,
  PoolConfig,
  PoolExhaustedError,
  RecyclingStrategy,
} from '@pool/core';
import { FaultProxy } from '@pool/testkit';
import { useCleanup } from '@pool/testkit/conformance';
import type { ResultSetHeader, RowDataPacket } from 'mysql2';
import { describe, expect, it, vi } from 'vitest';
import { createMysqlPool, type MysqlPool } from './pool.js';
import { DEFAULT_POOL_STATEMENT_CACHE_SIZE, mapMysqlPoolOptions } from './pool-config.js';
import { admin, kill, MYSQL_TARGET, MYSQL_URL, secretUrl, uniqueName, urlVia } from './test-support/mysql.js';

const cleanup = useCleanup();

function pool(options: Parameters<typeof createMysqlPool>[0] & object = {}): MysqlPool {
  const p = createMysqlPool({ uri: MYSQL_URL, ...options });
  cleanup.defer(() => p.end());
  return p;
}

const threadOf = async (db: MysqlPool): Promise<number> =>
  Number((await db.query<RowDataPacket[]>('SELECT CONNECTION_ID() AS id'))[0][0]?.id);

describe('createMysqlPool', () => {
  it('runs statements like mysql2 pool.query / pool.execute: acquire, run, release', async () => {
    const db = pool({ connectionLimit: 3, statementCacheSize: 10 });
    const table = uniqueName('pool_mysql_users');
    await db.query(`CREATE TABLE ${table} (id INT PRIMARY KEY, name VARCHAR(20))`);
    cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${table}`));
    await Promise.all([1, 2, 3, 4, 5].map((id) => db.execute(`INSERT INTO ${table} VALUES (?, ?)`, [id, `user${id}`])));
    const [rows] = await db.execute<RowDataPacket[]>(`SELECT id, name FROM ${table} WHERE id > ? ORDER BY id`, [3]);
    expect(rows).toEqual([
      { id: 4, name: 'user4' },
      { id: 5, name: 'user5' },
    ]);
    const [header] = await db.query<ResultSetHeader>(`UPDATE ${table} SET name = ? WHERE id <= ?`, ['x', 2]);
    expect(header.affectedRows).toBe(2);
    expect((await db.query<RowDataPacket[]>({ sql: 'SELECT ? AS n', rowsAsArray: true }, [7]))[0]).toEqual([[7]]);
    expect(db.size().total).toBeLessThanOrEqual(3);
    expect(db.size().waiting).toBe(0);
  });

  it('reports a statement error to the pool at release and keeps the connection', async () => {
    const db = pool({ connectionLimit: 1 });
    await expect(db.query('SELECT * FROM no_such_table_anywhere')).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
    expect((await db.query<RowDataPacket[]>('SELECT 1 AS ok'))[0]).toEqual([{ ok: 1 }]);
    const stats = db.statistics();
    expect(stats.releasedWithError).toBe(1);
    expect(stats.connectionsCreated).toBe(1);
    expect(db.factory.statistics().queryErrors).toBe(1);
  });

  it('feeds statement errors to adaptive aging, which retires a connection that keeps failing', async () => {
    const db = pool({
      connectionLimit: 1,
      poolOptions: { agingPolicy: AgingPolicy.Adaptive({ baseLifetimeMs: 3_600_000, errorThreshold: 0.5, windowSize: 4, minSamples: 4 }) },
    });
    const first = await threadOf(db);
    for (let i = 0; i < 3; i++) await expect(db.execute('SELECT * FROM no_such_table_anywhere WHERE id = ?', [i])).rejects.toThrow();
    await vi.waitFor(() => expect(db.statistics().destroyedByReason.errorRate).toBe(1), { timeout: 10_000 });
    expect(await threadOf(db)).not.toBe(first);
  });

  it('getConnection() and release() work as with mysql2, a transaction left open is rolled back, destroy() replaces', async () => {
    const db = pool({ connectionLimit: 1 });
    const table = uniqueName('pool_mysql_tx');
    await db.query(`CREATE TABLE ${table} (id INT) ENGINE=InnoDB`);
    cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${table}`));
    const conn = await db.getConnection();
    await conn.beginTransaction();
    await conn.execute(`INSERT INTO ${table} VALUES (?)`, [1]);
    const thread = conn.threadId;
    conn.release(); // forgot to commit
    {
      await using again = await db.getConnection();
      expect(again.threadId).toBe(thread);
      expect((await again.query<RowDataPacket[]>(`SELECT COUNT(*) AS n FROM ${table}`))[0]).toEqual([{ n: 0 }]);
    }
    const doomed = await db.getConnection();
    doomed.destroy();
    expect(db.statistics().destroyedByReason.destroyed).toBe(1);
    const fresh = await db.getConnection();
    expect(fresh.threadId).not.toBe(thread);
    fresh.release();
    fresh.release(); // a second release does nothing, as in mysql2
    expect(db.size()).toMatchObject({ idle: 1, active: 0 });
  });

  it('use() always releases, also when the callback throws', async () => {
    const db = pool({ connectionLimit: 1 });
    await expect(
      db.use(async (conn) => {
        await conn.query('SET @leftover = 1');
        throw new Error('app failure');
      }),
    ).rejects.toThrow('app failure');
    expect(await db.use(async (conn) => (await conn.query<RowDataPacket[]>('SELECT @leftover AS v'))[0])).toEqual([{ v: null }]);
    expect(db.statistics().resets).toBe(1);
  });

  it('skips the reset for a clean connection (Adaptive), and resets every time with resetOnRelease', async () => {
    const adaptive = pool({ connectionLimit: 1 });
    for (let i = 0; i < 3; i++) await adaptive.execute('SELECT ?', [i]);
    expect(adaptive.statistics().resets).toBe(0);
    const checked = pool({ connectionLimit: 1, resetOnRelease: true });
    for (let i = 0; i < 3; i++) await checked.execute('SELECT ?', [i]);
    await vi.waitFor(() => expect(checked.statistics().resets).toBe(3), { timeout: 10_000 });
  });

  it('rejects bad statement arguments with mysql2 errors, and releases the connection', async () => {
    const db = pool({ connectionLimit: 1 });
    await expect(db.execute('SELECT ?', [undefined])).rejects.toThrow(/must not contain undefined/);
    await expect(db.execute('SELECT ?', { invalid: 'object' })).rejects.toBeInstanceOf(TypeError);
    expect(() => db.end(42 as never)).toThrow(InvalidArgumentError);
    expect(db.size()).toMatchObject({ idle: 1, active: 0 });
  });

  it('fails at once instead of waiting with waitForConnections: false', async () => {
    const db = pool({ connectionLimit: 1, waitForConnections: false });
    const held = await db.getConnection();
    const refused = await db.query('SELECT 1').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(refused).toMatchObject({ message: 'No connections available.' });
    expect((refused as Error).cause).toBeInstanceOf(PoolExhaustedError);
    held.release();
    await db.query('SELECT 1');
  });

  it('hands the caller whose request opened a connection its connect error at once, as mysql2 does', async () => {
    const db = createMysqlPool({ uri: urlVia({ host: '127.0.0.1', port: 1 }, MYSQL_URL), poolConfig: { acquireTimeoutMs: 60_000 } });
    cleanup.defer(() => db.end());
    expect(await db.query('SELECT 1').catch((e: unknown) => e)).toMatchObject({ code: 'ECONNREFUSED' });
    expect(await db.getConnection().catch((e: unknown) => e)).toMatchObject({ code: 'ECONNREFUSED' });
    // Through the engine without failFast, a transient error is retried until the acquire times out.
    const error = await db.pool.acquire({ timeoutMs: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConnectionTimeoutError);
    expect(String((error as Error).cause)).toMatch(/ECONNREFUSED/);
  });

  it('fails every caller at once with a connect error no retry fixes (unknown database, wrong password)', async () => {
    const url = new URL(MYSQL_URL);
    url.pathname = `/${uniqueName('pool_mysql_no_such_db')}`;
    const db = createMysqlPool({ uri: url.toString(), poolConfig: { acquireTimeoutMs: 60_000 } });
    cleanup.defer(() => db.end());
    const errors = await Promise.all([1, 2, 3].map(() => db.query('SELECT 1').catch((e: unknown) => e)));
    for (const error of errors) expect(error).toMatchObject({ errno: 1049, code: 'ER_BAD_DB_ERROR' });
    expect(db.pool.statistics().fatalCreateFailures).toBeGreaterThanOrEqual(1);
    const secret = new URL(await secretUrl());
    secret.password = 'wrong-password';
    const denied = createMysqlPool({ uri: secret.toString(), poolConfig: { acquireTimeoutMs: 60_000 } });
    cleanup.defer(() => denied.end());
    const error = await denied.execute('SELECT 1').catch((e: unknown) => e);
    expect(error).toMatchObject({ errno: 1045, code: 'ER_ACCESS_DENIED_ERROR' });
    expect(String((error as Error).message)).not.toContain('wrong-password');
  });

  it("end() is idempotent and later statements fail with mysql2's 'Pool is closed.'", async () => {
    const db = pool();
    await db.query('SELECT 1');
    await Promise.all([db.end(), db.end()]);
    await expect(db.query('SELECT 1')).rejects.toMatchObject({ message: 'Pool is closed.' });
    await expect(db.getConnection()).rejects.toMatchObject({ message: 'Pool is closed.' });
  });
});

describe('createMysqlPool: what mysql2 users rely on', () => {
  it('turns on TCP keep-alive with enableKeepAlive and keepAliveInitialDelay, as mysql2 does', async () => {
    const spy = vi.spyOn(Socket.prototype, 'setKeepAlive');
    try {
      const db = pool({ connectionLimit: 1, enableKeepAlive: true, keepAliveInitialDelay: 1234 });
      await db.query('SELECT 1');
      expect(spy).toHaveBeenCalledWith(true, 1234);
    } finally {
      spy.mockRestore();
    }
  });

  it('gives the next borrower the configured database after one ran USE', async () => {
    const db = pool({ connectionLimit: 1 });
    const configured = (await db.query<RowDataPacket[]>('SELECT DATABASE() AS db'))[0][0]?.db;
    await db.query('USE information_schema');
    expect((await db.query<RowDataPacket[]>('SELECT DATABASE() AS db'))[0]).toEqual([{ db: configured }]);
    expect(db.statistics().connectionsCreated).toBe(1);
  });

  it('retires a connection after a read-only error (here 1792), as mysql2 destroys it', async () => {
    const table = uniqueName('pool_mysql_ro');
    await admin(`CREATE TABLE ${table} (id INT)`);
    cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${table}`));
    const db = pool({ connectionLimit: 1 });
    const conn = await db.getConnection();
    const thread = conn.threadId;
    await conn.query('START TRANSACTION READ ONLY');
    await expect(conn.query(`INSERT INTO ${table} VALUES (1)`)).rejects.toMatchObject({ errno: 1792 });
    conn.release();
    expect(db.statistics().destroyedByReason.broken).toBe(1);
    expect(await threadOf(db)).not.toBe(thread);
  });
});

describe('createMysqlPool survives KILL and outages', () => {
  it('replaces idle connections killed by the server, without crashing the process', async () => {
    const db = pool({ connectionLimit: 2, poolConfig: { minSize: 2, maintenanceIntervalMs: 50, createRetryDelayMs: 10 } });
    await vi.waitFor(() => expect(db.size().idle).toBe(2), { timeout: 10_000 });
    const conns = await Promise.all([db.getConnection(), db.getConnection()]);
    const victims = conns.map((c) => c.threadId);
    for (const c of conns) c.release();
    for (const id of victims) await kill(id);
    await vi.waitFor(() => expect(db.statistics().destroyedByReason.broken).toBe(2), { timeout: 10_000 });
    await vi.waitFor(() => expect(db.size().idle).toBe(2), { timeout: 10_000 });
    expect(victims).not.toContain(await threadOf(db));
  });

  it('fails a statement whose connection is killed mid-statement with a clear error, then heals', async () => {
    const db = pool({ connectionLimit: 1 });
    const conn = await db.getConnection();
    const thread = conn.threadId;
    const running = conn.query('SELECT SLEEP(30)');
    running.catch(() => {}); // handled below, after the kill
    await vi.waitFor(
      async () => {
        const rows = await admin<{ c: number }>(
          "SELECT COUNT(*) AS c FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'",
          [thread],
        );
        expect(rows[0]?.c).toBe(1);
      },
      { timeout: 10_000 },
    );
    await kill(thread);
    await expect(running).rejects.toThrow(/killed|lost|closed/i);
    // As in mysql2, the failed connection left the pool at once; releasing it later does nothing.
    expect(db._allConnections.length).toBe(0);
    conn.release();
    expect(await threadOf(db)).not.toBe(thread);
    expect(db.statistics().destroyedByReason.destroyed).toBe(1);
    expect(db.statistics().releasedWithError).toBe(1);
  });

  it('survives a restart-like outage through a fault proxy: errors while down, healed after', async () => {
    const proxy = await FaultProxy.start({ target: MYSQL_TARGET });
    cleanup.defer(() => proxy.close());
    const db = createMysqlPool({
      uri: urlVia(proxy, MYSQL_URL),
      connectionLimit: 4,
      poolConfig: { minSize: 2, acquireTimeoutMs: 500, createRetryDelayMs: 20, createRetryMaxDelayMs: 100, maintenanceIntervalMs: 50 },
    });
    cleanup.defer(() => db.end());
    await Promise.all([db.query('SELECT 1'), db.query('SELECT 2')]);
    proxy.refuse();
    proxy.killAll();
    await vi.waitFor(() => expect(db.size().total).toBe(0), { timeout: 10_000 });
    // The caller whose request tried to connect gets the connect error, at once.
    expect(await db.query('SELECT 1').catch((e: unknown) => e)).toMatchObject({
      code: expect.stringMatching(/ECONNRESET|PROTOCOL_CONNECTION_LOST|ECONNREFUSED/),
    });
    proxy.forward();
    await vi.waitFor(() => db.query('SELECT 1'), { timeout: 10_000 });
    const results = await Promise.all([1, 2, 3, 4].map((i) => db.execute<RowDataPacket[]>('SELECT ? AS n', [i])));
    expect(results.map((r) => r[0][0]?.n)).toEqual([1, 2, 3, 4]);
  });
});

describe('mysql2 pool option mapping', () => {
  it('maps mysql2 pool options onto the pool config', () => {
    const { connection, factory, config, poolOptions } = mapMysqlPoolOptions({
      uri: MYSQL_URL,
      charset: 'utf8mb4',
      enableKeepAlive: true,
      connectionLimit: 20,
      maxIdle: 5,
      idleTimeout: 10_000,
      queueLimit: 50,
      resetOnRelease: true,
      maxPreparedStatements: 64,
      resetMode: 'changeUser',
    });
    expect(connection).toEqual({ uri: MYSQL_URL, charset: 'utf8mb4', enableKeepAlive: true });
    expect(factory).toEqual({ statementCacheSize: 64, resetMode: 'changeUser' });
    expect(config).toMatchObject({
      maxSize: 20,
      maxIdle: 5,
      idleTimeoutMs: 10_000,
      maintenanceIntervalMs: 1_000,
      maxWaitQueueSize: 50,
      statementCacheSize: 64,
    });
    expect(poolOptions.recyclingStrategy).toBe(RecyclingStrategy.Checked);
  });

  it("maps mysql2's defaults and zeros: idle connections kept when maxIdle >= connectionLimit, queueLimit 0 is unlimited", () => {
    expect(mapMysqlPoolOptions({ connectionLimit: 5, maxIdle: 5 }).config).toMatchObject({ idleTimeoutMs: null, maxIdle: null });
    expect(mapMysqlPoolOptions({ connectionLimit: 5, maxIdle: 2 }).config).toMatchObject({ idleTimeoutMs: 60_000, maxIdle: 2 });
    expect(mapMysqlPoolOptions({ queueLimit: 0 }).config.maxWaitQueueSize).toBe(Number.MAX_SAFE_INTEGER);
    expect(mapMysqlPoolOptions({ waitForConnections: false }).config.maxWaitQueueSize).toBe(0);
    expect(mapMysqlPoolOptions(MYSQL_URL).connection).toEqual({ uri: MYSQL_URL });
    expect(mapMysqlPoolOptions({}).config.toJSON()).toEqual({
      ...PoolConfig.default().toJSON(),
      statementCacheSize: DEFAULT_POOL_STATEMENT_CACHE_SIZE,
    });
    expect(mapMysqlPoolOptions({ statementCacheSize: 0 }).config.statementCacheSize).toBe(0);
  });

  it('accepts a PoolConfig and pool options, and refuses conflicts', () => {
    const built = PoolConfig.builder().maxSize(5).statementCacheSize(9).build();
    const { config, factory, poolOptions } = mapMysqlPoolOptions({ poolConfig: built, poolOptions: { name: 'reports' } });
    expect(config.maxSize).toBe(5);
    expect(factory.statementCacheSize).toBe(9);
    expect(poolOptions.name).toBe('reports');
    expect(() => mapMysqlPoolOptions({ connectionLimit: 5, poolConfig: { maxSize: 6 } })).toThrow(
      /connectionLimit = 5: conflicts with poolConfig.maxSize \(6\)/,
    );
    expect(() => mapMysqlPoolOptions({ waitForConnections: false, queueLimit: 3 })).toThrow(
      /queueLimit = 3: conflicts with waitForConnections/,
    );
    expect(() => mapMysqlPoolOptions({ resetOnRelease: true, poolOptions: { recyclingStrategy: RecyclingStrategy.Fast } })).toThrow(
      /resetOnRelease/,
    );
    expect(() => mapMysqlPoolOptions({ maxPreparedStatements: 3, statementCacheSize: 4 })).toThrow(/maxPreparedStatements = 3: conflicts/);
  });

  it('rejects bad values, naming them', () => {
    expect(() => mapMysqlPoolOptions({ connectionLimit: 0 })).toThrow(InvalidConfigError);
    expect(() => mapMysqlPoolOptions({ connectionLimit: 0 })).toThrow(/connectionLimit = 0: must be an integer >= 1/);
    expect(() => mapMysqlPoolOptions({ idleTimeout: -1 })).toThrow(/idleTimeout = -1/);
    expect(() => mapMysqlPoolOptions({ queueLimit: 1.5 })).toThrow(/queueLimit = 1.5/);
    expect(() => mapMysqlPoolOptions({ waitForConnections: 'no' as never })).toThrow(/waitForConnections/);
    expect(() => mapMysqlPoolOptions({ poolConfig: { maxSise: 3 } as never })).toThrow(/maxSise/);
    expect(() => mapMysqlPoolOptions(42 as never)).toThrow(/options = 42/);
    expect(() => createMysqlPool({ uri: 'nope' })).toThrow(/uri/);
  });
});
