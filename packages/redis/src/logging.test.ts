import { InvalidConfigError, type PoolLogger } from '@pool/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createRedisPool } from './pool.js';
import { kill, REDIS_URL, SECRET, secretUrl } from './test-support/redis.js';

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

const pools: { close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) await p.close();
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
    const redis = createRedisPool(await secretUrl(), { poolConfig: { minSize: 0, maxSize: 1 }, poolOptions: { logger, name: 'logged' } });
    pools.push(redis);
    const clientId = await redis.use((c) => c.clientId);
    await kill(clientId); // while it is idle in the pool
    await until(() => lines.some((l) => l.level === 'warn'), 'the warning');
    const warning = lines.find((l) => l.level === 'warn');
    expect(warning?.message).toMatch(/closed by the server or the network: the pool replaces it/);
    expect(warning?.fields).toMatchObject({ clientId, commandsInFlight: 0, server: expect.stringContaining('127.0.0.1') });
    expect(JSON.stringify(lines)).not.toContain(SECRET);
    // The pool goes on with a new connection.
    expect(await redis.use((c) => c.client.ping())).toBe('PONG');
    // Reset detection is reported once, at debug.
    expect(lines.filter((l) => l.message.includes('dirty sessions are reset with'))).toHaveLength(1);
    expect(lines.find((l) => l.message.includes('dirty sessions are reset with'))?.level).toBe('debug');
  });

  it('does not warn about connections the pool closes itself', async () => {
    const { logger, lines } = recordingLogger();
    const redis = createRedisPool(REDIS_URL, { logger, poolConfig: { minSize: 0, maxSize: 2 } });
    await redis.use((c) => c.client.ping());
    await redis.close();
    expect(lines.filter((l) => l.level === 'warn' || l.level === 'error')).toEqual([]);
    // The logger given at the top level is the pool's too.
    expect(redis.pool.logger).toBe(logger);
  });

  it('refuses a logger without the four methods, and two different loggers', async () => {
    expect(() => createRedisPool(REDIS_URL, { logger: { info() {} } as never })).toThrow(InvalidConfigError);
    expect(() => createRedisPool(REDIS_URL, { logger: { info() {} } as never })).toThrow(/logger.*debug, info, warn and error/);
    const a = recordingLogger().logger;
    const b = recordingLogger().logger;
    expect(() => createRedisPool(REDIS_URL, { logger: a, poolOptions: { logger: b } })).toThrow(
      /logger.*conflicts with poolOptions\.logger/,
    );
  });
});
