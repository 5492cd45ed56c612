import { ConnectionPool, type PooledConnection } from '@pool/core';
import { PriorityWaitQueue } from '@pool/queue';
import { Pool as TarnPool } from 'tarn';
import { closeFake, type FakeConnection, openFake } from '../fake.js';
import { activeTimers, collectGarbage, type RunOptions } from '../measure.js';
import type { Scenario } from '../scenario.js';
import { quantile } from '../stats.js';
import { makeAdapter, type PoolSubject } from '../subjects.js';

const MAX = 10;
/**
 * The waiters' timeout in the timing pass: 2 s (200 ms in smoke runs), or 6 times as long as queuing
 * took in pass 1 (queuing in this pass, which records every deadline, is up to 2.5 times slower) for a library that queues slowly, so no deadline passes while callers are still queuing.
 */
const timeoutMs = (opts: RunOptions, queuingMs: number): number => Math.max(opts.smoke ? 200 : 2_000, Math.ceil(queuingMs * 6));
/** The waiters' timeout in the memory and serving pass: never reached. */
const LONG_TIMEOUT_MS = 600_000;

function waiterCount(opts: RunOptions): number {
  return Math.max(100, Math.round(100_000 * opts.scale));
}

/** A small deterministic PRNG (mulberry32), so every subject cancels the same waiters. */
export function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Pass 1: with every connection borrowed, queue `n` callers (timeout never reached); measure the queuing
 * time, the heap they hold and the timers armed; then release and time how fast the queue drains when
 * every served caller releases at once.
 */
async function memoryAndServe(subject: PoolSubject, n: number, timeout: boolean) {
  const a = await makeAdapter(subject, { max: MAX, ...(timeout ? { acquireTimeoutMs: LONG_TIMEOUT_MS } : {}) });
  const held = await Promise.all(Array.from({ length: MAX }, () => a.acquire()));
  const promises: Promise<unknown>[] = new Array(n).fill(undefined);
  collectGarbage();
  const timers0 = activeTimers();
  const heap0 = process.memoryUsage().heapUsed;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) promises[i] = a.acquire();
  const t1 = performance.now();
  const timers = activeTimers() - timers0;
  collectGarbage();
  const heap1 = process.memoryUsage().heapUsed;
  let served = 0;
  const drained = new Promise<void>((resolve, reject) => {
    for (const p of promises) {
      p.then((c) => {
        a.release(c);
        if (++served === n) resolve();
      }, reject);
    }
  });
  const t2 = performance.now();
  for (const c of held) a.release(c);
  await drained;
  const t3 = performance.now();
  await a.close();
  return {
    enqueueNs: ((t1 - t0) * 1e6) / n,
    serveNs: ((t3 - t2) * 1e6) / n,
    heapBytesPerWaiter: (heap1 - heap0) / n,
    heapMiB100k: ((heap1 - heap0) / n) * (100_000 / 1_048_576),
    timersArmed: timers,
  };
}

/**
 * Pass 2: queue `n` callers with a 2 s timeout while every connection stays borrowed, and record, for
 * each, how late its rejection arrived against its own deadline (arrival + timeout).
 */
async function timeouts(subject: PoolSubject, n: number, timeout: number) {
  const a = await makeAdapter(subject, { max: MAX, acquireTimeoutMs: timeout });
  const held = await Promise.all(Array.from({ length: MAX }, () => a.acquire()));
  const deadline = new Float64Array(n);
  const late = new Float64Array(n);
  let settled = 0;
  let served = 0;
  let done!: () => void;
  const all = new Promise<void>((resolve) => {
    done = resolve;
  });
  const onSettled = (): void => {
    if (++settled === n) done();
  };
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    deadline[i] = performance.now() + timeout;
    a.acquire().then(
      (c) => {
        served++;
        a.release(c);
        onSettled();
      },
      () => {
        late[i] = performance.now() - (deadline[i] as number);
        onSettled();
      },
    );
  }
  const queuedMs = performance.now() - t0;
  await all;
  for (const c of held) a.release(c);
  await a.close();
  if (served > 0) throw new Error(`${served} waiters were served although every connection stayed borrowed`);
  // Timers cannot fire while the queuing loop runs: a deadline that passed during it would be late
  // because of the harness. The timeout is chosen to leave a wide margin; this only guards it.
  if (queuedMs >= timeout * 0.9) throw new Error(`queuing took ${queuedMs.toFixed(0)} ms, too close to the ${timeout} ms timeout`);
  const values = Array.from(late);
  return {
    lateP50Ms: quantile(values, 0.5),
    lateP99Ms: quantile(values, 0.99),
    lateMaxMs: quantile(values, 1),
    earlyMaxMs: Math.max(0, -quantile(values, 0)),
  };
}

