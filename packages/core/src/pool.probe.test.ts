import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ConnectionFactory } from './factory.js';
import { ConnectionPool } from './pool.js';
import type { PooledConnection } from './pooled-connection.js';
import { ClassifyingFakeFactory, type FakeConnection, FakeFactory } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Wraps `factory.create` to record when each attempt starts and ends (fake time) and the peak in flight. */
function recordAttempts(factory: FakeFactory) {
  const starts: number[] = [];
  let inFlight = 0;
  let peak = 0;
  const create = factory.create.bind(factory);
  factory.create = async (ctx) => {
    starts.push(performance.now());
    peak = Math.max(peak, ++inFlight);
    try {
      return await create(ctx);
    } finally {
      inFlight--;
    }
  };
  return {
    starts,
    peak: () => peak,
    resetPeak: () => {
      peak = inFlight;
    },
  };
}

/** How many attempts started in each 100 ms window from `from` to `to`. */
function perWindow(starts: number[], from: number, to: number): number[] {
  const windows: number[] = [];
  for (let w = from; w < to; w += 100) windows.push(starts.filter((s) => s >= w && s < w + 100).length);
  return windows;
}

function waiters(pool: ConnectionPool<FakeConnection>, n: number, timeoutMs = 60_000) {
  const served: PooledConnection<FakeConnection>[] = [];
  const failed: unknown[] = [];
  const all = Array.from({ length: n }, () =>
    pool.acquire({ timeoutMs }).then(
      (c) => {
        served.push(c);
      },
      (e: unknown) => {
        failed.push(e);
      },
    ),
  );
  return { served, failed, all };
}

