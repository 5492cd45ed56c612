import { ConnectionCreateError, ConnectionPool, ConnectionTimeoutError } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type Behaviour, ControlledFactory, ControlledFault } from '../support/controlled-factory.js';
import { report } from '../support/report.js';

/**
 * A database that is down, at start and during refill, measured under fake time so the counts are
 * exact: retries back off (no busy loop), every caller gets a clear error by its deadline, and the
 * pool fills again on its own once the database is back.
 */

const MAX_SIZE = 4;
const RETRY_MAX = 5_000;
/** The pool's default `createProbeIntervalMs`: one connect per interval while callers wait. */
const PROBE_MS = 150;

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Keeps `n` callers waiting (each re-acquiring as soon as it fails), for `ms` of fake time. */
async function demand(pool: ConnectionPool<unknown>, n: number, ms: number, timeoutMs: number): Promise<unknown[]> {
  const errors: unknown[] = [];
  let running = true;
  const loop = async (): Promise<void> => {
    while (running) {
      try {
        const c = await pool.acquire({ timeoutMs });
        c.release();
        await new Promise((r) => setTimeout(r, 10));
      } catch (error) {
        errors.push(error);
      }
    }
  };
  const loops = Array.from({ length: n }, loop);
  await vi.advanceTimersByTimeAsync(ms);
  running = false;
  await vi.advanceTimersByTimeAsync(timeoutMs + 10);
  await Promise.all(loops);
  return errors;
}

describe.each<[string, Behaviour]>([
  ['refuses connections', 'fail'],
  ['throws synchronously from create()', 'throw'],
  ['black-holes connects (create hangs until aborted)', 'hang'],
])('a database that %s', (_name, behaviour) => {
  it('is retried with exponential backoff: no busy loop, whatever the demand', async () => {
    const factory = new ControlledFactory();
    factory.mode.create = behaviour;
    const pool = ConnectionPool.open(
      { minSize: 2, maxSize: MAX_SIZE, createTimeoutMs: 1_000, createRetryDelayMs: 100, createRetryMaxDelayMs: RETRY_MAX },
      factory,
    );
    const errors = await demand(pool as ConnectionPool<unknown>, 20, 60_000, 1_000);
    // Every caller got the pool's timeout, with the factory's failure as cause.
    expect(errors.length).toBeGreaterThan(0);
    for (const e of errors) {
      expect(e).toBeInstanceOf(ConnectionTimeoutError);
      expect((e as ConnectionTimeoutError).cause, 'the last create error is the cause').toBeDefined();
    }
    // While callers wait, one attempt at a time: a probe every createProbeIntervalMs (150 ms), the rest
    // backing off; at most one round of maxSize at the start. A pool without backoff would try thousands of times.
    const steady = [...factory.createsBySecond.entries()].filter(([second]) => second >= 20).map(([, n]) => n);
    report(`database that ${_name}`, {
      createCalls60s: factory.calls.create,
      maxPerSecond: factory.maxCreatesPerSecond(),
      maxPerSecondSteady: Math.max(0, ...steady),
      callerErrors: errors.length,
      firstSeconds: [...factory.createsBySecond.entries()].slice(0, 8),
    });
    expect(Math.max(0, ...steady), 'creates in any second at steady state').toBeLessThanOrEqual(Math.ceil(1_000 / PROBE_MS));
    expect(factory.maxCreatesPerSecond(), 'creates in any second, backoff ramp included').toBeLessThanOrEqual(5 * MAX_SIZE);
    expect(factory.calls.create, 'create attempts in 61 s').toBeLessThanOrEqual(MAX_SIZE + 62_000 / PROBE_MS); // 60 s of demand, then the last timeouts
    expect(pool.size().pending).toBeLessThanOrEqual(MAX_SIZE);
    // The database comes back: the pool fills to minSize within one backoff delay, no restart needed.
    factory.heal();
    await vi.advanceTimersByTimeAsync(RETRY_MAX * 1.2 + 1_000);
    expect(pool.size().idle).toBeGreaterThanOrEqual(2);
    const conn = await pool.acquire();
    conn.release();
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await closing;
    expect(factory.open.size).toBe(0);
  });
});

