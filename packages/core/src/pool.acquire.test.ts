import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionReleasedError, InvalidArgumentError, PoolClosedError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { PooledConnection } from './pooled-connection.js';
import { FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ConnectionPool.create', () => {
  it('opens initialSize connections before resolving (the seed "Basic Pool")', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 5, initialSize: 3 }, factory);
    expect(factory.open.size).toBe(3);
    expect(pool.size()).toEqual({ total: 3, idle: 3, active: 0, pending: 0, waiting: 0, limit: 5 });
    await pool.close();
  });

  it('fails fast with ConnectionCreateError when the database is down at start, and leaves nothing behind', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const err = await ConnectionPool.create({ minSize: 2, initialSize: 2 }, factory).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'ERR_POOL_CONNECTION_CREATE', name: 'ConnectionCreateError' });
    expect((err as Error).cause).toBe(factory.createError);
    expect((err as Error).message).toContain('ECONNREFUSED');
    const callsAfterFailure = factory.createCalls;
    await vi.advanceTimersByTimeAsync(60_000);
    expect(factory.createCalls).toBe(callsAfterFailure); // no retry loop survives the failed start
    expect(factory.open.size).toBe(0);
  });

  it('starts with the database down when initialSize is 0, and serves once it is back', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const pool = await ConnectionPool.create({ initialSize: 0, acquireTimeoutMs: 10_000 }, factory);
    const first = pool.acquire();
    await vi.advanceTimersByTimeAsync(300);
    factory.createDefault = 'ok';
    await vi.advanceTimersByTimeAsync(1_000);
    const conn = await first;
    expect(conn.connection.closed).toBe(false);
    conn.release();
    await pool.close();
  });

  it('starts when only some initial connections fail and tops up later', async () => {
    const factory = new FakeFactory();
    factory.createPlan = ['ok', 'fail', 'ok'];
    const pool = await ConnectionPool.create({ minSize: 3, initialSize: 3 }, factory);
    expect(pool.size().total).toBe(2);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pool.size().total).toBe(3);
    await pool.close();
  });

  it('rejects a factory without create or close, naming the member', () => {
    expect(() => ConnectionPool.open({}, { close: async () => {} } as never)).toThrow(/factory\.create/);
    expect(() => ConnectionPool.open({}, { create: async () => ({}) } as never)).toThrow(/factory\.close/);
    expect(() => ConnectionPool.open({}, null as never)).toThrow(InvalidArgumentError);
  });

  it('rejects unknown pool options', () => {
    expect(() => ConnectionPool.open({}, new FakeFactory(), { nmae: 'x' } as never)).toThrow(/nmae/);
  });

  it('rejects validateOnAcquire with a factory that cannot validate', () => {
    const factory = { create: async () => ({}), close: async () => {} };
    expect(() => ConnectionPool.open({ validateOnAcquire: true }, factory)).toThrow(/validateOnAcquire.*validate\(\)/);
  });
});

