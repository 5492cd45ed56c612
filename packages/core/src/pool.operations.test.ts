import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionReleasedError, InvalidArgumentError, InvalidConfigError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('operator actions', () => {
  it('suspend() holds new and waiting acquires; borrowed connections keep working and come back', async () => {
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 2, acquireTimeoutMs: 1_000 }, new FakeFactory());
    const held = await pool.acquire();
    const events: string[] = [];
    pool.on('suspend', () => events.push('suspend')).on('resume', () => events.push('resume'));
    pool.suspend();
    pool.suspend(); // idempotent
    expect(pool.suspended).toBe(true);
    const waiting = pool.acquire();
    held.release();
    await flush();
    expect(pool.size()).toMatchObject({ idle: 2, waiting: 1 });
    pool.resume();
    (await waiting).release();
    expect(events).toEqual(['suspend', 'resume']);
    await pool.close();
  });

  it('suspended acquires still time out at their deadline', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1, acquireTimeoutMs: 500 }, new FakeFactory());
    pool.suspend();
    const result = pool.acquire().catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(500);
    expect(await result).toMatchObject({ code: 'ERR_POOL_CONNECTION_TIMEOUT' });
    await pool.close();
  });

  it('resize() grows the pool for waiters and shrinks idle connections at once', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 1, initialSize: 1 }, factory);
    const held = await pool.acquire();
    const waiting = pool.acquire();
    await flush();
    expect(factory.createCalls).toBe(1);
    pool.resize({ maxSize: 4, minSize: 3 });
    const second = await waiting;
    await flush();
    expect(pool.size().total).toBe(3);
    expect(pool.config.maxSize).toBe(4);
    held.release();
    second.release();
    pool.resize({ maxSize: 1, minSize: 1 });
    expect(pool.size().total).toBe(1);
    expect(pool.statistics().destroyedByReason.resize).toBe(2);
    await pool.close();
  });

  it('resize() retires borrowed connections beyond the new maxSize as they come back', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 3, initialSize: 3 }, new FakeFactory());
    const conns = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    pool.resize({ maxSize: 1 });
    for (const c of conns) c.release();
    expect(pool.size().total).toBe(1);
    await pool.close();
  });

  it('resize() validates and leaves the pool untouched on bad input', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 4, initialSize: 1 }, new FakeFactory());
    expect(() => pool.resize({ minSize: 5 })).toThrow(InvalidConfigError);
    expect(() => pool.resize({ maxSize: -1 })).toThrow(/maxSize/);
    expect(() => pool.resize({ maxSize: 0 })).toThrow(/maxSize/);
    expect(() => pool.resize({ idleTimeoutMs: 5 } as never)).toThrow(InvalidArgumentError);
    expect(pool.config.maxSize).toBe(4);
    expect(pool.config.minSize).toBe(1);
    await pool.close();
  });

  it('evictIdle() closes idle connections now, retires borrowed ones on return, then refills to minSize', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 3 }, factory);
    const held = await pool.acquire();
    expect(pool.evictIdle()).toBe(2);
    await flush();
    expect(pool.size()).toMatchObject({ idle: 1, active: 1 }); // refilled to minSize, the borrowed one included
    const raw = held.connection;
    held.release();
    expect(raw.closed).toBe(true);
    await flush();
    expect(pool.size()).toMatchObject({ idle: 2, active: 0 });
    expect(pool.statistics().destroyedByReason.evicted).toBe(3);
    await pool.close();
  });

  it('reclaim() takes an abandoned borrow back: the stale handle stops working', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory);
    const abandoned = await pool.acquire();
    const waiting = pool.acquire();
    expect(pool.reclaim(abandoned.id)).toBe(true);
    expect(pool.reclaim(abandoned.id)).toBe(false);
    expect(() => abandoned.connection).toThrow(ConnectionReleasedError);
    expect(() => abandoned.release()).toThrow(/reclaimed by the pool/);
    const next = await waiting;
    expect(next.id).not.toBe(abandoned.id);
    next.release();
    expect(pool.statistics().reclaimed).toBe(1);
    await pool.close();
  });

  it('connections() and borrowed() describe every open connection', async () => {
    // Leak detection makes the pool measure borrow and idle times exactly.
    const pool = await ConnectionPool.create({ minSize: 2, initialSize: 2, leakDetectionThresholdMs: 60_000 }, new FakeFactory());
    await vi.advanceTimersByTimeAsync(1_000);
    const conn = await pool.acquire({ context: { tenant: 'acme' } });
    conn.label = 'acme';
    await vi.advanceTimersByTimeAsync(250);
    const infos = pool.connections().sort((a, b) => a.id - b.id);
    const borrowedInfo = infos.find((i) => i.id === conn.id);
    expect(borrowedInfo).toMatchObject({ state: 'borrowed', borrows: 1, heldMs: 250, label: 'acme', context: { tenant: 'acme' } });
    const idleInfo = infos.find((i) => i.id !== conn.id);
    expect(idleInfo).toMatchObject({ state: 'idle', heldMs: undefined, idleMs: 1_250 });
    expect(pool.borrowed()).toEqual([conn]);
    conn.release();
    await pool.close();
  });

  it('acquire({ label }) prefers an idle connection prepared with that label', async () => {
    const pool = await ConnectionPool.create({ minSize: 3, initialSize: 3 }, new FakeFactory());
    const conns = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    (conns[0] as { label: string | undefined }).label = 'tenant_a';
    (conns[1] as { label: string | undefined }).label = 'tenant_b';
    for (const c of conns) c.release();
    const a = await pool.acquire({ label: 'tenant_a' });
    expect(a.id).toBe(conns[0]?.id);
    const b = await pool.acquire({ label: 'tenant_b' });
    expect(b.id).toBe(conns[1]?.id);
    const other = await pool.acquire({ label: 'tenant_c' }); // none: any idle one
    expect(other.id).toBe(conns[2]?.id);
    for (const c of [a, b, other]) c.release();
    await pool.close();
  });
});

