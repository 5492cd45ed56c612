import { EventEmitter, once } from 'node:events';
import { ConnectionPool, type PooledConnection } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type FakeConnection, FakeFactory } from '../test-support/fake-factory.js';
import { DriverPool, DriverPoolClient, impersonate } from './driver-pool.js';

class FooClient extends DriverPoolClient<FakeConnection> {
  run(fail: boolean): Promise<number> {
    return this.track(async (conn) => {
      if (fail) throw new Error('syntax error');
      return conn.serial;
    });
  }
}

interface FooPoolEvents {
  acquire: [conn: FakeConnection];
}

class FooPool extends DriverPool<FakeConnection, FakeFactory, FooPoolEvents> {
  constructor(pool: ConnectionPool<FakeConnection>, factory: FakeFactory) {
    super('FooPool', pool, factory);
  }
  async connect(): Promise<FooClient> {
    if (this.draining) throw new Error('Cannot use a pool after calling end on the pool');
    const pooled = await this.acquireTracked();
    this.emit('acquire', pooled.connection);
    return new FooClient(pooled);
  }
  override end(): Promise<void> {
    return this.drainThenClose();
  }
}

function fooPool(): FooPool {
  const factory = new FakeFactory();
  return new FooPool(ConnectionPool.open({ maxSize: 2 }, factory, { name: 'foo' }), factory);
}

/** A driver's own pool class, as `pg.Pool` is: an EventEmitter with methods the facade replaces. */
class DriverLikePool extends EventEmitter {
  connect(): string {
    return 'the driver ran';
  }
  untouched(): string {
    return 'inherited from the driver';
  }
}

class Impersonator extends DriverPool<FakeConnection, FakeFactory> {
  constructor(pool: ConnectionPool<FakeConnection>, factory: FakeFactory) {
    super('Impersonator', pool, factory);
  }
  connect(): string {
    return 'the facade ran';
  }
}
impersonate(Impersonator, DriverLikePool);

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

  it("is a node:events EventEmitter of the driver's events; the engine's stay on pool.pool", async () => {
    const db = fooPool();
    expect(db).toBeInstanceOf(EventEmitter);
    const engineAcquires = vi.fn();
    db.pool.on('acquire', engineAcquires);
    const acquired = once(db, 'acquire');
    const client = await db.connect();
    expect(await acquired).toEqual([client.connection]);
    client.release();
    const listener = vi.fn();
    expect(db.on('acquire', listener)).toBe(db);
    (await db.connect()).release();
    expect(db.off('acquire', listener)).toBe(db);
    (await db.connect()).release();
    expect(listener).toHaveBeenCalledTimes(1);
    expect(engineAcquires).toHaveBeenCalledTimes(3);
    await db.close();
  });

  it('lets end() serve the callers already waiting, then closes; later calls are refused', async () => {
    const db = fooPool();
    const [a, b] = await Promise.all([db.connect(), db.connect()]);
    const queued = [db.connect(), db.connect()];
    const ended = db.end();
    await expect(db.connect()).rejects.toThrow('Cannot use a pool after calling end');
    let closed = false;
    void ended.then(() => {
      closed = true;
    });
    a?.release();
    b?.release();
    const served = await Promise.all(queued);
    expect(served.map((c) => c.connection.serial).sort()).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(0);
    expect(closed).toBe(false); // the served callers still hold their connections
    for (const c of served) c.release();
    await ended;
    expect(db.pool.state).toBe('closed');
    expect(db.factory.open.size).toBe(0);
  });

  it('ends at once when nothing is waiting, and every end() call resolves', async () => {
    const db = fooPool();
    (await db.connect()).release();
    await Promise.all([db.end(), db.end(), db.close()]);
    expect(db.pool.state).toBe('closed');
  });

  it('passes instanceof for the driver class it impersonates, keeping its own methods', async () => {
    const factory = new FakeFactory();
    const db = new Impersonator(ConnectionPool.open({ maxSize: 1 }, factory), factory);
    expect(db).toBeInstanceOf(DriverLikePool);
    expect(db).toBeInstanceOf(DriverPool);
    expect(db).toBeInstanceOf(Impersonator);
    expect(db).toBeInstanceOf(EventEmitter);
    expect(db.connect()).toBe('the facade ran');
    expect((db as unknown as DriverLikePool).untouched()).toBe('inherited from the driver');
    expect(await db.use((conn) => conn.serial)).toBe(1);
    expect(String(db)).toMatch(/^Impersonator\(/);
    expect(fooPool()).not.toBeInstanceOf(Impersonator);
    expect(fooPool()).not.toBeInstanceOf(DriverLikePool);
    await db.end();
  });

  it('refuses to impersonate a class that is not an EventEmitter, or for a class that is not a DriverPool', () => {
    class Plain {}
    class NotAFacade extends EventEmitter {}
    expect(() => impersonate(FooPool, Plain)).toThrow(TypeError);
    expect(() => impersonate(NotAFacade, DriverLikePool)).toThrow(/does not extend DriverPool/);
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
