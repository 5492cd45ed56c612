import { afterEach, describe, expect, it, vi } from 'vitest';
import { BorrowSampler, SAMPLE_PERIOD_MS } from './borrow-sampler.js';

afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

describe('BorrowSampler', () => {
  it("is always on with 'all', with no timer", () => {
    vi.useFakeTimers();
    const changes: boolean[] = [];
    const s = new BorrowSampler('all', (on) => changes.push(on));
    s.start();
    expect(s.on).toBe(true);
    expect(vi.getTimerCount()).toBe(0);
    s.stop();
    expect(changes).toEqual([]);
  });

  it('samples 100 ms periods covering the fraction of the time, from a random phase', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0.5);
    const changes: [number, boolean][] = [];
    const s = new BorrowSampler(0.05, (on) => changes.push([Date.now(), on]));
    const t0 = Date.now();
    s.start();
    expect(s.on).toBe(false);
    // Periods every 100 / 0.05 = 2,000 ms, the first at half of that.
    await vi.advanceTimersByTimeAsync(4_900);
    expect(changes.map(([t, on]) => [t - t0, on])).toEqual([
      [1_000, true],
      [1_000 + SAMPLE_PERIOD_MS, false],
      [3_000, true],
      [3_000 + SAMPLE_PERIOD_MS, false],
    ]);
    await vi.advanceTimersByTimeAsync(100); // a period boundary: t0 + 5,000
    let onMs = 0;
    for (let t = 0; t < 20_000; t++) {
      await vi.advanceTimersByTimeAsync(1);
      if (s.on) onMs++;
    }
    expect(onMs).toBe(1_000); // 5% of 20 s
  });

  it('stops in the middle of a period and says so', async () => {
    vi.useFakeTimers();
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const changes: boolean[] = [];
    const s = new BorrowSampler(0.5, (on) => changes.push(on));
    s.start();
    await vi.advanceTimersByTimeAsync(0);
    expect(s.on).toBe(true);
    s.stop();
    expect(s.on).toBe(false);
    expect(changes).toEqual([true, false]);
    expect(vi.getTimerCount()).toBe(0);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(changes).toEqual([true, false]);
  });
});
