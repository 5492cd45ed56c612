/**
 * The README's examples (the seed's "Wait Queue Features", translated), run as written: if one of
 * these fails, the README is wrong.
 */
import { AcquireAbortedError, ConnectionPool, PoolConfig } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlockDetector, DeadlockError, PriorityWaitQueue, QueuePriority, StarvationPrevention } from './index.js';
import { FakeFactory, flush, track } from './test-support/fake-factory.js';

let log: ReturnType<typeof vi.spyOn>;
beforeEach(() => {
  vi.useFakeTimers();
  log = vi.spyOn(console, 'log').mockImplementation(() => {});
});
afterEach(() => {
  log.mockRestore();
  vi.useRealTimers();
});

const factory = {
  create: async () => ({ query: async (sql: string) => [{ sql }] }),
  close: async () => {},
};

describe('README', () => {
  it('runs the runnable example', async () => {
    vi.useRealTimers(); // as written, on the real event loop (the detector confirms on the next turn)
    const detector = new DeadlockDetector();
    const waitQueue = new PriorityWaitQueue({ starvationPrevention: new StarvationPrevention({ thresholdMs: 5_000 }) });
    const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(1).acquireTimeoutMs(30_000).build(), factory, {
      waitQueue,
      ownerScope: detector.ownerScope,
    });
    detector.attach(pool);

    const rows = await pool.use((db) => db.query('SELECT 1'), { priority: QueuePriority.Critical });
    console.log(rows);

    let caught: unknown;
    try {
      await pool.use(() => pool.use((db) => db.query('SELECT 2')));
    } catch (err) {
      caught = err;
      if (err instanceof DeadlockError) console.log(err.code, err.kind);
    }
    console.log(waitQueue.statistics().totalFailed, detector.statistics().deadlocksDetected);
    await pool.close();

    expect(caught).toBeInstanceOf(DeadlockError);
    expect(log.mock.calls).toEqual([[[{ sql: 'SELECT 1' }]], ['ERR_POOL_DEADLOCK', 'self'], [1, 1]]);
  });

  it('translates Priority Queuing with a pool', async () => {
    const config = { maxSize: 4 };
    const pool = await ConnectionPool.create(config, new FakeFactory(), { waitQueue: new PriorityWaitQueue() });

    const critical = await pool.acquire({ priority: QueuePriority.Critical });
    const high = await pool.acquire({ priority: QueuePriority.High });
    const normal = await pool.acquire({ priority: QueuePriority.Normal });
    const low = await pool.acquire({ priority: QueuePriority.Low });

    expect(pool.size().active).toBe(4);
    // and when they have to wait, the most urgent is served first:
    const order: string[] = [];
    const waiting = (['low', 'critical', 'normal', 'high'] as const).map((priority) =>
      pool.acquire({ priority }).then((conn) => {
        order.push(priority);
        conn.release();
      }),
    );
    for (const conn of [critical, high, normal, low]) conn.release();
    await Promise.all(waiting);
    expect(order).toEqual(['critical', 'high', 'normal', 'low']);
    await pool.close();
  });

  it('translates Priority Queuing on its own', async () => {
    const waitQueue = new PriorityWaitQueue({ timeoutMs: 30_000 });

    const turns = [
      waitQueue.enqueueWithPriority(QueuePriority.Low),
      waitQueue.enqueueWithPriority(QueuePriority.Normal),
      waitQueue.enqueueWithPriority(QueuePriority.High),
      waitQueue.enqueueWithPriority(QueuePriority.Critical, { timeoutMs: 5_000, signal: AbortSignal.timeout(10_000) }),
    ];

    waitQueue.serveNext();
    const ticket = await turns[3];

    expect(ticket).toEqual({ id: 4, priority: 'critical', servedPriority: 'critical', waitMs: 0, context: undefined });
    const rest = turns.slice(0, 3).map(track);
    waitQueue.close();
    await flush();
    expect(rest.map((r) => r.state)).toEqual(['rejected', 'rejected', 'rejected']);
  });

  it('translates Deadlock Detection', async () => {
    const config = { maxSize: 4, initialSize: 4, minSize: 4 };
    const waitQueue = new PriorityWaitQueue();

    const detector = new DeadlockDetector({ enabled: true });
    const pool = await ConnectionPool.create(config, new FakeFactory(), { waitQueue, ownerScope: detector.ownerScope });
    detector.attach(pool);

    const hasDeadlock = detector.checkDeadlock(waitQueue).deadlocked;
    const stats = detector.statistics();
    console.log(`Deadlocks detected: ${stats.deadlocksDetected}`);
    expect(hasDeadlock).toBe(false);

    // The deadlock it catches: four requests at once on maxSize 4, each nesting an acquire.
    const db = { query: async (sql: string) => sql };
    const request = () =>
      pool.use(async () => {
        await db.query('SELECT ...');
        return pool.use(() => db.query('INSERT ...'));
      });
    const settled = Promise.allSettled([request(), request(), request(), request()]);
    await vi.advanceTimersByTimeAsync(0); // the deadlock is confirmed on the next event-loop turn
    const results = await settled;
    expect(results.every((r) => r.status === 'rejected' && r.reason instanceof DeadlockError)).toBe(true);
    const error = (results[0] as PromiseRejectedResult).reason as DeadlockError;
    expect(error.message).toMatch(/^Deadlock in pool 'pool-\d+': all 4 connections are held by 4 tasks/);
    expect(error.message).toMatch(/The acquire by task #\d+ \(inside task #\d+\) is nested inside work that holds connection \d/);
    expect(detector.statistics().deadlocksDetected).toBe(1);
    expect(log.mock.calls).toEqual([['Deadlocks detected: 0']]);
    await pool.close();
  });

  it('translates Starvation Prevention and the queue statistics', async () => {
    const waitQueue = new PriorityWaitQueue();
    const low = track(waitQueue.enqueueWithPriority(QueuePriority.Low, { timeoutMs: 120_000 }));
    const timedOut = track(waitQueue.enqueueWithPriority(QueuePriority.Low, { timeoutMs: 1_000 }));
    await vi.advanceTimersByTimeAsync(60_000);

    const prevention = new StarvationPrevention({ thresholdMs: 30_000 });
    prevention.checkAndBoost(waitQueue);
    const stats = prevention.statistics();
    console.log(`Priority boosts: ${stats.boostedCount}`);

    waitQueue.serveNext();
    await flush();
    const queueStats = waitQueue.statistics();
    console.log(`Queue length: ${queueStats.currentSize}`);
    console.log(`Total enqueued: ${queueStats.totalEnqueued}`);
    console.log(`Avg wait time: ${queueStats.averageWaitMs} ms`);
    console.log(`Low requests timed out: ${queueStats.byPriority.low.totalTimedOut}`);

    expect(low.value).toMatchObject({ priority: 'low', servedPriority: 'high', waitMs: 60_000 });
    expect(timedOut.error).toBeDefined();
    expect(log.mock.calls).toEqual([
      ['Priority boosts: 2'],
      ['Queue length: 0'],
      ['Total enqueued: 2'],
      ['Avg wait time: 60000 ms'],
      ['Low requests timed out: 1'],
    ]);
  });

  it('rejects a standalone entry whose signal aborts, as the README says', async () => {
    const waitQueue = new PriorityWaitQueue();
    const controller = new AbortController();
    const entry = track(waitQueue.enqueueWithPriority(QueuePriority.High, { signal: controller.signal }));
    controller.abort();
    await flush();
    expect(entry.error).toBeInstanceOf(AcquireAbortedError);
  });
});
