import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionPool } from './pool.js';
import { FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

describe('events and statistics', () => {
  it('reports acquire with wait time, release with hold time, create with duration, destroy with reason', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 40;
    const pool = ConnectionPool.open({ maxSize: 1 }, factory);
    const log: string[] = [];
    pool
      .on('create', (e) => log.push(`create #${e.connectionId} ${e.durationMs}ms`))
      .on('acquire', (e) => log.push(`acquire #${e.connection.id} waited ${e.waitMs}ms`))
      .on('release', (e) => log.push(`release #${e.connection.id} held ${e.holdMs}ms`))
      .on('destroy', (e) => log.push(`destroy #${e.connectionId} ${e.reason}`));
    const conn = pool.acquire();
    await vi.advanceTimersByTimeAsync(40);
    const c = await conn;
    await vi.advanceTimersByTimeAsync(15);
    c.release();
    await pool.close();
    expect(log).toEqual(['create #1 40ms', 'acquire #1 waited 40ms', 'release #1 held 15ms', 'destroy #1 closed']);
  });

  it('counts add up: created - destroyed = total, acquired - released = borrowed', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 2, maxSize: 3, maxWaitQueueSize: 1 }, factory);
    const a = await pool.acquire();
    const b = await pool.acquire();
    const c = await pool.acquire();
    const waiting = pool.acquire({ timeoutMs: 100 }).catch(() => {});
    await pool.acquire().catch(() => {}); // refused: queue full
    await vi.advanceTimersByTimeAsync(100);
    await waiting;
    a.release();
    await b.destroy();
    const s = pool.statistics();
    expect(s.connectionsCreated - s.connectionsDestroyed).toBe(s.totalConnections);
    expect(s.acquired - s.released).toBe(1);
    expect(s).toMatchObject({ acquired: 3, acquireFailures: 2, timeouts: 1, rejected: 1, successRate: 0.6 });
    c.release();
    await pool.close();
  });

  it('averages acquire wait over all acquisitions and keeps the longest', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory);
    const first = await pool.acquire(); // waits 0
    const second = pool.acquire();
    await vi.advanceTimersByTimeAsync(30);
    first.release(); // second waited 30
    (await second).release();
    const s = pool.statistics();
    expect(s.averageAcquireTimeMs).toBe(15);
    expect(s.maxAcquireTimeMs).toBe(30);
    expect(s.waited).toBe(1);
    await pool.close();
  });

  it('contains a throwing listener: the pool keeps working and reports it as an error event', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const errors: string[] = [];
    pool.on('acquire', () => {
      throw new Error('dashboard bug');
    });
    pool.on('error', (e) => errors.push(`${e.error.code}: ${e.error.message}`));
    const conn = await pool.acquire();
    conn.release();
    expect(errors).toEqual(["ERR_POOL_LISTENER: A 'acquire' listener threw: dashboard bug"]);
    expect(pool.size()).toMatchObject({ idle: 1, active: 0 });
    await pool.close();
  });

  it('warns once per kind of problem when nobody listens to error events', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const factory = new FakeFactory();
    factory.closeBehaviour = 'fail';
    const pool = await ConnectionPool.create({ minSize: 3, initialSize: 3 }, factory);
    await pool.close();
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]?.[0])).toContain('close exploded');
    expect(pool.statistics().errors).toBe(3);
  });

  it('a throwing error listener cannot crash the process', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const factory = new FakeFactory();
    factory.closeBehaviour = 'fail';
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
    pool.on('error', () => {
      throw new Error('logger down');
    });
    await pool.close();
    expect(warn).toHaveBeenCalled();
  });

  it('once() fires a single time and can be cancelled; off() unsubscribes', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    let onceCount = 0;
    let cancelledCount = 0;
    let offCount = 0;
    pool.once('acquire', () => onceCount++);
    const cancel = pool.once('acquire', () => cancelledCount++);
    cancel();
    const listener = () => offCount++;
    pool.on('release', listener);
    pool.off('release', listener);
    for (let i = 0; i < 3; i++) (await pool.acquire()).release();
    expect([onceCount, cancelledCount, offCount]).toEqual([1, 0, 0]);
    expect(pool.listenerCount('acquire')).toBe(0);
    await pool.close();
  });

  it('emits enqueue synchronously inside acquire()', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 1 }, new FakeFactory());
    const held = await pool.acquire();
    let seen = 0;
    pool.on('enqueue', (e) => {
      seen = e.waiter.id;
    });
    const waiting = pool.acquire();
    expect(seen).toBeGreaterThan(0);
    held.release();
    (await waiting).release();
    await pool.close();
  });

  it('reports create failures with the retry delay', async () => {
    const factory = new FakeFactory();
    factory.createPlan = ['fail'];
    const pool = ConnectionPool.open({ minSize: 1 }, factory);
    const failures: number[] = [];
    pool.on('createError', (e) => failures.push(e.consecutiveFailures));
    await flush();
    await vi.advanceTimersByTimeAsync(200);
    expect(failures).toEqual([1]);
    expect(pool.size().total).toBe(1);
    await pool.close();
  });

  it('rejects a listener that is not a function', async () => {
    const pool = await ConnectionPool.create({}, new FakeFactory());
    expect(() => pool.on('acquire', 'nope' as never)).toThrow(TypeError);
    await pool.close();
  });
});
