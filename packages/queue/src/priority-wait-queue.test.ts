import {
  AcquireAbortedError,
  BasicWaitQueue,
  ConnectionPool,
  ConnectionTimeoutError,
  InvalidArgumentError,
  InvalidConfigError,
  PoolClosedError,
  type PoolConfigOptions,
  PoolError,
  type QueuePriority,
  type Waiter,
} from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { QueueTimeoutError } from './errors.js';
import { PriorityWaitQueue } from './priority-wait-queue.js';
import { FakeFactory, flush, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const PRIORITIES: QueuePriority[] = ['critical', 'high', 'normal', 'low'];

/** A pool with one connection, already borrowed, and a PriorityWaitQueue. */
async function fullPool(config: PoolConfigOptions = {}) {
  const factory = new FakeFactory();
  const queue = new PriorityWaitQueue();
  const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1, ...config }, factory, { waitQueue: queue });
  const held = await pool.acquire();
  return { pool, queue, factory, held };
}

/** A `then` callback that records `name` and gives the connection back. */
function served(order: string[], name: string) {
  return (conn: { release(): void }): void => {
    order.push(name);
    conn.release();
  };
}

function expectConsistent(queue: PriorityWaitQueue): void {
  const s = queue.statistics();
  for (const p of PRIORITIES) {
    const b = s.byPriority[p];
    expect(b.totalEnqueued).toBe(b.currentSize + b.totalDequeued + b.totalTimedOut + b.totalCancelled + b.totalFailed + b.totalClosed);
  }
  expect(s.currentSize).toBe(queue.size);
  expect([...queue.values()].length).toBe(queue.size);
}

