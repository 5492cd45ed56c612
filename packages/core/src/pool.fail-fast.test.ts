import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionCreateError, ConnectionTimeoutError, InvalidArgumentError } from './errors.js';
import type { PoolEventMap } from './events.js';
import { ConnectionPool } from './pool.js';
import { ClassifyingFakeFactory, type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Settles `p` into `{ ok, value | error }` without an unhandled rejection. */
function outcome<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The pool's own bookkeeping agrees with the factory: nothing lost, nothing open twice. */
function expectConsistent(pool: ConnectionPool<FakeConnection>, factory: FakeFactory): void {
  const size = pool.size();
  expect(size.total).toBe(factory.open.size);
  expect(factory.doubleCloses).toBe(0);
  const ids = pool.borrowed().map((c) => c.id);
  expect(new Set(ids).size).toBe(ids.length);
  const stats = pool.statistics();
  expect(stats.connectionsCreated - stats.connectionsDestroyed).toBe(size.total);
}

describe('classifying create errors (ConnectionFactory.classifyCreateError)', () => {
  it('keeps waiters waiting through failures when the factory has no classifier (every error is transient)', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const pool = ConnectionPool.open({ acquireTimeoutMs: 1_000 }, factory);
    const fatal: boolean[] = [];
    pool.on('createError', (e) => fatal.push(e.fatal));
    const waiter = outcome(pool.acquire());
    await vi.advanceTimersByTimeAsync(500);
    expect(pool.size().waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    const result = await waiter;
    expect(result.ok).toBe(false);
    expect(result.ok ? undefined : result.error).toBeInstanceOf(ConnectionTimeoutError);
    expect(fatal.length).toBeGreaterThan(1);
    expect(fatal.every((f) => f === false)).toBe(true);
    expect(pool.statistics().fatalCreateFailures).toBe(0);
    await pool.close();
  });

  it('fails every waiter at once with ConnectionCreateError when a fatal error strikes and no connection is open', async () => {
    const factory = new ClassifyingFakeFactory();
    factory.createDefault = 'fail';
    factory.createError = new Error('password authentication failed for user "app"');
    const pool = ConnectionPool.open({ maxSize: 3, acquireTimeoutMs: 30_000 }, factory);
    const events: PoolEventMap['createError'][] = [];
    pool.on('createError', (e) => events.push(e));
    const waiters = Array.from({ length: 5 }, () => outcome(pool.acquire()));
    await flush();
    const results = await Promise.all(waiters);
    for (const r of results) {
      expect(r.ok).toBe(false);
      const error = r.ok ? undefined : r.error;
      expect(error).toBeInstanceOf(ConnectionCreateError);
      expect((error as Error).cause).toBe(factory.createError);
      expect((error as Error).message).toContain('retrying cannot fix the error');
      expect((error as Error).message).toContain('password authentication failed');
    }
    expect(events[0]).toMatchObject({ fatal: true, error: factory.createError });
    expect(pool.size()).toEqual({ total: 0, idle: 0, active: 0, pending: 0, waiting: 0, limit: 3 });
    const stats = pool.statistics();
    expect(stats.acquireFailures).toBe(5);
    expect(stats.fatalCreateFailures).toBe(stats.createFailures);
    expect(stats.fatalCreateFailures).toBeGreaterThan(0);
    await pool.close();
  });

  it('fails only the waiters beyond the open connections, and serves the others as connections come back', async () => {
    const factory = new ClassifyingFakeFactory();
    const pool = await ConnectionPool.create({ maxSize: 5, initialSize: 2, minSize: 0, acquireTimeoutMs: 30_000 }, factory);
    const held = [await pool.acquire(), await pool.acquire()];
    factory.createDefault = 'fail';
    const waiters = Array.from({ length: 5 }, () => outcome(pool.acquire()));
    await flush();
    expect(pool.size()).toMatchObject({ total: 2, waiting: 2, pending: 0 });
    for (const h of held) h.release();
    const results = await Promise.all(waiters);
    expect(results.map((r) => r.ok)).toEqual([true, true, false, false, false]);
    for (const r of results.slice(2)) expect(r.ok ? undefined : r.error).toBeInstanceOf(ConnectionCreateError);
    for (const r of results.slice(0, 2)) if (r.ok) r.value.release();
    expect(pool.size()).toMatchObject({ total: 2, idle: 2, waiting: 0 });
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('fails a new acquire at once while the last connect failed fatally, then tries afresh when the backoff allows', async () => {
    const factory = new ClassifyingFakeFactory();
    factory.createDefault = 'fail';
    const pool = ConnectionPool.open({ createRetryDelayMs: 1_000, createRetryMaxDelayMs: 1_000, acquireTimeoutMs: 30_000 }, factory);
    const first = await outcome(pool.acquire());
    expect(first.ok).toBe(false);
    expect(factory.createCalls).toBe(1);

    await vi.advanceTimersByTimeAsync(500); // inside the 1,000-1,200 ms backoff
    const refused = await outcome(pool.acquire());
    expect(refused.ok).toBe(false);
    const error = refused.ok ? undefined : refused.error;
    expect(error).toBeInstanceOf(ConnectionCreateError);
    expect((error as Error).cause).toBe(factory.createError);
    expect((error as Error).message).toMatch(/next attempt in \d+ ms/);
    expect(factory.createCalls).toBe(1); // the server is not asked again

    await vi.advanceTimersByTimeAsync(1_000); // past the backoff: a fresh attempt, which works now
    factory.createDefault = 'ok';
    const later = await outcome(pool.acquire());
    expect(later.ok).toBe(true);
    expect(factory.createCalls).toBe(2);
    if (later.ok) later.value.release();
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('lets a caller that an open connection will serve wait, and serves from idle, after a fatal connect error', async () => {
    const factory = new ClassifyingFakeFactory();
    const pool = await ConnectionPool.create({ maxSize: 3, minSize: 0, initialSize: 1, createRetryDelayMs: 5_000 }, factory);
    const held = await pool.acquire();
    factory.createDefault = 'fail';
    const first = outcome(pool.acquire()); // first in line behind one open connection: it waits
    await flush();
    expect(factory.createCalls).toBe(2);
    expect(pool.size().waiting).toBe(1);
    const second = await outcome(pool.acquire()); // beyond the open connection: fails at once
    expect(second.ok ? undefined : second.error).toBeInstanceOf(ConnectionCreateError);
    expect(factory.createCalls).toBe(2);
    held.release();
    const served = await first;
    expect(served.ok).toBe(true);
    if (served.ok) served.value.release();
    const fromIdle = await outcome(pool.acquire());
    expect(fromIdle.ok).toBe(true);
    if (fromIdle.ok) fromIdle.value.release();
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('keeps the backoff and the wait for an error the factory calls transient', async () => {
    const factory = new ClassifyingFakeFactory();
    factory.createErrorKind = 'transient';
    factory.createPlan = ['fail', 'fail'];
    const pool = ConnectionPool.open({ acquireTimeoutMs: 10_000 }, factory);
    const waiter = outcome(pool.acquire());
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await waiter;
    expect(result.ok).toBe(true);
    expect(factory.createCalls).toBe(3);
    expect(pool.statistics()).toMatchObject({ createFailures: 2, fatalCreateFailures: 0 });
    if (result.ok) result.value.release();
    await pool.close();
  });

  it('never asks the classifier about its own create timeout', async () => {
    const factory = new ClassifyingFakeFactory();
    factory.createPlan = ['hang'];
    const pool = ConnectionPool.open({ createTimeoutMs: 1_000, acquireTimeoutMs: 10_000 }, factory);
    const waiter = outcome(pool.acquire());
    await vi.advanceTimersByTimeAsync(1_500);
    expect(factory.classifyCalls).toBe(0);
    const result = await waiter;
    expect(result.ok).toBe(true);
    if (result.ok) result.value.release();
    await pool.close();
  });

  it('treats a classifier that throws as transient and reports it', async () => {
    const factory = new ClassifyingFakeFactory();
    factory.classifyCreateError = () => {
      throw new Error('classifier bug');
    };
    factory.createPlan = ['fail'];
    const pool = ConnectionPool.open({ acquireTimeoutMs: 10_000 }, factory);
    const reported: string[] = [];
    pool.on('error', ({ error }) => reported.push(error.message));
    const waiter = outcome(pool.acquire());
    await vi.advanceTimersByTimeAsync(500);
    const result = await waiter;
    expect(result.ok).toBe(true);
    expect(reported).toEqual([expect.stringContaining('classifyCreateError() threw')]);
    if (result.ok) result.value.release();
    await pool.close();
  });

  it('refuses a factory whose classifyCreateError is not a function', () => {
    const factory = Object.assign(new FakeFactory(), { classifyCreateError: 'fatal' });
    expect(() => ConnectionPool.open({}, factory as unknown as FakeFactory)).toThrow(InvalidArgumentError);
  });
});

describe('acquire({ failFast: true })', () => {
  it('rejects the caller a failed connect was made for with ConnectionCreateError, one caller per failure', async () => {
    const factory = new FakeFactory();
    factory.createPlan = ['fail', 'ok'];
    const pool = ConnectionPool.open({ maxSize: 10, acquireTimeoutMs: 30_000 }, factory);
    const a = outcome(pool.acquire({ failFast: true }));
    const b = outcome(pool.acquire({ failFast: true }));
    await flush();
    const [ra, rb] = await Promise.all([a, b]);
    expect(ra.ok).toBe(false);
    const error = ra.ok ? undefined : ra.error;
    expect(error).toBeInstanceOf(ConnectionCreateError);
    expect((error as Error).cause).toBe(factory.createError);
    expect((error as ConnectionCreateError).retryInMs).toBeNull();
    expect(rb.ok).toBe(true);
    if (rb.ok) rb.value.release();
    expect(pool.statistics()).toMatchObject({ acquired: 1, acquireFailures: 1, createFailures: 1 });
    expectConsistent(pool, factory);
    await pool.close();
  });

  it("gives a failed connect's error to nobody who arrived after it began (as pg.Pool: it was made for a caller that left)", async () => {
    const factory = new FakeFactory();
    factory.createDelayMs = 1_000;
    factory.createPlan = ['fail', 'ok'];
    const pool = ConnectionPool.open({ maxSize: 1, acquireTimeoutMs: 30_000 }, factory);
    const early = outcome(pool.acquire({ failFast: true, timeoutMs: 100 }));
    await vi.advanceTimersByTimeAsync(100);
    expect((await early).ok).toBe(false); // timed out while the connect made for it ran
    const late = outcome(pool.acquire({ failFast: true }));
    await vi.advanceTimersByTimeAsync(900); // the connect fails: it was not made for `late`
    expect(pool.size().waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(1_000); // the next connect serves it
    const result = await late;
    expect(result.ok).toBe(true);
    if (result.ok) result.value.release();
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('lets a caller without failFast wait through the same failure', async () => {
    const factory = new FakeFactory();
    factory.createPlan = ['fail', 'fail'];
    const pool = ConnectionPool.open({ maxSize: 10, acquireTimeoutMs: 30_000 }, factory);
    const patient = outcome(pool.acquire());
    const hasty = outcome(pool.acquire({ failFast: true }));
    await flush();
    const rh = await hasty;
    expect(rh.ok).toBe(false); // the first failure goes to the failFast caller, though second in line
    expect(pool.size().waiting).toBe(1);
    await vi.advanceTimersByTimeAsync(500);
    const rp = await patient;
    expect(rp.ok).toBe(true);
    if (rp.ok) rp.value.release();
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('rejects at once with the last connect error until the next attempt is due, without a connect attempt', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    const pool = ConnectionPool.open({ createRetryDelayMs: 1_000, createRetryMaxDelayMs: 1_000, acquireTimeoutMs: 30_000 }, factory);
    expect((await outcome(pool.acquire({ failFast: true }))).ok).toBe(false);
    expect(factory.createCalls).toBe(1);
    await vi.advanceTimersByTimeAsync(100); // within the probe interval (150 ms) and the backoff
    const refused = await outcome(pool.acquire({ failFast: true }));
    expect(refused.ok).toBe(false);
    const error = refused.ok ? undefined : refused.error;
    expect(error).toBeInstanceOf(ConnectionCreateError);
    expect((error as Error).cause).toBe(factory.createError);
    expect((error as Error).message).toContain('the last attempt failed');
    // A refusal says when the next attempt is due; the error of the attempt itself says null.
    expect((error as ConnectionCreateError).retryInMs).toBe(50);
    expect(factory.createCalls).toBe(1);
    expect(pool.size()).toMatchObject({ waiting: 0, pending: 0 });

    await vi.advanceTimersByTimeAsync(100); // the probe interval is over: a fresh attempt for the next caller
    factory.createDefault = 'ok';
    const served = await outcome(pool.acquire({ failFast: true }));
    expect(served.ok).toBe(true);
    expect(factory.createCalls).toBe(2);
    if (served.ok) served.value.release();
    await pool.close();
  });

  it('serves a failFast caller from an idle connection while the pool backs off', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ maxSize: 3, minSize: 0, initialSize: 1, createRetryDelayMs: 5_000 }, factory);
    const held = await pool.acquire();
    factory.createDefault = 'fail';
    expect((await outcome(pool.acquire({ failFast: true }))).ok).toBe(false); // its connect failed: backoff
    held.release();
    const fromIdle = await outcome(pool.acquire({ failFast: true }));
    expect(fromIdle.ok).toBe(true);
    if (fromIdle.ok) fromIdle.value.release();
    expect(factory.createCalls).toBe(2);
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('waits for a release instead of failing when the pool is at maxSize while it backs off', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ maxSize: 3, minSize: 0, initialSize: 1, createRetryDelayMs: 5_000 }, factory);
    const held = await pool.acquire();
    factory.createDefault = 'fail';
    expect((await outcome(pool.acquire({ failFast: true }))).ok).toBe(false); // backoff from now on
    pool.resize({ maxSize: 1 }); // the pool is full: no connect would be made for the next caller
    const waiter = outcome(pool.acquire({ failFast: true }));
    await flush();
    expect(pool.size().waiting).toBe(1);
    held.release();
    const served = await waiter;
    expect(served.ok).toBe(true);
    if (served.ok) served.value.release();
    expect(factory.createCalls).toBe(2);
    expectConsistent(pool, factory);
    await pool.close();
  });

  it('rejects a failFast option that is not a boolean, naming it, and leaves the pool untouched', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ initialSize: 1 }, factory);
    const err = await pool.acquire({ failFast: 'yes' as unknown as boolean }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as Error).message).toContain('failFast');
    expect(pool.size()).toMatchObject({ total: 1, idle: 1, waiting: 0 });
    await pool.close();
  });
});
