import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AgingPolicy } from './aging-policy.js';
import { InvalidConfigError } from './errors.js';
import { ConnectionPool } from './pool.js';
import { RecyclingStrategy } from './recycling-strategy.js';
import { FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const steady = { minSize: 1, maxSize: 1, initialSize: 1, maxLifetimeMs: null, idleTimeoutMs: null, maintenanceIntervalMs: 1_000 };

describe('AgingPolicy', () => {
  it('TimeBased retires a connection after maxLifetimeMs, at its next idle moment', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, { agingPolicy: AgingPolicy.TimeBased({ maxLifetimeMs: 3_600_000 }) });
    await vi.advanceTimersByTimeAsync(3_600_000 * 0.975 - 1_000);
    expect(factory.all[0]?.closed).toBe(false);
    await vi.advanceTimersByTimeAsync(3_600_000 * 0.025 + 1_000);
    expect(factory.all[0]?.closed).toBe(true);
    await flush();
    expect(pool.size().total).toBe(1);
    await pool.close();
  });

  it('UsageBased retires a connection after maxBorrows borrows', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, { agingPolicy: AgingPolicy.UsageBased({ maxBorrows: 3 }) });
    const ids: number[] = [];
    for (let i = 0; i < 7; i++) {
      const c = await pool.acquire();
      ids.push(c.id);
      c.release();
    }
    expect(ids).toEqual([1, 1, 1, 2, 2, 2, 3]);
    expect(pool.statistics().destroyedByReason.usage).toBe(2);
    await pool.close();
  });

  it('never yanks an aged connection from its borrower', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, {
      agingPolicy: AgingPolicy.Combined({ maxLifetimeMs: 10_000, maxBorrows: 1_000 }),
    });
    const conn = await pool.acquire();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(conn.connection.closed).toBe(false);
    const raw = conn.connection;
    conn.release();
    expect(raw.closed).toBe(true);
    await pool.close();
  });

  it('Combined retires at whichever limit comes first', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, {
      agingPolicy: AgingPolicy.Combined({ maxLifetimeMs: 3_600_000, maxBorrows: 2 }),
    });
    for (let i = 0; i < 2; i++) (await pool.acquire()).release();
    expect(pool.statistics().destroyedByReason.usage).toBe(1);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(pool.statistics().destroyedByReason.lifetime).toBe(1);
    await pool.close();
  });

  it('Adaptive recycles a connection whose error rate over its last borrows exceeds the threshold', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, {
      agingPolicy: AgingPolicy.Adaptive({ baseLifetimeMs: 3_600_000, errorThreshold: 0.2, windowSize: 10, minSamples: 10 }),
    });
    // 9 clean borrows, then failures: judged from the 10th borrow on; 3 failures in 10 = 30% > 20%.
    for (let i = 0; i < 8; i++) (await pool.acquire()).release();
    for (let i = 0; i < 2; i++) (await pool.acquire()).release({ error: new Error('deadlock detected') });
    expect(pool.statistics().destroyedByReason.errorRate).toBe(0); // 2 in 10 = 20%, not above
    const conn = await pool.acquire();
    expect(conn.id).toBe(1);
    conn.release({ error: new Error('server closed the connection unexpectedly') });
    expect(pool.statistics().destroyedByReason.errorRate).toBe(1);
    await flush();
    const fresh = await pool.acquire();
    expect(fresh.id).toBe(2);
    fresh.release();
    await pool.close();
  });

  it('Adaptive does not judge before minSamples borrows', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, {
      agingPolicy: AgingPolicy.Adaptive({ baseLifetimeMs: 3_600_000, errorThreshold: 0.05 }),
    });
    for (let i = 0; i < 9; i++) (await pool.acquire()).release({ error: new Error('x') });
    expect(pool.statistics().destroyedByReason.errorRate).toBe(0);
    (await pool.acquire()).release({ error: new Error('x') });
    expect(pool.statistics().destroyedByReason.errorRate).toBe(1);
    await pool.close();
  });

  it('Adaptive ages by baseLifetimeMs otherwise', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, {
      agingPolicy: AgingPolicy.Adaptive({ baseLifetimeMs: 60_000, errorThreshold: 0.05 }),
    });
    await vi.advanceTimersByTimeAsync(61_000);
    expect(pool.statistics().destroyedByReason.lifetime).toBe(1);
    await pool.close();
  });

  it.each([
    [() => AgingPolicy.UsageBased({ maxBorrows: -1 }), 'agingPolicy.maxBorrows'],
    [() => AgingPolicy.UsageBased({ maxBorrows: 1.5 }), 'agingPolicy.maxBorrows'],
    [() => AgingPolicy.TimeBased({ maxLifetimeMs: 0 }), 'agingPolicy.maxLifetimeMs'],
    [() => AgingPolicy.Adaptive({ baseLifetimeMs: 1_000, errorThreshold: 1.5 }), 'agingPolicy.errorThreshold'],
    [() => AgingPolicy.Adaptive({ baseLifetimeMs: 1_000, errorThreshold: -0.1 }), 'agingPolicy.errorThreshold'],
    [() => AgingPolicy.Adaptive({ baseLifetimeMs: 1_000, errorThreshold: 0.1, windowSize: 64 }), 'agingPolicy.windowSize'],
  ])('rejects nonsense values naming the field (%#)', (make, field) => {
    try {
      make();
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidConfigError);
      expect((err as InvalidConfigError).field).toBe(field);
    }
  });

  it('rejects an unknown policy kind given to a pool', () => {
    expect(() => ConnectionPool.open({}, new FakeFactory(), { agingPolicy: { kind: 'forever' } as never })).toThrow(/agingPolicy\.kind/);
  });
});

