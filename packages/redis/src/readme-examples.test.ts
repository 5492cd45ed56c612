/**
 * The README's examples, run against the real server (with keys unique to the run): the quick start,
 * and the seed's pool creation, configuration, acquiring connections and connection validator.
 */
import { ConnectionPool, ConnectionValidator, PoolConfig } from '@pool/core';
import { useCleanup } from '@pool/testkit/conformance';
import { expect, it, vi } from 'vitest';
import { redisFactory } from './factory.js';
import { createRedisPool } from './pool.js';
import { admin, REDIS_URL, uniqueKey } from './test-support/redis.js';

const cleanup = useCleanup();

it('README quick start: a worker, an optimistic transaction and a subscriber', async () => {
  const key = uniqueKey('readme');
  const [jobs, stock, orders, news] = [`${key}:jobs`, `${key}:stock:42`, `${key}:orders`, `${key}:news`];
  cleanup.defer(() => admin('DEL', jobs, stock, orders));
  await admin('RPUSH', jobs, 'job-1');
  await admin('SET', stock, '3');

  const redis = createRedisPool(REDIS_URL, { poolConfig: { maxSize: 16, acquireTimeoutMs: 5_000 } });
  cleanup.defer(() => redis.close());

  const job = await redis.use(({ client }) => client.blpop(jobs, 5));
  expect(job).toEqual([jobs, 'job-1']);

  const result = await redis.use(async ({ client }) => {
    await client.watch(stock);
    const current = Number(await client.get(stock));
    if (current < 1) return null;
    return client.multi().decr(stock).rpush(orders, '42').exec();
  });
  expect(result).toEqual([
    [null, 2],
    [null, 1],
  ]);

  const heard: string[] = [];
  const sub = await redis.subscribe((message, channel) => heard.push(`${channel} ${message}`), { channels: [news] });
  await admin('PUBLISH', news, 'hello');
  await vi.waitFor(() => expect(heard).toEqual([`${news} hello`]), { timeout: 10_000 });
  await sub.close();
  await redis.close();
});

it('README seed translation: builder config, ConnectionPool.create, validator, acquire with await using', async () => {
  const events = uniqueKey('events');
  const config = PoolConfig.builder().minSize(2).maxSize(16).acquireTimeoutMs(5_000).validateOnAcquire(true).build();
  const validator = new ConnectionValidator({ timeoutMs: 1_000 }).withQuery('PING').withFastValidation(true);
  const pool = await ConnectionPool.create(config, redisFactory(REDIS_URL), { validator });
  cleanup.defer(() => pool.close());
  {
    await using conn = await pool.acquire();
    const entries = await conn.connection.client.xread('BLOCK', 50, 'STREAMS', events, '$');
    expect(entries).toBeNull();
  }
  expect(pool.statistics()).toMatchObject({ acquired: 1, released: 1, resets: 0 });
  expect(validator.statistics().successRate).toBe(1);
});