describe('acquire and release', () => {
  it('hands out an idle connection and takes it back (the seed "Acquiring Connections")', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1 }, factory);
    const conn = await pool.acquire();
    expect(conn).toBeInstanceOf(PooledConnection);
    expect(pool.size()).toMatchObject({ idle: 0, active: 1 });
    conn.connection.uses++;
    conn.release();
    expect(pool.size()).toMatchObject({ idle: 1, active: 0 });
    await pool.close();
  });

  it('exposes the guard API: connection, id, age, borrows', async () => {
    const pool = await ConnectionPool.create({ minSize: 1 }, new FakeFactory());
    await vi.advanceTimersByTimeAsync(1_500);
    const conn = await pool.acquire();
    expect(conn.connection.serial).toBe(1);
    expect(conn.connectionMut()).toBe(conn.connection);
    expect(conn.id).toBe(1);
    expect(conn.age).toBeGreaterThanOrEqual(1_500);
    expect(conn.borrows).toBe(1);
    expect(conn.poolName).toBe(pool.name);
    conn.release();
    await pool.close();
  });

  it('reuses idle connections most-recently-released first', async () => {
    const pool = await ConnectionPool.create({ minSize: 3, initialSize: 3 }, new FakeFactory());
    const a = await pool.acquire();
    const b = await pool.acquire();
    const c = await pool.acquire();
    const ids = [a.id, b.id, c.id];
    b.release();
    a.release();
    c.release();
    const first = await pool.acquire();
    const second = await pool.acquire();
    expect([first.id, second.id]).toEqual([ids[2], ids[0]]);
    first.release();
    second.release();
    await pool.close();
  });

  it('creates connections on demand up to maxSize', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ maxSize: 3 }, factory);
    const conns = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    expect(factory.createCalls).toBe(3);
    const fourth = pool.acquire();
    await flush();
    expect(factory.createCalls).toBe(3);
    expect(pool.size().waiting).toBe(1);
    conns[0]?.release();
    const handedOver = await fourth;
    expect(handedOver.id).toBe(conns[0]?.id);
    handedOver.release();
    for (const c of conns.slice(1)) c.release();
    await pool.close();
  });

  it('fails loudly when a released connection is used', async () => {
    const pool = await ConnectionPool.create({ minSize: 1 }, new FakeFactory());
    const conn = await pool.acquire();
    conn.release();
    expect(() => conn.connection).toThrow(ConnectionReleasedError);
    expect(() => conn.connection).toThrow(/was released/);
    expect(conn.released).toBe(true);
    await pool.close();
  });

  it('a second release throws and never hands the connection out twice', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1 }, new FakeFactory());
    const conn = await pool.acquire();
    conn.release();
    const next = await pool.acquire();
    expect(() => conn.release()).toThrow(ConnectionReleasedError);
    expect(next.released).toBe(false);
    expect(pool.size()).toMatchObject({ idle: 0, active: 1 });
    const third = pool.acquire();
    await flush();
    expect(pool.size().waiting).toBe(1);
    next.release();
    (await third).release();
    await pool.close();
  });

  it('releases through await using, also when the scope throws', async () => {
    const pool = await ConnectionPool.create({ minSize: 1 }, new FakeFactory());
    const attempt = async () => {
      await using conn = await pool.acquire();
      expect(pool.size().active).toBe(1);
      conn.connection.uses++;
      throw new Error('query failed');
    };
    await expect(attempt()).rejects.toThrow('query failed');
    expect(pool.size()).toMatchObject({ active: 0, idle: 1 });
    await pool.close();
  });

  it('pool.release and pool.destroy refuse a connection of another pool', async () => {
    const a = await ConnectionPool.create({ minSize: 1 }, new FakeFactory(), { name: 'a' });
    const b = await ConnectionPool.create({ minSize: 1 }, new FakeFactory(), { name: 'b' });
    const conn = await a.acquire();
    expect(() => b.release(conn)).toThrow(/belongs to another pool, not to 'b'/);
    expect(() => b.release({} as never)).toThrow(InvalidArgumentError);
    expect(conn.released).toBe(false);
    a.release(conn);
    expect(a.size().idle).toBe(1);
    await Promise.all([a.close(), b.close()]);
  });

  it('destroy() closes the connection instead of reusing it', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 0 }, factory);
    const conn = await pool.acquire();
    const raw = conn.connection;
    await conn.destroy(new Error('socket hang up'));
    expect(raw.closed).toBe(true);
    expect(pool.size().total).toBe(0);
    expect(pool.statistics().destroyedByReason.destroyed).toBe(1);
    expect(pool.statistics().releasedWithError).toBe(1);
    await pool.close();
  });

  it.each([
    [{ timeoutMs: -1 }, 'timeoutMs'],
    [{ timeoutMs: Number.NaN }, 'timeoutMs'],
    [{ timeoutMs: 'soon' }, 'timeoutMs'],
    [{ priority: 'urgent' }, 'priority'],
    [{ signal: {} }, 'signal'],
    [{ label: 42 }, 'label'],
    [{ timeout: 5 }, 'options.timeout'],
  ])('rejects bad acquire options %j naming %s, without touching pool state', async (options, argument) => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1 }, new FakeFactory());
    const err = await pool.acquire(options as never).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).argument).toBe(argument);
    expect(pool.size()).toEqual({ total: 1, idle: 1, active: 0, pending: 0, waiting: 0, limit: 1 });
    (await pool.acquire()).release();
    await pool.close();
  });

  it('rejects acquire after close at once', async () => {
    const pool = await ConnectionPool.create({}, new FakeFactory());
    await pool.close();
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolClosedError);
  });
});

describe('use()', () => {
  it('returns what the callback returns and releases', async () => {
    const pool = await ConnectionPool.create({ minSize: 1 }, new FakeFactory());
    const serial = await pool.use((conn) => conn.serial);
    expect(serial).toBe(1);
    expect(pool.size()).toMatchObject({ active: 0, idle: 1 });
    await pool.close();
  });

  it('releases with the error when the callback throws, and rethrows it', async () => {
    const pool = await ConnectionPool.create({ minSize: 1 }, new FakeFactory());
    const releases: unknown[] = [];
    pool.on('release', (e) => releases.push(e.error));
    const boom = new Error('syntax error at or near "SELEC"');
    await expect(
      pool.use(async () => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(releases).toEqual([boom]);
    expect(pool.size()).toMatchObject({ active: 0, idle: 1 });
    await pool.close();
  });

  it('does nothing more when the callback released or destroyed the connection itself', async () => {
    const pool = await ConnectionPool.create({ minSize: 1 }, new FakeFactory());
    await pool.use((_conn, pooled) => pooled.release());
    await pool.use((_conn, pooled) => pooled.destroy());
    expect(pool.statistics().released).toBe(2);
    await pool.close();
  });

  it('rejects a non-function', async () => {
    const pool = await ConnectionPool.create({}, new FakeFactory());
    await expect(pool.use('nope' as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    await pool.close();
  });
});

describe('acquire signal validation', () => {
  it('refuses a signal-like object the pool could not unsubscribe from, and stays consistent', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const held = await pool.acquire();
    const halfSignal = { aborted: false, addEventListener() {} } as unknown as AbortSignal;
    await expect(pool.acquire({ signal: halfSignal })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => held.release()).not.toThrow();
    const again = await pool.acquire();
    again.release();
    expect(pool.size()).toMatchObject({ idle: 1, active: 0, waiting: 0 });
    await pool.close();
  });

  it('accepts a signal from another realm or a polyfill that has what the pool uses', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const target = new EventTarget();
    const foreign = Object.assign(target, { aborted: false, reason: undefined }) as unknown as AbortSignal;
    const conn = await pool.acquire({ signal: foreign });
    conn.release();
    await pool.close();
  });
});