describe('PriorityWaitQueue in a pool', () => {
  it('serves higher priorities first and first come, first served within a level', async () => {
    const { pool, queue, held } = await fullPool();
    const order: string[] = [];
    const requests: [QueuePriority, number][] = [
      ['low', 1],
      ['normal', 1],
      ['critical', 1],
      ['high', 1],
      ['low', 2],
      ['critical', 2],
      ['normal', 2],
      ['high', 2],
    ];
    const done = requests.map(([priority, n]) =>
      pool.acquire({ priority }).then((conn) => {
        order.push(`${priority}${n}`);
        conn.release();
      }),
    );
    expect([...queue.values()].map((w) => w.priority)).toEqual(['critical', 'critical', 'high', 'high', 'normal', 'normal', 'low', 'low']);
    held.release();
    await Promise.all(done);
    expect(order).toEqual(['critical1', 'critical2', 'high1', 'high2', 'normal1', 'normal2', 'low1', 'low2']);
    expectConsistent(queue);
    await pool.close();
  });

  it('queues an acquire without a priority as normal', async () => {
    const { pool, queue, held } = await fullPool();
    const order: string[] = [];
    const low = pool.acquire({ priority: 'low' }).then(served(order, 'low'));
    const plain = pool.acquire().then(served(order, 'plain'));
    const high = pool.acquire({ priority: 'high' }).then(served(order, 'high'));
    expect(queue.levelSize('normal')).toBe(1);
    held.release();
    await Promise.all([low, plain, high]);
    expect(order).toEqual(['high', 'plain', 'low']);
    await pool.close();
  });

  it('counts enqueued, served, timed out, cancelled, failed and closed waiters per priority', async () => {
    const { pool, queue, held } = await fullPool({ acquireTimeoutMs: 1_000 });
    const abort = new AbortController();
    const timedOut = track(pool.acquire({ priority: 'low', timeoutMs: 100 }));
    const cancelled = track(pool.acquire({ priority: 'high', signal: abort.signal }));
    const served1 = pool.acquire({ priority: 'critical' });
    const served2 = pool.acquire({ priority: 'critical' });
    const failedOne = track(pool.acquire({ priority: 'normal' }));
    const closedOne = track(pool.acquire({ priority: 'normal' }));
    expect(queue.statistics().currentSize).toBe(6);

    await vi.advanceTimersByTimeAsync(100);
    expect(timedOut.error).toBeInstanceOf(ConnectionTimeoutError);
    abort.abort();
    await flush();
    expect(cancelled.error).toBeInstanceOf(AcquireAbortedError);
    const victim = [...queue.values()].find((w) => w.priority === 'normal') as Waiter;
    expect(victim.fail(new PoolError('ERR_TEST', 'failed by a test'))).toBe(true);
    await flush();
    expect((failedOne.error as PoolError).code).toBe('ERR_TEST');

    await vi.advanceTimersByTimeAsync(200); // the first critical waited 300 ms
    held.release();
    const c1 = await served1;
    await vi.advanceTimersByTimeAsync(100); // the second one 400 ms
    c1.release();
    const c2 = await served2;
    const closing = pool.close();
    await flush();
    expect(closedOne.error).toBeInstanceOf(PoolClosedError);
    c2.release();
    await closing;

    const s = queue.statistics();
    expect(s).toMatchObject({
      currentSize: 0,
      totalEnqueued: 6,
      totalDequeued: 2,
      totalTimedOut: 1,
      totalCancelled: 1,
      totalFailed: 1,
      totalClosed: 1,
      averageWaitMs: 350,
      maxWaitMs: 400,
    });
    expect(s.byPriority.critical).toMatchObject({ totalEnqueued: 2, totalDequeued: 2, averageWaitMs: 350, maxWaitMs: 400 });
    expect(s.byPriority.low).toMatchObject({ totalEnqueued: 1, totalTimedOut: 1, totalDequeued: 0, averageWaitMs: 0 });
    expect(s.byPriority.high).toMatchObject({ totalEnqueued: 1, totalCancelled: 1 });
    expect(s.byPriority.normal).toMatchObject({ totalEnqueued: 2, totalFailed: 1, totalClosed: 1 });
    expectConsistent(queue);
  });

  it('puts a waiter whose connection failed validation back at the front, counted once', async () => {
    const { pool, queue, factory, held } = await fullPool({ validateOnAcquire: true, maxSize: 1 });
    const order: string[] = [];
    const low = pool.acquire({ priority: 'low' }).then(served(order, 'low'));
    const critical = pool.acquire({ priority: 'critical' }).then(served(order, 'critical'));
    (factory.open.values().next().value as { healthy: boolean }).healthy = false;
    held.release(); // handed to the critical waiter, fails validation, the waiter goes back to the front
    await vi.advanceTimersByTimeAsync(1_000); // the pool replaces the connection (after a short backoff)
    await Promise.all([low, critical]);
    expect(order).toEqual(['critical', 'low']);
    expect(factory.validateCalls).toBeGreaterThanOrEqual(1);
    const s = queue.statistics();
    expect(s.totalDequeued).toBe(2);
    expect(s.byPriority.critical.totalDequeued).toBe(1);
    expectConsistent(queue);
    await pool.close();
  });

  // 20,000 waiters: enough for every level to hold thousands, aborted from all over the queue. (It was
  // 100,000: 2 s of CPU, which on a loaded two-core machine took more than the 60 s test timeout; the
  // size proves nothing more, as the assertions do not depend on it.)
  it('stays correct when 20,000 queued waiters abort or time out', async () => {
    const { pool, queue, held } = await fullPool({ maxWaitQueueSize: 200_000, acquireTimeoutMs: 60_000 });
    const n = 20_000;
    const controllers: AbortController[] = [];
    const served: number[] = [];
    let last: { release(): void } | undefined;
    const failures: Record<string, number> = {};
    const all: Promise<unknown>[] = [];
    for (let i = 0; i < n; i++) {
      const signal = i % 2 === 0 ? (controllers[i / 2] = new AbortController()).signal : undefined;
      const options =
        signal === undefined ? { priority: PRIORITIES[i % 4] as QueuePriority } : { priority: PRIORITIES[i % 4] as QueuePriority, signal };
      all.push(
        pool.acquire(options).then(
          (conn) => {
            served.push(i);
            if (served.length < 1_000) conn.release();
            else last = conn;
          },
          (error: PoolError) => {
            failures[error.code] = (failures[error.code] ?? 0) + 1;
          },
        ),
      );
    }
    expect(queue.size).toBe(n);
    for (const c of controllers) c.abort(); // every critical and normal waiter leaves, from all over the queue
    await flush();
    expect(queue.size).toBe(n / 2);
    expect(queue.levelSize('critical') + queue.levelSize('normal')).toBe(0);
    // The high waiters, then the low ones, in arrival order: 999 are served, the rest time out.
    held.release();
    await flush(50);
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(all);
    expect(served.length).toBe(1_000);
    expect(served.slice(0, 5)).toEqual([1, 5, 9, 13, 17]);
    expect(served.every((v, i) => i === 0 || v > (served[i - 1] as number))).toBe(true);
    expect(failures).toEqual({ ERR_POOL_ACQUIRE_ABORTED: n / 2, ERR_POOL_CONNECTION_TIMEOUT: n / 2 - 1_000 });
    const s = queue.statistics();
    expect(s).toMatchObject({
      currentSize: 0,
      totalEnqueued: n,
      totalCancelled: n / 2,
      totalDequeued: 1_000,
      totalTimedOut: n / 2 - 1_000,
    });
    expect(s.byPriority.critical.totalCancelled).toBe(n / 4);
    expect(s.byPriority.high.totalDequeued).toBe(1_000);
    expectConsistent(queue);
    expect(pool.size().waiting).toBe(0);
    last?.release();
    await pool.close();
  }, 60_000);

  it('refuses to serve a second pool', async () => {
    const queue = new PriorityWaitQueue();
    const pool = ConnectionPool.open({ maxSize: 1 }, new FakeFactory(), { waitQueue: queue, name: 'first' });
    expect(queue.host).toBe(pool);
    expect(() => ConnectionPool.open({ maxSize: 1 }, new FakeFactory(), { waitQueue: queue })).toThrow(InvalidConfigError);
    expect(() => ConnectionPool.open({ maxSize: 1 }, new FakeFactory(), { waitQueue: queue })).toThrow(/already attached to a pool/);
    await pool.close();
  });

  it('refuses standalone use while it serves a pool', async () => {
    const { pool, queue, held } = await fullPool();
    await expect(queue.enqueueWithPriority('high')).rejects.toThrow(InvalidConfigError);
    expect(() => queue.serveNext()).toThrow(/pool\.acquire\(\{ priority \}\)/);
    expect(() => queue.close()).toThrow(InvalidConfigError);
    held.release();
    await pool.close();
  });

  it('rejects a waiter with an unknown priority and one enqueued twice', () => {
    const queue = new PriorityWaitQueue();
    const waiter = { id: 1, priority: 'urgent', queueData: undefined, prev: null, next: null } as unknown as Waiter;
    expect(() => queue.enqueue(waiter)).toThrow(InvalidArgumentError);
    expect(() => queue.enqueue(waiter)).toThrow(/priority = "urgent"/);
    const ok = { ...waiter, priority: 'low', enqueuedAt: performance.now() } as unknown as Waiter;
    queue.enqueue(ok);
    expect(() => queue.enqueue(ok)).toThrow(/already queued/);
    expect(queue.size).toBe(1);
  });

  it('returns false when asked to remove a waiter it does not hold', async () => {
    const queue = new PriorityWaitQueue();
    const other = new BasicWaitQueue();
    const pool = ConnectionPool.open({ maxSize: 1 }, new FakeFactory(), { waitQueue: other });
    const held = await pool.acquire();
    const waiting = track(pool.acquire());
    const foreign = [...other.values()][0] as Waiter;
    expect(queue.remove(foreign, 'abort')).toBe(false);
    expect(queue.size).toBe(0);
    held.release();
    await flush();
    expect(waiting.state).toBe('fulfilled');
    (waiting.value as { release(): void }).release();
    await pool.close();
  });
});

