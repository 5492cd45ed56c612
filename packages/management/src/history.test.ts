import { InvalidConfigError } from '@pool/core';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { checkHistoryOptions, type HistoryPoint, PoolHistory } from './history.js';
import { appWith, call, simulatedPool } from './test-support/fixtures.js';

const point = (t: number): HistoryPoint => ({
  t,
  active: t % 7,
  idle: 1,
  waiting: 0,
  p50: null,
  p95: 1,
  p99: 2,
  rate: t === 0 ? null : 3,
  failures: 0,
});

afterEach(() => {
  vi.useRealTimers();
});

describe('PoolHistory', () => {
  it('keeps the last window of samples in a ring of fixed size, oldest first', () => {
    const history = new PoolHistory(60_000, 1_000);
    expect(history.capacity).toBe(61);
    for (let t = 0; t < 200; t++) history.push(point(t * 1_000));
    const points = history.points();
    expect(points).toHaveLength(61);
    expect(points[0]?.t).toBe(139_000);
    expect(points.at(-1)).toEqual(point(199_000));
    expect(history.latest()).toEqual(point(199_000));
    expect(new PoolHistory(60_000, 1_000).latest()).toBeUndefined();
  });

  it('keeps unknown figures as null', () => {
    const history = new PoolHistory(60_000, 1_000);
    history.push(point(0));
    expect(history.points()[0]).toMatchObject({ p50: null, rate: null, p99: 2 });
  });

  it('checks its options', () => {
    expect(checkHistoryOptions(undefined)).toEqual({ windowMs: 900_000, intervalMs: 5_000 });
    expect(() => checkHistoryOptions({ windowMs: 1_000 })).toThrow(/history.windowMs = 1000: must be an integer/);
    expect(() => checkHistoryOptions({ intervalMs: 10 })).toThrow(InvalidConfigError);
    expect(() => checkHistoryOptions({ windowMs: 86_400_000, intervalMs: 100 })).toThrow(/at least windowMs \/ 10000/);
    expect(() => checkHistoryOptions({ every: 1 })).toThrow(/history.every/);
  });
});

describe('the app keeps each pool history', () => {
  it('samples every interval and serves it all with history=full, the latest sample otherwise', async () => {
    vi.useFakeTimers();
    const { pool } = await simulatedPool({}, { name: 'main' });
    const app = appWith({ pools: [pool], history: { windowMs: 60_000, intervalMs: 1_000 } });
    try {
      await vi.advanceTimersByTimeAsync(1_000);
      await pool.use(async () => {});
      await pool.use(async () => {});
      await vi.advanceTimersByTimeAsync(2_000);
      const full = (await call(app, 'GET', '/overview?history=full')).json;
      expect(full.history).toEqual({ windowMs: 60_000, intervalMs: 1_000 });
      const samples = full.pools[0].history as HistoryPoint[];
      expect(samples).toHaveLength(4); // at creation, then each second
      expect(samples[0]?.rate).toBeNull();
      expect(samples.reduce((a, p) => a + (p.rate ?? 0), 0)).toBe(2); // two acquisitions, one second apart samples
      for (let i = 1; i < samples.length; i++) expect((samples[i]?.t ?? 0) - (samples[i - 1]?.t ?? 0)).toBe(1_000);
      const latest = (await call(app, 'GET', '/overview')).json.pools[0].history;
      expect(latest).toEqual([samples.at(-1)]);
      await vi.advanceTimersByTimeAsync(120_000);
      expect((await call(app, 'GET', '/overview?history=full')).json.pools[0].history).toHaveLength(61);
    } finally {
      app.close();
      await pool.close();
    }
  });
});
