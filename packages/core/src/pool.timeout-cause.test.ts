import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionTimeoutError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { FakeFactory } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function timeoutOf(p: Promise<unknown>, ms: number): Promise<ConnectionTimeoutError> {
  const caught = p.then(
    () => undefined,
    (e: unknown) => e,
  );
  await vi.advanceTimersByTimeAsync(ms);
  const error = await caught;
  expect(error).toBeInstanceOf(ConnectionTimeoutError);
  return error as ConnectionTimeoutError;
}

describe('a timeout that explains itself', () => {
  it('says how many connects were pending and for how long when the database is slow to accept them', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'hang';
    const pool = ConnectionPool.open({ createTimeoutMs: 30_000 }, factory);
    const error = await timeoutOf(pool.acquire({ timeoutMs: 2_000 }), 2_000);
    expect(error.message).toBe(
      'Timed out after 2000 ms waiting for a connection: 1 connect pending for 2,000 ms (the database is slow to accept connections)',
    );
    expect(error.cause).toBeUndefined();
    expect(error.situation).toEqual({
      pendingConnects: 1,
      oldestConnectMs: 2_000,
      borrowed: 0,
      capacity: 10,
      waiting: 0,
      summary: '1 connect pending for 2,000 ms (the database is slow to accept connections)',
    });
    await pool.close();
  });

  it('counts every pending connect and the other callers', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'hang';
    const pool = ConnectionPool.open({ createTimeoutMs: 30_000 }, factory);
    const first = pool.acquire({ timeoutMs: 5_000 }).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1_000);
    const others = [pool.acquire({ timeoutMs: 60_000 }).catch(() => {}), pool.acquire({ timeoutMs: 60_000 }).catch(() => {})];
    await vi.advanceTimersByTimeAsync(4_000);
    const error = (await first) as ConnectionTimeoutError;
    expect(error.message).toContain(
      ': 3 connects pending for 5,000 ms (the database is slow to accept connections), 2 other callers waiting',
    );
    expect(error.situation).toMatchObject({ pendingConnects: 3, oldestConnectMs: 5_000, waiting: 2 });
    await pool.close();
    await Promise.all(others);
  });

  it('says every connection is borrowed when the pool is simply full', async () => {
    const pool = await ConnectionPool.create({ maxSize: 2, initialSize: 2 }, new FakeFactory());
    const held = [await pool.acquire(), await pool.acquire()];
    const error = await timeoutOf(pool.acquire({ timeoutMs: 1_000 }), 1_000);
    expect(error.message).toBe('Timed out after 1000 ms waiting for a connection: all 2 connections are borrowed (maxSize 2)');
    expect(error.situation).toMatchObject({ pendingConnects: 0, oldestConnectMs: undefined, borrowed: 2, capacity: 2 });
    for (const h of held) h.release();
    await pool.close();
  });

  it('names the limit when setLimit() holds the pool below maxSize', async () => {
    const pool = await ConnectionPool.create({ maxSize: 3, initialSize: 1 }, new FakeFactory());
    pool.setLimit(1);
    const held = await pool.acquire();
    const error = await timeoutOf(pool.acquire({ timeoutMs: 500 }), 500);
    expect(error.message).toContain(': all 1 connections are borrowed (limit 1, maxSize 3)');
    held.release();
    await pool.close();
  });

  it('says the pool is suspended', async () => {
    const pool = await ConnectionPool.create({ initialSize: 1 }, new FakeFactory());
    pool.suspend();
    const error = await timeoutOf(pool.acquire({ timeoutMs: 500 }), 500);
    expect(error.message).toContain(': the pool is suspended');
    pool.resume();
    await pool.close();
  });

  it('keeps the last connect error as cause next to the situation', async () => {
    const factory = new FakeFactory();
    factory.createDefault = 'fail';
    factory.createDelayMs = 50;
    const pool = ConnectionPool.open({}, factory);
    const error = await timeoutOf(pool.acquire({ timeoutMs: 1_000 }), 1_000);
    expect(error.cause).toBe(factory.createError);
    expect(error.message).toMatch(/^Timed out after 1000 ms waiting for a connection: .+; last error: ECONNREFUSED 127\.0\.0\.1:5432$/);
    await pool.close();
  });
});
