import {
  ConnectionPool,
  ConnectionTimeoutError,
  InvalidArgumentError,
  InvalidConfigError,
  type PoolConfigOptions,
  type PooledConnection,
  type PoolOptions,
} from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlockDetector, type DeadlockDetectorOptions, type DeadlockReport } from './deadlock-detector.js';
import { DeadlockError } from './errors.js';
import { TaskScope } from './owner-scope.js';
import { PriorityWaitQueue } from './priority-wait-queue.js';
import { type FakeConnection, FakeFactory, flush, sleep, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

const pools: ConnectionPool<FakeConnection>[] = [];
afterEach(async () => {
  for (const p of pools.splice(0)) {
    const closing = p.close();
    await vi.advanceTimersByTimeAsync(60_000);
    await closing;
  }
});

async function setup(
  maxSize: number,
  options: DeadlockDetectorOptions = {},
  config: PoolConfigOptions = {},
  poolOptions: PoolOptions = {},
) {
  const detector = new DeadlockDetector(options);
  const factory = new FakeFactory();
  const pool = await ConnectionPool.create(
    { minSize: maxSize, maxSize, initialSize: maxSize, acquireTimeoutMs: 30_000, ...config },
    factory,
    { ownerScope: detector.ownerScope, ...poolOptions },
  );
  pools.push(pool);
  detector.attach(pool);
  return { detector, pool, factory };
}

/**
 * Awaits `promise` (its value, or the error it rejects with), letting one event-loop turn pass on the
 * fake clock first: the detector confirms a deadlock on the next turn before it fails anyone.
 */
async function settle(promise: Promise<unknown>): Promise<unknown> {
  const outcome = promise.catch((error: unknown) => error);
  await vi.advanceTimersByTimeAsync(0);
  return outcome;
}

/** The classic bug: a task holds a connection and, inside, asks the same pool for another. */
function nestedTask(pool: ConnectionPool<FakeConnection>, delayMs = 0) {
  return pool.use(async () => {
    if (delayMs > 0) await sleep(delayMs);
    return pool.use(async () => 'inner done');
  });
}

describe('DeadlockDetector', () => {
  it('fails a nested-acquire deadlock of N tasks on maxSize N at once, not at the acquire timeout', async () => {
    const n = 4;
    const { detector, pool } = await setup(n);
    const start = performance.now();
    let failedAt = 0;
    const tasks = Array.from({ length: n }, (_, i) =>
      track(
        nestedTask(pool, (i + 1) * 10).catch((error: unknown) => {
          failedAt = performance.now();
          throw error;
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(30);
    expect(tasks.every((t) => t.state === 'pending')).toBe(true); // 3 of 4 tasks nest: no deadlock yet
    await vi.advanceTimersByTimeAsync(10); // the last task nests at 40 ms: a deadlock is suspected
    // Confirmed one event-loop turn later (the fake clock runs a setImmediate queued while it ticks 1 ms on).
    await vi.advanceTimersByTimeAsync(1);
    expect(tasks.map((t) => t.state)).toEqual(['rejected', 'rejected', 'rejected', 'rejected']);
    expect(failedAt - start).toBe(41); // right after the last task nested, far from acquireTimeoutMs (30 s)
    for (const t of tasks) {
      const error = t.error as DeadlockError;
      expect(error).toBeInstanceOf(DeadlockError);
      expect(error.code).toBe('ERR_POOL_DEADLOCK');
      expect(error.kind).toBe('nested');
      expect(error.tasksInvolved).toBe(n);
      expect(error.heldConnectionIds).toHaveLength(1);
      expect(error.message).toMatch(/all 4 connections are held by 4 tasks that are each waiting/);
      expect(error.message).toMatch(/is nested inside work that holds connection \d/);
    }
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 1, waitersFailed: n, nestedAcquires: n, poolsAttached: 1 });
    expect(pool.statistics().timeouts).toBe(0);
    // Every outer task released its connection on the way out: the pool works again.
    expect(pool.size()).toMatchObject({ idle: n, active: 0, waiting: 0 });
    await expect(nestedTask(pool)).resolves.toBe('inner done');
  });

  it('fails the self-deadlock of a nested use() on a pool of one', async () => {
    const { detector, pool } = await setup(1);
    const error = await settle(nestedTask(pool));
    expect(error).toBeInstanceOf(DeadlockError);
    expect((error as DeadlockError).kind).toBe('self');
    expect((error as DeadlockError).message).toMatch(/^Self-deadlock in pool 'pool-\d+': the acquire by task #\d+ \(inside task #\d+\)/);
    expect((error as DeadlockError).message).toMatch(/already holds the only one \(connection 1\)/);
    expect(detector.statistics().deadlocksDetected).toBe(1);
    expect(pool.size().idle).toBe(1);
  });

  it('fails a task that holds the only connection and acquires a second one directly', async () => {
    const { pool, detector } = await setup(1);
    const outcome = track(
      detector.run(async () => {
        const first = await pool.acquire();
        try {
          return await pool.acquire();
        } finally {
          first.release();
        }
      }, 'import job'),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(outcome.error).toBeInstanceOf(DeadlockError);
    expect((outcome.error as DeadlockError).message).toMatch(/task #\d+ 'import job' waits for a connection/);
    expect((outcome.error as DeadlockError).taskId).toBeTypeOf('number');
  });

  it('says where the nested acquire and the held connection were made when the pool captures stacks', async () => {
    const { pool } = await setup(1, {}, {}, { captureStacks: true });
    const error = (await settle(nestedTask(pool))) as DeadlockError;
    expect(error).toBeInstanceOf(DeadlockError);
    expect(error.acquireStack).toMatch(/deadlock-detector\.test\.ts/);
    expect(error.heldStacks).toHaveLength(1);
    expect(error.heldStacks[0]).toMatch(/deadlock-detector\.test\.ts/);
    expect(error.message).toMatch(/nested acquire at:\n\s+at /);
    expect(error.message).toMatch(/connection 1 acquired at:\n\s+at /);
  });

  it('reports no deadlock when a task holds one connection and waits while another borrower is not waiting', async () => {
    const { detector, pool } = await setup(2);
    const busy = track(pool.use(() => sleep(100).then(() => 'busy done')));
    const nested = track(nestedTask(pool));
    await vi.advanceTimersByTimeAsync(50);
    expect(pool.size()).toMatchObject({ active: 2, waiting: 1 });
    expect(detector.checkDeadlock(pool)).toMatchObject({ deadlocked: false, kind: null });
    expect(detector.checkDeadlock(pool).description).toMatch(/which is not waiting for this pool/);
    await vi.advanceTimersByTimeAsync(50);
    expect(busy.value).toBe('busy done');
    expect(nested.value).toBe('inner done');
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0, nestedAcquires: 1 });
    expect(detector.statistics().checks).toBeGreaterThanOrEqual(1);
  });

  it('reports no deadlock while the pool can still open connections', async () => {
    const { detector, pool } = await setup(3, {}, { minSize: 0, initialSize: 2 });
    const tasks = [track(nestedTask(pool, 5)), track(nestedTask(pool, 5))];
    await vi.advanceTimersByTimeAsync(10);
    expect(tasks.map((t) => t.value)).toEqual(['inner done', 'inner done']);
    expect(detector.statistics().deadlocksDetected).toBe(0);
  });

  it('does not count a borrow made outside any task as waiting', async () => {
    const { detector, pool } = await setup(2);
    const outside = await pool.acquire(); // no pool.use(), no detector.run(): nobody knows what it waits for
    expect(outside.owner).toBeUndefined();
    const nested = track(nestedTask(pool));
    await flush();
    expect(nested.state).toBe('pending');
    expect(detector.checkDeadlock(pool).description).toMatch(/held outside any task/);
    outside.release();
    await flush();
    expect(nested.value).toBe('inner done');
    expect(detector.statistics().deadlocksDetected).toBe(0);
  });

  it('does not mistake a task waiting on another pool for a deadlock of this one', async () => {
    const detector = new DeadlockDetector();
    const factory = new FakeFactory();
    const options = { ownerScope: detector.ownerScope };
    const a = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory, { ...options, name: 'a' });
    const b = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory, { ...options, name: 'b' });
    pools.push(a, b);
    detector.attach(a);
    detector.attach(b);
    const holderOfB = track(b.use(() => sleep(100)));
    const crossing = track(a.use(() => b.use(() => 'got both')));
    await vi.advanceTimersByTimeAsync(50);
    expect(crossing.state).toBe('pending');
    expect(detector.checkDeadlock(a).deadlocked).toBe(false);
    expect(detector.checkDeadlock(b).deadlocked).toBe(false);
    await vi.advanceTimersByTimeAsync(50);
    expect(holderOfB.state).toBe('fulfilled');
    expect(crossing.value).toBe('got both');
    expect(detector.statistics().deadlocksDetected).toBe(0);
  });

  it('detects the deadlock that forms when a waiting task is handed a connection', async () => {
    const { detector, pool } = await setup(2);
    const other = track(pool.use(() => sleep(10)));
    const greedy = track(
      detector.run(async () => {
        const first = await pool.acquire();
        try {
          // Two more at once while holding one: the first of them gets the other task's connection.
          const more = await Promise.allSettled([pool.acquire(), pool.acquire()]);
          for (const r of more) if (r.status === 'fulfilled') r.value.release();
          for (const r of more) if (r.status === 'rejected') throw r.reason;
        } finally {
          first.release();
        }
      }),
    );
    await flush();
    expect(pool.size()).toMatchObject({ active: 2, waiting: 2 });
    expect(detector.statistics().deadlocksDetected).toBe(0);
    await vi.advanceTimersByTimeAsync(10); // the other task releases: greedy holds both and still waits
    await vi.advanceTimersByTimeAsync(1); // confirmed one loop turn later (see the first test)
    expect(other.state).toBe('fulfilled');
    expect(greedy.error).toBeInstanceOf(DeadlockError);
    expect((greedy.error as DeadlockError).kind).toBe('self');
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 1, waitersFailed: 1 });
    await flush();
    expect(pool.size()).toMatchObject({ idle: 2, waiting: 0 });
  });

  it('only reports when failWaiters is false, once per deadlock, and lets the waiters time out', async () => {
    const onDeadlock = vi.fn<(report: DeadlockReport) => void>();
    const { detector, pool } = await setup(
      2,
      { failWaiters: false, onDeadlock },
      { acquireTimeoutMs: 5_000, maintenanceIntervalMs: 1_000 },
    );
    const tasks = [track(nestedTask(pool)), track(nestedTask(pool))];
    await flush();
    expect(onDeadlock).not.toHaveBeenCalled(); // suspected; reported once confirmed on the next turn
    await vi.advanceTimersByTimeAsync(0);
    expect(onDeadlock).toHaveBeenCalledTimes(1);
    const report = onDeadlock.mock.calls[0]?.[0] as DeadlockReport;
    expect(report).toMatchObject({ deadlocked: true, kind: 'nested', poolName: pool.name, maxSize: 2 });
    expect(report.tasks).toHaveLength(2);
    expect(report.waiters).toHaveLength(2);
    expect(report.description).toMatch(/^Deadlock in pool/);
    await vi.advanceTimersByTimeAsync(4_000); // maintenance sees the same deadlock again: not counted again
    expect(tasks.every((t) => t.state === 'pending')).toBe(true);
    const later = detector.checkDeadlock(pool);
    expect(later.deadlocked).toBe(true);
    expect(later.tasks[0]?.connections[0]?.heldMs).toBeUndefined(); // this pool does not measure borrow times
    const withdraw = pool.requestBorrowTiming();
    expect(detector.checkDeadlock(pool).tasks[0]?.connections[0]?.heldMs).toBeUndefined(); // borrows begun before
    withdraw();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(tasks.every((t) => t.error instanceof ConnectionTimeoutError)).toBe(true);
    expect(onDeadlock).toHaveBeenCalledTimes(1);
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 1, waitersFailed: 0 });
  });

  it('checks a pool or its PriorityWaitQueue on demand, and breaks the deadlock it reports', async () => {
    const detector = new DeadlockDetector({ enabled: true });
    const waitQueue = new PriorityWaitQueue();
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 2, initialSize: 2 }, new FakeFactory(), {
      ownerScope: detector.ownerScope,
      waitQueue,
    });
    pools.push(pool); // not attached: checkDeadlock scans the queue
    expect(detector.checkDeadlock(waitQueue).description).toBe('No deadlock: nobody is waiting for a connection');
    const tasks = [track(nestedTask(pool)), track(nestedTask(pool))];
    await flush();
    expect(tasks.every((t) => t.state === 'pending')).toBe(true);
    const report = detector.checkDeadlock(waitQueue);
    expect(report.deadlocked).toBe(true);
    expect(report.tasks.map((t) => t.connections.length)).toEqual([1, 1]);
    expect(report.tasks.every((t) => t.task instanceof TaskScope && t.waiterIds.length === 1)).toBe(true);
    expect(detector.checkDeadlock(pool).deadlocked).toBe(true);
    expect(detector.statistics().deadlocksDetected).toBe(1);
    expect(detector.breakDeadlock(report)).toBe(2);
    await flush();
    expect(tasks.every((t) => t.error instanceof DeadlockError)).toBe(true);
    expect(waitQueue.statistics()).toMatchObject({ totalFailed: 2, currentSize: 0 });
    expect(detector.breakDeadlock(report)).toBe(0);
    expect(detector.checkDeadlock(new PriorityWaitQueue()).description).toMatch(/standalone wait queue/);
    const partitionQueue = new PriorityWaitQueue();
    partitionQueue.attach({ name: 'manager/tenant_a', config: { fairQueue: true } });
    expect(detector.checkDeadlock(partitionQueue)).toMatchObject({ deadlocked: false, poolName: 'manager/tenant_a' });
    expect(detector.checkDeadlock(partitionQueue).description).toMatch(/not a pool; check the pool itself/);
  });

  it('costs nothing and detects nothing when disabled', async () => {
    const detector = new DeadlockDetector({ enabled: false });
    expect(detector.ownerScope).toBeNull();
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1, acquireTimeoutMs: 1_000 }, new FakeFactory(), {
      ownerScope: detector.ownerScope,
    });
    pools.push(pool);
    const detach = detector.attach(pool);
    detach();
    expect(pool.listenerCount('enqueue') + pool.listenerCount('acquire')).toBe(0);
    expect(detector.run(() => 42)).toBe(42);
    const outcome = track(nestedTask(pool));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(outcome.error).toBeInstanceOf(ConnectionTimeoutError);
    expect(detector.checkDeadlock(pool).description).toBe('No deadlock: deadlock detection is disabled');
    expect(detector.statistics()).toEqual({
      enabled: false,
      deadlocksDetected: 0,
      waitersFailed: 0,
      nestedAcquires: 0,
      checks: 0,
      poolsAttached: 0,
    });
  });

  it('links tasks to the task they run inside', async () => {
    const { detector, pool } = await setup(2);
    let outer: TaskScope | undefined;
    let inner: TaskScope | undefined;
    let conn: PooledConnection<FakeConnection> | undefined;
    await detector.run(async () => {
      outer = detector.ownerScope?.current();
      await pool.use(async (_c, pooled) => {
        inner = detector.ownerScope?.current();
        conn = pooled;
        expect(pooled.owner).toBe(inner);
      });
    }, 'request');
    expect(outer?.name).toBe('request');
    expect(inner?.parent).toBe(outer);
    expect(inner?.root).toBe(outer);
    expect(inner?.depth).toBe(1);
    expect(inner?.isWithin(outer as TaskScope)).toBe(true);
    expect(outer?.isWithin(inner as TaskScope)).toBe(false);
    expect(String(inner)).toBe(`task #${inner?.id} (inside task #${outer?.id})`);
    expect(conn?.released).toBe(true);
    expect(detector.ownerScope?.current()).toBeUndefined();
  });

  it('detaches from a pool when it closes', async () => {
    const { detector, pool } = await setup(1);
    expect(pool.listenerCount('enqueue')).toBe(1);
    expect(detector.attach(pool)).toBeTypeOf('function');
    expect(pool.listenerCount('enqueue')).toBe(1);
    await pool.close();
    expect(detector.statistics().poolsAttached).toBe(0);
    expect(pool.listenerCount('enqueue')).toBe(0);
    detector.attach(pool); // a closed pool: nothing to watch
    expect(detector.statistics().poolsAttached).toBe(0);
  });

  it('contains an onDeadlock callback that throws', async () => {
    const warn = vi.spyOn(process, 'emitWarning').mockImplementation(() => {});
    const { pool } = await setup(1, {
      onDeadlock: () => {
        throw new Error('callback bug');
      },
    });
    expect(await settle(nestedTask(pool))).toBeInstanceOf(DeadlockError);
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/onDeadlock callback threw: Error: callback bug/), expect.anything());
    warn.mockRestore();
  });

  it('does not fail a nested use() that the holder of the only connection starts without awaiting it', async () => {
    const { detector, pool } = await setup(1);
    let inner: ReturnType<typeof track<string>> | undefined;
    const outer = track(
      pool.use(async () => {
        inner = track(pool.use(async () => 'inner done')); // fire and forget: not awaited
        return 'outer done';
      }),
    );
    await vi.advanceTimersByTimeAsync(0); // one event-loop turn, no time passes
    expect(outer.value).toBe('outer done');
    expect(inner?.error).toBeUndefined();
    expect(inner?.value).toBe('inner done');
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0, nestedAcquires: 1 });
    expect(pool.size()).toMatchObject({ idle: 1, active: 0, waiting: 0 });
  });

  it('does not fail an un-awaited nested acquire while the holder finishes some promise work first', async () => {
    const { detector, pool } = await setup(1);
    const inner: ReturnType<typeof track<string>>[] = [];
    const outer = track(
      pool.use(async () => {
        inner.push(track(pool.use(async () => 'inner done')));
        await Promise.resolve();
        inner.push(track(pool.use(async () => 'second inner done'))); // another one, after an await
        await new Promise((resolve) => process.nextTick(resolve));
        await flush();
        return 'outer done';
      }),
    );
    const direct = track(
      detector.run(async () => {
        const first = await pool.acquire(); // waits for the use() above
        const second = pool.acquire().then((conn) => conn.release()); // not awaited before releasing
        await Promise.resolve();
        first.release();
        await second;
        return 'direct done';
      }, 'direct'),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(outer.value).toBe('outer done');
    expect(inner.map((t) => t.value)).toEqual(['inner done', 'second inner done']);
    expect(direct.error).toBeUndefined();
    expect(direct.value).toBe('direct done');
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0, nestedAcquires: 3 });
    expect(pool.size()).toMatchObject({ idle: 1, active: 0, waiting: 0 });
  });

  it('does not fail un-awaited nested acquires of several holders that each release (maxSize N)', async () => {
    const n = 3;
    const { detector, pool } = await setup(n);
    const inner: ReturnType<typeof track<string>>[] = [];
    const outer = Array.from({ length: n }, (_, i) =>
      track(
        pool.use(async () => {
          await Promise.resolve();
          inner.push(track(pool.use(async () => `inner ${i}`)));
          await Promise.resolve();
          return `outer ${i}`;
        }),
      ),
    );
    await vi.advanceTimersByTimeAsync(0);
    expect(outer.map((t) => t.value)).toEqual(['outer 0', 'outer 1', 'outer 2']);
    expect(inner.map((t) => t.value).sort()).toEqual(['inner 0', 'inner 1', 'inner 2']);
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0, nestedAcquires: n });
  });

  it('confirms a deadlock suspected when a waiting task is handed a connection before failing anyone', async () => {
    const { detector, pool } = await setup(2);
    const other = track(pool.use(() => sleep(10)));
    const served: number[] = [];
    const greedy = track(
      detector.run(async () => {
        const first = await pool.acquire();
        // Two more without awaiting them, each given back as soon as it arrives: when the other task
        // releases, this one holds both connections and still waits, but only for a moment.
        const more = [pool.acquire(), pool.acquire()].map((p) =>
          p.then((conn) => {
            served.push(conn.id);
            conn.release();
          }),
        );
        await sleep(20);
        first.release();
        await Promise.all(more);
        return 'greedy done';
      }),
    );
    await vi.advanceTimersByTimeAsync(20);
    expect(other.state).toBe('fulfilled');
    expect(greedy.error).toBeUndefined();
    expect(greedy.value).toBe('greedy done');
    expect(served).toHaveLength(2);
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0 });
  });

  it('fails a true deadlock on the next event-loop turn, not synchronously inside acquire()', async () => {
    const { detector, pool } = await setup(1);
    const outcome = track(nestedTask(pool));
    await flush();
    expect(outcome.state).toBe('pending'); // suspected, waiting for confirmation
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0 });
    await vi.advanceTimersByTimeAsync(0); // no time passes: just one turn
    expect(outcome.error).toBeInstanceOf(DeadlockError);
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 1, waitersFailed: 1 });
  });

  it('waits confirmAfterMs before failing a deadlock, and then fails it', async () => {
    const { detector, pool } = await setup(1, { confirmAfterMs: 25 });
    expect(detector.confirmAfterMs).toBe(25);
    const outcome = track(nestedTask(pool));
    await vi.advanceTimersByTimeAsync(24);
    expect(outcome.state).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome.error).toBeInstanceOf(DeadlockError);
    expect(detector.statistics()).toMatchObject({ deadlocksDetected: 1, waitersFailed: 1 });
  });

  it('keeps the honest limit: an un-awaited nested acquire whose holder keeps its connection past the window', async () => {
    // The holder starts a nested use() without awaiting it, then keeps the only connection across
    // a timer (I/O). Within the confirmation window nothing tells that apart from a deadlock.
    const holder = (pool: ConnectionPool<FakeConnection>, wait: () => Promise<unknown>) => {
      let inner: ReturnType<typeof track<string>> | undefined;
      const outer = track(
        pool.use(async () => {
          inner = track(pool.use(async () => 'inner done'));
          await wait();
          return 'outer done';
        }),
      );
      return { outer, inner: () => inner };
    };
    const fast = await setup(1);
    const failed = holder(fast.pool, () => sleep(10));
    await vi.advanceTimersByTimeAsync(10);
    expect(failed.inner()?.error).toBeInstanceOf(DeadlockError);
    expect(failed.outer.value).toBe('outer done');
    // Raising confirmAfterMs above how long such a holder keeps its connection avoids it.
    const patient = await setup(1, { confirmAfterMs: 50 });
    const fine = holder(patient.pool, () => sleep(10));
    await vi.advanceTimersByTimeAsync(10);
    expect(fine.outer.value).toBe('outer done');
    expect(fine.inner()?.value).toBe('inner done');
    expect(patient.detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0 });
    // Same for a holder that yields to the event loop (setImmediate) before releasing: the default
    // confirmation, queued first, runs before it; a confirmAfterMs of 1 ms lets it finish.
    const yielding = await setup(1, { confirmAfterMs: 1 });
    const yielded = holder(yielding.pool, () => new Promise((resolve) => setImmediate(resolve)));
    await vi.advanceTimersByTimeAsync(1);
    expect(yielded.inner()?.value).toBe('inner done');
    expect(yielding.detector.statistics().deadlocksDetected).toBe(0);
  });

  it('keeps at most one pending confirmation per pool and drops it on detach and close', async () => {
    const immediate = vi.spyOn(globalThis, 'setImmediate');
    const clearImmediateSpy = vi.spyOn(globalThis, 'clearImmediate');
    try {
      const { detector, pool } = await setup(1);
      const detach = detector.attach(pool);
      let inner: ReturnType<typeof track<string>>[] = [];
      const outer = track(
        pool.use(async () => {
          immediate.mockClear();
          // Three nested acquires at once: three suspicions, one confirmation.
          inner = [1, 2, 3].map(() => track(pool.use(async () => 'inner')));
          expect(immediate).toHaveBeenCalledTimes(1);
          detach(); // detached before the confirmation ran: nothing is failed
          expect(clearImmediateSpy).toHaveBeenCalledTimes(1);
          await sleep(10);
        }),
      );
      await vi.advanceTimersByTimeAsync(10);
      expect(outer.state).toBe('fulfilled');
      expect(inner.map((t) => t.value)).toEqual(['inner', 'inner', 'inner']);
      expect(detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0, poolsAttached: 0 });

      const other = await setup(1, { confirmAfterMs: 100 });
      const stuck = track(nestedTask(other.pool));
      await flush();
      const closing = other.pool.close(); // closing while a confirmation is pending: nothing is failed
      await vi.advanceTimersByTimeAsync(60_000);
      await closing;
      expect(other.detector.statistics().poolsAttached).toBe(0);
      expect(stuck.state).toBe('rejected');
      expect(stuck.error).not.toBeInstanceOf(DeadlockError);
      expect(other.detector.statistics()).toMatchObject({ deadlocksDetected: 0, waitersFailed: 0 });
    } finally {
      immediate.mockRestore();
      clearImmediateSpy.mockRestore();
    }
  });

  it('rejects bad options and arguments with errors naming them', () => {
    const cases: [unknown, string][] = [
      [{ enabled: 'yes' }, 'enabled'],
      [{ failWaiters: 1 }, 'failWaiters'],
      [{ onDeadlock: 'log' }, 'onDeadlock'],
      [{ confirmAfterMs: -1 }, 'confirmAfterMs'],
      [{ confirmAfterMs: '10' }, 'confirmAfterMs'],
      [{ confirmAfterMs: Number.NaN }, 'confirmAfterMs'],
      [{ confirmAfterMs: Number.POSITIVE_INFINITY }, 'confirmAfterMs'],
      [{ confirmAfterMs: 2 ** 31 }, 'confirmAfterMs'],
      [{ threshold: 3 }, 'threshold'],
      ['on', 'options'],
    ];
    for (const [options, field] of cases) {
      let error: unknown;
      try {
        new DeadlockDetector(options as never);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(InvalidConfigError);
      expect((error as InvalidConfigError).field).toBe(field);
    }
    const detector = new DeadlockDetector();
    expect(() => detector.attach({} as never)).toThrow(InvalidArgumentError);
    expect(() => detector.checkDeadlock({} as never)).toThrow(/target/);
    expect(() => detector.breakDeadlock(null as never)).toThrow(/report/);
    expect(() => detector.run('fn' as never)).toThrow(/fn/);
  });
});
