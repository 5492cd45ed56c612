import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { type DeadlineEntry, DeadlineQueue } from './deadline-queue.js';

interface Entry extends DeadlineEntry {
  name: string;
}
const entry = (name: string): Entry => ({ name, deadline: 0, dlPrev: null, dlNext: null, dlLane: null });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('DeadlineQueue', () => {
  it('expires entries in deadline order across different timeouts', async () => {
    const expired: string[] = [];
    const q = new DeadlineQueue<Entry>((e) => expired.push(e.name));
    q.add(entry('c300'), 300);
    q.add(entry('a100'), 100);
    q.add(entry('b200'), 200);
    await vi.advanceTimersByTimeAsync(1);
    q.add(entry('a100-later'), 100);
    await vi.advanceTimersByTimeAsync(400);
    expect(expired).toEqual(['a100', 'a100-later', 'b200', 'c300']);
    expect(q.size).toBe(0);
  });

  it('does not expire removed entries', async () => {
    const expired: string[] = [];
    const q = new DeadlineQueue<Entry>((e) => expired.push(e.name));
    const a = entry('a');
    const b = entry('b');
    q.add(a, 100);
    q.add(b, 100);
    expect(q.remove(a)).toBe(true);
    expect(q.remove(a)).toBe(false);
    q.remove(b);
    await vi.advanceTimersByTimeAsync(200);
    expect(expired).toEqual([]);
  });

  it('holds the process only while entries wait, without re-arming its timer for every entry', async () => {
    vi.useRealTimers();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const setTimeoutSpy = vi.spyOn(globalThis, 'setTimeout');
    const q = new DeadlineQueue<Entry>(() => {});
    const first = entry('first');
    q.add(first, 60_000);
    expect(timers()).toBe(before + 1); // a waiting caller is live work
    q.remove(first);
    expect(timers()).toBe(before); // emptied: the armed timer no longer holds the process
    for (let i = 0; i < 100; i++) {
      const e = entry(String(i));
      q.add(e, 60_000);
      q.remove(e);
    }
    expect(setTimeoutSpy).toHaveBeenCalledTimes(1); // one timer armed for all of them
    expect(timers()).toBe(before);
    q.clear();
    setTimeoutSpy.mockRestore();
  });

  it('keeps one timer however many entries it holds', () => {
    const q = new DeadlineQueue<Entry>(() => {});
    for (let i = 0; i < 10_000; i++) q.add(entry(String(i)), 1_000 + (i % 7));
    expect(vi.getTimerCount()).toBe(1);
    q.clear();
    expect(vi.getTimerCount()).toBe(0);
  });

  it('lets a callback add new entries while expiring', async () => {
    const expired: string[] = [];
    const q = new DeadlineQueue<Entry>((e) => {
      expired.push(e.name);
      if (e.name === 'first') q.add(entry('second'), 50);
    });
    q.add(entry('first'), 50);
    await vi.advanceTimersByTimeAsync(100);
    expect(expired).toEqual(['first', 'second']);
  });

  it('reuses an emptied lane, and still expires in order when many timeouts come and go', async () => {
    const expired: string[] = [];
    const q = new DeadlineQueue<Entry>((e) => expired.push(e.name));
    // A pool validating on every borrow: two timeouts whose lanes empty and refill on every operation.
    for (let i = 0; i < 1_000; i++) {
      const waiter = entry(`w${i}`);
      const check = entry(`v${i}`);
      q.add(waiter, 30_000);
      q.add(check, 5_000);
      q.remove(check);
      q.remove(waiter);
    }
    expect(q.size).toBe(0);
    // Then 40 distinct timeouts (more than the lanes kept while empty), emptied and used again.
    for (let t = 1; t <= 40; t++) {
      const e = entry(`t${t}`);
      q.add(e, t * 10);
      q.remove(e);
    }
    for (let t = 40; t >= 1; t--) q.add(entry(`t${t}`), t * 10);
    q.add(entry('v-last'), 5_000);
    await vi.advanceTimersByTimeAsync(400);
    expect(expired).toEqual(Array.from({ length: 40 }, (_, i) => `t${i + 1}`));
    await vi.advanceTimersByTimeAsync(5_000);
    expect(expired.at(-1)).toBe('v-last');
    expect(q.size).toBe(0);
  });

  it('keeps the heap consistent under random adds and removes', async () => {
    let seed = 7;
    const rand = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const expired: Entry[] = [];
    const q = new DeadlineQueue<Entry>((e) => expired.push(e));
    const live = new Set<Entry>();
    for (let step = 0; step < 2_000; step++) {
      const r = rand();
      if (r < 0.5 || live.size === 0) {
        const e = entry(`e${step}`);
        q.add(e, 1 + Math.floor(rand() * 50));
        live.add(e);
      } else if (r < 0.8) {
        const victim = [...live][Math.floor(rand() * live.size)] as Entry;
        q.remove(victim);
        live.delete(victim);
      } else {
        await vi.advanceTimersByTimeAsync(Math.floor(rand() * 10));
        for (const e of expired) live.delete(e);
      }
    }
    for (const e of expired) expect(e.deadline).toBeLessThanOrEqual(performance.now() + 1);
    await vi.advanceTimersByTimeAsync(100);
    for (const e of expired) live.delete(e);
    expect(live.size).toBe(0);
    expect(q.size).toBe(0);
  });
});

describe('DeadlineQueue under a burst', () => {
  it('expires a large burst in slices, letting what each expiry scheduled run in between', async () => {
    vi.useRealTimers();
    // Order, not wall-clock time, is asserted: a shared counter stamps each expiry and each handler.
    let seq = 0;
    const expiredAt: number[] = [];
    const handledAt: number[] = [];
    const q = new DeadlineQueue<Entry>(() => {
      expiredAt.push(seq++);
      // Each expiry costs at least 20 µs, so a slice (about 1 ms, checked every 128 expiries) always
      // ends after the first 128, however fast or loaded the machine is.
      const until = performance.now() + 0.02;
      while (performance.now() < until) {}
      // what a caller's rejection handler would be: a microtask scheduled by the expiry
      queueMicrotask(() => handledAt.push(seq++));
    });
    const n = 2_000;
    for (let i = 0; i < n; i++) q.add(entry(String(i)), 5);
    const end = performance.now() + 10;
    while (performance.now() < end) {} // everything is due when the timer fires
    await vi.waitFor(() => expect(handledAt).toHaveLength(n), { timeout: 30_000, interval: 10 });
    // Without slices every handler would run after the last expiry.
    expect(handledAt[0] as number).toBeLessThan(expiredAt[n - 1] as number);
    // ...and the first slice's handlers ran before the second slice began.
    expect(handledAt[0] as number).toBeLessThan(expiredAt[128] as number);
    expect(q.size).toBe(0);
  });
});
