import { ConnectionPool, type PooledConnection } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeConnection, FakeFactory } from '../test-support/fake-factory.js';
import { DriverPool, DriverPoolClient } from './driver-pool.js';

class FooClient extends DriverPoolClient<FakeConnection> {
  run(fail: boolean): Promise<number> {
    return this.track(async (conn) => {
      if (fail) throw new Error('syntax error');
      return conn.serial;
    });
  }
}

class FooPool extends DriverPool<FakeConnection, FakeFactory> {
  constructor(pool: ConnectionPool<FakeConnection>, factory: FakeFactory) {
    super('FooPool', pool, factory);
  }
  async connect(): Promise<FooClient> {
    return new FooClient(await this.pool.acquire());
  }
}

function fooPool(): FooPool {
  const factory = new FakeFactory();
  return new FooPool(ConnectionPool.open({ maxSize: 2 }, factory, { name: 'foo' }), factory);
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DriverPool', () => {
  it('runs use() through the engine, reporting a failure at release', async () => {
    const db = fooPool();
    expect(await db.use((conn) => conn.serial)).toBe(1);
    await expect(
      db.use(() => {
        throw new Error('app failure');
      }),
    ).rejects.toThrow('app failure');
    expect(db.statistics()).toMatchObject({ acquired: 2, released: 2, releasedWithError: 1 });
    expect(db.size()).toMatchObject({ total: 1, idle: 1 });
    await db.end();
  });

  it('relays pool events to on() listeners until off()', async () => {
    const db = fooPool();
    const acquired = vi.fn();
    expect(db.on('acquire', acquired)).toBe(db);
    await db.use(() => {});
    expect(db.off('acquire', acquired)).toBe(db);
    await db.use(() => {});
    expect(acquired).toHaveBeenCalledTimes(1);
    await db.close();
  });

  it('closes idempotently through end(), close() and await using', async () => {
    const db = fooPool();
    await db.use(() => {});
    await Promise.all([db.end(), db.close()]);
    expect(db.pool.state).not.toBe('open');
    {
      await using scoped = fooPool();
      await scoped.use(() => {});
      expect(scoped.pool.state).toBe('open');
    }
  });

  it('describes itself by its name, the pool and the factory', async () => {
    const db = fooPool();
    expect(String(db)).toBe(`FooPool(${String(db.pool)}, ${String(db.factory)})`);
    await db.end();
  });
});

describe('DriverPoolClient', () => {
  it('releases without an error when every call succeeded', async () => {
    const db = fooPool();
    const client = await db.connect();
    expect(await client.run(false)).toBe(client.connection.serial);
    client.release();
    expect(db.statistics()).toMatchObject({ released: 1, releasedWithError: 0 });
    expect(() => client.release()).toThrow(/released/);
    await db.end();
  });

  it('reports a failed call at release, so adaptive aging sees it', async () => {
    const db = fooPool();
    const client = await db.connect();
    await expect(client.run(true)).rejects.toThrow('syntax error');
    expect(await client.run(false)).toBeGreaterThan(0);
    client.release();
    expect(db.statistics()).toMatchObject({ released: 1, releasedWithError: 1 });
    await db.end();
  });

  it('is released at the end of an await using scope unless released already', async () => {
    const db = fooPool();
    let pooled: PooledConnection<FakeConnection> | undefined;
    {
      await using client = await db.connect();
      pooled = client.pooled;
    }
    expect(pooled?.released).toBe(true);
    {
      await using client = await db.connect();
      client.release();
    }
    expect(db.statistics().released).toBe(2);
    await db.end();
  });

  it('rejects a call after release instead of throwing synchronously', async () => {
    const db = fooPool();
    const client = await db.connect();
    client.release();
    await expect(client.run(false)).rejects.toMatchObject({ code: 'ERR_POOL_CONNECTION_RELEASED' });
    await db.end();
  });
});
