import { InvalidConfigError } from '@pool/core';
import { FaultProxy } from '@pool/testkit';
import { expectNoSecret, timeoutContext, useCleanup } from '@pool/testkit/conformance';
import { Redis } from 'ioredis';
import { describe, expect, it, vi } from 'vitest';
import type { RedisConnection } from './connection.js';
import { type RedisFactoryOptions, redisFactory } from './factory.js';
import { admin, clientInfo, kill, REDIS_TARGET, REDIS_URL, SECRET, secretUrl, uniqueKey, urlVia } from './test-support/redis.js';

const cleanup = useCleanup();

async function connect(options: RedisFactoryOptions = {}, url: string = REDIS_URL) {
  const factory = redisFactory(url, options);
  return { ...(await cleanup.open(factory)), factory };
}

/** What the server says about a connection's session (seen from another connection). */
async function server(conn: RedisConnection): Promise<{ db: string; sub: string; psub: string; multi: string; name: string }> {
  const { db = '', sub = '', psub = '', multi = '', name = '' } = await clientInfo(conn.clientId);
  return { db, sub, psub, multi, name };
}
const CLEAN = { db: '0', sub: '0', psub: '0', multi: '-1', name: '' };

describe.each(['reset', 'commands'] as const)("redisFactory: dirty tracking and reset ('%s')", (resetMode) => {
  it('is clean after plain commands, pipelines and multi().exec()', async () => {
    const { factory, conn } = await connect({ resetMode });
    const key = uniqueKey('clean');
    await conn.client.set(key, '1', 'EX', 60);
    await conn.client.pipeline().get(key).incr(key).exec();
    await conn.client.multi().incr(key).get(key).exec();
    expect(factory.isDirty(conn)).toBe(false);
    await admin('DEL', key);
  });

  it('clears an open MULTI, WATCHed keys, another database, subscriptions and a client name', async () => {
    const { factory, conn } = await connect({ resetMode });
    const key = uniqueKey('watched');
    const changes: [string, () => Promise<unknown>][] = [
      ['multi', () => conn.client.multi({ pipeline: false })],
      ['watch', () => conn.client.watch(key)],
      ['select', () => conn.client.select(5)],
      ['subscribe', () => conn.client.subscribe(`${key}:channel`)],
      ['psubscribe', () => conn.client.psubscribe(`${key}:*`)],
      ['client setname', () => conn.client.client('SETNAME', 'borrower')],
    ];
    for (const [what, change] of changes) {
      await change();
      expect([what, factory.isDirty(conn)]).toEqual([what, true]);
      await factory.reset(conn, timeoutContext());
      expect([what, factory.isDirty(conn)]).toEqual([what, false]);
      expect([what, await server(conn)]).toEqual([what, CLEAN]);
      expect(await conn.client.ping()).toBe('PONG');
    }
  });

  it('unwatches: a transaction after the reset is not aborted by a change to a key watched before it', async () => {
    const { factory, conn } = await connect({ resetMode });
    const key = uniqueKey('unwatch');
    await conn.client.watch(key);
    await factory.reset(conn, timeoutContext());
    await admin('SET', key, 'changed by someone else', 'EX', 60);
    expect(await conn.client.multi().set(key, 'mine').exec()).toEqual([[null, 'OK']]);
    await admin('DEL', key);
  });

  it('authenticates again after the reset, keeping the ACL user', async () => {
    const { factory, conn } = await connect({ resetMode }, await secretUrl());
    await conn.client.client('SETNAME', 'changed');
    await factory.reset(conn, timeoutContext());
    expect((await clientInfo(conn.clientId)).user).toBe('pool_redis_secret');
    expect(await conn.client.call('ACL', 'WHOAMI')).toBe('pool_redis_secret');
  });

  it('keeps the configured database and connection name as the clean state', async () => {
    const { factory, conn } = await connect({ resetMode }, `${REDIS_URL.replace(/\/\d*$/, '')}/2`);
    expect(conn.db).toBe(2);
    await conn.client.select(4);
    expect(factory.isDirty(conn)).toBe(true);
    await factory.reset(conn, timeoutContext());
    expect((await clientInfo(conn.clientId)).db).toBe('2');
    const named = redisFactory({ ...REDIS_TARGET, connectionName: 'pool-worker' }, { resetMode });
    const { conn: c } = await cleanup.open(named);
    await c.client.client('SETNAME', 'other');
    await named.reset(c, timeoutContext());
    expect((await clientInfo(c.clientId)).name).toBe('pool-worker');
  });
});

