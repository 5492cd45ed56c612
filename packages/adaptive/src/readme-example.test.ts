import { ConnectionPool } from '@pool/core';
import { afterEach, beforeEach, expect, it, vi } from 'vitest';
import type { LimitChange } from './adaptive-events.js';
import { adaptiveLimit } from './adaptive-limit.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

// The README's runnable example, under fake timers: the figures the README shows come from here.
it("runs the README's example and finds the limit it shows", async () => {
  let running = 0;
  const factory = {
    create: async () => ({
      query: async () => {
        running++;
        await new Promise((r) => setTimeout(r, 5 * Math.max(1, running / 2)));
        running--;
      },
    }),
    close: async () => {},
  };
  const pool = await ConnectionPool.create({ minSize: 0, maxSize: 64 }, factory);
  const limiter = adaptiveLimit(pool);
  const changes: LimitChange[] = [];
  limiter.on('limitChanged', (c) => changes.push(c));
  let stop = false;
  setTimeout(() => {
    stop = true;
  }, 10_000);
  const callers = Promise.all(
    Array.from({ length: 200 }, async () => {
      while (!stop) await pool.use((db) => db.query());
    }),
  );
  await vi.advanceTimersByTimeAsync(10_000);
  const s = limiter.statistics();
  await vi.advanceTimersByTimeAsync(2_000); // the callers still queued finish
  await callers;
  expect(s.limit).toBe(4);
  // The README shows these lines ('start' was emitted before the listener was added).
  expect(changes.map((c) => `limit ${c.previous} -> ${c.limit} (${c.reason}, ${c.latencyMs?.toFixed(1)} ms)`)).toEqual([
    'limit 1 -> 2 (demand, 5.0 ms)',
    'limit 2 -> 3 (demand, 5.0 ms)',
    'limit 3 -> 4 (demand, 7.0 ms)',
  ]);
  expect(s.baselineMs).toBeCloseTo(5, 0);
  expect(s.latencyMs).toBe(10);
  expect(s.throughput).toBe(400);
  await pool.close();
  expect(limiter.running).toBe(false);
});
