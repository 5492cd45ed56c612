import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionReleasedError, PoolClosedError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('close()', () => {
  it('is idempotent and closes every connection', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 3, initialSize: 3 }, factory);
    const a = pool.close();
    const b = pool.close();
    expect(a).toBe(b);
    await a;
    expect(factory.open.size).toBe(0);
    expect(factory.doubleCloses).toBe(0);
    expect(pool.state).toBe('closed');
    const s = pool.statistics();
    expect(s.connectionsCreated - s.connectionsDestroyed).toBe(0);
  });

  it('waits for borrowed connections, then closes them as they come back', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 2 }, factory);
    const conn = await pool.acquire();
    let done = false;
    const closing = pool.close().then(() => {
      done = true;
    });
    await flush();
    expect(done).toBe(false);
    expect(factory.open.size).toBe(1);
    conn.release();
    await closing;
    expect(factory.open.size).toBe(0);
  });

  it('closes borrowed connections after closeTimeoutMs and invalidates their handles', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, closeTimeoutMs: 1_000 }, factory);
    const conn = await pool.acquire();
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await closing;
    expect(factory.open.size).toBe(0);
    expect(() => conn.connection).toThrow(ConnectionReleasedError);
    expect(() => conn.release()).toThrow(/closed by the pool/);
    expect(pool.statistics().reclaimed).toBe(1);
  });

  it('aborts pending creations and closes what still arrives', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 500;
    const pool = ConnectionPool.open({ minSize: 2 }, factory);
    await flush();
    expect(pool.size().pending).toBe(2);
    const closing = pool.close();
    expect(factory.createSignals.every((s) => s.aborted)).toBe(true);
    await vi.advanceTimersByTimeAsync(500);
    await closing;
    expect(factory.open.size).toBe(0);
  });

  it('reports a failing factory.close and still finishes', async () => {
    const factory = new FakeFactory();
    factory.closeBehaviour = 'fail';
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 2 }, factory);
    const errors: string[] = [];
    pool.on('error', (e) => errors.push(e.error.message));
    await pool.close();
    expect(errors).toHaveLength(2);
    expect(errors[0]).toContain('close exploded');
    expect(pool.statistics().errors).toBe(2);
  });

  it('does not wait forever for a hanging factory.close', async () => {
    const factory = new FakeFactory();
    factory.closeBehaviour = 'hang';
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, closeTimeoutMs: 2_000 }, factory);
    pool.on('error', () => {});
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(2_000);
    await closing;
    expect(pool.state).toBe('closed');
  });

  it('refuses operator actions after close', async () => {
    const pool = await ConnectionPool.create({}, new FakeFactory());
    await pool.close();
    expect(() => pool.suspend()).toThrow(PoolClosedError);
    expect(() => pool.resize({ maxSize: 3 })).toThrow(PoolClosedError);
    expect(() => pool.evictIdle()).toThrow(PoolClosedError);
  });

  it('closes with await using', async () => {
    const factory = new FakeFactory();
    {
      await using pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
      await pool.use(() => {});
    }
    expect(factory.open.size).toBe(0);
  });
});