describe('redisFactory: reset', () => {
  it("reads the server version once and uses RESET on Redis 6.2+ in 'auto' mode", async () => {
    const { factory, conn } = await connect();
    const version = String(await conn.client.info('server')).match(/redis_version:(\d+)\.(\d+)/);
    expect(factory.serverVersion).toBe(`${version?.[1]}.${version?.[2]}`);
    const spy = vi.spyOn(conn.client, 'call');
    await conn.client.select(1);
    await factory.reset(conn, timeoutContext());
    const major = Number(version?.[1]);
    const minor = Number(version?.[2]);
    expect(spy.mock.calls.some((c) => c[0] === 'RESET')).toBe(major > 6 || (major === 6 && minor >= 2));
  });

  it('refuses to reset a connection blocked in a blocking command (the pool replaces it at once)', async () => {
    const { factory, conn } = await connect();
    const blocked = conn.client.blpop(uniqueKey('never'), 0);
    blocked.catch(() => {});
    expect(factory.isDirty(conn)).toBe(true);
    await expect(factory.reset(conn, timeoutContext())).rejects.toThrow(/blocking command is still running/);
  });

  it('re-runs onConnect after a reset, and what it sets is the clean state', async () => {
    const onConnect = vi.fn(async (c: RedisConnection) => {
      await c.client.client('SETNAME', 'from-on-connect');
    });
    const { factory, conn } = await connect({ onConnect });
    expect(factory.isDirty(conn)).toBe(false);
    await conn.client.select(2);
    await factory.reset(conn, timeoutContext());
    expect(onConnect).toHaveBeenCalledTimes(2);
    expect((await clientInfo(conn.clientId)).name).toBe('from-on-connect');
    expect(factory.isDirty(conn)).toBe(false);
  });
});

describe('redisFactory: validation and killed connections', () => {
  it('pings by default, sends validationCommand or the pool validator command when given', async () => {
    const { factory, conn } = await connect({ validationCommand: 'EXISTS health' });
    expect(await factory.validate(conn, timeoutContext())).toBe(true);
    expect(await factory.validate(conn, { ...timeoutContext(), query: 'NO_SUCH_COMMAND' })).toBe(false);
    expect(await factory.validate(conn, { ...timeoutContext(), query: 'PING' })).toBe(true);
  });

  it('rejects with the signal reason when a slow validation is aborted', async () => {
    const { factory, conn } = await connect();
    const controller = new AbortController();
    const validating = factory.validate(conn, { signal: controller.signal, query: `BLPOP ${uniqueKey('slow')} 5` });
    controller.abort(new Error('validation timed out'));
    await expect(validating).rejects.toThrow('validation timed out');
  });

  it('reports a connection killed while idle: markBroken, invalid, reset rejects, commands fail at once', async () => {
    const { factory, conn, markBroken } = await connect();
    await kill(conn.clientId);
    await vi.waitFor(() => expect(markBroken).toHaveBeenCalledTimes(1), { timeout: 10_000 });
    expect(conn.broken).toBe(true);
    expect(factory.isDirty(conn)).toBe(true);
    expect(await factory.validate(conn, timeoutContext())).toBe(false);
    await expect(factory.reset(conn, timeoutContext())).rejects.toThrow();
    // No offline queue, no reconnection: a command on a dead connection fails instead of waiting.
    await expect(conn.client.get('x')).rejects.toThrow(/closed|writeable/i);
    expect(conn.client.status).toBe('end');
  });

  it('fails a blocking command whose connection is killed', async () => {
    const { conn, markBroken } = await connect();
    const blocked = conn.client.blpop(uniqueKey('killed'), 0);
    blocked.catch(() => {});
    await vi.waitFor(async () => expect((await clientInfo(conn.clientId)).cmd).toBe('blpop'), { timeout: 10_000 });
    await kill(conn.clientId);
    await expect(blocked).rejects.toThrow(/closed/i);
    await vi.waitFor(() => expect(markBroken).toHaveBeenCalled(), { timeout: 10_000 });
  });
});

