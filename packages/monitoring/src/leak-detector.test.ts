import { ConnectionPool } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { LeakDetector, type LeakRelease, type LeakReport } from './leak-detector.js';
import { PoolMonitor } from './pool-monitor.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

const monitors: PoolMonitor[] = [];

/**
 * A pool whose borrow times are measured, as in production with a PoolMonitor attached (the pool
 * measures borrow times only when something needs them).
 */
async function timedPool(...args: Parameters<typeof ConnectionPool.create<FakeConnection>>): Promise<ConnectionPool<FakeConnection>> {
  const pool = await ConnectionPool.create(...args);
  monitors.push(new PoolMonitor(pool, { borrowTiming: 'all' }));
  return pool;
}

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-03-10T09:00:00Z'));
});
afterEach(() => {
  for (const m of monitors.splice(0)) m.close();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function listen(detector: LeakDetector) {
  const leaks: LeakReport[] = [];
  const releases: LeakRelease[] = [];
  const reclaims: LeakReport[] = [];
  const order: string[] = [];
  detector.on('leak', (l) => {
    leaks.push(l);
    order.push(`leak:${l.connectionId}`);
  });
  detector.on('release', (r) => {
    releases.push(r);
    order.push(`release:${r.connectionId}:${r.endedBy}`);
  });
  detector.on('reclaim', (r) => {
    reclaims.push(r);
    order.push(`reclaim:${r.connectionId}`);
  });
  return { leaks, releases, reclaims, order };
}

describe('LeakDetector', () => {
  it('finds a connection held past the threshold (the seed "Leak Detection")', async () => {
    const pool = await timedPool({ minSize: 2, initialSize: 2 }, new FakeFactory(), { name: 'app' });
    const detector = new LeakDetector(300_000, 60_000).watch(pool);
    const seen = listen(detector);
    const leaked = await pool.acquire({ context: { route: 'GET /report', partition: 'tenant_acme' } });
    const fine = await pool.acquire();
    const acquiredAt = Date.now();
    await vi.advanceTimersByTimeAsync(240_000);
    fine.release();
    expect(detector.getLeaks()).toEqual([]);
    await vi.advanceTimersByTimeAsync(60_000); // the check at 300 s

    const leaks = detector.getLeaks();
    expect(leaks).toHaveLength(1);
    const leak = leaks[0]!;
    expect(leak).toMatchObject({
      poolName: 'app',
      connectionId: leaked.id,
      acquiredAt,
      detectedAt: acquiredAt + 300_000,
      context: { route: 'GET /report', partition: 'tenant_acme' },
      partition: 'tenant_acme',
      stack: undefined,
    });
    expect(leak.activeDurationMs).toBe(300_000);
    expect(seen.leaks).toHaveLength(1);

    // Reported once; getLeaks keeps it, with the duration as of now.
    await vi.advanceTimersByTimeAsync(180_000);
    expect(seen.leaks).toHaveLength(1);
    expect(detector.getLeaks()[0]!.activeDurationMs).toBe(480_000);
    expect(detector.statistics()).toMatchObject({ detected: 1, active: 1, released: 0, reclaimed: 0 });
    leaked.release();
    detector.close();
    await pool.close();
  });

  it('reports the release of a flagged connection and clears the leak', async () => {
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const detector = new LeakDetector(1_000, 500).watch(pool);
    const seen = listen(detector);
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_500);
    expect(detector.getLeaks()).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2_000);
    conn.release();
    await flush();
    expect(detector.getLeaks()).toEqual([]);
    expect(seen.releases).toHaveLength(1);
    expect(seen.releases[0]).toMatchObject({ connectionId: conn.id, endedBy: 'released', heldMs: 3_500, releasedAt: Date.now() });
    expect(detector.statistics()).toMatchObject({ detected: 1, released: 1, active: 0 });
    // The same connection borrowed again is a new borrow: flagged again if held too long.
    const again = await pool.acquire();
    expect(again.id).toBe(conn.id);
    await vi.advanceTimersByTimeAsync(1_500);
    expect(seen.leaks.map((l) => l.connectionId)).toEqual([conn.id, conn.id]);
    again.release();
    detector.close();
    await pool.close();
  });

  it('tells a destroyed flagged connection from a released one', async () => {
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const detector = new LeakDetector(1_000, 500).watch(pool);
    const seen = listen(detector);
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    await conn.destroy(new Error('socket hang up'));
    await flush();
    expect(seen.releases.map((r) => r.endedBy)).toEqual(['destroyed']);
    expect(detector.getLeaks()).toEqual([]);
    detector.close();
    await pool.close();
  });

  it('listens to pool events only while a flagged borrow exists', async () => {
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const base = pool.listenerCount('release');
    const baseDestroy = pool.listenerCount('destroy');
    const detector = new LeakDetector(1_000, 500).watch(pool);
    detector.on('leak', () => {});
    expect(pool.listenerCount('release')).toBe(base);
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pool.listenerCount('release')).toBe(base + 1);
    conn.release();
    await flush();
    expect(pool.listenerCount('release')).toBe(base);
    expect(pool.listenerCount('destroy')).toBe(baseDestroy);
    detector.close();
    await pool.close();
  });

  it('includes the acquire stack when the pool captures stacks', async () => {
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory(), { captureStacks: true });
    const detector = new LeakDetector(1_000, 1_000).watch(pool);
    detector.on('leak', () => {});
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(detector.getLeaks()[0]!.stack).toMatch(/leak-detector\.test\.ts/);
    conn.release();
    detector.close();
    await pool.close();
  });

  it('reclaims a borrow held past reclaimAfterMs, reporting the reclaim then the release', async () => {
    const pool = await timedPool({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory());
    const detector = new LeakDetector({ thresholdMs: 60_000, checkIntervalMs: 10_000, reclaimAfterMs: 120_000, pools: pool });
    const seen = listen(detector);
    const abandoned = await pool.acquire();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(seen.leaks).toHaveLength(1);
    expect(abandoned.released).toBe(false);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(abandoned.released).toBe(true);
    expect(() => abandoned.connection).toThrow(/reclaimed by the pool/);
    expect(seen.order).toEqual([`leak:${abandoned.id}`, `reclaim:${abandoned.id}`, `release:${abandoned.id}:reclaimed`]);
    expect(seen.reclaims[0]!.activeDurationMs).toBe(120_000);
    expect(detector.statistics()).toMatchObject({ detected: 1, reclaimed: 1, released: 1, active: 0 });
    expect(pool.statistics().destroyedByReason.reclaimed).toBe(1);
    // The pool has room again.
    const next = pool.acquire();
    await vi.advanceTimersByTimeAsync(10);
    (await next).release();
    detector.close();
    await pool.close();
  });

  it('never reclaims by default', async () => {
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const detector = new LeakDetector(1_000, 1_000).watch(pool);
    detector.on('leak', () => {});
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(conn.released).toBe(false);
    expect(detector.statistics().reclaimed).toBe(0);
    conn.release();
    detector.close();
    await pool.close();
  });

  it('reports a flagged borrow ended by pool.close() as closed', async () => {
    const pool = await timedPool({ minSize: 1, initialSize: 1, closeTimeoutMs: 1_000 }, new FakeFactory());
    const detector = new LeakDetector(1_000, 1_000).watch(pool);
    const seen = listen(detector);
    await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    const closing = pool.close();
    await vi.advanceTimersByTimeAsync(1_000);
    await closing;
    expect(seen.releases.map((r) => r.endedBy)).toEqual(['closed']);
    detector.close();
  });

  it('warns through process warnings when nobody listens to leaks', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'orders' });
    const detector = new LeakDetector(1_000, 1_000).watch(pool);
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/Connection \d+ of pool 'orders' has been borrowed for 1000 ms.*captureStacks/);
    expect(warn.mock.calls[0]![1]).toMatchObject({ code: 'POOL_CONNECTION_LEAK' });
    conn.release();
    detector.close();
    const quiet = new LeakDetector({ thresholdMs: 1_000, checkIntervalMs: 1_000, warn: false }).watch(pool);
    const again = await pool.acquire();
    await vi.advanceTimersByTimeAsync(3_000);
    expect(warn).toHaveBeenCalledTimes(1);
    again.release();
    quiet.close();
    await pool.close();
  });

  it('contains a throwing listener', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const detector = new LeakDetector(1_000, 1_000).watch(pool);
    const after = vi.fn();
    detector.on('leak', () => {
      throw new Error('listener bug');
    });
    detector.on('leak', after);
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(after).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/listener threw: listener bug/), expect.anything());
    conn.release();
    detector.close();
    await pool.close();
  });

  it('watches several pools and can stop watching one', async () => {
    const a = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'a' });
    const b = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'b' });
    const detector = new LeakDetector({ thresholdMs: 1_000, pools: [a, b] });
    detector.on('leak', () => {});
    const ca = await a.acquire();
    await vi.advanceTimersByTimeAsync(500);
    const cb = await b.acquire();
    await vi.advanceTimersByTimeAsync(1_500);
    expect(detector.getLeaks().map((l) => l.poolName)).toEqual(['a', 'b']);
    expect(detector.statistics('a')).toMatchObject({ detected: 1, active: 1 });
    expect(detector.statistics('b')).toMatchObject({ detected: 1, active: 1 });
    expect(detector.statistics('c')).toMatchObject({ detected: 0, active: 0 });
    expect(detector.statistics()).toMatchObject({ detected: 2, active: 2 });
    expect(detector.unwatch(a)).toBe(true);
    expect(detector.getLeaks().map((l) => l.poolName)).toEqual(['b']);
    ca.release();
    cb.release();
    detector.close();
    await a.close();
    await b.close();
  });

  it('runs a check on demand and returns the new leaks', async () => {
    const pool = await timedPool({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const detector = new LeakDetector(1_000, 60_000).watch(pool);
    detector.on('leak', () => {});
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(detector.check().map((l) => l.connectionId)).toEqual([conn.id]);
    expect(detector.check()).toEqual([]);
    conn.release();
    detector.close();
    await pool.close();
  });

  it('asks the pool it watches for exact borrow times, and withdraws the request when it stops', async () => {
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    const detector = new LeakDetector(3_000, 1_000).watch(pool);
    const seen = listen(detector);
    await vi.advanceTimersByTimeAsync(500);
    const conn = await pool.acquire(); // at 0.5 s
    await vi.advanceTimersByTimeAsync(3_500); // the check at 4 s sees 3.5 s
    expect(seen.leaks).toHaveLength(1);
    expect(seen.leaks[0]).toMatchObject({ connectionId: conn.id, approximate: false, activeDurationMs: 3_500 });
    conn.release();
    expect(seen.releases[0]).toMatchObject({ endedBy: 'released', heldMs: 3_500 });
    detector.close();
    const again = await pool.acquire();
    expect(pool.connections()[0]?.heldMs).toBeUndefined(); // nobody needs borrow times any more
    again.release();
    await pool.close();
  });

  it('still finds leaks in a pool that does not measure borrow times, one check late at most', async () => {
    const real = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory());
    // A pool-like object without requestBorrowTiming (an older core, or a wrapper).
    const pool = {
      name: real.name,
      config: real.config,
      factory: real.factory,
      waitQueue: real.waitQueue,
      statistics: () => real.statistics(),
      size: () => real.size(),
      borrowed: () => real.borrowed(),
      connections: () => real.connections(),
      reclaim: (id: number) => real.reclaim(id),
      on: ((event, listener) => real.on(event, listener)) as typeof real.on,
      off: ((event, listener) => real.off(event, listener)) as typeof real.off,
      acquire: () => real.acquire(),
      close: () => real.close(),
    };
    const detector = new LeakDetector(3_000, 1_000).watch(pool);
    const seen = listen(detector);
    await vi.advanceTimersByTimeAsync(500);
    const conn = await pool.acquire(); // at 0.5 s: first seen by the check at 1 s
    await vi.advanceTimersByTimeAsync(3_000);
    expect(seen.leaks).toEqual([]); // held 3 s, but only known for 2.5 s
    await vi.advanceTimersByTimeAsync(500);
    expect(seen.leaks).toHaveLength(1);
    expect(seen.leaks[0]).toMatchObject({ connectionId: conn.id, approximate: true, activeDurationMs: 3_000 });
    await vi.advanceTimersByTimeAsync(1_000);
    conn.release();
    await flush();
    expect(seen.releases[0]).toMatchObject({ endedBy: 'released', heldMs: 4_000 });
    detector.close();
    await pool.close();
  });

  it('rejects bad settings, naming them and the rule', () => {
    expect(() => new LeakDetector(0)).toThrow(/thresholdMs = 0: must be a number of milliseconds/);
    expect(() => new LeakDetector(1_000, 1)).toThrow(/checkIntervalMs/);
    expect(() => new LeakDetector({ thresholdMs: 1_000, reclaimAfterMs: 500 })).toThrow(
      /reclaimAfterMs = 500: must be greater than thresholdMs/,
    );
    expect(() => new LeakDetector({ thresholdMs: 1_000, treshold: 5 } as never)).toThrow(/treshold.*not a LeakDetector option/);
    expect(() => new LeakDetector(1_000).watch({} as never)).toThrow(/must be a ConnectionPool/);
    expect(() => new LeakDetector(1_000).on('leek' as never, () => {})).toThrow(/'leak', 'release' or 'reclaim'/);
  });

  it('stops its timer when closed and leaves no timer without pools', async () => {
    const pool = await timedPool({ initialSize: 0 }, new FakeFactory());
    await pool.close();
    const before = vi.getTimerCount();
    const detector = new LeakDetector(300_000, 60_000);
    expect(vi.getTimerCount()).toBe(before);
    detector.watch(pool);
    expect(vi.getTimerCount()).toBe(before + 1);
    detector.close();
    expect(vi.getTimerCount()).toBe(before);
  });
});

describe('LeakDetector timers', () => {
  it('never keeps the process alive (its timer is unref’d)', () => {
    vi.useRealTimers();
    const spy = vi.spyOn(globalThis, 'setInterval');
    const pool = ConnectionPool.open({ minSize: 0 }, new FakeFactory());
    const detector = new LeakDetector(300_000, 60_000).watch(pool);
    const timer = spy.mock.results.find((r) => r.type === 'return')?.value as NodeJS.Timeout;
    expect(timer.hasRef()).toBe(false);
    detector.close();
    return pool.close();
  });
});