describe('borrow timing', () => {
  it('does not report borrow times it did not measure', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(100);
    expect(pool.connections()[0]).toMatchObject({ state: 'borrowed', heldMs: undefined, acquiredAt: undefined });
    conn.release();
    await pool.close();
  });

  it('starts measuring as soon as someone listens', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const holds: number[] = [];
    pool.on('release', (e) => holds.push(e.holdMs));
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(100);
    expect(pool.connections()[0]?.heldMs).toBe(100);
    conn.release();
    expect(holds).toEqual([100]);
    await pool.close();
  });
});

describe('borrow timing on request', () => {
  it('requestBorrowTiming() measures borrows until withdrawn', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const withdraw = pool.requestBorrowTiming();
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(40);
    expect(pool.connections()[0]?.heldMs).toBe(40);
    conn.release();
    withdraw();
    withdraw(); // idempotent
    const again = await pool.acquire();
    expect(pool.connections()[0]?.heldMs).toBeUndefined();
    again.release();
    await pool.close();
  });

  it('an acquire listener alone does not switch borrow timing on', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    pool.on('acquire', () => {});
    const conn = await pool.acquire();
    expect(pool.connections()[0]?.heldMs).toBeUndefined();
    conn.release();
    await pool.close();
  });

  it('reports a borrow the pool ends itself as a release with its hold time', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const ended: { id: number; holdMs: number; released: boolean; ended: string }[] = [];
    pool.on('release', (e) => ended.push({ id: e.connection.id, holdMs: e.holdMs, released: e.connection.released, ended: e.ended }));
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(25);
    pool.reclaim(conn.id);
    expect(ended).toEqual([{ id: conn.id, holdMs: 25, released: true, ended: 'reclaimed' }]);
    await pool.close();
  });
});
