import { type ConnectionFactory, ConnectionPool, InvalidArgumentError, InvalidConfigError, type PoolEventMap } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LimitChange } from './adaptive-events.js';
import { adaptiveLimit, adaptiveLimiterOf } from './adaptive-limit.js';
import { GradientLimit } from './gradient-limit.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

interface SimConnection {
  id: number;
}

function factory(): ConnectionFactory<SimConnection> {
  let n = 0;
  return { create: async () => ({ id: ++n }), close: async () => {} };
}

/**
 * A closed loop of `callers` callers on a simulated CPU-bound database with `cores` cores and `baseMs`
 * queries: each query takes baseMs × max(1, borrowed / cores), fixed when it starts (fake timers).
 */
function closedLoop(pool: ConnectionPool<SimConnection>, callers: number, cores: number, baseMs: number, extra: () => number = () => 0) {
  let stopped = false;
  let served = 0;
  const loops = Array.from({ length: callers }, async () => {
    while (!stopped) {
      try {
        await pool.use(async () => {
          const busy = pool.size().active + extra();
          await new Promise((r) => setTimeout(r, baseMs * Math.max(1, busy / cores)));
        });
        served++;
      } catch {
        return;
      }
    }
  });
  return {
    get served() {
      return served;
    },
    async stop() {
      stopped = true;
      await vi.advanceTimersByTimeAsync(1_000);
      await Promise.all(loops);
    },
  };
}