/** Scenario 5: 100,000 queued waiters with acquire timeouts. */
export const queuedWaiters: Scenario = {
  id: '5',
  title: '100,000 queued waiters with acquire timeouts',
  description:
    'All 10 connections borrowed, 100,000 callers queue. Pass 1 (timeout never reached): ns to queue one, heap per waiter after a full GC, timers armed, then ns per waiter to drain the queue as each served caller releases. Pass 2 (2 s timeout): lateness of every rejection against its own deadline. The floor has no timeouts (pass 1 only).',
  subjects: ['floor', 'core', 'generic-pool', 'tarn', 'pg-pool'],
  primary: 'serveNs',
  metrics: [
    { key: 'serveNs', label: 'drain ns/waiter', digits: 0 },
    { key: 'enqueueNs', label: 'queue ns/waiter', digits: 0 },
    { key: 'heapBytesPerWaiter', label: 'heap B/waiter', digits: 0 },
    { key: 'heapMiB100k', label: 'MiB per 100k', digits: 1 },
    { key: 'timersArmed', label: 'timers armed', digits: 0, combine: 'max' },
    { key: 'lateP50Ms', label: 'late p50 ms', digits: 2 },
    { key: 'lateP99Ms', label: 'late p99 ms', digits: 2 },
    { key: 'lateMaxMs', label: 'late max ms', digits: 2, combine: 'max' },
    { key: 'earlyMaxMs', label: 'early max ms', digits: 2, combine: 'max' },
  ],
  floor: 'floor',
  baseline: 'generic-pool',
  maxRounds: 3,
  run: async (subject, opts) => {
    const s = subject as PoolSubject;
    const n = waiterCount(opts);
    const timed = s !== 'floor';
    // Warm-up at a tenth of the size, so the measured passes run optimised code.
    await memoryAndServe(s, Math.ceil(n / 10), timed);
    const m = await memoryAndServe(s, n, timed);
    if (!timed) return m;
    return { ...m, ...(await timeouts(s, n, timeoutMs(opts, (m.enqueueNs * n) / 1e6))) };
  },
};

interface Cancellable {
  /** Starts a wait that `cancel()` abandons, the library's own way. */
  acquire(): { promise: Promise<unknown>; cancel: () => void };
  release(item: unknown): void;
  close(): Promise<void>;
}

async function cancellable(subject: string): Promise<Cancellable> {
  if (subject === 'core' || subject === 'core+PriorityWaitQueue') {
    const pool = await ConnectionPool.create(
      { maxSize: MAX, maxWaitQueueSize: 1_000_000, acquireTimeoutMs: LONG_TIMEOUT_MS },
      { create: openFake, close: closeFake },
      subject === 'core' ? {} : { waitQueue: new PriorityWaitQueue() },
    );
    return {
      acquire: () => {
        const controller = new AbortController();
        return { promise: pool.acquire({ signal: controller.signal }), cancel: () => controller.abort() };
      },
      release: (c) => (c as PooledConnection<FakeConnection>).release(),
      close: () => pool.close(),
    };
  }
  if (subject === 'tarn') {
    const pool = new TarnPool<FakeConnection>({
      create: openFake,
      destroy: closeFake,
      min: 0,
      max: MAX,
      acquireTimeoutMillis: LONG_TIMEOUT_MS,
    });
    return {
      acquire: () => {
        const op = pool.acquire();
        return { promise: op.promise, cancel: () => op.abort() };
      },
      release: (c) => void pool.release(c as FakeConnection),
      close: async () => {
        await pool.destroy();
      },
    };
  }
  throw new Error(`unknown subject '${subject}' for cancellation`);
}

/**
 * Scenario 5c: 100,000 queued waiters, 10,000 of them (chosen at random, the same for every subject)
 * abandon their wait; time per cancellation until its caller's promise has rejected.
 */
export const cancelWaiters: Scenario = {
  id: '5c',
  title: 'Cancel waiters at a queue depth of 100,000',
  description:
    'All 10 connections borrowed, 100,000 callers queue, then 10,000 random ones cancel (core, with its built-in FIFO queue and with the PriorityWaitQueue of @pool/queue: AbortSignal; tarn: abort()). Time per cancellation, until its promise rejected; the same at a depth of 10,000 (1,000 cancels), and how much the cost grew with the depth. generic-pool, pg-pool and the floor cannot cancel a wait.',
  subjects: ['core', 'core+PriorityWaitQueue', 'tarn'],
  primary: 'cancelNs',
  metrics: [
    { key: 'cancelNs', label: 'ns/cancel', digits: 0 },
    { key: 'cancelNsShallow', label: 'ns/cancel at depth 10,000', digits: 0 },
    { key: 'depthGrowth', label: '100,000 / 10,000', digits: 2 },
  ],
  maxRounds: 3,
  run: async (subject, opts) => {
    const run = async (n: number): Promise<number> => {
      const pool = await cancellable(subject);
      const held = await Promise.all(Array.from({ length: MAX }, () => pool.acquire().promise));
      const waits: { promise: Promise<unknown>; cancel: () => void }[] = [];
      for (let i = 0; i < n; i++) waits.push(pool.acquire());
      const k = Math.ceil(n / 10);
      const random = prng(42);
      const chosen = new Set<number>();
      while (chosen.size < k) chosen.add(Math.floor(random() * n));
      const rejected: Promise<unknown>[] = [];
      for (const i of chosen)
        rejected.push(
          (waits[i] as { promise: Promise<unknown> }).promise.then(
            () => Promise.reject(new Error(`waiter ${i} was served`)),
            () => undefined,
          ),
        );
      const t0 = performance.now();
      for (const i of chosen) (waits[i] as { cancel: () => void }).cancel();
      await Promise.all(rejected);
      const t1 = performance.now();
      // Serve the rest so the pool closes cleanly.
      let left = n - k;
      const drained = new Promise<void>((resolve) => {
        if (left === 0) resolve();
        for (let i = 0; i < n; i++) {
          if (chosen.has(i)) continue;
          (waits[i] as { promise: Promise<unknown> }).promise.then((c) => {
            pool.release(c);
            if (--left === 0) resolve();
          });
        }
      });
      for (const c of held) pool.release(c);
      await drained;
      await pool.close();
      return ((t1 - t0) * 1e6) / k;
    };
    const n = waiterCount(opts);
    await run(Math.ceil(n / 10)); // warm-up
    // The same cancellations at a tenth of the depth: a cost that does not grow with the queue (O(1)
    // removal) gives a growth near 1; one that scans the queue, near 10.
    const shallow = await run(Math.ceil(n / 10));
    const deep = await run(n);
    return { cancelNs: deep, cancelNsShallow: shallow, depthGrowth: deep / shallow };
  },
};
