import { InvalidConfigError } from '@pool/core';
import { FaultProxy } from '@pool/testkit';
import { expectNoSecret, timeoutContext, useCleanup } from '@pool/testkit/conformance';
import { describe, expect, it, vi } from 'vitest';
import type { PgConnection } from './connection.js';
import { type PgFactoryOptions, pgFactory } from './factory.js';
import { PG_TARGET, PG_URL, SECRET, SECRET_URL, terminate, uniqueName, urlVia } from './test-support/pg.js';

const cleanup = useCleanup();

async function connect(options: PgFactoryOptions = {}, url = PG_URL) {
  const factory = pgFactory(url, options);
  return { ...(await cleanup.open(factory)), factory };
}
const one = async <T>(conn: PgConnection, sql: string): Promise<T> => (await conn.query(sql)).rows[0] as T;

describe('pgFactory: dirty tracking and reset against the server', () => {
  it('is clean after plain queries and dirty after each kind of session change, which reset clears', async () => {
    const { factory, conn } = await connect();
    const table = uniqueName('pool_pg_tmp');
    await conn.query('SELECT 1');
    await conn.query('SELECT $1::int', [1]);
    expect(factory.isDirty(conn)).toBe(false);

    await conn.query(`CREATE TEMP TABLE ${table} (id int)`);
    await conn.query(`LISTEN ${table}`);
    await conn.query('SELECT pg_advisory_lock(4242)');
    await conn.query("SET statement_timeout = '5s'");
    expect(factory.isDirty(conn)).toBe(true);

    await factory.reset(conn, timeoutContext());
    expect(factory.isDirty(conn)).toBe(false);
    expect(await one(conn, `SELECT to_regclass('pg_temp.${table}') AS t`)).toEqual({ t: null });
    expect(await one(conn, 'SELECT count(*)::int AS n FROM pg_listening_channels()')).toEqual({ n: 0 });
    expect(await one(conn, "SELECT count(*)::int AS n FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()")).toEqual({
      n: 0,
    });
    expect(await one(conn, 'SHOW statement_timeout')).toEqual({ statement_timeout: '0' });
  });

  it('reports a failed transaction and rolls it back', async () => {
    const { factory, conn } = await connect();
    await conn.query('BEGIN');
    await expect(conn.query('SELECT 1/0')).rejects.toThrow(/division by zero/);
    expect(conn.transactionStatus).toBe('E');
    expect(conn.inTransaction).toBe(true);
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(conn.transactionStatus).toBe('I');
    expect(await one(conn, 'SELECT 1 AS ok')).toEqual({ ok: 1 });
  });

  it('knows the transaction failed as soon as the failing query rejects (simple and extended protocol)', async () => {
    const { factory, conn } = await connect({ statementCacheSize: 5 });
    for (let i = 0; i < 20; i++) {
      await expect(conn.query('BEGIN; SELECT 1/0')).rejects.toThrow(/division by zero/);
      expect(conn.transactionStatus).toBe('E');
      expect(factory.isDirty(conn)).toBe(true);
      await factory.reset(conn, timeoutContext());
      await conn.query('BEGIN');
      await expect(conn.query('SELECT $1::int / 0', [i])).rejects.toThrow(/division by zero/);
      expect(conn.transactionStatus).toBe('E');
      await factory.reset(conn, timeoutContext());
      expect(factory.isDirty(conn)).toBe(false);
    }
  });

  it('rolls back the work of an abandoned transaction', async () => {
    const { factory, conn } = await connect();
    const table = uniqueName('pool_pg_tx');
    await conn.query(`CREATE TABLE ${table} (id int)`);
    cleanup.defer(() => conn.query(`DROP TABLE IF EXISTS ${table}`));
    await conn.query('BEGIN');
    await conn.query(`INSERT INTO ${table} VALUES (1)`);
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, `SELECT count(*)::int AS n FROM ${table}`)).toEqual({ n: 0 });
  });

  it('treats a session changed through the raw client as dirty once markDirty is called', async () => {
    const { factory, conn } = await connect();
    await conn.client.query("SET application_name = 'raw'");
    expect(factory.isDirty(conn)).toBe(false);
    conn.markDirty();
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect(await one(conn, 'SHOW application_name')).toEqual({ application_name: '' });
  });

  it('runs onConnect on each new connection and again after a reset that cleared the session', async () => {
    const onConnect = vi.fn(async (c: PgConnection) => {
      await c.query('SET search_path TO pg_catalog, public');
    });
    const { factory, conn } = await connect({ onConnect });
    expect(onConnect).toHaveBeenCalledTimes(1);
    expect(factory.isDirty(conn)).toBe(false);
    expect(await one(conn, 'SHOW search_path')).toEqual({ search_path: 'pg_catalog, public' });
    await conn.query("SET search_path TO 'other'");
    await factory.reset(conn, timeoutContext());
    expect(onConnect).toHaveBeenCalledTimes(2);
    expect(await one(conn, 'SHOW search_path')).toEqual({ search_path: 'pg_catalog, public' });
    expect(factory.isDirty(conn)).toBe(false);
  });

  it('fails create when onConnect throws, without leaking the connection', async () => {
    const factory = pgFactory(PG_URL, {
      onConnect: () => {
        throw new Error('refused by onConnect');
      },
    });
    await expect(factory.create({ signal: AbortSignal.timeout(10_000), markBroken: () => {} })).rejects.toThrow('refused by onConnect');
    expect(factory.openConnections).toBe(0);
  });
});