describe('adaptiveLimit(pool)', () => {
  it('finds the knee of a simulated CPU-bound database with a real pool, and keeps pool.limit, statistics and events in step', async () => {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 64, acquireTimeoutMs: 60_000 }, factory());
    const limits: PoolEventMap['limit'][] = [];
    pool.on('limit', (e) => limits.push(e));
    const changes: LimitChange[] = [];
    const limiter = adaptiveLimit(pool).on('limitChanged', (c) => changes.push(c));
    expect(adaptiveLimiterOf(pool)).toBe(limiter);
    expect(pool.limit).toBe(1);
    const load = closedLoop(pool, 200, 2, 5);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(limiter.limit).toBeGreaterThanOrEqual(2);
    expect(limiter.limit).toBeLessThanOrEqual(6);
    expect(pool.limit).toBe(limiter.limit);
    expect(pool.size().total).toBeLessThanOrEqual(limiter.limit);
    const stats = limiter.statistics();
    expect(stats).toMatchObject({
      target: pool.name,
      algorithm: 'gradient',
      state: 'running',
      limit: limiter.limit,
      floor: 1,
      ceiling: 64,
    });
    expect(stats.throughput).toBeGreaterThan(300); // two cores of 5 ms queries: 400 per second at best
    expect(stats.latencyMs).toBeGreaterThan(4.9);
    const up = changes.find((c) => c.reason === 'demand');
    expect(up).toMatchObject({ target: pool.name, algorithm: 'gradient', waiting: expect.any(Number) });
    expect(up?.limit).toBeGreaterThan(up?.previous as number);
    expect(up?.latencyMs).toBeGreaterThan(0);
    expect(up?.throughput).toBeGreaterThan(0);
    // Every change reached the pool, with a reason that says what was measured.
    expect(limits.at(-1)?.limit).toBe(limiter.limit);
    expect(limits.some((l) => /^adaptive: callers waited while latency held at \d/.test(l.reason ?? ''))).toBe(true);
    await load.stop();
    await pool.close();
    expect(limiter.running).toBe(false);
  });

  it('lowers the limit when a second load slows the database, and raises it again when it stops', async () => {
    const pool = await ConnectionPool.create({ maxSize: 64, acquireTimeoutMs: 60_000 }, factory());
    let competing = 0;
    const limiter = adaptiveLimit(pool);
    const load = closedLoop(pool, 100, 2, 5, () => competing);
    await vi.advanceTimersByTimeAsync(30_000);
    const before = limiter.limit;
    competing = 8;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(limiter.limit).toBeLessThan(before);
    expect(limiter.statistics().lastChange?.reason).toBe('latency');
    competing = 0;
    await vi.advanceTimersByTimeAsync(20_000);
    expect(limiter.limit).toBeGreaterThanOrEqual(before);
    await load.stop();
    await pool.close();
  });

  it('goes on from a limit someone else set, and lifts its own when stopped', async () => {
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 10, initialSize: 2 }, factory());
    const changes: LimitChange[] = [];
    const limiter = adaptiveLimit(pool, { initialLimit: 4 }).on('limitChanged', (c) => changes.push(c));
    pool.setLimit(7, 'operator');
    expect(limiter.limit).toBe(7);
    expect(changes.at(-1)).toMatchObject({ reason: 'external', previous: 4, limit: 7 });
    pool.resize({ maxSize: 5 });
    expect(limiter.limit).toBe(5);
    expect(limiter.statistics().ceiling).toBe(5);
    limiter.stop();
    expect(pool.limit).toBe(5);
    expect(limiter.running).toBe(false);
    expect(adaptiveLimiterOf(pool)).toBeUndefined();
    limiter.stop(); // idempotent
    await pool.close();
  });

  it('never exceeds the ceiling function (a cluster lease), and reports a throwing one as an error', async () => {
    const pool = await ConnectionPool.create({ maxSize: 64, acquireTimeoutMs: 60_000 }, factory());
    let lease: number | null = 3;
    const errors: unknown[] = [];
    const limiter = adaptiveLimit(pool, {
      ceiling: () => {
        if (lease === -1) throw new Error('budget gone');
        return lease;
      },
    }).on('error', (e) => errors.push(e.error));
    const load = closedLoop(pool, 50, 64, 5);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(limiter.limit).toBe(3);
    expect(pool.size().total).toBeLessThanOrEqual(3);
    lease = 2;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(limiter.limit).toBe(2);
    lease = null;
    await vi.advanceTimersByTimeAsync(10_000);
    expect(limiter.limit).toBeGreaterThan(3);
    lease = -1;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(errors.length).toBeGreaterThan(0);
    expect(String(errors[0])).toContain('budget gone');
    await load.stop();
    await pool.close();
  });

  it('turns a throwing ceiling() into a process warning when nobody listens for errors, and carries on', async () => {
    const pool = await ConnectionPool.create({ maxSize: 8, initialSize: 0 }, factory());
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const limiter = adaptiveLimit(pool, {
      ceiling: () => {
        throw new Error('budget gone');
      },
    });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(warn).toHaveBeenCalledWith(expect.stringContaining('budget gone'), { code: 'POOL_ADAPTIVE_ERROR' });
    expect(limiter.running).toBe(true);
    warn.mockRestore();
    await pool.close();
  });

  it('times only the first 64 borrows that end in each interval, and counts all of them from the pool', async () => {
    const pool = await ConnectionPool.create({ maxSize: 8, initialSize: 0, acquireTimeoutMs: 60_000 }, factory());
    const limiter = adaptiveLimit(pool, { initialLimit: 8 });
    expect(pool.listenerCount('release')).toBe(1);
    const borrow = async (): Promise<void> => {
      const done = pool.use(() => new Promise((r) => setTimeout(r, 2)));
      await vi.advanceTimersByTimeAsync(2);
      await done;
    };
    for (let i = 0; i < 64; i++) await borrow();
    expect(pool.listenerCount('release')).toBe(0); // the pool stops timing borrows
    for (let i = 0; i < 100; i++) await borrow();
    expect(limiter.statistics().intervals).toBe(0); // 164 borrows of 2 ms: still in the first second
    await vi.advanceTimersByTimeAsync(1_000);
    const s = limiter.statistics();
    expect(s.intervals).toBe(1);
    expect(s.latencyMs).toBeCloseTo(2, 0);
    expect(s.throughput).toBeCloseTo(164, -1); // every borrow counted, not only the 64 timed ones
    expect(pool.listenerCount('release')).toBe(1); // timing again for the next interval
    limiter.stop();
    expect(pool.listenerCount('release')).toBe(0);
    await pool.close();
  });

  it('accepts an algorithm instance and AIMD by name', async () => {
    const pool = await ConnectionPool.create({ maxSize: 8, initialSize: 0 }, factory());
    const g = new GradientLimit({ tolerance: 2 });
    const a = adaptiveLimit(pool, { algorithm: g });
    expect(a.algorithm).toBe('gradient');
    expect(() => adaptiveLimit(pool)).toThrow(/already has an adaptive limiter/);
    a.stop();
    const b = adaptiveLimit(pool, { algorithm: 'aimd', aimd: { backoffRatio: 0.5 } });
    expect(b.statistics().algorithm).toBe('aimd');
    b.stop();
    await pool.close();
  });

  it.each([
    [{ intervalMs: 0 }, /options.intervalMs = 0/],
    [{ algorithm: 'vegas' }, /options.algorithm = .vegas.: must be 'gradient', 'aimd'/],
    [{ gradient: { tolerance: 2 }, algorithm: 'aimd' }, /options.gradient .*only applies with algorithm: 'gradient'/],
    [{ initialLimit: 2.5 }, /options.initialLimit = 2.5: must be an integer >= 1/],
    [{ maxSize: 10 }, /options.maxSize = 10: is not an option/],
    [{ ceiling: 5 }, /options.ceiling = 5: must be a function/],
  ])('rejects bad options %j with a message naming the field', async (options, message) => {
    const pool = await ConnectionPool.create({ maxSize: 8, initialSize: 0 }, factory());
    expect(() => adaptiveLimit(pool, options as never)).toThrow(InvalidConfigError);
    expect(() => adaptiveLimit(pool, options as never)).toThrow(message);
    expect(pool.limit).toBeNull();
    await pool.close();
    expect(() => adaptiveLimit(pool)).toThrow(InvalidArgumentError);
  });
});