describe('redisFactory: connecting', () => {
  it('aborts a connect that a stalled network never answers, and closes its socket', async () => {
    const proxy = await FaultProxy.start({ target: REDIS_TARGET });
    cleanup.defer(() => proxy.close());
    proxy.stall();
    const factory = redisFactory(urlVia(proxy, REDIS_URL));
    const controller = new AbortController();
    const creating = factory.create({ signal: controller.signal, markBroken: () => {} });
    await vi.waitFor(() => expect(proxy.connections).toBe(1), { timeout: 10_000 });
    controller.abort(new Error('createTimeoutMs passed'));
    await expect(creating).rejects.toThrow('createTimeoutMs passed');
    await vi.waitFor(() => expect(proxy.connections).toBe(0), { timeout: 10_000 });
    expect(factory.openConnections).toBe(0);
  });

  it('reports wrong credentials without showing the password anywhere in the error', async () => {
    const url = new URL(await secretUrl());
    url.password = `${SECRET}-wrong`;
    const factory = redisFactory(url.toString());
    const error = await factory.create({ signal: AbortSignal.timeout(10_000), markBroken: () => {} }).catch((e: unknown) => e);
    expect(String(error)).toMatch(/WRONGPASS|invalid/i);
    expectNoSecret(SECRET, error);
  });
});

describe('redisFactory: bad input and secrets', () => {
  it('rejects a malformed URL without showing its password', () => {
    let error: unknown;
    try {
      redisFactory('redis://app:hunter2@cache:notaport/0');
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidConfigError);
    expect(String((error as Error).message)).not.toContain('hunter2');
    expect(() => redisFactory('http://cache:6379')).toThrow(/must start with 'redis:\/\/'/);
    expect(() => redisFactory('redis://cache:6379/zero')).toThrow(/database that is not a number/);
    expect(() => redisFactory('')).toThrow(/url/);
    expect(() => redisFactory(42 as never)).toThrow(/config = 42/);
  });

  it('refuses ioredis options that would make a pooled connection queue or reconnect, saying why', () => {
    expect(() => redisFactory({ enableOfflineQueue: true })).toThrow(/enableOfflineQueue = true: must be false .* instead of queueing/);
    expect(() => redisFactory({ retryStrategy: () => 100 })).toThrow(/retryStrategy .*pool replaces a broken connection/);
    expect(() => redisFactory({ lazyConnect: false })).toThrow(/lazyConnect = false/);
    expect(() => redisFactory({ maxRetriesPerRequest: null })).toThrow(/maxRetriesPerRequest = null/);
    expect(() => redisFactory({ db: -1 })).toThrow(/db = -1/);
    expect(() => redisFactory({ port: 70_000 })).toThrow(/port = 70000/);
    expect(redisFactory({ enableOfflineQueue: false, maxRetriesPerRequest: 1 })).toBeDefined();
  });

  it('rejects bad options, naming the option and the rule', () => {
    expect(() => redisFactory(REDIS_URL, { resetMode: 'flush' as never })).toThrow(/resetMode = "flush"/);
    expect(() => redisFactory(REDIS_URL, { validationCommand: ' ' })).toThrow(/validationCommand/);
    expect(() => redisFactory(REDIS_URL, { onConnect: 'PING' as never })).toThrow(/onConnect/);
    expect(() => redisFactory(REDIS_URL, { Redis: {} as never })).toThrow(/Redis/);
    expect(() => redisFactory(REDIS_URL, { reset: 'auto' } as never)).toThrow(/reset = "auto": is not a redisFactory option/);
  });

  it('never shows the password in toString, inspect or statistics', async () => {
    const { factory, conn } = await connect({}, await secretUrl());
    await conn.client.ping();
    expectNoSecret(SECRET, factory, factory.statistics(), conn);
    expect(String(factory)).toMatch(/^RedisFactory\(redis:\/\/pool_redis_secret@\S+, resetMode auto\)$/);
  });

  it('counts failed commands as query errors', async () => {
    const { factory, conn } = await connect();
    await expect(conn.client.call('NO_SUCH_COMMAND')).rejects.toThrow(/unknown command/i);
    expect(factory.statistics()).toEqual({ queryErrors: 1 });
  });
});

it('an ioredis client built by the test helper is a plain one (sanity check of the setup)', () => {
  expect(typeof Redis).toBe('function');
});