describe('probing a database that is down while callers wait', () => {
  it('makes at most one connect attempt per 100 ms window, one in flight, spaced by the probe interval', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    factory.createDelayMs = 5; // a refused connect: fails fast
    const attempts = recordAttempts(factory);
    const pool = ConnectionPool.open({ maxSize: 10, createRetryDelayMs: 100, createRetryMaxDelayMs: 5_000 }, factory);
    const line = waiters(pool, 20);
    await vi.advanceTimersByTimeAsync(10); // the first round (10 attempts for 20 callers) fails
    expect(attempts.starts).toHaveLength(10);
    attempts.resetPeak();
    const outageStart = performance.now();
    await vi.advanceTimersByTimeAsync(10_000);
    const during = attempts.starts.filter((s) => s >= outageStart);
    expect(Math.max(...perWindow(during, outageStart, outageStart + 10_000))).toBeLessThanOrEqual(1);
    expect(attempts.peak()).toBe(1);
    const gaps = during.slice(1).map((s, i) => s - (during[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(150);
    expect(during.length).toBeGreaterThanOrEqual(60); // every ~155 ms, not every 5 s as the backoff alone would
    expect(during.length).toBeLessThanOrEqual(67);
    expect(line.served).toHaveLength(0);
    await pool.close();
    await Promise.all(line.all);
  });

  it('with createRetryDelayMs 0 (pg.Pool-style retries), starts attempts at least 100 ms apart while they fail, and lets a caller that retries at once wait for the slot', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    factory.createDelayMs = 1; // a refused connect: fails in a millisecond
    const attempts = recordAttempts(factory);
    const pool = ConnectionPool.open({ maxSize: 4, createRetryDelayMs: 0, createProbeIntervalMs: 150 }, factory);
    // One caller retrying the moment it fails, as a loop around pool.query() does.
    const errors: unknown[] = [];
    let stop = false;
    const caller = (async () => {
      while (!stop) {
        try {
          (await pool.acquire({ timeoutMs: 60_000, failFast: true })).release();
          return;
        } catch (error) {
          errors.push(error);
        }
      }
    })();
    await vi.advanceTimersByTimeAsync(2_000);
    const gaps = attempts.starts.slice(1).map((s, i) => s - (attempts.starts[i] as number));
    expect(Math.min(...gaps)).toBeGreaterThanOrEqual(100);
    expect(attempts.starts.length).toBeLessThanOrEqual(21); // not one per retry: ~20 over 2 s
    expect(attempts.peak()).toBe(1);
    // The caller got each finished attempt's error (the last may still be in flight), none without an attempt.
    expect(errors.length).toBeGreaterThanOrEqual(attempts.starts.length - 1);
    expect(errors.length).toBeLessThanOrEqual(attempts.starts.length);
    // The server comes back: the caller, waiting for the next slot, is served by it.
    factory.createDefault = 'ok';
    await vi.advanceTimersByTimeAsync(200);
    stop = true;
    await caller;
    expect(pool.size().total).toBe(1);
    await pool.close();
  });

  it('notices the recovered database within one probe interval and serves every waiter at once', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    factory.createDelayMs = 5;
    const pool = ConnectionPool.open({ maxSize: 10, createRetryDelayMs: 100, createRetryMaxDelayMs: 5_000 }, factory);
    const line = waiters(pool, 8);
    await vi.advanceTimersByTimeAsync(10_000); // a 10 s outage: the backoff has grown to 5 s
    factory.createDefault = 'ok';
    const recoveredAt = performance.now();
    let allServedAt = Number.NaN;
    void Promise.all(line.all).then(() => {
      allServedAt = performance.now();
    });
    await vi.advanceTimersByTimeAsync(200);
    expect(line.served).toHaveLength(8);
    // the next probe (at most 150 ms away) succeeds, then the other 7 connect at once (5 ms each)
    expect(allServedAt - recoveredAt).toBeLessThanOrEqual(150 + 5 + 5);
    expect(new Set(line.served.map((c) => c.id)).size).toBe(8);
    for (const c of line.served) c.release();
    expect(pool.size()).toMatchObject({ total: 8, pending: 0, waiting: 0 });
    await pool.close();
  });

  it('keeps the exponential backoff when nobody waits (refilling minSize)', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const attempts = recordAttempts(factory);
    const pool = ConnectionPool.open({ minSize: 3, createRetryDelayMs: 100, createRetryMaxDelayMs: 2_000 }, factory);
    await vi.advanceTimersByTimeAsync(10_000);
    // 3 at once, then one at a time at 100, 200, 400, 800, 1,600, then every 2,000 ms (+ up to 20% jitter)
    expect(attempts.starts.length).toBeGreaterThanOrEqual(3 + 6);
    expect(attempts.starts.length).toBeLessThanOrEqual(3 + 9);
    expect(attempts.peak()).toBe(3);
    await pool.close();
  });

  it('waits for the backoff alone when createProbeIntervalMs is null', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const attempts = recordAttempts(factory);
    const pool = ConnectionPool.open({ createRetryDelayMs: 1_000, createRetryMaxDelayMs: 1_000, createProbeIntervalMs: null }, factory);
    const line = waiters(pool, 3);
    await vi.advanceTimersByTimeAsync(5_000);
    expect(attempts.starts.length).toBeGreaterThanOrEqual(3 + 4);
    expect(attempts.starts.length).toBeLessThanOrEqual(3 + 5);
    await pool.close();
    await Promise.all(line.all);
  });

  it('never probes after a fatal error', async () => {
    const factory = new ClassifyingFakeFactory();
    const pool = await ConnectionPool.create(
      { maxSize: 4, initialSize: 1, createRetryDelayMs: 1_000, createRetryMaxDelayMs: 1_000 },
      factory,
    );
    const held = await pool.acquire();
    factory.createDefault = 'fail';
    const attempts = recordAttempts(factory);
    const line = waiters(pool, 1); // served by the open connection when it comes back: it waits
    await vi.advanceTimersByTimeAsync(3_000);
    expect(attempts.starts.length).toBeLessThanOrEqual(4); // every 1,000-1,200 ms, not every 150 ms
    held.release();
    await Promise.all(line.all);
    expect(line.served).toHaveLength(1);
    for (const c of line.served) c.release();
    await pool.close();
  });

  it('keeps a hanging probe alone in flight until createTimeoutMs gives up on it', async () => {
    const factory = new FakeFactory();
    factory.createPlan = ['fail'];
    factory.createDefault = 'hang'; // a blackholed server: connects neither succeed nor fail
    const attempts = recordAttempts(factory);
    const pool = ConnectionPool.open({ createTimeoutMs: 1_000 }, factory);
    const line = waiters(pool, 1, 5_000);
    await vi.advanceTimersByTimeAsync(1_000); // refused at 0; the next attempt (within 150 ms) hangs: nothing else meanwhile
    expect(attempts.starts).toHaveLength(2);
    const probe = attempts.starts[1] as number;
    expect(probe).toBeLessThanOrEqual(150);
    await vi.advanceTimersByTimeAsync(200); // it times out 1,000 ms after it began; the next probe leaves at once
    expect(attempts.starts).toEqual([0, probe, probe + 1_000]);
    expect(factory.createSignals[1]?.aborted).toBe(true); // the pool gave up on it: told through its signal
    expect(pool.size()).toMatchObject({ pending: 1, waiting: 1 });
    await pool.close();
    await Promise.all(line.all);
  });
});