describe('a database that accepts connects but every connection is dead', () => {
  it('backs off too (a new connection that fails its first use and then validation), instead of reconnecting in a loop', async () => {
    const factory = new ControlledFactory();
    const pool = ConnectionPool.open(
      { minSize: 0, maxSize: MAX_SIZE, validateOnAcquire: true, createRetryDelayMs: 100, createRetryMaxDelayMs: RETRY_MAX },
      factory,
    );
    // Every connection is dead: its queries fail (the borrower releases it with the error) and its
    // validation says so.
    factory.mode.validate = 'false';
    const failures: unknown[] = [];
    let served = 0;
    let running = true;
    const loop = async (): Promise<void> => {
      while (running) {
        try {
          const c = await pool.acquire({ timeoutMs: 1_000 });
          served++;
          c.release({ error: new Error('server closed the connection unexpectedly') });
        } catch (error) {
          failures.push(error);
        }
        await new Promise((r) => setTimeout(r, 10));
      }
    };
    const loops = Array.from({ length: 10 }, loop);
    await vi.advanceTimersByTimeAsync(30_000);
    running = false;
    await vi.advanceTimersByTimeAsync(1_100);
    await Promise.all(loops);
    expect(served).toBeGreaterThan(0);
    expect(failures.length, 'callers see timeouts while the database is broken').toBeGreaterThan(0);
    for (const e of failures) expect(e).toBeInstanceOf(ConnectionTimeoutError);
    const steady = [...factory.createsBySecond.entries()].filter(([second]) => second >= 20).map(([, n]) => n);
    report('database with dead connections', {
      served,
      failures: failures.length,
      creates30s: factory.calls.create,
      maxPerSecondSteady: Math.max(0, ...steady),
    });
    expect(Math.max(0, ...steady), 'creates in any second at steady state').toBeLessThanOrEqual(MAX_SIZE);
    expect(factory.calls.create, 'connections opened in 30 s').toBeLessThan(MAX_SIZE * (30 / 5 + 10));
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await closing;
    expect(factory.open.size).toBe(0);
  });
});

describe('database down at pool start', () => {
  it('ConnectionPool.create rejects with ConnectionCreateError (cause: the first failure) and leaves nothing behind', async () => {
    const factory = new ControlledFactory();
    factory.mode.create = 'fail';
    const creating = ConnectionPool.create({ minSize: 3, maxSize: 5 }, factory).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(10);
    const error = await creating;
    expect(error).toBeInstanceOf(ConnectionCreateError);
    expect((error as Error).message).toContain('Could not open any of the 3 initial connections');
    expect((error as ConnectionCreateError).cause).toBeInstanceOf(ControlledFault);
    expect(factory.calls.create).toBe(3);
    // Nothing keeps running: no retry, no maintenance, nothing opened, however long we wait.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(factory.calls.create, 'no retry after a failed start').toBe(3);
    expect(factory.open.size).toBe(0);
  });

  it('a connect that hangs at start is bounded by createTimeoutMs', async () => {
    const factory = new ControlledFactory();
    factory.mode.create = 'hang';
    const creating = ConnectionPool.create({ minSize: 1, maxSize: 2, createTimeoutMs: 2_000 }, factory).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(2_001);
    const error = await creating;
    expect(error).toBeInstanceOf(ConnectionCreateError);
    expect(String((error as Error).message)).toMatch(/2000 ms/);
  });

  it('some initial connections fail: the pool starts and maintenance opens the rest', async () => {
    const factory = new ControlledFactory();
    factory.plan.create.push('ok', 'fail', 'fail');
    const creating = ConnectionPool.create({ minSize: 3, maxSize: 5, maintenanceIntervalMs: 1_000, createRetryDelayMs: 100 }, factory);
    await vi.advanceTimersByTimeAsync(10);
    const pool = await creating;
    expect(pool.size().total).toBeGreaterThanOrEqual(1);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(pool.size().total).toBe(3);
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(100);
    await closing;
    expect(factory.open.size).toBe(0);
  });
});