describe('PriorityWaitQueue on its own', () => {
  it('serves enqueueWithPriority entries most urgent first, in arrival order within a level', async () => {
    const waitQueue = new PriorityWaitQueue();
    const low = waitQueue.enqueueWithPriority('low', { context: 'report' });
    const critical1 = waitQueue.enqueueWithPriority('critical');
    const normal = waitQueue.enqueueWithPriority('normal');
    const critical2 = waitQueue.enqueueWithPriority('critical');
    const high = waitQueue.enqueueWithPriority('high');
    await vi.advanceTimersByTimeAsync(50);
    const served = [waitQueue.serveNext(), waitQueue.serveNext(), waitQueue.serveNext(), waitQueue.serveNext(), waitQueue.serveNext()];
    expect(served.map((t) => t?.priority)).toEqual(['critical', 'critical', 'high', 'normal', 'low']);
    expect(waitQueue.serveNext()).toBeUndefined();
    const tickets = await Promise.all([critical1, critical2, high, normal, low]);
    expect(tickets.map((t) => t.id)).toEqual([2, 4, 5, 3, 1]);
    expect(tickets[4]).toEqual({ id: 1, priority: 'low', servedPriority: 'low', waitMs: 50, context: 'report' });
    expect(waitQueue.statistics()).toMatchObject({ totalEnqueued: 5, totalDequeued: 5, averageWaitMs: 50, currentSize: 0 });
  });

  it('serves an entry when the WaitQueue dequeue() takes it', async () => {
    const waitQueue = new PriorityWaitQueue();
    const entry = track(waitQueue.enqueueWithPriority('normal'));
    const w = waitQueue.dequeue();
    expect(w?.settled).toBe(true);
    await flush();
    expect(entry.state).toBe('fulfilled');
    expect(() => waitQueue.requeue(w as Waiter)).toThrow(InvalidArgumentError);
  });

  it('times out entries at their deadline with one timer for all of them', async () => {
    const waitQueue = new PriorityWaitQueue({ timeoutMs: 1_000 });
    const entries = Array.from({ length: 500 }, (_, i) => track(waitQueue.enqueueWithPriority(PRIORITIES[i % 4] as QueuePriority)));
    const short = track(waitQueue.enqueueWithPriority('low', { timeoutMs: 200 }));
    expect(vi.getTimerCount()).toBe(1);
    await vi.advanceTimersByTimeAsync(199);
    expect(short.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(short.error).toBeInstanceOf(QueueTimeoutError);
    expect((short.error as QueueTimeoutError).timeoutMs).toBe(200);
    expect((short.error as QueueTimeoutError).code).toBe('ERR_POOL_QUEUE_TIMEOUT');
    await vi.advanceTimersByTimeAsync(799);
    expect(entries.every((e) => e.state === 'pending')).toBe(true);
    await vi.advanceTimersByTimeAsync(1);
    expect(entries.every((e) => e.error instanceof QueueTimeoutError)).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    expect(waitQueue.statistics()).toMatchObject({ totalTimedOut: 501, currentSize: 0 });
    expectConsistent(waitQueue);
  });

  it('leaves the queue when the signal aborts, and refuses an aborted signal at once', async () => {
    const waitQueue = new PriorityWaitQueue();
    const controller = new AbortController();
    const entry = track(waitQueue.enqueueWithPriority('high', { signal: controller.signal }));
    controller.abort(new Error('client went away'));
    await flush();
    expect(entry.error).toBeInstanceOf(AcquireAbortedError);
    expect((entry.error as Error).cause).toEqual(new Error('client went away'));
    expect(waitQueue.size).toBe(0);
    await expect(waitQueue.enqueueWithPriority('high', { signal: controller.signal })).rejects.toThrow(AcquireAbortedError);
    expect(waitQueue.statistics()).toMatchObject({ totalEnqueued: 1, totalCancelled: 1 });
    // The deadline timer stays armed (unref-ed) until its time, then finds nothing and is gone.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects an entry failed by fail() or removed by hand, never leaving its caller hanging', async () => {
    const waitQueue = new PriorityWaitQueue();
    const a = track(waitQueue.enqueueWithPriority('high'));
    const b = track(waitQueue.enqueueWithPriority('low'));
    const [wa, wb] = [...waitQueue.values()] as [Waiter, Waiter];
    expect(wa.fail(new PoolError('ERR_TEST', 'no'))).toBe(true);
    expect(wa.fail(new PoolError('ERR_TEST', 'twice'))).toBe(false);
    expect(waitQueue.remove(wb, 'timeout')).toBe(true);
    expect(waitQueue.remove(wb, 'timeout')).toBe(false);
    await flush();
    expect((a.error as PoolError).code).toBe('ERR_TEST');
    expect(b.error).toBeInstanceOf(QueueTimeoutError);
    expect(waitQueue.statistics()).toMatchObject({ totalFailed: 1, totalTimedOut: 1, currentSize: 0 });
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('rejects waiting and later entries with PoolClosedError once closed', async () => {
    const waitQueue = new PriorityWaitQueue();
    const entry = track(waitQueue.enqueueWithPriority('normal'));
    waitQueue.close();
    waitQueue.close();
    await flush();
    expect(entry.error).toBeInstanceOf(PoolClosedError);
    expect(waitQueue.closed).toBe(true);
    await expect(waitQueue.enqueueWithPriority('normal')).rejects.toThrow(PoolClosedError);
    expect(() => waitQueue.serveNext()).toThrow(PoolClosedError);
    expect(waitQueue.statistics().totalClosed).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    expect(() => ConnectionPool.open({ maxSize: 1 }, new FakeFactory(), { waitQueue })).toThrow(/standalone/);
  });

  it('refuses to be given to a pool while standalone entries wait', async () => {
    const waitQueue = new PriorityWaitQueue();
    const entry = track(waitQueue.enqueueWithPriority('normal'));
    await expect(ConnectionPool.create({ maxSize: 1 }, new FakeFactory(), { waitQueue })).rejects.toThrow(InvalidConfigError);
    waitQueue.serveNext();
    await flush();
    expect(entry.state).toBe('fulfilled');
  });

  it('rejects bad arguments with InvalidArgumentError naming them', async () => {
    const waitQueue = new PriorityWaitQueue();
    const cases: [unknown, unknown, string][] = [
      ['urgent', undefined, 'priority'],
      [undefined, undefined, 'priority'],
      ['low', { timeoutMs: 0 }, 'timeoutMs'],
      ['low', { timeoutMs: Number.NaN }, 'timeoutMs'],
      ['low', { timeoutMs: 3_000_000_000 }, 'timeoutMs'],
      ['low', { signal: {} }, 'signal'],
      ['low', { priority: 'high' }, 'options.priority'],
      ['low', 'fast', 'options'],
    ];
    for (const [priority, options, argument] of cases) {
      const error = await waitQueue.enqueueWithPriority(priority as QueuePriority, options as never).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).argument).toBe(argument);
    }
    expect(() => waitQueue.levelSize('urgent' as QueuePriority)).toThrow(InvalidArgumentError);
    expect(waitQueue.size).toBe(0);
    expect(waitQueue.statistics().totalEnqueued).toBe(0);
  });

  it('rejects bad options with InvalidConfigError naming the field', () => {
    const cases: [unknown, string][] = [
      [{ timeoutMs: -1 }, 'timeoutMs'],
      [{ timeoutMs: '30s' }, 'timeoutMs'],
      [{ fifo: true }, 'fifo'],
      [{ starvationPrevention: { thresholdMs: 10 } }, 'starvationPrevention'],
      [42, 'options'],
    ];
    for (const [options, field] of cases) {
      let error: unknown;
      try {
        new PriorityWaitQueue(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(field);
    }
  });

  it('describes itself for logs', () => {
    const waitQueue = new PriorityWaitQueue();
    void waitQueue.enqueueWithPriority('high').catch(() => {});
    expect(String(waitQueue)).toBe('PriorityWaitQueue(critical 0, high 1, normal 0, low 0)');
    waitQueue.close();
  });
});

describe('PriorityWaitQueue signal validation', () => {
  it('refuses a signal-like object it could not unsubscribe from, before queuing it', async () => {
    const waitQueue = new PriorityWaitQueue({ timeoutMs: 1_000 });
    const halfSignal = { aborted: false, addEventListener() {} } as unknown as AbortSignal;
    await expect(waitQueue.enqueueWithPriority('normal', { signal: halfSignal })).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(waitQueue.size).toBe(0);
    expect(() => waitQueue.serveNext()).not.toThrow();
    waitQueue.close();
  });
});