describe('RecyclingStrategy', () => {
  it('Fast returns the connection as is', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, { recyclingStrategy: RecyclingStrategy.Fast });
    const conn = await pool.acquire();
    conn.connection.dirty = true;
    conn.release();
    expect(factory.resetCalls).toBe(0);
    expect(pool.size().idle).toBe(1);
    await pool.close();
  });

  it('Checked resets every released connection before reuse', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, { recyclingStrategy: RecyclingStrategy.Checked });
    (await pool.acquire()).release();
    expect(pool.size().idle).toBe(0); // resetting
    await flush();
    expect(factory.resetCalls).toBe(1);
    expect(pool.size().idle).toBe(1);
    await pool.close();
  });

  it('Checked destroys a connection whose reset throws', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, { recyclingStrategy: RecyclingStrategy.Checked });
    factory.resetBehaviour = 'fail';
    const conn = await pool.acquire();
    const raw = conn.connection;
    conn.release();
    await flush();
    expect(raw.closed).toBe(true);
    expect(pool.statistics()).toMatchObject({ resets: 1, resetFailures: 1 });
    expect(pool.statistics().destroyedByReason.reset).toBe(1);
    await pool.close();
  });

  it('Checked bounds a hanging reset by resetTimeoutMs without blocking other callers', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ ...steady, maxSize: 2, resetTimeoutMs: 1_000 }, factory, {
      recyclingStrategy: RecyclingStrategy.Checked,
    });
    factory.resetBehaviour = 'hang';
    const conn = await pool.acquire();
    const raw = conn.connection;
    conn.release();
    const other = await pool.acquire(); // served by a new connection meanwhile
    expect(other.connection).not.toBe(raw);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(raw.closed).toBe(true);
    factory.resetBehaviour = 'ok';
    other.release();
    await pool.close();
  });

  it('Replace closes the connection and opens a new one', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory, { recyclingStrategy: RecyclingStrategy.Replace });
    const a = await pool.acquire();
    a.release();
    await flush();
    const b = await pool.acquire();
    expect(b.id).not.toBe(a.id);
    expect(factory.all[0]?.closed).toBe(true);
    b.release();
    expect(pool.statistics().destroyedByReason.replace).toBe(2);
    await pool.close();
  });

  it('Adaptive (the default) resets only connections the factory reports dirty', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory);
    expect(pool.recyclingStrategy).toBe('adaptive');
    (await pool.acquire()).release();
    expect(factory.resetCalls).toBe(0);
    const conn = await pool.acquire();
    conn.connection.dirty = true; // BEGIN without COMMIT, SET search_path...
    conn.release();
    await flush();
    expect(factory.resetCalls).toBe(1);
    expect(factory.all[0]?.dirty).toBe(false);
    await pool.close();
  });

  it('Adaptive treats every connection as dirty when the factory has no isDirty hook', async () => {
    const factory = new FakeFactory();
    (factory as { isDirty?: unknown }).isDirty = undefined;
    const pool = await ConnectionPool.create(steady, factory);
    (await pool.acquire()).release();
    await flush();
    expect(factory.resetCalls).toBe(1);
    await pool.close();
  });

  it('rejects an unknown strategy name', () => {
    expect(() => ConnectionPool.open({}, new FakeFactory(), { recyclingStrategy: 'gentle' as never })).toThrow(
      /recyclingStrategy = "gentle": must be one of 'fast', 'checked', 'replace', 'adaptive'/,
    );
  });
});

describe('labels and resets', () => {
  it('clears a connection label when the pool resets the connection, and keeps it otherwise', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create(steady, factory);
    const a = await pool.acquire();
    a.label = 'tenant_a'; // e.g. after SET search_path
    a.release(); // clean: no reset, the label stays
    const b = await pool.acquire({ label: 'tenant_a' });
    expect(b.label).toBe('tenant_a');
    b.connection.dirty = true; // a later borrower changed its session: the reset clears search_path too
    b.release();
    await flush();
    expect(factory.resetCalls).toBe(1);
    const c = await pool.acquire({ label: 'tenant_a' });
    expect(c.label).toBeUndefined(); // so the caller prepares it again
    c.release();
    await pool.close();
  });
});
