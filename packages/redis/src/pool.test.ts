import { ConnectionTimeoutError, InvalidArgumentError, InvalidConfigError } from '@pool/core';
import { FaultProxy } from '@pool/testkit';
import { useCleanup } from '@pool/testkit/conformance';
import { describe, expect, it, vi } from 'vitest';
import { createRedisPool, type RedisPool } from './pool.js';
import { admin, clientInfo, kill, REDIS_TARGET, REDIS_URL, uniqueKey, urlVia } from './test-support/redis.js';

const cleanup = useCleanup();

function pool(options: Parameters<typeof createRedisPool>[1] = {}, url = REDIS_URL): RedisPool {
  const p = createRedisPool(url, options);
  cleanup.defer(() => p.close());
  return p;
}

describe('createRedisPool: what one shared client cannot do', () => {
  it('serves BLPOP on several pooled connections at once: each blocks only its own connection', async () => {
    const redis = pool({ poolConfig: { maxSize: 4 } });
    const queue = uniqueKey('jobs');
    cleanup.defer(() => admin('DEL', queue));
    const waiters = [0, 1, 2, 3].map(() => redis.use(({ client }) => client.blpop(queue, 10)));
    await vi.waitFor(() => expect(redis.size().active).toBe(4), { timeout: 10_000 });
    // Four connections are blocked in BLPOP on the server, at the same time.
    await vi.waitFor(
      async () => {
        const list = String(await admin('CLIENT', 'LIST', 'TYPE', 'normal'));
        expect(list.split('\n').filter((l) => l.includes('cmd=blpop')).length).toBeGreaterThanOrEqual(4);
      },
      { timeout: 10_000 },
    );
    await admin('RPUSH', queue, 'a', 'b', 'c', 'd');
    const results = await Promise.all(waiters);
    expect(results.map((r) => r?.[1]).sort()).toEqual(['a', 'b', 'c', 'd']);
    expect(redis.statistics().resets).toBe(0); // a finished BLPOP leaves nothing to clean
  });

  it('keeps a WATCH/MULTI transaction on one connection, and clears WATCH and MULTI left behind', async () => {
    const redis = pool({ poolConfig: { maxSize: 1 } });
    const key = uniqueKey('counter');
    cleanup.defer(() => admin('DEL', key));
    // An optimistic transaction: WATCH, read, MULTI/EXEC on the same connection.
    const result = await redis.use(async ({ client }) => {
      await client.watch(key);
      const current = Number((await client.get(key)) ?? 0);
      return client
        .multi()
        .set(key, String(current + 1))
        .exec();
    });
    expect(result).toEqual([[null, 'OK']]);

    // A borrower that leaves keys watched and a MULTI open...
    const first = await redis.acquire();
    await first.connection.client.watch(key);
    await first.connection.client.multi({ pipeline: false });
    const id = first.connection.clientId;
    first.release();
    // ...hands the next borrower (the same connection) a clean one: no queued commands, no watch.
    const second = await redis.acquire();
    expect(second.connection.clientId).toBe(id);
    expect(await second.connection.client.get(key)).toBe('1');
    await admin('SET', key, 'changed', 'EX', 60);
    expect(await second.connection.client.multi().incr(`${key}:other`).exec()).toEqual([[null, 1]]);
    second.release();
    await admin('DEL', `${key}:other`);
    expect(redis.statistics().resets).toBe(1);
  });

  it('subscribes a pooled connection, delivers channel and pattern messages, and gives it back clean', async () => {
    const redis = pool({ poolConfig: { maxSize: 1 } });
    const prefix = uniqueKey('news');
    const heard: [string, string, string | undefined][] = [];
    const sub = await redis.subscribe((message, channel, pattern) => heard.push([message, channel, pattern]), {
      channels: [`${prefix}:a`],
      patterns: [`${prefix}:p:*`],
    });
    const id = sub.pooled.connection.clientId;
    expect(await clientInfo(id)).toMatchObject({ sub: '1', psub: '1' });
    await admin('PUBLISH', `${prefix}:a`, 'hello');
    await admin('PUBLISH', `${prefix}:p:1`, 'world');
    await vi.waitFor(
      () =>
        expect(heard).toEqual([
          ['hello', `${prefix}:a`, undefined],
          ['world', `${prefix}:p:1`, `${prefix}:p:*`],
        ]),
      { timeout: 10_000 },
    );
    expect(sub.broken).toBe(false);
    await sub.close();
    await sub.close();
    expect(sub.closed).toBe(true);
    await redis.use(async ({ client, clientId }) => {
      expect(clientId).toBe(id);
      expect(await clientInfo(clientId)).toMatchObject({ sub: '0', psub: '0' });
      expect(await client.get(`${prefix}:x`)).toBeNull(); // a normal connection again
    });
    await admin('PUBLISH', `${prefix}:a`, 'after close');
    expect(heard).toHaveLength(2);
  });

  it("hands a throwing listener's error to onError and keeps delivering", async () => {
    const redis = pool({ poolConfig: { maxSize: 1 } });
    const channel = uniqueKey('throws');
    const errors: unknown[] = [];
    const heard: string[] = [];
    const sub = await redis.subscribe(
      (message) => {
        heard.push(message);
        if (message === 'bad') throw new Error('listener failed');
      },
      { channels: [channel], onError: (e) => errors.push(e) },
    );
    await admin('PUBLISH', channel, 'bad');
    await admin('PUBLISH', channel, 'good');
    await vi.waitFor(() => expect(heard).toEqual(['bad', 'good']), { timeout: 10_000 });
    expect(errors).toEqual([new Error('listener failed')]);
    await sub.close();
    await expect(redis.subscribe(() => {}, { channels: ['x'], onError: 'log' as never })).rejects.toThrow(/onError/);
  });

  it('use() always gives the connection back, also when the callback throws, and reports the error', async () => {
    const redis = pool({ poolConfig: { maxSize: 1 } });
    await expect(
      redis.use(async ({ client }) => {
        await client.select(7);
        throw new Error('app failure');
      }),
    ).rejects.toThrow('app failure');
    expect(await redis.use(async ({ client, clientId }) => [await client.ping(), (await clientInfo(clientId)).db])).toEqual(['PONG', '0']);
    expect(redis.statistics()).toMatchObject({ releasedWithError: 1, resets: 1 });
  });
});

