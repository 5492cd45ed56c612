import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionValidator } from './connection-validator.js';
import { InvalidArgumentError, InvalidConfigError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { FakeFactory } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('ConnectionValidator', () => {
  it('validates a borrowed connection as in the seed', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
    const validator = new ConnectionValidator({ timeoutMs: 5_000 }).withQuery('SELECT 1').withFastValidation(true);
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await validator.validate(conn)).toBe(true);
    conn.connection.healthy = false;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(await validator.validate(conn)).toBe(false);
    const stats = validator.statistics();
    expect(stats).toMatchObject({ validations: 2, checks: 2, failures: 1, timeouts: 0, successRate: 0.5 });
    conn.release();
    await pool.close();
  });

  it('counts a hung check as a timeout and a failure', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
    const conn = await pool.acquire();
    factory.validateBehaviour = 'hang';
    const validator = new ConnectionValidator({ timeoutMs: 250 });
    const result = validator.validate(conn);
    await vi.advanceTimersByTimeAsync(250);
    expect(await result).toBe(false);
    expect(validator.statistics()).toMatchObject({ failures: 1, timeouts: 1 });
    expect(validator.statistics().averageTimeMs).toBeCloseTo(250, 0);
    conn.release();
    await pool.close();
  });

  it('skips the round-trip within the fast-validation window only', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, factory);
    const conn = await pool.acquire();
    const validator = new ConnectionValidator().withFastValidation(true, 500);
    expect(await validator.validate(conn)).toBe(true); // just created: trusted
    await vi.advanceTimersByTimeAsync(501);
    expect(await validator.validate(conn)).toBe(true);
    expect(validator.statistics()).toMatchObject({ skipped: 1, checks: 1 });
    conn.release();
    await pool.close();
  });

  it('is immutable: with* returns a copy', () => {
    const a = new ConnectionValidator();
    const b = a.withQuery('SELECT 1');
    expect(a.query).toBeUndefined();
    expect(b.query).toBe('SELECT 1');
    expect(b.withFastValidation(true).fastValidation).toBe(true);
    expect(b.fastValidation).toBe(false);
  });

  it('rejects bad options naming the field', () => {
    expect(() => new ConnectionValidator({ timeoutMs: -1 })).toThrow(InvalidConfigError);
    expect(() => new ConnectionValidator({ timeoutMs: -1 })).toThrow(/validator\.timeoutMs/);
    expect(() => new ConnectionValidator().withQuery('')).toThrow(/validator\.query/);
    expect(() => new ConnectionValidator({ fast: true } as never)).toThrow(/validator\.fast/);
  });

  it('refuses something that is not a pooled connection, and a released one', async () => {
    const validator = new ConnectionValidator();
    await expect(validator.validate({} as never)).rejects.toBeInstanceOf(InvalidArgumentError);
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const conn = await pool.acquire();
    conn.release();
    await expect(validator.validate(conn)).rejects.toThrow(/released/);
    await pool.close();
  });
});