describe('the probe with a real-shaped factory', () => {
  it('accepts a factory whose connects fail with no delay at all, without a busy loop', async () => {
    let calls = 0;
    const factory: ConnectionFactory<object> = {
      create: async () => {
        calls++;
        throw new Error('ECONNREFUSED');
      },
      close: async () => {},
    };
    const pool = ConnectionPool.open({}, factory);
    const waiting = pool.acquire({ timeoutMs: 1_000 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    await waiting;
    expect(calls).toBeGreaterThanOrEqual(6);
    expect(calls).toBeLessThanOrEqual(8); // one per 150 ms
    await pool.close();
  });
});

/** A pool with `n` open connections that have served (a released connection proves the database healthy). */
async function servedPool(factory: FakeFactory, n: number, config: Parameters<typeof ConnectionPool.open>[0] = {}) {
  const pool = ConnectionPool.open({ maxSize: n, ...config }, factory);
  const borrowing = Promise.all(Array.from({ length: n }, () => pool.acquire()));
  await vi.advanceTimersByTimeAsync(factory.createDelayMs + 1);
  for (const c of await borrowing) c.release();
  expect(pool.size()).toMatchObject({ total: n, idle: n });
  return pool;
}

describe('connections cut by the server (a restart)', () => {
  it('meets a restart with one connect at a time, not one per waiting caller', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 5;
    const pool = await servedPool(factory, 8, { createRetryDelayMs: 100, createRetryMaxDelayMs: 5_000 });
    const attempts = recordAttempts(factory);
    attempts.resetPeak();
    // The server goes away: it cuts every connection, and refuses new ones.
    factory.createDefault = 'fail';
    const cutAt = performance.now();
    for (const conn of [...factory.open]) conn.markBroken(new Error('terminating connection due to administrator command'));
    expect(pool.size()).toMatchObject({ total: 0 });
    const line = waiters(pool, 8, 60_000);
    await vi.advanceTimersByTimeAsync(3_000);
    expect(attempts.peak()).toBe(1);
    expect(Math.max(...perWindow(attempts.starts, cutAt, cutAt + 3_000))).toBeLessThanOrEqual(1);
    expect(attempts.starts.length).toBeGreaterThanOrEqual(15); // a probe every ~155 ms
    // Back: the next probe succeeds, then every other waiter's connect leaves at once.
    factory.createDefault = 'ok';
    await vi.advanceTimersByTimeAsync(150 + 5 + 5);
    expect(line.served).toHaveLength(8);
    for (const c of line.served) c.release();
    await pool.close();
  });

  it('costs one connect time when the server is fine: the first replacement leads, the rest follow together', async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 5;
    const pool = await servedPool(factory, 4);
    const attempts = recordAttempts(factory);
    attempts.resetPeak();
    for (const conn of [...factory.open]) conn.markBroken(new Error('network blip'));
    const line = waiters(pool, 4);
    await vi.advanceTimersByTimeAsync(5);
    expect(attempts.starts).toHaveLength(4); // the first succeeded at 5 ms; the other three started then
    expect(attempts.peak()).toBe(3);
    await vi.advanceTimersByTimeAsync(5);
    expect(line.served).toHaveLength(4);
    for (const c of line.served) c.release();
    await pool.close();
  });

  it('replaces one killed session as before (one connect)', async () => {
    const factory = new FakeFactory();
    const pool = await servedPool(factory, 3, { minSize: 3, maxSize: 10 });
    [...factory.open][0]?.markBroken(new Error('pg_terminate_backend'));
    await vi.advanceTimersByTimeAsync(1);
    expect(pool.size()).toMatchObject({ total: 3, pending: 0 });
    expect(factory.createCalls).toBe(4);
    await pool.close();
  });
});