describe('createRedisPool survives CLIENT KILL and outages', () => {
  it('replaces idle connections killed by the server, without crashing the process', async () => {
    const redis = pool({ poolConfig: { minSize: 2, maxSize: 2, maintenanceIntervalMs: 50, createRetryDelayMs: 10 } });
    await vi.waitFor(() => expect(redis.size().idle).toBe(2), { timeout: 10_000 });
    const held = await Promise.all([redis.acquire(), redis.acquire()]);
    const victims = held.map((c) => c.connection.clientId);
    for (const c of held) c.release();
    for (const id of victims) await kill(id);
    await vi.waitFor(() => expect(redis.statistics().destroyedByReason.broken).toBe(2), { timeout: 10_000 });
    await vi.waitFor(() => expect(redis.size().idle).toBe(2), { timeout: 10_000 });
    expect(victims).not.toContain(await redis.use((c) => c.clientId));
  });

  it('fails a borrower whose connection is killed mid-BLPOP with a clear error, then heals', async () => {
    const redis = pool({ poolConfig: { maxSize: 1 } });
    const key = uniqueKey('killed');
    let victim: number | null = null;
    const blocked = redis.use(async ({ client, clientId }) => {
      victim = clientId;
      return client.blpop(key, 30);
    });
    await vi.waitFor(async () => expect((await clientInfo(victim)).cmd).toBe('blpop'), { timeout: 10_000 });
    await kill(victim);
    await expect(blocked).rejects.toThrow(/Connection is closed/);
    expect(await redis.use((c) => c.clientId)).not.toBe(victim);
    expect(redis.statistics()).toMatchObject({ releasedWithError: 1, destroyedByReason: expect.objectContaining({ broken: 1 }) });
  });

  it('survives a restart-like outage through a fault proxy: errors while down, healed after', async () => {
    const proxy = await FaultProxy.start({ target: REDIS_TARGET });
    cleanup.defer(() => proxy.close());
    const redis = createRedisPool(urlVia(proxy, REDIS_URL), {
      poolConfig: {
        minSize: 2,
        maxSize: 4,
        acquireTimeoutMs: 500,
        createRetryDelayMs: 20,
        createRetryMaxDelayMs: 100,
        maintenanceIntervalMs: 50,
      },
    });
    cleanup.defer(() => redis.close());
    await Promise.all([redis.use((c) => c.client.ping()), redis.use((c) => c.client.ping())]);
    proxy.refuse();
    proxy.killAll();
    await vi.waitFor(() => expect(redis.size().total).toBe(0), { timeout: 10_000 });
    expect(await redis.use((c) => c.client.ping()).catch((e: unknown) => e)).toBeInstanceOf(ConnectionTimeoutError);
    proxy.forward();
    await vi.waitFor(() => redis.use((c) => c.client.ping()), { timeout: 10_000 });
    expect(await Promise.all([1, 2, 3, 4].map(() => redis.use((c) => c.client.ping())))).toEqual(['PONG', 'PONG', 'PONG', 'PONG']);
  });
});

describe('createRedisPool: bad input', () => {
  it('rejects bad options and bad subscribe arguments, naming them', async () => {
    expect(() => createRedisPool(REDIS_URL, { maxSize: 3 } as never)).toThrow(/maxSize = 3: is not a createRedisPool option/);
    expect(() => createRedisPool(REDIS_URL, { poolConfig: { maxSise: 3 } as never })).toThrow(InvalidConfigError);
    expect(() => createRedisPool(REDIS_URL, null as never)).toThrow(/options = null/);
    expect(() => createRedisPool('nope')).toThrow(/url/);
    const redis = pool();
    await expect(redis.subscribe('x' as never, { channels: ['a'] })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(redis.subscribe(() => {}, { channels: [] })).rejects.toThrow(/at least one channel or pattern/);
    await expect(redis.subscribe(() => {}, { channels: [''] })).rejects.toThrow(/channels = \[""\]/);
    await expect(redis.use('PING' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(redis.size().total).toBe(0); // nothing was borrowed or leaked
  });
});
