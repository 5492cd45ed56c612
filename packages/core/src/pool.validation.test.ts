import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionValidator } from './connection-validator.js';
import { ConnectionTimeoutError, ValidationFailedError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('validation', () => {
  it('validates on acquire and hands out a healthy connection', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, validateOnAcquire: true }, factory);
    const conn = await pool.acquire();
    expect(factory.validateCalls).toBe(1);
    conn.release();
    expect(pool.statistics().validations).toBe(1);
    await pool.close();
  });

  it('destroys a connection that fails validation and gives the caller another', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 2, validateOnAcquire: true }, factory);
    for (const c of factory.all) c.healthy = false;
    const pending = pool.acquire();
    await vi.advanceTimersByTimeAsync(120); // never-proven connections failing: one retry delay
    const conn = await pending;
    expect(conn.connection.serial).toBe(3);
    expect(factory.all.filter((c) => c.closed).map((c) => c.serial)).toEqual([1, 2]);
    expect(pool.statistics().destroyedByReason.validation).toBe(2);
    conn.release();
    await pool.close();
  });

  it('bounds a hanging validation by validationTimeoutMs, then serves the caller within its deadline', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 1, initialSize: 1, validateOnAcquire: true, validationTimeoutMs: 200, acquireTimeoutMs: 1_000 },
      factory,
    );
    factory.validateBehaviour = 'hang';
    const conn = pool.acquire();
    await vi.advanceTimersByTimeAsync(200);
    factory.validateBehaviour = 'ok';
    await vi.advanceTimersByTimeAsync(120);
    const c = await conn; // the fresh replacement needs no validation
    expect(c.connection.serial).toBe(2);
    expect(pool.statistics().validationFailures).toBe(1);
    c.release();
    await pool.close();
  });

  it('reports the validation failure as the timeout cause when nothing valid turns up', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 1, maxSize: 1, initialSize: 1, validateOnAcquire: true, acquireTimeoutMs: 300, closeTimeoutMs: 100 },
      factory,
    );
    (factory.all[0] as FakeConnection).healthy = false;
    factory.createDefault = 'hang';
    const err = (await Promise.all([pool.acquire().catch((e: unknown) => e), vi.advanceTimersByTimeAsync(300)]))[0];
    expect(err).toBeInstanceOf(ConnectionTimeoutError);
    expect((err as Error).cause).toBeInstanceOf(ValidationFailedError);
    await Promise.all([pool.close(), vi.advanceTimersByTimeAsync(100)]);
  });

  it('a validate() that throws counts as a failure', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, validateOnRelease: true }, factory);
    const conn = await pool.acquire();
    factory.validateBehaviour = 'fail';
    const raw = conn.connection;
    conn.release();
    await flush();
    expect(raw.closed).toBe(true);
    expect(pool.statistics().validationFailures).toBe(1);
    await pool.close();
  });

  it('validates on release before the connection is reused', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, validateOnRelease: true }, factory);
    const conn = await pool.acquire();
    conn.release();
    expect(pool.size().idle).toBe(0);
    await flush();
    expect(factory.validateCalls).toBe(1);
    expect(pool.size().idle).toBe(1);
    await pool.close();
  });

  it('uses the pool validator: its query, its timeout and fast validation', async () => {
    const factory = new FakeFactory();
    const queries: (string | undefined)[] = [];
    const validate = factory.validate.bind(factory);
    factory.validate = (conn, ctx) => {
      queries.push(ctx.query);
      return validate(conn, ctx);
    };
    const validator = new ConnectionValidator({ timeoutMs: 100 }).withQuery('SELECT 1').withFastValidation(true, 500);
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, validateOnAcquire: true }, factory, { validator });
    await vi.advanceTimersByTimeAsync(1_000);
    const a = await pool.acquire(); // idle for 1 s: checked
    a.release();
    const b = await pool.acquire(); // used successfully just now: skipped
    b.release();
    expect(queries).toEqual(['SELECT 1']);
    const stats = validator.statistics();
    expect(stats).toMatchObject({ validations: 2, checks: 1, skipped: 1, failures: 0, successRate: 1 });
    expect(pool.statistics().validations).toBe(2);
    await pool.close();
  });

  it('fast validation does not trust a connection whose last use failed', async () => {
    const factory = new FakeFactory();
    const validator = new ConnectionValidator().withFastValidation(true);
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, validateOnAcquire: true }, factory, { validator });
    await vi.advanceTimersByTimeAsync(1_000);
    const a = await pool.acquire();
    a.release({ error: new Error('connection reset') });
    const b = await pool.acquire();
    b.release();
    expect(validator.statistics()).toMatchObject({ checks: 2, skipped: 0 });
    await pool.close();
  });
});

describe('validation failures without a busy loop', () => {
  it('backs off instead of spinning when connections that never proved healthy fail validation', async () => {
    // Every validation fails. Before the fix, a replacement arriving while the caller's connection was
    // being validated went idle, was taken and validated (failing) again: create/destroy forever on
    // microtasks. Now the failure backs re-creation off, and the caller is served a fresh connection.
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 2, maxSize: 3, validateOnAcquire: true }, factory);
    factory.validateBehaviour = 'fail';
    let served = false;
    const pending = pool.acquire().then((c) => {
      served = true;
      return c;
    });
    await flush();
    expect(served).toBe(false); // waiting out one retry delay, not spinning
    await vi.advanceTimersByTimeAsync(150);
    const conn = await pending;
    expect(served).toBe(true);
    expect(factory.createCalls).toBeLessThanOrEqual(4);
    expect(pool.statistics().validationFailures).toBeLessThanOrEqual(2);
    conn.release();
    await pool.close();
  });

  it('replaces stale connections at once after a restart when the pool had been healthy', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 3, initialSize: 3, validateOnAcquire: true }, factory);
    await vi.advanceTimersByTimeAsync(1_000);
    const warm = await pool.acquire();
    warm.release(); // proves health after the three opened
    for (const c of factory.all) c.healthy = false; // the server restarted: every idle connection is dead
    const conn = await pool.acquire();
    expect(conn.connection.serial).toBe(4);
    conn.release();
    await pool.close();
  });
});
