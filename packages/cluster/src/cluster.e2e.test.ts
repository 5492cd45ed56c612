import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisBudgetStore } from './store.js';
import type { WorkerConfig } from './test-support/cluster-worker.js';
import { ActivitySampler, countSessions, eventually, sleep, Worker } from './test-support/harness.js';
import { deleteKeys, PG_URL, PrivateRedis, REDIS_URL, uniquePrefix } from './test-support/redis.js';

// The proof that matters: separate Node processes, each with its own pool against the real
// PostgreSQL, share one budget kept in Redis. PostgreSQL's own pg_stat_activity (filtered by this
// run's application_name) says how many sessions they hold together; it must never exceed the budget.

const BUDGET = 4;
const LEASE_TTL_MS = 2_000;

function config(index: number, run: string, redisUrl: string, keyPrefix: string): WorkerConfig {
  return {
    index,
    redisUrl,
    pgUrl: PG_URL,
    applicationName: `${run}_${index}`,
    keyPrefix,
    budgetName: 'pg-test',
    maxConnections: BUDGET,
    poolMaxSize: BUDGET,
    concurrency: 6,
    leaseTtlMs: LEASE_TTL_MS,
    heartbeatIntervalMs: 500,
    retryIntervalMs: 200,
    commandTimeoutMs: 500,
    shrinkHoldMs: 3_000,
    sql: 'SELECT pg_sleep(0.01)',
  };
}

const workers: Worker[] = [];
const samplers: ActivitySampler[] = [];
const prefixes: [string, string][] = [];
const servers: PrivateRedis[] = [];

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop().catch(() => {})));
  await Promise.all(samplers.map((s) => s.stop()));
  for (const [url, prefix] of prefixes) await deleteKeys(url, prefix).catch(() => {});
  for (const s of servers) await s.stop();
});

async function serverTime(redis: Redis): Promise<number> {
  const [s, us] = await redis.time();
  return Number(s) * 1000 + Math.floor(Number(us) / 1000);
}

