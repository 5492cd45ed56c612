import { ConnectionPool, type PooledConnection } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionManager } from './manager.js';
import { PartitionType } from './partition-type.js';
import { RoutingStrategy } from './routing.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** A small deterministic generator (mulberry32), so a failure replays exactly from its seed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

interface Call {
  tenant: string;
  deadline: number;
  state: 'pending' | 'resolved' | 'rejected';
  conn?: PooledConnection<FakeConnection>;
  abort?: AbortController;
}

const LIMITS = {
  a: { maxConnections: 4, minConnections: 1 },
  b: { maxConnections: 3, minConnections: 2 },
  c: { maxConnections: 6, ioLimit: 20 },
  d: { maxConnections: 2, cpuLimitMs: 2_000 },
} as const;

describe('invariants under random load', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`never exceeds a limit, never double-hands a connection, and settles every caller by its deadline (seed ${seed})`, async () => {
      const rnd = random(seed);
      const factory = new FakeFactory();
      factory.createDelayMs = 5;
      const pool = await ConnectionPool.create({ maxSize: 6, enablePartitioning: true }, factory);
      const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
      for (const [id, limits] of Object.entries(LIMITS)) manager.createPartition(id, PartitionType.Tenant(id), limits);
      const tenants = Object.keys(LIMITS) as (keyof typeof LIMITS)[];
      const calls: Call[] = [];

      const check = () => {
        const live = calls.filter((c) => c.state === 'resolved' && c.conn !== undefined && !c.conn.released);
        const ids = live.map((c) => c.conn?.id);
        expect(new Set(ids).size).toBe(ids.length); // no connection borrowed twice at once
        expect(live.length).toBeLessThanOrEqual(6);
        const stats = manager.getPartitionStatistics();
        for (const t of tenants) {
          const s = stats[t];
          const limits: { maxConnections: number; minConnections?: number } = LIMITS[t];
          const held = live.filter((c) => c.tenant === t).length;
          expect(s?.active).toBe(held);
          expect((s?.active ?? 0) + (s?.acquiring ?? 0)).toBeLessThanOrEqual(limits.maxConnections);
          // A partition under its reservation is never left waiting for shared capacity.
          if ((s?.active ?? 0) + (s?.acquiring ?? 0) < (limits.minConnections ?? 0)) expect(s?.blockedOn).not.toBe('sharedCapacity');
        }
        const t = performance.now();
        for (const c of calls)
          if (c.state === 'pending' && t > c.deadline + 1) throw new Error(`a ${c.tenant} caller outlived its deadline`);
      };

      for (let step = 0; step < 600; step++) {
        const r = rnd();
        if (r < 0.45) {
          const tenant = tenants[Math.floor(rnd() * tenants.length)] as string;
          const timeoutMs = 20 + Math.floor(rnd() * 400);
          const call: Call = { tenant, deadline: performance.now() + timeoutMs, state: 'pending' };
          if (rnd() < 0.2) call.abort = new AbortController();
          const options = call.abort === undefined ? { timeoutMs } : { timeoutMs, signal: call.abort.signal };
          manager.acquire({ tenant }, options).then(
            (conn) => {
              call.state = 'resolved';
              call.conn = conn;
            },
            () => {
              call.state = 'rejected';
            },
          );
          calls.push(call);
        } else if (r < 0.75) {
          const live = calls.filter((c) => c.state === 'resolved' && c.conn !== undefined && !c.conn.released);
          const victim = live[Math.floor(rnd() * live.length)];
          if (victim?.conn !== undefined) {
            if (rnd() < 0.1) void victim.conn.destroy();
            else victim.conn.release();
          }
        } else if (r < 0.8) {
          const pending = calls.filter((c) => c.state === 'pending' && c.abort !== undefined);
          pending[Math.floor(rnd() * pending.length)]?.abort?.abort();
        } else {
          await vi.advanceTimersByTimeAsync(Math.floor(rnd() * 60));
        }
        await flush();
        check();
      }
      for (const c of calls) if (c.state === 'resolved' && !c.conn?.released) c.conn?.release();
      await vi.advanceTimersByTimeAsync(5_000);
      for (const c of calls) if (c.state === 'resolved' && !c.conn?.released) c.conn?.release();
      await vi.advanceTimersByTimeAsync(100);
      expect(calls.every((c) => c.state !== 'pending')).toBe(true);
      const resolved = calls.filter((c) => c.state === 'resolved').length;
      const stats = Object.values(manager.getPartitionStatistics());
      expect(stats.reduce((n, s) => n + s.connectionsAcquired, 0)).toBe(resolved);
      expect(stats.reduce((n, s) => n + s.connectionsReleased, 0)).toBe(resolved);
      for (const s of stats) expect(s).toMatchObject({ active: 0, acquiring: 0, waiting: 0 });
      expect(resolved).toBeGreaterThan(50);
      expect(pool.size().active).toBe(0);
      await manager.close();
      await pool.close();
      expect(factory.open.size).toBe(0);
      expect(factory.doubleCloses).toBe(0);
    });
  }
});
