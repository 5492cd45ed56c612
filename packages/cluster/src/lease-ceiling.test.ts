import { adaptiveLimit } from '@pool/adaptive';
import { type ConnectionFactory, type ConnectionPool, InvalidArgumentError } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ClusterBudget, kStore } from './budget.js';
import { leaseCeiling } from './lease-ceiling.js';
import type { ClusterBudgetOptions } from './options.js';
import { MemoryServer } from './test-support/memory-store.js';

// leaseCeiling under fake timers on the in-memory store (the scripts' semantics), and with an
// adaptive limit from @pool/adaptive on top: the limit never rises above the instance's lease.

interface Conn {
  id: number;
}

const factory = (): ConnectionFactory<Conn> => {
  let n = 0;
  return { create: async () => ({ id: ++n }), close: async () => {} };
};

const BASE = {
  name: 'db',
  maxConnections: 6,
  tenants: { acme: 3 },
  leaseTtlMs: 3_000,
  heartbeatIntervalMs: 1_000,
  retryIntervalMs: 100,
  commandTimeoutMs: 500,
} satisfies Omit<ClusterBudgetOptions, 'redis'>;

let server: MemoryServer;
const cleanup: (() => Promise<void>)[] = [];

function budget(id: string, options: Partial<ClusterBudgetOptions> = {}): ClusterBudget {
  const b = ClusterBudget[kStore]({ ...BASE, ...options, instanceId: id }, server.view(id));
  b.on('error', () => {});
  cleanup.push(() => b.close());
  return b;
}

async function pool(b: ClusterBudget, maxSize = 6, tenant?: string): Promise<ConnectionPool<Conn>> {
  const p = await b.createPool(
    { minSize: 0, maxSize, initialSize: 0, acquireTimeoutMs: 60_000 },
    factory(),
    tenant === undefined ? {} : { tenant },
  );
  cleanup.unshift(() => p.close());
  return p;
}

beforeEach(() => {
  vi.useFakeTimers();
  server = new MemoryServer();
});

afterEach(async () => {
  server.setReachable(true);
  const done = Promise.all(cleanup.splice(0).map((c) => c()));
  await vi.runAllTimersAsync();
  await done;
  vi.useRealTimers();
});

describe('leaseCeiling(budget, pool)', () => {
  it("is what the pool holds plus the slots free across the cluster, and the tenant's when given", async () => {
    const a = budget('a');
    const b = budget('b');
    await a.ready();
    await b.ready();
    const pa = await pool(a);
    const pb = await pool(b);
    const ceiling = leaseCeiling(a, pa);
    expect(ceiling()).toBeNull(); // no figure of the cluster's use yet: no bound
    await vi.advanceTimersByTimeAsync(1_000);
    expect(ceiling()).toBe(6);
    const held = await Promise.all([pa.acquire(), pa.acquire()]);
    const other = await Promise.all([pb.acquire(), pb.acquire(), pb.acquire()]);
    await vi.advanceTimersByTimeAsync(1_000); // a heartbeat brings a's view of the cluster up to date
    expect(a.statistics().database.globalUsed).toBe(5);
    expect(ceiling()).toBe(2 + 1);
    for (const c of [...held, ...other]) c.release();

    const t = budget('t');
    await t.ready();
    const pt = await pool(t, 6, 'acme');
    await vi.advanceTimersByTimeAsync(1_000);
    const tenantCeiling = leaseCeiling(t, pt, { tenant: 'acme' });
    // a's and b's idle connections still hold 5 of the database's 6 slots: 1 free, fewer than acme's 3.
    expect(tenantCeiling()).toBe(1);
    await pa.close();
    await pb.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(tenantCeiling()).toBe(3); // now the tenant's limit is the smaller
    expect(() => leaseCeiling(t, pt, { tenant: 'globex' })).toThrow(InvalidArgumentError);
    expect(() => leaseCeiling(t, pt, { tenant: 'globex' })).toThrow(/options.tenant = .globex.: has no global limit in budget 'db'/);
  });

  it("follows the policy while Redis is unreachable: 'hold' keeps what is held, 'local' sets no bound", async () => {
    const hold = budget('h', { onRedisUnavailable: 'hold' });
    const local = budget('l', { onRedisUnavailable: 'local' });
    await hold.ready();
    await local.ready();
    const ph = await pool(hold);
    const pl = await pool(local);
    (await ph.acquire()).release();
    server.setReachable(false);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(hold.state).toBe('degraded');
    expect(leaseCeiling(hold, ph)()).toBe(1);
    expect(leaseCeiling(local, pl)()).toBeNull();
  });

  it('keeps an adaptive limit at or below the lease while another instance holds most of the budget', async () => {
    const a = budget('a');
    const b = budget('b');
    await a.ready();
    await b.ready();
    const pa = await pool(a);
    const pb = await pool(b);
    const others = await Promise.all([pb.acquire(), pb.acquire(), pb.acquire(), pb.acquire()]);
    await vi.advanceTimersByTimeAsync(1_000);
    const limiter = adaptiveLimit(pa, { ceiling: leaseCeiling(a, pa) });
    const limits: number[] = [];
    limiter.on('limitChanged', (c) => limits.push(c.limit));
    // 30 callers whose queries never slow down: the limiter wants all 6, the budget leaves 2.
    let stop = false;
    const loops = Array.from({ length: 30 }, async () => {
      while (!stop) await pa.use(() => new Promise((r) => setTimeout(r, 5)));
    });
    await vi.advanceTimersByTimeAsync(15_000);
    expect(limiter.limit).toBe(2);
    expect(Math.max(...limits, limiter.limit)).toBeLessThanOrEqual(2);
    expect(pa.size().total).toBeLessThanOrEqual(2);
    // The other instance gives its slots back: the ceiling rises and the limit follows.
    for (const c of others) await c.destroy();
    await vi.advanceTimersByTimeAsync(15_000);
    expect(limiter.limit).toBe(6);
    stop = true;
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(loops);
  });
});
