import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionTimeoutError } from './errors.js';
import type { ConnectionFactory } from './factory.js';
import { ConnectionPool } from './pool.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('creating connections', () => {
  it('counts pending creations against maxSize', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 1_000;
    const pool = ConnectionPool.open({ maxSize: 2 }, factory);
    const waiters = Array.from({ length: 5 }, () => pool.acquire());
    await flush();
    expect(factory.createCalls).toBe(2);
    expect(pool.size()).toMatchObject({ pending: 2, waiting: 5 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pool.size()).toMatchObject({ total: 2, pending: 0, waiting: 3 });
    for (const w of waiters) (await w).release();
    expect(factory.createCalls).toBe(2);
    await pool.close();
  });

  it('throttles creations to creationThrottle per second', async () => {
    const factory = new FakeFactory();
    const pool = ConnectionPool.open({ maxSize: 20, creationThrottle: 5 }, factory);
    const waiters = Array.from({ length: 12 }, () => pool.acquire());
    await flush();
    expect(factory.createCalls).toBe(5);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(factory.createCalls).toBe(10);
    await vi.advanceTimersByTimeAsync(400);
    expect(factory.createCalls).toBe(12);
    for (const w of waiters) (await w).release();
    await pool.close();
  });

  it('retries a failing create with exponential backoff, never in a busy loop', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const pool = ConnectionPool.open({ minSize: 1, createRetryDelayMs: 100, createRetryMaxDelayMs: 2_000 }, factory);
    const errors: number[] = [];
    pool.on('createError', (e) => errors.push(e.retryInMs));
    await vi.advanceTimersByTimeAsync(10_000);
    // 100, 200, 400, 800, 1600, then 2000 each (+ up to 20% jitter): about 10 attempts in 10 s, not thousands.
    expect(factory.createCalls).toBeGreaterThanOrEqual(7);
    expect(factory.createCalls).toBeLessThanOrEqual(11);
    expect(Math.max(...errors)).toBeLessThanOrEqual(2_000);
    factory.createDefault = 'ok';
    await vi.advanceTimersByTimeAsync(2_500);
    expect(pool.size().total).toBe(1);
    expect(pool.statistics().createFailures).toBe(factory.createCalls - 1);
    await pool.close();
  });

  it('does not escalate the backoff for creations that failed in the same round', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const pool = ConnectionPool.open({ maxSize: 10, createRetryDelayMs: 100, acquireTimeoutMs: 60_000 }, factory);
    const retries: number[] = [];
    pool.on('createError', (e) => retries.push(e.consecutiveFailures));
    const waiters = Array.from({ length: 10 }, () => pool.acquire().catch(() => {}));
    await flush();
    expect(retries).toEqual(Array(10).fill(1));
    await pool.close();
    await Promise.all(waiters);
  });

  it('bounds a hanging create by createTimeoutMs and aborts its signal', async () => {
    const factory = new FakeFactory();
    factory.createPlan = ['hang'];
    const pool = ConnectionPool.open({ createTimeoutMs: 1_000, acquireTimeoutMs: 10_000 }, factory);
    const conn = pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(factory.createSignals[0]?.aborted).toBe(true);
    expect(pool.statistics().createFailures).toBe(1);
    await vi.advanceTimersByTimeAsync(200);
    const c = await conn;
    expect(c.connection.serial).toBe(1);
    c.release();
    await pool.close();
  });

  it('closes a connection that arrives after its creation was given up, never leaking it', async () => {
    let finish!: (c: FakeConnection) => void;
    const closed: FakeConnection[] = [];
    const factory: ConnectionFactory<FakeConnection> = {
      create: () =>
        new Promise((resolve) => {
          finish = resolve;
        }),
      close: async (c) => {
        closed.push(c);
      },
    };
    const pool = ConnectionPool.open({ createTimeoutMs: 100, acquireTimeoutMs: 150 }, factory);
    const waiting = pool.acquire().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(150);
    expect(await waiting).toBeInstanceOf(ConnectionTimeoutError);
    const late = { serial: 99, closed: false, healthy: true, dirty: false, uses: 0, markBroken: () => {} };
    finish(late);
    await flush();
    expect(closed).toEqual([late]);
    expect(pool.size().total).toBe(0);
    await pool.close();
  });

  it('gives a connection whose requester gave up to the next waiter', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 500;
    const pool = ConnectionPool.open({ maxSize: 1 }, factory);
    const impatient = pool.acquire({ timeoutMs: 100 }).catch((e: unknown) => e);
    const patient = pool.acquire({ timeoutMs: 5_000 });
    await vi.advanceTimersByTimeAsync(100);
    expect(await impatient).toBeInstanceOf(ConnectionTimeoutError);
    await vi.advanceTimersByTimeAsync(400);
    const conn = await patient;
    expect(conn.connection.serial).toBe(1);
    expect(factory.createCalls).toBe(1);
    conn.release();
    await pool.close();
  });

  it('puts a connection nobody waits for any more into idle', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 500;
    const pool = ConnectionPool.open({ maxSize: 1 }, factory);
    const controller = new AbortController();
    const waiting = pool.acquire({ signal: controller.signal }).catch((e: unknown) => e);
    await flush();
    controller.abort();
    await waiting;
    await vi.advanceTimersByTimeAsync(500);
    expect(pool.size()).toMatchObject({ total: 1, idle: 1 });
    await pool.close();
  });

  it('contains a create() that throws synchronously', async () => {
    let calls = 0;
    const factory: ConnectionFactory<object> = {
      create: () => {
        calls++;
        if (calls === 1) throw new Error('sync boom');
        return Promise.resolve({});
      },
      close: async () => {},
    };
    const pool = ConnectionPool.open({}, factory);
    const conn = pool.acquire();
    await vi.advanceTimersByTimeAsync(200);
    (await conn).release();
    expect(pool.statistics().createFailures).toBe(1);
    await pool.close();
  });

  it('replaces an idle connection that its factory marks broken', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
    const first = factory.all[0] as FakeConnection;
    first.markBroken(new Error('terminating connection due to administrator command'));
    expect(first.closed).toBe(true);
    // Nothing had proved healthy since it opened, so its replacement waits one retry delay.
    await vi.advanceTimersByTimeAsync(120);
    expect(pool.size().total).toBe(1);
    expect(pool.statistics().destroyedByReason.broken).toBe(1);
    const conn = await pool.acquire();
    expect(conn.connection.serial).toBe(2);
    conn.release();
    await pool.close();
  });

  it('retires a borrowed connection marked broken when it is released, not before', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
    const conn = await pool.acquire();
    conn.connection.markBroken();
    expect(conn.connection.closed).toBe(false);
    const raw = conn.connection;
    conn.release();
    expect(raw.closed).toBe(true);
    await pool.close();
  });
});
