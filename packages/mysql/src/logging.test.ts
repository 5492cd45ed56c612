import { InvalidConfigError, type PoolLogger } from '@pool/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createMysqlPool, type MysqlPool } from './pool.js';
import { admin, kill, MYSQL_URL, SECRET, secretUrl, uniqueName } from './test-support/mysql.js';

/** A logger that keeps what it is given (console-style: message, fields). */
function recordingLogger() {
  const lines: { level: string; message: string; fields: Record<string, unknown> }[] = [];
  const at =
    (level: string) =>
    (message: unknown, fields: unknown): void =>
      void lines.push({ level, message: String(message), fields: (fields ?? {}) as Record<string, unknown> });
  const logger: PoolLogger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { logger, lines };
}

const pools: MysqlPool[] = [];
const tables: string[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.end();
  for (const t of tables.splice(0)) await admin(`DROP TABLE IF EXISTS ${t}`);
});

/** Polls `condition` (bounded). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('logging through the pool logger', () => {
  it('warns when the server cuts a pooled connection, with the connection and server but never the password', async () => {
    const { logger, lines } = recordingLogger();
    const pool = createMysqlPool({ uri: await secretUrl(), connectionLimit: 1, logger, poolOptions: { name: 'logged' } });
    pools.push(pool);
    const [[row]] = (await pool.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    await kill(row.id); // while it is idle in the pool
    await until(() => lines.some((l) => l.level === 'warn'), 'the warning');
    const warning = lines.find((l) => l.level === 'warn');
    expect(warning?.message).toMatch(/closed by the server or the network: the pool replaces it/);
    expect(warning?.fields).toMatchObject({ threadId: row.id, inTransaction: false, server: expect.stringContaining('127.0.0.1') });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
    // The pool goes on with a new connection.
    const [[again]] = (await pool.query('SELECT CONNECTION_ID() AS id')) as unknown as [[{ id: number }]];
    expect(again.id).not.toBe(row.id);
    // The top-level logger is the engine's too.
    expect(pool.pool.logger).toBe(logger);
  });

  it('says once, at debug, how dirty sessions are reset', async () => {
    const { logger, lines } = recordingLogger();
    const pool = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 1, poolOptions: { logger } });
    pools.push(pool);
    for (let i = 0; i < 3; i++) {
      const conn = await pool.getConnection();
      await conn.query('SET @dirty = 1');
      conn.release();
    }
    expect(pool.pool.statistics().connectionsCreated).toBe(1);
    const resets = lines.filter((l) => l.message.includes('sessions are reset with'));
    expect(resets).toHaveLength(1);
    expect(resets[0]).toMatchObject({ level: 'debug', message: expect.stringContaining('COM_RESET_CONNECTION') });
    // A logger given as poolOptions.logger is the adapter's too, and nothing was worth a warning.
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('warns when a read-only error retires a connection', async () => {
    const { logger, lines } = recordingLogger();
    const table = uniqueName('pool_mysql_log_ro');
    await admin(`CREATE TABLE ${table} (id INT)`);
    tables.push(table);
    const pool = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 1, logger });
    pools.push(pool);
    const conn = await pool.getConnection();
    await conn.query('START TRANSACTION READ ONLY');
    await expect(conn.query(`INSERT INTO ${table} VALUES (1)`)).rejects.toMatchObject({ errno: 1792 });
    conn.release();
    const warning = lines.find((l) => l.level === 'warn');
    expect(warning?.message).toMatch(/read-only error .*the connection is retired/);
    expect(warning?.fields).toMatchObject({ errno: 1792, threadId: conn.connection.threadId });
  });

  it('reports failed connects through the engine, without the password', async () => {
    const { logger, lines } = recordingLogger();
    // A port nobody listens on: the pool's own connect failures.
    const url = new URL(await secretUrl());
    url.port = '1';
    const pool = createMysqlPool({ uri: url.toString(), logger });
    pools.push(pool);
    await expect(pool.query('SELECT 1')).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    const warning = lines.find((l) => l.level === 'warn');
    expect(warning?.message).toMatch(/cannot open a connection.*ECONNREFUSED/);
    expect(JSON.stringify(lines)).not.toContain(SECRET);
  });

  it('does not warn about connections the pool closes itself', async () => {
    const { logger, lines } = recordingLogger();
    const pool = createMysqlPool({ uri: MYSQL_URL, connectionLimit: 2, logger });
    await Promise.all([pool.query('SELECT SLEEP(0.05)'), pool.query('SELECT SLEEP(0.05)')]);
    await pool.end();
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('refuses a logger without the four methods, and two different loggers', () => {
    expect(() => createMysqlPool({ uri: MYSQL_URL, logger: { info() {} } as never })).toThrow(InvalidConfigError);
    expect(() => createMysqlPool({ uri: MYSQL_URL, logger: { info() {} } as never })).toThrow(/logger.*debug, info, warn and error/);
    const a = recordingLogger().logger;
    const b = recordingLogger().logger;
    expect(() => createMysqlPool({ uri: MYSQL_URL, logger: a, poolOptions: { logger: b } })).toThrow(
      /logger.*conflicts with poolOptions\.logger/,
    );
  });
});
