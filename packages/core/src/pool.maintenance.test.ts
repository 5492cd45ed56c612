import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConnectionPool } from './pool.js';
import { FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('maintenance', () => {
  it('reaps connections idle longer than idleTimeoutMs, down to minSize, oldest first', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 1, maxSize: 4, initialSize: 4, idleTimeoutMs: 10_000, maintenanceIntervalMs: 1_000, maxLifetimeMs: null },
      factory,
    );
    const keep = await pool.acquire();
    keep.release(); // most recently used: the one that survives
    await vi.advanceTimersByTimeAsync(9_999);
    expect(pool.size().total).toBe(4); // never early
    // Without a monitor the pool does not read the clock on release; idle time is known to within one
    // maintenance interval, so reaping happens at most one interval late.
    await vi.advanceTimersByTimeAsync(1_001);
    expect(pool.size().total).toBe(1);
    expect(pool.statistics().destroyedByReason.idle).toBe(3);
    const again = await pool.acquire();
    expect(again.id).toBe(keep.id);
    again.release();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(pool.size().total).toBe(1); // never below minSize
    await pool.close();
  });

  it('keeps at most maxIdle idle connections: maintenance closes the least recently used ones, down to minSize', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 0, maxSize: 5, maxIdle: 1, idleTimeoutMs: null, maintenanceIntervalMs: 1_000, maxLifetimeMs: null },
      factory,
    );
    const conns = await Promise.all([pool.acquire(), pool.acquire(), pool.acquire()]);
    for (const c of conns) c.release();
    expect(pool.size()).toMatchObject({ total: 3, idle: 3 }); // not at release: at the next maintenance pass
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pool.size()).toMatchObject({ total: 1, idle: 1 });
    expect(pool.statistics().destroyedByReason.idle).toBe(2);
    const again = await pool.acquire();
    expect(again.id).toBe(conns[2]?.id); // the most recently released one stayed
    again.release();
    await pool.close();

    const floor = await ConnectionPool.create(
      { minSize: 2, maxSize: 4, initialSize: 2, maxIdle: 0, maintenanceIntervalMs: 1_000 },
      factory,
    );
    await vi.advanceTimersByTimeAsync(3_000);
    expect(floor.size()).toMatchObject({ total: 2, idle: 2 }); // never below minSize
    await floor.close();
    expect(() => ConnectionPool.open({ maxIdle: -1 }, factory)).toThrow(/maxIdle = -1/);
  });

  it('retires a connection past maxLifetimeMs (with jitter) when idle, never while borrowed', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 1, maxSize: 2, initialSize: 1, maxLifetimeMs: 60_000, maintenanceIntervalMs: 1_000, idleTimeoutMs: null },
      factory,
    );
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(conn.connection.closed).toBe(false); // borrowed: kept
    const raw = conn.connection;
    conn.release();
    expect(raw.closed).toBe(true); // retired at release
    await flush();
    expect(pool.size().total).toBe(1); // replaced to keep minSize
    expect(pool.statistics().destroyedByReason.lifetime).toBe(1);
    await pool.close();
  });

  it('spreads lifetime expiry so connections opened together do not all reconnect at once', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 20, maxSize: 20, initialSize: 20, maxLifetimeMs: 100_000, maintenanceIntervalMs: 100, idleTimeoutMs: null },
      factory,
    );
    await vi.advanceTimersByTimeAsync(97_500 - 100);
    expect(pool.statistics().destroyedByReason.lifetime).toBe(0); // jitter takes at most 2.5%
    await vi.advanceTimersByTimeAsync(2_600);
    expect(pool.statistics().destroyedByReason.lifetime).toBe(20);
    const times = new Set<number>();
    pool.on('destroy', () => times.add(performance.now()));
    await vi.advanceTimersByTimeAsync(100_000);
    expect(times.size).toBeGreaterThan(1);
    await pool.close();
  });

  it('retires every connection within its own jittered lifetime, opened at different times', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 0, maxSize: 12, initialSize: 0, maxLifetimeMs: 100_000, maintenanceIntervalMs: 100_000, idleTimeoutMs: null },
      factory,
    );
    const ages: number[] = [];
    pool.on('destroy', (e) => {
      if (e.reason === 'lifetime') ages.push(e.ageMs);
    });
    // Connections opened a second apart share the lifetime's lane of the deadline queue; each must still
    // retire between 97.5 % and 100 % of its own lifetime, in its own deadline order.
    for (let i = 0; i < 12; i++) {
      const held = await Promise.all(Array.from({ length: i + 1 }, () => pool.acquire()));
      for (const c of held) c.release();
      await vi.advanceTimersByTimeAsync(1_000);
    }
    expect(pool.size().total).toBe(12);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(ages).toHaveLength(12);
    for (const age of ages) {
      expect(age).toBeGreaterThanOrEqual(97_500 - 1);
      expect(age).toBeLessThanOrEqual(100_000 + 1);
    }
    expect(pool.size().total).toBe(0);
    await pool.close();
  });

  it('refills to minSize after connections are lost', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 3, initialSize: 3 }, factory);
    const conns = await Promise.all([pool.acquire(), pool.acquire()]);
    await Promise.all(conns.map((c) => c.destroy()));
    await flush();
    expect(pool.size().total).toBe(3);
    await pool.close();
  });

  it('flags a borrow held past leakDetectionThresholdMs once, with the acquire stack when captured', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 1, initialSize: 1, leakDetectionThresholdMs: 5_000, maintenanceIntervalMs: 1_000 },
      factory,
      { captureStacks: true },
    );
    const leaks: { id: number; heldMs: number; stack: string | undefined }[] = [];
    pool.on('leak', (e) => leaks.push({ id: e.connection.id, heldMs: e.heldMs, stack: e.stack }));
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(4_999);
    expect(leaks).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(leaks).toHaveLength(1);
    expect(leaks[0]?.id).toBe(conn.id);
    expect(leaks[0]?.heldMs).toBeGreaterThanOrEqual(5_000);
    expect(leaks[0]?.stack).toContain('pool.maintenance.test.ts');
    expect(pool.statistics().leaksDetected).toBe(1);
    conn.release();
    await pool.close();
  });

  it('keeps no process alive: maintenance timers are unref-ed', async () => {
    const realPool = (await vi.importActual<typeof import('./pool.js')>('./pool.js')).ConnectionPool;
    vi.useRealTimers();
    const pool = await realPool.create({ minSize: 1, initialSize: 1, maintenanceIntervalMs: 50 }, new FakeFactory());
    const handles = (process as unknown as { _getActiveHandles(): { hasRef?: () => boolean; constructor: { name: string } }[] })
      ._getActiveHandles()
      .filter((h) => h.constructor.name === 'Timeout' && h.hasRef?.());
    expect(handles).toHaveLength(0);
    await pool.close();
  });

  it('runMaintenance() can be triggered on demand', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 0, initialSize: 2, maxSize: 2, idleTimeoutMs: 1_000, maintenanceIntervalMs: 60_000 },
      factory,
    );
    pool.on('release', () => {}); // a listener makes the pool measure times exactly
    const conns = [await pool.acquire(), await pool.acquire()];
    for (const c of conns) c.release();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(pool.size().total).toBe(2);
    pool.runMaintenance();
    expect(pool.size().total).toBe(0);
    await pool.close();
  });

  it('reaps exactly at idleTimeoutMs when times are measured', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(
      { minSize: 0, initialSize: 1, idleTimeoutMs: 5_000, maintenanceIntervalMs: 100, leakDetectionThresholdMs: 60_000 },
      factory,
    );
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_050);
    conn.release();
    await vi.advanceTimersByTimeAsync(4_900); // t = 5,950: idle 4,900 ms
    expect(pool.size().total).toBe(1);
    await vi.advanceTimersByTimeAsync(100); // the pass at 6,000 sees 4,950 ms: kept
    expect(pool.size().total).toBe(1);
    await vi.advanceTimersByTimeAsync(50); // the pass at 6,100 sees 5,050 ms: reaped
    expect(pool.size().total).toBe(0);
    await pool.close();
  });
});