describe('several processes sharing one budget against the real PostgreSQL', () => {
  it('never exceed the budget in pg_stat_activity, every process makes progress, and a SIGKILLed process’s slots come back within the lease TTL', async () => {
    const run = `cluster_${randomBytes(4).toString('hex')}`;
    const keyPrefix = uniquePrefix();
    prefixes.push([REDIS_URL, keyPrefix]);
    const sampler = new ActivitySampler(PG_URL, run);
    samplers.push(sampler);
    await sampler.start();
    const three = [0, 1, 2].map((i) => new Worker(config(i, run, REDIS_URL, keyPrefix)));
    workers.push(...three);

    // Under load (6 callers per process, room for 4 sessions in all): everyone gets work done.
    await Promise.all(three.map((w) => w.until((r) => r.completed >= 20, 30_000, 'making progress')));
    const before = three.map((w) => w.latest?.completed ?? 0);
    await sleep(1_500);
    three.forEach((w, i) => {
      expect(w.latest?.completed ?? 0).toBeGreaterThan(before[i] as number);
    });
    // The budget is used to the full (the processes want 18 sessions), and never exceeded.
    expect(sampler.max).toBe(BUDGET);
    expect(sampler.samples).toBeGreaterThan(20);

    // SIGKILL the process holding the most slots, while it holds them.
    const redis = new Redis(REDIS_URL);
    try {
      const observer = new RedisBudgetStore(redis, false, `${keyPrefix}{pg-test}`, 'observer', 60_000, 2_000);
      const victim = [...three].sort((a, b) => (b.latest?.held ?? 0) - (a.latest?.held ?? 0))[0] as Worker;
      const victimId = victim.latest?.instanceId as string;
      const heldAtKill = victim.latest?.held ?? 0;
      expect(heldAtKill).toBeGreaterThan(0);
      victim.kill();
      await victim.exited;
      const killedAt = await serverTime(redis);
      const snapshot = await observer.inspect();
      const record = snapshot.instances.find((i) => i.id === victimId);
      // Its registration expires at most one lease TTL after the kill (it was last renewed before it).
      expect(record).toBeDefined();
      expect((record as { expiresAt: number }).expiresAt).toBeLessThanOrEqual(killedAt + LEASE_TTL_MS);
      const survivors = three.filter((w) => w !== victim);
      // The survivors, still hungry, end up holding the whole budget between them: the dead process's
      // slots came back and were used.
      await eventually(
        () => survivors.reduce((n, w) => n + (w.latest?.held ?? 0), 0) === BUDGET,
        LEASE_TTL_MS + 10_000,
        'the survivors taking the whole budget',
      );
      const after = await observer.inspect();
      expect(after.instances.map((i) => i.id)).not.toContain(victimId);
      expect(after.nowMs).toBeGreaterThanOrEqual((record as { expiresAt: number }).expiresAt);
      expect(after.used['*']).toBeLessThanOrEqual(BUDGET);
      const progress = survivors.map((w) => w.latest?.completed ?? 0);
      await sleep(1_000);
      survivors.forEach((w, i) => {
        expect(w.latest?.completed ?? 0).toBeGreaterThan(progress[i] as number);
      });
    } finally {
      redis.disconnect();
    }
    expect(await Promise.all(three.map((w) => w.stop()))).toEqual(['stopped', 'stopped', 'stopped']);
    await sampler.stop();
    expect(sampler.max).toBeLessThanOrEqual(BUDGET);
    // Every session of the stopped processes is gone (the killed one's backends exited on their own).
    await eventually(async () => (await countSessions(PG_URL, run)) === 0, 10_000, 'every session ending');
  }, 90_000);

  it('survive a Redis restart mid-run: no overshoot, no hang, and the leases are re-registered when Redis is back', async () => {
    const server = await PrivateRedis.start();
    servers.push(server);
    const run = `cluster_${randomBytes(4).toString('hex')}`;
    const keyPrefix = uniquePrefix();
    const sampler = new ActivitySampler(PG_URL, run);
    samplers.push(sampler);
    await sampler.start();
    const two = [0, 1].map((i) => new Worker(config(i, run, server.url, keyPrefix)));
    workers.push(...two);
    await Promise.all(two.map((w) => w.until((r) => r.completed >= 20 && r.held > 0, 30_000, 'making progress')));

    await server.stop(); // SHUTDOWN NOSAVE: every lease record is gone for good
    await Promise.all(two.map((w) => w.until((r) => r.state === 'degraded', 10_000, 'noticing that Redis is gone')));
    // The default 'hold' policy: the open connections keep serving while Redis is away.
    const during = two.map((w) => w.latest?.completed ?? 0);
    await sleep(1_500);
    two.forEach((w, i) => {
      expect(w.latest?.completed ?? 0).toBeGreaterThan(during[i] as number);
    });

    await server.startAgain();
    await Promise.all(
      two.map((w) => w.until((r) => r.state === 'connected' && (r.counters.recoveries as number) >= 1, 15_000, 're-registering')),
    );
    const redis = new Redis(server.url);
    try {
      const observer = new RedisBudgetStore(redis, false, `${keyPrefix}{pg-test}`, 'observer', 60_000, 2_000);
      const snap = await observer.inspect();
      expect(snap.instances.length).toBe(2);
      expect(snap.used['*'] ?? 0).toBeLessThanOrEqual(BUDGET);
      const held = two.reduce((n, w) => n + (w.latest?.held ?? 0), 0);
      expect(held).toBeLessThanOrEqual(BUDGET);
      // Load goes on after recovery, and the budget is used again.
      const after = two.map((w) => w.latest?.completed ?? 0);
      await sleep(1_500);
      two.forEach((w, i) => {
        expect(w.latest?.completed ?? 0).toBeGreaterThan(after[i] as number);
      });
    } finally {
      redis.disconnect();
    }
    // No hang: both stop cleanly.
    expect(await Promise.all(two.map((w) => w.stop()))).toEqual(['stopped', 'stopped']);
    await sampler.stop();
    expect(sampler.max).toBeLessThanOrEqual(BUDGET);
    expect(sampler.samples).toBeGreaterThan(20);
  }, 90_000);
});
