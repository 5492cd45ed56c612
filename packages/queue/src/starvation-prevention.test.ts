import { ConnectionPool, InvalidArgumentError, InvalidConfigError, type QueuePriority } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PriorityWaitQueue } from './priority-wait-queue.js';
import { StarvationPrevention } from './starvation-prevention.js';
import { FakeFactory, flush, sleep, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const LONG = { timeoutMs: 3_600_000 };

function priorities(queue: PriorityWaitQueue): QueuePriority[] {
  return [...queue.values()].map((w) => w.priority);
}

/**
 * A steady Critical flood on a one-connection pool: `workers` tasks each hold the connection for
 * `holdMs` and queue again at once, so `workers - 1` critical waiters are always queued.
 */
function criticalFlood<C>(pool: ConnectionPool<C>, workers: number, holdMs: number) {
  let stop = false;
  const loops = Array.from({ length: workers }, async () => {
    while (!stop) await pool.use(() => sleep(holdMs), { priority: 'critical' });
  });
  return {
    async stop() {
      stop = true;
      await vi.advanceTimersByTimeAsync(holdMs * (workers + 1));
      await Promise.all(loops);
    },
  };
}

async function lowWaitUnderFlood(prevention: StarvationPrevention | null, horizonMs: number): Promise<number | null> {
  const queue = new PriorityWaitQueue(prevention === null ? {} : { starvationPrevention: prevention });
  // Maintenance runs once a minute: the bound must not depend on it.
  const pool = await ConnectionPool.create(
    { minSize: 1, maxSize: 1, initialSize: 1, acquireTimeoutMs: 600_000, maintenanceIntervalMs: 60_000 },
    new FakeFactory(),
    { waitQueue: queue },
  );
  const flood = criticalFlood(pool, 5, 10);
  await vi.advanceTimersByTimeAsync(100);
  expect(queue.levelSize('critical')).toBe(4);
  const start = performance.now();
  let waited: number | null = null;
  const low = pool.acquire({ priority: 'low' }).then((conn) => {
    waited = performance.now() - start;
    conn.release();
  });
  await vi.advanceTimersByTimeAsync(horizonMs);
  const servedWithin: number | null = waited;
  const servedCritical = queue.statistics().byPriority.critical.totalDequeued;
  expect(servedCritical).toBeGreaterThan(horizonMs / 10 - 10); // the flood really went on
  await flood.stop();
  await low;
  await pool.close();
  return servedWithin;
}

describe('StarvationPrevention', () => {
  it('serves a Low waiter within the bound under a Critical flood', async () => {
    const thresholdMs = 100;
    const waited = await lowWaitUnderFlood(new StarvationPrevention({ thresholdMs }), 2_000);
    // Three boosts (Low -> Normal -> High -> Critical), then at most the 4 queued critical waiters and
    // the one in service ahead of it, 10 ms each.
    expect(waited).not.toBeNull();
    expect(waited as unknown as number).toBeLessThanOrEqual(3 * thresholdMs + 6 * 10);
    expect(waited as unknown as number).toBeGreaterThanOrEqual(3 * thresholdMs);
  });

  it('lets a Critical flood starve a Low waiter when it is not used', async () => {
    const waited = await lowWaitUnderFlood(null, 5_000);
    expect(waited).toBeNull();
  });

  it('raises a waiter one level each time it has waited thresholdMs at its level', async () => {
    const waitQueue = new PriorityWaitQueue();
    const entry = track(waitQueue.enqueueWithPriority('low', LONG));
    const prevention = new StarvationPrevention({ thresholdMs: 30_000 });
    expect(prevention.checkAndBoost(waitQueue)).toBe(0);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(prevention.checkAndBoost(waitQueue)).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(prevention.checkAndBoost(waitQueue)).toBe(1);
    expect(priorities(waitQueue)).toEqual(['normal']);
    await vi.advanceTimersByTimeAsync(29_999);
    expect(prevention.checkAndBoost(waitQueue)).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(prevention.checkAndBoost(waitQueue)).toBe(1);
    expect(priorities(waitQueue)).toEqual(['high']);
    expect(prevention.statistics()).toEqual({ boostedCount: 2, checks: 5, queuesAttached: 0, thresholdMs: 30_000 });
    waitQueue.serveNext();
    await flush();
    expect(entry.value).toMatchObject({ priority: 'low', servedPriority: 'high' });
    expect(waitQueue.statistics().byPriority.low.totalBoosted).toBe(2);
  });

  it('catches up when a check comes late, and never raises past Critical', async () => {
    const waitQueue = new PriorityWaitQueue();
    const entries = [track(waitQueue.enqueueWithPriority('low', LONG)), track(waitQueue.enqueueWithPriority('critical', LONG))];
    await vi.advanceTimersByTimeAsync(10_000);
    const prevention = new StarvationPrevention({ thresholdMs: 1_000 });
    expect(prevention.checkAndBoost(waitQueue)).toBe(3);
    expect(priorities(waitQueue)).toEqual(['critical', 'critical']);
    expect(prevention.checkAndBoost(waitQueue)).toBe(0);
    waitQueue.close();
    await flush();
    expect(entries.map((e) => e.state)).toEqual(['rejected', 'rejected']);
  });

  it('puts a raised waiter behind those already waiting at its new level', async () => {
    const waitQueue = new PriorityWaitQueue();
    const low = waitQueue.enqueueWithPriority('low', LONG);
    const normal1 = waitQueue.enqueueWithPriority('normal', LONG);
    await vi.advanceTimersByTimeAsync(500);
    const normal2 = waitQueue.enqueueWithPriority('normal', LONG);
    await vi.advanceTimersByTimeAsync(500);
    new StarvationPrevention({ thresholdMs: 1_000 }).attach(waitQueue);
    // normal1 waited 1000 ms at Normal too: both it and low move up one level; low lands behind normal2.
    const order = [waitQueue.serveNext(), waitQueue.serveNext(), waitQueue.serveNext()].map((t) => `${t?.priority}->${t?.servedPriority}`);
    expect(order).toEqual(['normal->high', 'normal->normal', 'low->normal']);
    await Promise.all([low, normal1, normal2]);
  });

  it('boosts from the pool maintenance when attached, and stops when detached', async () => {
    const queue = new PriorityWaitQueue();
    const pool = await ConnectionPool.create(
      { minSize: 1, maxSize: 1, initialSize: 1, maintenanceIntervalMs: 1_000, acquireTimeoutMs: 60_000 },
      new FakeFactory(),
      {
        waitQueue: queue,
      },
    );
    const prevention = new StarvationPrevention({ thresholdMs: 500 });
    const detach = prevention.attach(pool);
    expect(prevention.attach(pool)).toBeTypeOf('function'); // the same policy again: no change
    const held = await pool.acquire();
    const low = pool.acquire({ priority: 'low' });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(queue.levelSize('high')).toBe(1);
    expect(prevention.statistics()).toMatchObject({ boostedCount: 2, queuesAttached: 1 });
    detach();
    detach();
    expect(prevention.statistics().queuesAttached).toBe(0);
    expect(pool.listenerCount('maintenance')).toBe(0);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(queue.levelSize('high')).toBe(1);
    held.release();
    (await low).release();
    await pool.close();
  });

  it('is checked at every dequeue when given to the queue', async () => {
    const prevention = new StarvationPrevention({ thresholdMs: 100 });
    const waitQueue = new PriorityWaitQueue({ starvationPrevention: prevention });
    expect(prevention.statistics().queuesAttached).toBe(1);
    const low = waitQueue.enqueueWithPriority('low', LONG);
    await vi.advanceTimersByTimeAsync(150);
    const high = waitQueue.enqueueWithPriority('high', LONG);
    await vi.advanceTimersByTimeAsync(60);
    // low waited 210 ms: raised twice, to High, behind the high waiter already there.
    expect(waitQueue.serveNext()).toMatchObject({ priority: 'high', servedPriority: 'high' });
    expect(waitQueue.serveNext()).toMatchObject({ priority: 'low', servedPriority: 'high' });
    await Promise.all([low, high]);
    expect(prevention.statistics().boostedCount).toBe(2);
  });

  it('rejects a thresholdMs that is not a positive number of milliseconds', () => {
    for (const thresholdMs of [0, -5, Number.NaN, Number.POSITIVE_INFINITY, '100', null]) {
      let error: unknown;
      try {
        new StarvationPrevention({ thresholdMs } as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe('thresholdMs');
    }
    expect(() => new StarvationPrevention(undefined as never)).toThrow(/thresholdMs/);
    expect(() => new StarvationPrevention({ thresholdMs: 10, intervalMs: 5 } as never)).toThrow(/intervalMs/);
  });

  it('refuses a queue it cannot boost and a queue that already has a policy', async () => {
    const prevention = new StarvationPrevention({ thresholdMs: 10 });
    const pool = ConnectionPool.open({ maxSize: 1 }, new FakeFactory());
    expect(() => prevention.attach(pool)).toThrow(InvalidArgumentError);
    expect(() => prevention.attach(pool)).toThrow(/target = "pool 'pool-\d+' with a BasicWaitQueue"/);
    expect(() => prevention.checkAndBoost({} as never)).toThrow(/queue/);
    const waitQueue = new PriorityWaitQueue({ starvationPrevention: prevention });
    expect(() => new StarvationPrevention({ thresholdMs: 20 }).attach(waitQueue)).toThrow(/already has a StarvationPrevention/);
    await pool.close();
  });
});