describe('pgFactory: validation', () => {
  it('uses validationQuery, and the query of the pool validator when given', async () => {
    const { factory, conn } = await connect({ validationQuery: 'SELECT 2' });
    expect(await factory.validate(conn, timeoutContext())).toBe(true);
    expect(await factory.validate(conn, { ...timeoutContext(), query: 'SELECT * FROM no_such_table' })).toBe(false);
    expect(await factory.validate(conn, timeoutContext())).toBe(true);
  });

  it('rejects with the signal reason when a slow validation is aborted', async () => {
    const { factory, conn } = await connect();
    const controller = new AbortController();
    const validating = factory.validate(conn, { signal: controller.signal, query: 'SELECT pg_sleep(5)' });
    controller.abort(new Error('validation timed out'));
    await expect(validating).rejects.toThrow('validation timed out');
  });

  it('reports a terminated backend as invalid and calls markBroken', async () => {
    const { factory, conn, markBroken } = await connect();
    await terminate(conn.processID);
    await vi.waitFor(() => expect(markBroken).toHaveBeenCalledTimes(1), { timeout: 10_000 });
    expect(conn.broken).toBe(true);
    expect(factory.isDirty(conn)).toBe(true);
    expect(await factory.validate(conn, timeoutContext())).toBe(false);
    await expect(factory.reset(conn, timeoutContext())).rejects.toThrow();
  });
});

describe('pgFactory: connecting', () => {
  it('aborts a connect that a stalled network never answers, and closes its socket', async () => {
    const proxy = await FaultProxy.start({ target: PG_TARGET });
    cleanup.defer(() => proxy.close());
    proxy.stall();
    const factory = pgFactory(urlVia(proxy, SECRET_URL));
    const controller = new AbortController();
    const creating = factory.create({ signal: controller.signal, markBroken: () => {} });
    await vi.waitFor(() => expect(proxy.connections).toBe(1));
    controller.abort(new Error('createTimeoutMs passed'));
    await expect(creating).rejects.toThrow('createTimeoutMs passed');
    await vi.waitFor(() => expect(proxy.connections).toBe(0));
  });

  it('rejects at once when the signal is already aborted', async () => {
    const factory = pgFactory(PG_URL);
    await expect(factory.create({ signal: AbortSignal.abort(new Error('closing')), markBroken: () => {} })).rejects.toThrow('closing');
  });

  it('lets the process exit while idle with allowExitOnIdle: the socket is unref-ed between queries', async () => {
    const { conn } = await connect({ allowExitOnIdle: true });
    const handle = (conn.client as unknown as { connection: { stream: { _handle: { hasRef(): boolean } } } }).connection.stream._handle;
    expect(handle.hasRef()).toBe(false);
    const running = conn.query('SELECT pg_sleep(0.05)');
    expect(handle.hasRef()).toBe(true);
    await running;
    expect(handle.hasRef()).toBe(false);
  });
});

describe('pgFactory: bad input and secrets', () => {
  it('rejects a malformed connection string without showing its password', () => {
    let error: unknown;
    try {
      pgFactory('postgres://app:hunter2@db:notaport/app');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect((error as InvalidConfigError).field).toBe('connectionString');
    expect(String((error as Error).message)).not.toContain('hunter2');
    expect(() => pgFactory('mysql://db/app')).toThrow(/must start with 'postgres:\/\/'/);
    expect(() => pgFactory('')).toThrow(/connectionString/);
    expect(() => pgFactory(42 as never)).toThrow(/config = 42/);
  });

  it('rejects bad options, naming the option and the rule', () => {
    expect(() => pgFactory(PG_URL, { statementCacheSize: -1 })).toThrow(
      /statementCacheSize = -1: must be an integer between 0 and 1000000/,
    );
    expect(() => pgFactory(PG_URL, { resetMode: 'discard' as never })).toThrow(/resetMode = "discard"/);
    expect(() => pgFactory(PG_URL, { validationQuery: ' ' })).toThrow(/validationQuery/);
    expect(() => pgFactory(PG_URL, { statmentCacheSize: 5 } as never)).toThrow(/statmentCacheSize = 5: is not a pgFactory option/);
    expect(() => pgFactory({ host: 'db', port: 'x' as never })).toThrow(/port = "x"/);
    expect(() => pgFactory(PG_URL, { onConnect: 'SET x' as never })).toThrow(/onConnect/);
  });

  it('rejects bad query arguments', async () => {
    const { conn } = await connect();
    await expect(conn.query(42 as never)).rejects.toThrow(/query = 42/);
    await expect(conn.query('SELECT $1', 'x' as never)).rejects.toThrow(/values = "x": must be an array/);
  });

  it('never shows the password in toString, inspect, statistics or connect errors', async () => {
    const { factory, conn } = await connect({ statementCacheSize: 2 }, SECRET_URL);
    await conn.query('SELECT $1::int', [1]);
    expectNoSecret(SECRET, factory, factory.statistics(), conn);
    expect(String(factory)).toMatch(/^PgFactory\(postgres:\/\/\S+, statementCacheSize 2, resetMode session\)$/);
    const unreachable = pgFactory(urlVia({ host: '127.0.0.1', port: 1 }, SECRET_URL));
    const error = await unreachable.create({ signal: AbortSignal.timeout(10_000), markBroken: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expectNoSecret(SECRET, error);
  });
});

describe('pgFactory: client-side query errors', () => {
  it("keeps pg's query_timeout effective: the error is not held back waiting for the server", async () => {
    const url = new URL(PG_URL);
    const factory = pgFactory({ connectionString: url.toString(), query_timeout: 100 });
    const { conn } = await cleanup.open(factory);
    await expect(conn.query('SELECT pg_sleep(20)')).rejects.toThrow(/Query read timeout/);
    expect(factory.isDirty(conn)).toBe(true); // the statement still runs on the server
  });
});
