import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AcquireAbortedError, ConnectionTimeoutError, PoolClosedError, PoolExhaustedError } from './errors.js';
import { ConnectionPool } from './pool.js';
import type { PooledConnection } from './pooled-connection.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function fullPool(options: Record<string, unknown> = {}) {
  const factory = new FakeFactory();
  const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1, ...options }, factory);
  const held = await pool.acquire();
  return { pool, factory, held };
}

function settledOrder(promises: Promise<PooledConnection<FakeConnection>>[], order: number[]) {
  promises.forEach((p, i) => {
    p.then(
      (c) => {
        order.push(i);
        c.release();
      },
      () => {},
    );
  });
}

describe('waiting for a connection', () => {
  it('serves waiters first come, first served when fairQueue is on', async () => {
    const { pool, held } = await fullPool();
    const order: number[] = [];
    const waiters = [pool.acquire(), pool.acquire(), pool.acquire()];
    settledOrder(waiters, order);
    held.release();
    await Promise.all(waiters);
    expect(order).toEqual([0, 1, 2]);
    await pool.close();
  });

  it('serves the newest waiter first when fairQueue is off', async () => {
    const { pool, held } = await fullPool({ fairQueue: false });
    const order: number[] = [];
    const waiters = [pool.acquire(), pool.acquire(), pool.acquire()];
    settledOrder(waiters, order);
    held.release();
    await Promise.all(waiters);
    expect(order).toEqual([2, 1, 0]);
    await pool.close();
  });

  it('hands a released connection straight to the next waiter', async () => {
    const { pool, held } = await fullPool();
    const next = pool.acquire();
    held.release();
    expect(pool.size().idle).toBe(0);
    const conn = await next;
    expect(conn.id).toBe(held.id);
    conn.release();
    await pool.close();
  });

  it('times out with ConnectionTimeoutError at the deadline, not before', async () => {
    const { pool, held } = await fullPool({ acquireTimeoutMs: 1_000 });
    let outcome: unknown = 'pending';
    pool.acquire().catch((e: unknown) => {
      outcome = e;
    });
    await vi.advanceTimersByTimeAsync(998);
    expect(outcome).toBe('pending');
    await vi.advanceTimersByTimeAsync(2);
    expect(outcome).toBeInstanceOf(ConnectionTimeoutError);
    expect((outcome as ConnectionTimeoutError).timeoutMs).toBe(1_000);
    expect(pool.size().waiting).toBe(0);
    expect(pool.statistics().timeouts).toBe(1);
    held.release();
    await pool.close();
  });

  it('reports the timeout it was given exactly, whatever the clock reads', async () => {
    const { pool, held } = await fullPool({ acquireTimeoutMs: 1_500 });
    await vi.advanceTimersByTimeAsync(0.1); // a fractional start: deadline - start is not exact in floating point
    const err = pool.acquire().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(((await err) as ConnectionTimeoutError).timeoutMs).toBe(1_500);
    held.release();
    await pool.close();
  });

  it('honours a per-call timeoutMs', async () => {
    const { pool, held } = await fullPool({ acquireTimeoutMs: 60_000 });
    const fast = pool.acquire({ timeoutMs: 50 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(50);
    expect(await fast).toBeInstanceOf(ConnectionTimeoutError);
    held.release();
    await pool.close();
  });

  it('names the last creation error as the timeout cause', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const pool = ConnectionPool.open({ acquireTimeoutMs: 500 }, factory);
    const err = pool.acquire().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(500);
    const e = (await err) as ConnectionTimeoutError;
    expect(e).toBeInstanceOf(ConnectionTimeoutError);
    expect(e.cause).toBe(factory.createError);
    expect(e.message).toContain('ECONNREFUSED');
    await pool.close();
  });

  it('a timed-out waiter leaves the queue and the others keep their place', async () => {
    const { pool, held } = await fullPool({ acquireTimeoutMs: 10_000 });
    const a = pool.acquire();
    const b = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    const c = pool.acquire();
    await vi.advanceTimersByTimeAsync(100);
    expect(await b).toBeInstanceOf(ConnectionTimeoutError);
    expect(pool.size().waiting).toBe(2);
    held.release();
    const first = await a;
    first.release();
    const third = await c;
    expect(third.id).toBe(held.id);
    third.release();
    await pool.close();
  });

  it('rejects with AcquireAbortedError when the signal aborts, and leaves the queue', async () => {
    const { pool, held } = await fullPool();
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    await flush();
    expect(pool.size().waiting).toBe(1);
    controller.abort(new Error('client went away'));
    const err = (await waiting) as AcquireAbortedError;
    expect(err).toBeInstanceOf(AcquireAbortedError);
    expect((err.cause as Error).message).toBe('client went away');
    expect(pool.size().waiting).toBe(0);
    held.release();
    expect(pool.size().idle).toBe(1);
    await pool.close();
  });

  it('rejects at once for an already-aborted signal', async () => {
    const { pool, held } = await fullPool();
    await expect(pool.acquire({ signal: AbortSignal.abort() })).rejects.toBeInstanceOf(AcquireAbortedError);
    expect(pool.statistics().aborted).toBe(1);
    held.release();
    await pool.close();
  });

  it('refuses at once with PoolExhaustedError when the wait queue is full', async () => {
    const { pool, held } = await fullPool({ maxWaitQueueSize: 2 });
    const waiters = [pool.acquire(), pool.acquire()];
    const err = (await pool.acquire().catch((e: unknown) => e)) as PoolExhaustedError;
    expect(err).toBeInstanceOf(PoolExhaustedError);
    expect(err.active).toBe(1);
    expect(err.max).toBe(1);
    expect(err.waiting).toBe(2);
    expect(pool.statistics().rejected).toBe(1);
    held.release();
    (await waiters[0])?.release();
    (await waiters[1])?.release();
    await pool.close();
  });

  it('with maxWaitQueueSize 0 a caller still waits for a connection the pool opens for it', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 50;
    const pool = ConnectionPool.open({ maxSize: 2, maxWaitQueueSize: 0 }, factory);
    const first = pool.acquire();
    const second = pool.acquire();
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolExhaustedError); // no room left to open one for it
    await vi.advanceTimersByTimeAsync(50);
    (await first).release();
    (await second).release();
    await pool.close();
  });

  it('never waits when maxWaitQueueSize is 0', async () => {
    const { pool, held } = await fullPool({ maxWaitQueueSize: 0 });
    await expect(pool.acquire()).rejects.toBeInstanceOf(PoolExhaustedError);
    held.release();
    await pool.close();
  });

  it('rejects waiters with PoolClosedError when the pool closes', async () => {
    const { pool, held } = await fullPool();
    const waiting = pool.acquire().catch((e: unknown) => e);
    const closing = pool.close();
    expect(await waiting).toBeInstanceOf(PoolClosedError);
    held.release();
    await closing;
  });

  it('arms one timer for many waiters, and none once they are gone', async () => {
    const { pool, held } = await fullPool({ maxWaitQueueSize: 100_000, acquireTimeoutMs: 5_000 });
    const before = vi.getTimerCount();
    const waiters = Array.from({ length: 1_000 }, () => pool.acquire().catch((e: unknown) => e));
    expect(vi.getTimerCount() - before).toBe(1);
    await vi.advanceTimersByTimeAsync(5_000);
    const results = await Promise.all(waiters);
    expect(results.every((r) => r instanceof ConnectionTimeoutError)).toBe(true);
    expect(vi.getTimerCount()).toBe(before);
    held.release();
    await pool.close();
  });

  it('settles every waiter by its own deadline with mixed timeouts', async () => {
    const { pool, held } = await fullPool({ maxWaitQueueSize: 1_000 });
    const timeouts = [300, 100, 200, 100, 50, 400];
    const settledAt: number[] = [];
    const start = performance.now();
    const waiters = timeouts.map((timeoutMs, i) =>
      pool.acquire({ timeoutMs }).catch(() => {
        settledAt[i] = performance.now() - start;
      }),
    );
    await vi.advanceTimersByTimeAsync(500);
    await Promise.all(waiters);
    expect(settledAt).toEqual(timeouts);
    held.release();
    await pool.close();
  });

  it('keeps waiting while suspended and serves on resume', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    pool.suspend();
    const waiting = pool.acquire();
    await flush();
    expect(pool.size()).toMatchObject({ idle: 1, waiting: 1 });
    pool.resume();
    const conn = await waiting;
    conn.release();
    await pool.close();
  });
});
