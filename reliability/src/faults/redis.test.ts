import { ConnectionPool, ConnectionTimeoutError, isPoolError } from '@pool/core';
import { type RedisConnection, redisFactory } from '@pool/redis';
import { PrivateRedis } from '@pool/test-servers';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { errorKind, isClearError, Load, sleep } from '../support/load.js';
import { report } from '../support/report.js';

/**
 * Redis faults. The restart runs against a private redis-server started by this file (never the
 * shared one on 6379); CLIENT KILL on the shared server targets only clients named by this test.
 */

const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
const ACQUIRE_TIMEOUT = 1_500;
const MAX_SIZE = 6;
const CALL_BOUND = ACQUIRE_TIMEOUT + 4_000;

let server: PrivateRedis | undefined;
const pools: ConnectionPool<RedisConnection>[] = [];

beforeAll(async () => {
  server = await PrivateRedis.start();
}, 60_000);

afterEach(async () => {
  await Promise.all(pools.splice(0).map((p) => p.close()));
});

afterAll(async () => {
  await server?.shutdown();
}, 60_000);

/** Runs `fn` with a short-lived admin client. */
async function admin<T>(url: string, fn: (r: Redis) => Promise<T>): Promise<T> {
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  await r.connect();
  try {
    return await fn(r);
  } finally {
    r.disconnect();
  }
}

/** Clients on the server with this name (CLIENT LIST `name=`), with their ids. */
function clientsNamed(url: string, name: string): Promise<number[]> {
  return admin(url, async (r) => {
    const list = (await r.client('LIST')) as string;
    return list
      .split('\n')
      .filter((line) => line.includes(` name=${name} `))
      .map((line) => Number(/(?:^|\s)id=(\d+)/.exec(line)?.[1]));
  });
}

describe('Redis restarted mid-load (private redis-server)', () => {
  it('gives callers clear errors during the outage, bounds every call, heals without an app restart and leaks nothing', async () => {
    const redis = server as PrivateRedis;
    const name = `rel_restart_${process.pid}`;
    const factory = redisFactory({ host: '127.0.0.1', port: redis.port, connectionName: name, commandTimeout: 2_000 });
    const pool = await ConnectionPool.create(
      { minSize: 2, maxSize: MAX_SIZE, acquireTimeoutMs: ACQUIRE_TIMEOUT, createTimeoutMs: 1_000, createRetryMaxDelayMs: 1_000 },
      factory,
    );
    pools.push(pool);
    pool.on('error', () => {});
    const load = new Load(8, () => pool.use((c) => c.client.incr(`rel:${process.pid}`)), CALL_BOUND).start();
    try {
      expect(await load.until(() => load.okSince(0) >= 20, 20_000)).toBe(true);
      const outageStart = performance.now();
      await redis.stop();
      await sleep(1_500);
      await redis.startAgain();
      const outageEnd = performance.now();
      expect(await load.until(() => load.okSince(outageEnd) >= 20, 30_000), 'calls succeed again after the restart').toBe(true);
      const result = await load.stop();
      const kinds: Record<string, number> = {};
      for (const o of result.outcomes) if (!o.ok) kinds[errorKind(o.error)] = (kinds[errorKind(o.error)] ?? 0) + 1;
      report('redis restart', { calls: result.outcomes.length, errors: kinds, stats: pool.statistics().destroyedByReason });
      expect(result.hung).toBe(0);
      expect(result.stuck).toBe(0);
      expect(load.errorsBetween(outageStart, outageEnd).length, 'callers saw errors during the outage').toBeGreaterThan(0);
      const unclear = result.outcomes.filter((o) => !o.ok && !isClearError(o.error)).map((o) => errorKind(o.error));
      expect(unclear).toEqual([]);
      expect(result.outcomes.some((o) => !o.ok && isPoolError(o.error))).toBe(true);
      for (const o of result.outcomes) {
        if (o.error instanceof ConnectionTimeoutError) expect(o.error.timeoutMs).toBe(ACQUIRE_TIMEOUT);
      }
      expect((await clientsNamed(redis.url, name)).length).toBeLessThanOrEqual(MAX_SIZE);
    } finally {
      await load.stop();
      await pool.close();
    }
    const s = pool.statistics();
    expect(s.connectionsCreated).toBe(s.connectionsDestroyed);
    expect(s.acquired).toBe(s.released);
    let left: number[] = [];
    for (let i = 0; i < 50; i++) {
      left = await clientsNamed(redis.url, name);
      if (left.length === 0) break;
      await sleep(100);
    }
    expect(left, 'clients left on the server after close').toEqual([]);
  }, 90_000);
});

describe('CLIENT KILL of our own clients on the shared Redis', () => {
  it('retires idle clients killed by the server; the next caller gets a working one', async () => {
    const name = `rel_kill_${process.pid}_idle`;
    const named = await ConnectionPool.create(
      { minSize: 3, maxSize: 4, acquireTimeoutMs: 5_000 },
      redisFactory({ ...parse(REDIS_URL), connectionName: name }),
    );
    pools.push(named);
    const ids = await clientsNamed(REDIS_URL, name);
    expect(ids).toHaveLength(3);
    await admin(REDIS_URL, async (r) => {
      for (const id of ids) await r.client('KILL', 'ID', String(id));
    });
    const end = performance.now() + 5_000;
    while (named.statistics().destroyedByReason.broken < 3 && performance.now() < end) await sleep(20);
    expect(named.statistics().destroyedByReason.broken).toBe(3);
    expect(await named.use((c) => c.client.ping())).toBe('PONG');
    expect(named.statistics().acquireFailures).toBe(0);
  });

  it('a client killed while blocked in BLPOP: the borrower gets a clear error and the client is not reused', async () => {
    const name = `rel_kill_${process.pid}_busy`;
    const pool = await ConnectionPool.create(
      { minSize: 1, maxSize: 2, acquireTimeoutMs: 5_000 },
      redisFactory({ ...parse(REDIS_URL), connectionName: name }),
    );
    pools.push(pool);
    const conn = await pool.acquire();
    const blocked = conn.connection.client.blpop(`rel:${process.pid}:never`, 30).then(
      () => null,
      (e: unknown) => e,
    );
    await sleep(100);
    const ids = await clientsNamed(REDIS_URL, name);
    expect(ids).toHaveLength(1);
    await admin(REDIS_URL, (r) => r.client('KILL', 'ID', String(ids[0])));
    const error = await blocked;
    expect(isClearError(error), String(error)).toBe(true);
    const killedId = conn.id;
    conn.release({ error });
    const again = await pool.acquire();
    expect(again.id).not.toBe(killedId);
    expect(await again.connection.client.ping()).toBe('PONG');
    again.release();
  });
});

function parse(url: string): { host: string; port: number } {
  const u = new URL(url);
  return { host: u.hostname, port: Number(u.port || 6379) };
}
