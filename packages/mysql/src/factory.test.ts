import { InvalidArgumentError, InvalidConfigError } from '@pool/core';
import { FaultProxy } from '@pool/testkit';
import { expectNoSecret, timeoutContext, useCleanup } from '@pool/testkit/conformance';
import type { RowDataPacket } from 'mysql2';
import { describe, expect, it, vi } from 'vitest';
import type { MysqlConnection } from './connection.js';
import { type MysqlFactoryOptions, mysqlFactory } from './factory.js';
import { admin, kill, MYSQL_TARGET, MYSQL_URL, SECRET, secretUrl, uniqueName, urlVia } from './test-support/mysql.js';

const cleanup = useCleanup();

async function connect(options: MysqlFactoryOptions = {}, url = MYSQL_URL) {
  const factory = mysqlFactory(url, options);
  return { ...(await cleanup.open(factory)), factory };
}
const one = async (conn: MysqlConnection, sql: string): Promise<Record<string, unknown> | undefined> =>
  (await conn.query<RowDataPacket[]>(sql))[0][0];

describe('mysqlFactory: dirty tracking and reset against the server', () => {
  it('is clean after plain statements and dirty after each kind of session change, which reset clears', async () => {
    for (const resetMode of ['reset', 'changeUser'] as const) {
      const { factory, conn } = await connect({ resetMode });
      await conn.query('SELECT 1');
      await conn.execute('SELECT ?', [1]);
      await conn.query('DO 1');
      expect(factory.isDirty(conn)).toBe(false);

      const changes = [
        'CREATE TEMPORARY TABLE pool_tmp (id INT)',
        "SET SESSION time_zone = '+03:00'",
        'SET @who = 1',
        "SELECT GET_LOCK('pool_mysql_lock', 0)",
        'SET NAMES latin1',
      ];
      for (const sql of changes) {
        await conn.query(sql);
        expect([sql, factory.isDirty(conn)]).toEqual([sql, true]);
        await factory.reset(conn, timeoutContext());
        expect([sql, factory.isDirty(conn)]).toEqual([sql, false]);
      }
      expect(await one(conn, "SELECT @@session.time_zone AS tz, @who AS who, IS_USED_LOCK('pool_mysql_lock') AS l")).toEqual({
        tz: 'SYSTEM',
        who: null,
        l: null,
      });
      expect(await one(conn, 'SELECT @@character_set_client AS cs')).toEqual({ cs: 'utf8mb4' });
      await expect(conn.query('SELECT * FROM pool_tmp')).rejects.toMatchObject({ code: 'ER_NO_SUCH_TABLE' });
      // mysql2 decodes results with the session character set again, not the latin1 of the borrower.
      expect(await one(conn, "SELECT 'żółw' AS s")).toEqual({ s: 'żółw' });
    }
  });

  it('reads the transaction status from the server: begin, commit, and autocommit off', async () => {
    const { factory, conn } = await connect();
    await conn.beginTransaction();
    expect(conn.inTransaction).toBe(true);
    await conn.commit();
    expect(conn.inTransaction).toBe(false);
    expect(factory.isDirty(conn)).toBe(false);
    await conn.query('SET autocommit = 0');
    await conn.query('SELECT 1');
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, 'SELECT @@autocommit AS a, @@in_transaction AS t')).toEqual({ a: 1, t: 0 });
  });

  it('rolls back the work of an abandoned transaction', async () => {
    const { factory, conn } = await connect();
    const table = uniqueName('pool_mysql_tx');
    await conn.query(`CREATE TABLE ${table} (id INT) ENGINE=InnoDB`);
    cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${table}`));
    await conn.query('START TRANSACTION');
    await conn.execute(`INSERT INTO ${table} VALUES (?)`, [1]);
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, `SELECT COUNT(*) AS n FROM ${table}`)).toEqual({ n: 0 });
  });

  it("sees session changes made inside a stored procedure through the server's session tracking", async () => {
    const { factory, conn } = await connect();
    expect(conn.sessionTracking).toBe(true);
    const proc = uniqueName('pool_mysql_proc');
    await admin(`CREATE PROCEDURE ${proc}() BEGIN SET @from_proc = 1; END`);
    cleanup.defer(() => admin(`DROP PROCEDURE IF EXISTS ${proc}`));
    await conn.query(`CALL ${proc}()`);
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(conn.sessionTracking).toBe(true); // enabled again after the reset
    expect(await one(conn, 'SELECT @from_proc AS v')).toEqual({ v: null });
  });

  it('treats every CALL as dirty when session tracking is off', async () => {
    const { factory, conn } = await connect({ trackSessionState: false });
    expect(conn.sessionTracking).toBe(false);
    const proc = uniqueName('pool_mysql_proc');
    await admin(`CREATE PROCEDURE ${proc}() BEGIN SELECT 1; END`);
    cleanup.defer(() => admin(`DROP PROCEDURE IF EXISTS ${proc}`));
    await conn.query(`CALL ${proc}()`);
    expect(factory.isDirty(conn)).toBe(true);
  });

  it('sees a session changed through the raw mysql2 client, in callback and event-emitter mode', async () => {
    const { factory, conn } = await connect();
    await new Promise((resolve, reject) => conn.client.query('SET @raw = 1', (err) => (err ? reject(err) : resolve(undefined))));
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(factory.isDirty(conn)).toBe(false);
    expect(await one(conn, 'SELECT @raw AS v')).toEqual({ v: null });
    await new Promise((resolve, reject) => conn.client.query('SET @raw = 2').on('error', reject).on('end', resolve));
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    await new Promise((resolve, reject) => conn.client.query('START TRANSACTION').on('error', reject).on('end', resolve));
    expect(conn.inTransaction).toBe(true);
  });

  it('selects the configured database again after a borrower ran USE, in both reset modes', async () => {
    for (const resetMode of ['reset', 'changeUser'] as const) {
      const { factory, conn } = await connect({ resetMode });
      const configured = (await one(conn, 'SELECT DATABASE() AS db'))?.db;
      expect(configured).toBe(new URL(MYSQL_URL).pathname.slice(1) || 'test');
      await conn.query('USE information_schema');
      expect(factory.isDirty(conn)).toBe(true);
      await factory.reset(conn, timeoutContext());
      expect(await one(conn, 'SELECT DATABASE() AS db')).toEqual({ db: configured });
      // Through the raw client, and in multi-statement text, too.
      await new Promise((resolve, reject) =>
        conn.client.query('USE information_schema', (err) => (err ? reject(err) : resolve(undefined))),
      );
      await factory.reset(conn, timeoutContext());
      expect(await one(conn, 'SELECT DATABASE() AS db')).toEqual({ db: configured });
    }
  });

  it('leaves no database selected after USE when none is configured', async () => {
    const url = new URL(MYSQL_URL);
    url.pathname = '/';
    const { factory, conn } = await connect({}, url.toString());
    expect(await one(conn, 'SELECT DATABASE() AS db')).toEqual({ db: null });
    await conn.query('USE information_schema');
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, 'SELECT DATABASE() AS db')).toEqual({ db: null });
  });

  it("restores the pool's account after a borrower's changeUser", async () => {
    const other = new URL(await secretUrl());
    const { factory, conn } = await connect();
    const poolUser = (await one(conn, 'SELECT CURRENT_USER() AS u'))?.u;
    await new Promise((resolve, reject) =>
      conn.client.changeUser({ user: decodeURIComponent(other.username), password: SECRET }, (err) =>
        err ? reject(err) : resolve(undefined),
      ),
    );
    expect(String((await one(conn, 'SELECT CURRENT_USER() AS u'))?.u)).toMatch(/^pool_mysql_secret@/);
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, 'SELECT CURRENT_USER() AS u, DATABASE() AS db')).toEqual({
      u: poolUser,
      db: new URL(MYSQL_URL).pathname.slice(1) || null,
    });
    expect(factory.resetCommand).toBe('reset');
  });

  it('retires a connection that got a read-only error (1792 here; also 1290 and 1836, as from a demoted writer)', async () => {
    const table = uniqueName('pool_mysql_ro');
    await admin(`CREATE TABLE ${table} (id INT)`);
    cleanup.defer(() => admin(`DROP TABLE IF EXISTS ${table}`));
    const { factory, conn } = await connect();
    await conn.query('START TRANSACTION READ ONLY');
    await expect(conn.query(`INSERT INTO ${table} VALUES (1)`)).rejects.toMatchObject({ errno: 1792 });
    expect(conn.broken).toBe(true);
    expect(await factory.validate(conn, timeoutContext())).toBe(false);
    // A statement error that says nothing about the server leaves the connection usable.
    const { conn: other } = await connect();
    await expect(other.query('SELEC 1')).rejects.toMatchObject({ errno: 1064 });
    expect(other.broken).toBe(false);
  });

  it('treats the session as dirty once markDirty is called', async () => {
    const { factory, conn } = await connect();
    expect(factory.isDirty(conn)).toBe(false);
    conn.markDirty();
    expect(factory.isDirty(conn)).toBe(true);
  });

  it('re-authenticates with the same account and password in changeUser mode', async () => {
    const { factory, conn } = await connect({ resetMode: 'changeUser' }, await secretUrl());
    const before = await one(conn, 'SELECT CURRENT_USER() AS u, CONNECTION_ID() AS id');
    await conn.query('SET @x = 1');
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, 'SELECT CURRENT_USER() AS u, CONNECTION_ID() AS id')).toEqual(before);
    expect(factory.resetCommand).toBe('changeUser');
  });

  it("falls back to COM_CHANGE_USER for good in 'auto' mode when the server refuses COM_RESET_CONNECTION", async () => {
    const { factory, conn } = await connect({ resetMode: 'auto' });
    const client = conn.client as unknown as { reset(cb: (err: Error | null) => void): void };
    const reset = vi.spyOn(client, 'reset').mockImplementation((cb) => {
      cb(Object.assign(new Error('Unknown command'), { errno: 1047, code: 'ER_UNKNOWN_COM_ERROR' }));
    });
    await conn.query('SET @x = 1');
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, 'SELECT @x AS x')).toEqual({ x: null });
    expect(factory.resetCommand).toBe('changeUser');
    await factory.reset(conn, timeoutContext());
    expect(reset).toHaveBeenCalledTimes(1);
  });

  it('runs onConnect on each new connection and again after a reset', async () => {
    const onConnect = vi.fn(async (c: MysqlConnection) => {
      await c.query("SET SESSION sql_mode = 'STRICT_ALL_TABLES'");
    });
    const { factory, conn } = await connect({ onConnect });
    expect(onConnect).toHaveBeenCalledTimes(1);
    expect(factory.isDirty(conn)).toBe(false);
    await conn.query("SET SESSION sql_mode = ''");
    await factory.reset(conn, timeoutContext());
    expect(onConnect).toHaveBeenCalledTimes(2);
    expect(await one(conn, 'SELECT @@session.sql_mode AS m')).toEqual({ m: 'STRICT_ALL_TABLES' });
    expect(factory.isDirty(conn)).toBe(false);
  });

  it('fails create when onConnect throws, without leaking the connection', async () => {
    const factory = mysqlFactory(MYSQL_URL, {
      onConnect: () => {
        throw new Error('refused by onConnect');
      },
    });
    await expect(factory.create({ signal: AbortSignal.timeout(10_000), markBroken: () => {} })).rejects.toThrow('refused by onConnect');
    expect(factory.openConnections).toBe(0);
  });
});

describe('mysqlFactory: validation and killed connections', () => {
  it('pings by default, runs validationQuery or the pool validator query when given', async () => {
    const { factory, conn } = await connect({ validationQuery: 'SELECT 2' });
    expect(await factory.validate(conn, timeoutContext())).toBe(true);
    expect(await factory.validate(conn, { ...timeoutContext(), query: 'SELECT * FROM no_such_table' })).toBe(false);
    expect(await factory.validate(conn, timeoutContext())).toBe(true);
    const ping = await connect();
    expect(ping.factory.validationQuery).toBeNull();
    expect(await ping.factory.validate(ping.conn, timeoutContext())).toBe(true);
  });

  it('rejects with the signal reason when a slow validation is aborted', async () => {
    const { factory, conn } = await connect();
    const controller = new AbortController();
    const validating = factory.validate(conn, { signal: controller.signal, query: 'SELECT SLEEP(5)' });
    controller.abort(new Error('validation timed out'));
    await expect(validating).rejects.toThrow('validation timed out');
    expect(factory.isDirty(conn)).toBe(true); // the statement still runs
  });

  it('reports a connection killed while idle: markBroken, invalid, reset rejects, close is safe', async () => {
    const { factory, conn, markBroken } = await connect();
    await kill(conn.threadId);
    await vi.waitFor(() => expect(markBroken).toHaveBeenCalledTimes(1), { timeout: 10_000 });
    expect(conn.broken).toBe(true);
    expect(factory.isDirty(conn)).toBe(true);
    expect(await factory.validate(conn, timeoutContext())).toBe(false);
    await expect(factory.reset(conn, timeoutContext())).rejects.toThrow();
    await factory.close(conn, timeoutContext());
  });

  it('fails a statement running when its connection is killed, with the server error', async () => {
    const { conn, markBroken } = await connect();
    const running = conn.query('SELECT SLEEP(30)');
    running.catch(() => {});
    await vi.waitFor(
      async () => {
        const rows = await admin<{ c: number }>(
          "SELECT COUNT(*) AS c FROM information_schema.PROCESSLIST WHERE ID = ? AND INFO LIKE 'SELECT SLEEP%'",
          [conn.threadId],
        );
        expect(rows[0]?.c).toBe(1);
      },
      { timeout: 10_000 },
    );
    await kill(conn.threadId);
    await expect(running).rejects.toThrow(/killed|lost|closed/i);
    await vi.waitFor(() => expect(markBroken).toHaveBeenCalled(), { timeout: 10_000 });
  });
});

describe('mysqlFactory: connecting', () => {
  it('aborts a connect that a stalled network never answers, and closes its socket', async () => {
    const proxy = await FaultProxy.start({ target: MYSQL_TARGET });
    cleanup.defer(() => proxy.close());
    proxy.stall();
    const factory = mysqlFactory(urlVia(proxy, MYSQL_URL));
    const controller = new AbortController();
    const creating = factory.create({ signal: controller.signal, markBroken: () => {} });
    await vi.waitFor(() => expect(proxy.connections).toBe(1), { timeout: 10_000 });
    controller.abort(new Error('createTimeoutMs passed'));
    await expect(creating).rejects.toThrow('createTimeoutMs passed');
    await vi.waitFor(() => expect(proxy.connections).toBe(0), { timeout: 10_000 });
    expect(factory.openConnections).toBe(0);
  });

  it('rejects at once when the signal is already aborted', async () => {
    const factory = mysqlFactory(MYSQL_URL);
    await expect(factory.create({ signal: AbortSignal.abort(new Error('closing')), markBroken: () => {} })).rejects.toThrow('closing');
  });

  it('reports wrong credentials without showing the password', async () => {
    const url = new URL(await secretUrl());
    url.password = `${SECRET}-wrong`;
    const factory = mysqlFactory(url.toString());
    const error = await factory.create({ signal: AbortSignal.timeout(10_000), markBroken: () => {} }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ER_ACCESS_DENIED_ERROR' });
    expectNoSecret(SECRET, error);
  });
});

describe('mysqlFactory: bad input and secrets', () => {
  it('rejects a malformed URL without showing its password', () => {
    let error: unknown;
    try {
      mysqlFactory('mysql://app:hunter2@db:notaport/app');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).field).toBe('uri');
    expect(String((error as Error).message)).not.toContain('hunter2');
    expect(() => mysqlFactory('postgres://db/app')).toThrow(/must start with 'mysql:\/\/'/);
    expect(() => mysqlFactory('')).toThrow(/uri/);
    expect(() => mysqlFactory(42 as never)).toThrow(/config = 42/);
    expect(() => mysqlFactory({ host: 'db', port: 'x' as never })).toThrow(/port = "x"/);
    expect(() => mysqlFactory({ host: 'db', connectionLimit: 5 } as never)).toThrow(/connectionLimit = 5: is a mysql2 pool option/);
  });

  it('rejects bad options, naming the option and the rule', () => {
    expect(() => mysqlFactory(MYSQL_URL, { statementCacheSize: -1 })).toThrow(
      /statementCacheSize = -1: must be an integer between 0 and 1000000/,
    );
    expect(() => mysqlFactory(MYSQL_URL, { resetMode: 'discard' as never })).toThrow(/resetMode = "discard"/);
    expect(() => mysqlFactory(MYSQL_URL, { validationQuery: ' ' })).toThrow(/validationQuery/);
    expect(() => mysqlFactory(MYSQL_URL, { trackSessionState: 'yes' as never })).toThrow(/trackSessionState/);
    expect(() => mysqlFactory(MYSQL_URL, { statmentCacheSize: 5 } as never)).toThrow(/statmentCacheSize = 5: is not a mysqlFactory option/);
    expect(() => mysqlFactory({ uri: MYSQL_URL, maxPreparedStatements: 3 }, { statementCacheSize: 4 })).toThrow(
      /maxPreparedStatements = 3: conflicts with statementCacheSize/,
    );
    expect(mysqlFactory({ uri: MYSQL_URL, maxPreparedStatements: 3 }).statementCacheSize).toBe(3);
    expect(() => mysqlFactory(MYSQL_URL, { onConnect: 'SET x' as never })).toThrow(/onConnect/);
  });

  it('rejects bad statement arguments with errors naming them, and keeps working', async () => {
    const { factory, conn } = await connect({ statementCacheSize: 2 });
    await expect(conn.query(42 as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(conn.execute({ text: 'SELECT 1' } as never)).rejects.toThrow(/sql = .*must be SQL text/);
    await expect(conn.execute('SELECT ?', 'x' as never)).rejects.toThrow(/values = "x": must be an array/);
    await expect(conn.execute('SELECT ?', [undefined])).rejects.toThrow(/values\[0\] = undefined: must not be undefined; pass null/);
    expect(factory.isDirty(conn)).toBe(false);
    expect((await conn.execute<RowDataPacket[]>('SELECT ? AS v', [null]))[0]).toEqual([{ v: null }]);
  });

  it('never shows the password in toString, inspect, statistics or errors', async () => {
    const { factory, conn } = await connect({ statementCacheSize: 2 }, await secretUrl());
    await conn.execute('SELECT ?', [1]);
    expectNoSecret(SECRET, factory, factory.statistics(), conn);
    expect(String(factory)).toMatch(/^MysqlFactory\(mysql:\/\/\S+, statementCacheSize 2, resetMode auto\)$/);
    const withObject = mysqlFactory({ host: '127.0.0.1', user: 'app', password: SECRET, database: 'test' });
    expectNoSecret(SECRET, withObject);
  });
});

describe('mysqlFactory: query values as mysql2 formats them', () => {
  it('accepts what mysql2 query() formats: an object for SET ?, a single value, undefined as NULL', async () => {
    const { conn } = await connect();
    await conn.query('CREATE TEMPORARY TABLE pool_values (a INT, b VARCHAR(5))');
    await conn.query('INSERT INTO pool_values SET ?', { a: 1, b: 'x' });
    expect((await conn.query<RowDataPacket[]>('SELECT b FROM pool_values WHERE a = ?', 1))[0]).toEqual([{ b: 'x' }]);
    expect((await conn.query<RowDataPacket[]>('SELECT ? AS v', [undefined]))[0]).toEqual([{ v: null }]);
    await expect(conn.query('SELECT ?', (() => 1) as never)).rejects.toThrow(/values = \[function .*\]: must not be a function/);
  });
});
