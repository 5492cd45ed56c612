import { InvalidConfigError, type PoolLogger } from '@pool/core';
import { useCleanup } from '@pool/testkit/conformance';
import Cursor from 'pg-cursor';
import { describe, expect, it } from 'vitest';
import { pgFactory } from './factory.js';
import { createPgPool, type PgPool } from './pool.js';
import { PG_URL, SECRET, SECRET_URL, terminate } from './test-support/pg.js';

const cleanup = useCleanup();

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

function pool(options: Parameters<typeof createPgPool>[0]): PgPool {
  const p = createPgPool(options);
  cleanup.defer(() => p.end());
  return p;
}

/** Polls `condition` (bounded). */
async function until(condition: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`not within 10 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe('logging through the pool logger', () => {
  it('warns when the server cuts a pooled connection, with the pid and server but never the password', async () => {
    const { logger, lines } = recordingLogger();
    const db = pool({ connectionString: SECRET_URL, max: 1, poolOptions: { logger, name: 'logged' } });
    const pid = (await db.query<{ pid: number }>('SELECT pg_backend_pid() AS pid')).rows[0]?.pid ?? null;
    await terminate(pid); // while it is idle in the pool
    await until(() => lines.some((l) => l.level === 'warn'), 'the warning');
    const warning = lines.find((l) => l.level === 'warn');
    expect(warning?.message).toMatch(/closed by the server or the network: the pool replaces it/);
    expect(warning?.fields).toMatchObject({ pid, queriesInFlight: 0, server: expect.stringContaining('127.0.0.1') });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
    // The pool goes on with a new connection.
    expect((await db.query('SELECT 1 AS ok')).rows).toEqual([{ ok: 1 }]);
  });

  it('reports session resets at debug and a connection retired as not ready at info', async () => {
    const { logger, lines } = recordingLogger();
    const db = pool({ connectionString: PG_URL, max: 1, logger });
    expect(db.pool.logger).toBe(logger); // the logger given at the top level is the pool's too
    const client = await db.connect();
    await client.query("SET application_name = 'logged'");
    client.release();
    await db.query('SELECT 1');
    const reset = lines.find((l) => l.message.startsWith('PostgreSQL session reset'));
    expect(reset?.level).toBe('debug');
    expect(reset?.fields.steps).toEqual(['session state cleared']);

    const busy = await db.connect();
    const cursor = busy.query(new Cursor('SELECT g FROM generate_series(1, 10) AS g'));
    await cursor.read(1);
    busy.release();
    await db.query('SELECT 1');
    const retired = lines.find((l) => l.message.includes('retires it instead of lending it again'));
    expect(retired?.level).toBe('info');
    expect(retired?.fields.reason).toMatch(/cursor or stream/);
  });

  it('reports a failed connect at debug (the pool warns), never a warning for connections the pool closes itself', async () => {
    const { logger, lines } = recordingLogger();
    const factory = pgFactory(`${SECRET_URL.replace(/\/[^/]*$/, '/')}pool_no_such_database`, { logger });
    await expect(factory.create({ signal: new AbortController().signal, markBroken() {} } as never)).rejects.toMatchObject({
      code: '3D000',
    });
    const failed = lines.find((l) => l.message.includes('could not be opened'));
    expect(failed?.level).toBe('debug');
    expect(failed?.fields.phase).toBe('connect');
    expect(JSON.stringify(lines)).not.toContain(SECRET);

    const quiet = recordingLogger();
    const db = createPgPool({ connectionString: PG_URL, max: 2, logger: quiet.logger });
    await db.query('SELECT 1');
    await db.end();
    expect(quiet.lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
  });

  it('refuses a logger without the four methods, and two different loggers', () => {
    expect(() => createPgPool({ connectionString: PG_URL, logger: { info() {} } as never })).toThrow(InvalidConfigError);
    expect(() => pgFactory(PG_URL, { logger: { info() {} } as never })).toThrow(/logger.*debug, info, warn and error/);
    const a = recordingLogger().logger;
    const b = recordingLogger().logger;
    expect(() => createPgPool({ connectionString: PG_URL, logger: a, poolOptions: { logger: b } })).toThrow(
      /logger.*conflicts with poolOptions\.logger/,
    );
  });
});
