import { InvalidConfigError } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { LimitChange } from './adaptive-events.js';
import type { AdaptiveLimiter } from './adaptive-limiter.js';
import { GradientLimit } from './gradient-limit.js';
import type { IntervalSample, LimitState } from './limit-algorithm.js';
import { cpuBound, type LatencyModel, SimulatedTarget, seeded, simulatedLimiter } from './test-support/simulated-target.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

/** Runs `seconds` of closed-loop load; returns the limit after every one-second interval. */
function drive(
  target: SimulatedTarget,
  limiter: AdaptiveLimiter,
  model: LatencyModel,
  seconds: number,
  random = seeded(7),
  from = 0,
): number[] {
  const limits: number[] = [];
  for (let i = 0; i < seconds; i++) {
    target.run(1000, model, from + i * 1000, random);
    vi.advanceTimersByTime(1000);
    limits.push(limiter.limit);
  }
  return limits;
}

function directionChanges(series: readonly number[]): number {
  let changes = 0;
  let last = 0;
  for (let i = 1; i < series.length; i++) {
    const d = Math.sign((series[i] as number) - (series[i - 1] as number));
    if (d !== 0 && last !== 0 && d !== last) changes++;
    if (d !== 0) last = d;
  }
  return changes;
}

describe('GradientLimit on simulated latency curves', () => {
  it('converges near the knee of a CPU-bound database (2 cores, 5 ms queries) from a slow start', () => {
    const target = new SimulatedTarget(200);
    const limiter = simulatedLimiter(target);
    expect(limiter.limit).toBe(1); // the floor: minSize 0 -> 1
    const limits = drive(target, limiter, cpuBound(2, 5), 30);
    // Above the knee (2 connections keep both cores busy), below where queueing doubles the use time.
    expect(limits.at(-1)).toBeGreaterThanOrEqual(2);
    expect(limits.at(-1)).toBeLessThanOrEqual(5);
    expect(Math.max(...limits)).toBeLessThanOrEqual(6);
    expect(limiter.statistics().baselineMs).toBeGreaterThan(4.5);
    expect(limiter.statistics().baselineMs).toBeLessThan(6);
    limiter.stop();
  });

  it('does not oscillate at steady load: over two minutes with 10 % latency noise the limit moves by at most one', () => {
    const target = new SimulatedTarget(200);
    const limiter = simulatedLimiter(target);
    const model = cpuBound(2, 5);
    drive(target, limiter, model, 30, seeded(1));
    const steady = drive(target, limiter, (n, t) => model(n, t), 120, seeded(2), 30_000);
    expect(Math.max(...steady) - Math.min(...steady)).toBeLessThanOrEqual(1);
    expect(directionChanges(steady)).toBeLessThanOrEqual(2);
    limiter.stop();
  });

  it('grows to maxSize, by at most half per interval, when latency stays flat (a database with 64 cores)', () => {
    const target = new SimulatedTarget(200);
    const changes: LimitChange[] = [];
    const limiter = simulatedLimiter(target).on('limitChanged', (c) => changes.push(c));
    const limits = drive(target, limiter, cpuBound(64, 5), 20);
    expect(limits.at(-1)).toBe(64);
    expect(limits.indexOf(64)).toBeLessThanOrEqual(15);
    for (const c of changes.slice(1)) {
      expect(c.reason).toBe('demand');
      expect(c.limit - c.previous).toBeLessThanOrEqual(Math.max(1, Math.ceil(c.previous * 0.5)) + 1);
    }
    limiter.stop();
  });

  it('reacts to a step: comes down within 10 s when another load takes the cores, and back within 20 s after it stops', () => {
    const target = new SimulatedTarget(200);
    const limiter = simulatedLimiter(target);
    // 8 queries of another load share the 2 cores from t = 40 s to t = 80 s.
    const model = cpuBound(2, 5, (t) => (t >= 40_000 && t < 80_000 ? 8 : 0));
    const limits = drive(target, limiter, model, 120);
    const before = limits[39] as number;
    const during = limits.slice(40, 50);
    expect(Math.min(...during)).toBeLessThan(before);
    const after = limits.slice(80, 100);
    expect(Math.max(...after)).toBeGreaterThanOrEqual(before);
    // Down it goes only by smoothed steps: never more than half the limit in one interval.
    for (let i = 41; i < 80; i++) expect(limits[i] as number).toBeGreaterThanOrEqual(Math.floor((limits[i - 1] as number) / 2));
    limiter.stop();
  });

  it('never goes below minSize, nor below the warm-up floor while warming up', () => {
    const target = new SimulatedTarget(200);
    target.min = 3;
    const limiter = simulatedLimiter(target, { initialLimit: 12, warmupMs: 20_000 });
    expect(limiter.limit).toBe(12);
    // A database with 16 cores, until another load of 40 queries arrives at t = 2 s.
    const model = cpuBound(16, 5, (t) => (t >= 2_000 ? 40 : 0));
    const warm = drive(target, limiter, model, 19);
    expect(Math.min(...warm)).toBeGreaterThanOrEqual(12);
    expect(warm.at(-1)).toBe(12); // held at the floor, though latency says lower
    expect(limiter.statistics().warmingUp).toBe(true);
    const later = drive(target, limiter, model, 60, seeded(3), 19_000);
    expect(later.at(-1)).toBeLessThan(12);
    expect(Math.min(...later)).toBeGreaterThanOrEqual(3);
    limiter.stop();
  });

  it('comes back up after every query became slower for good, as the baseline follows over longWindow intervals', () => {
    const target = new SimulatedTarget(200);
    const limiter = simulatedLimiter(target, { gradient: { longWindow: 20 } });
    // Two cores, 5 ms queries; from t = 30 s every query takes 20 ms (a slower replica).
    const model: LatencyModel = (n, t) => cpuBound(2, t >= 30_000 ? 20 : 5)(n, t);
    const limits = drive(target, limiter, model, 150);
    const before = limits[29] as number;
    expect(Math.min(...limits.slice(30, 60))).toBeLessThan(before);
    expect(limits.at(-1)).toBeGreaterThanOrEqual(before - 1);
    expect(limiter.statistics().baselineMs).toBeGreaterThan(10); // was 5: it learned the slower normal
    limiter.stop();
  });

  it('keeps the limit while the pool is not busy (nobody waits and the limit is not used up)', () => {
    const target = new SimulatedTarget(2);
    const limiter = simulatedLimiter(target, { initialLimit: 8 });
    const limits = drive(target, limiter, (n) => 50 * n, 20);
    expect(new Set(limits)).toEqual(new Set([8]));
    limiter.stop();
  });
});

// Scenarios ported from Netflix concurrency-limits' VegasLimitTest (increaseLimit, decreaseLimit,
// noChangeIfWithinThresholds, decreaseSmoothing), applied to the Gradient algorithm. Deliberate
// difference (docs/migrating.md, "From Netflix concurrency-limits"): the expected values are Gradient's
// own arithmetic, not Vegas'; the behaviour each test names is the same.
describe('GradientLimit, one interval at a time', () => {
  const sample = (latencyMs: number, inflight: number, waited = 1): IntervalSample => ({
    durationMs: 1000,
    completed: 100,
    latencyMs,
    throughput: (inflight * 1000) / latencyMs,
    inflight,
    peakInflight: inflight,
    waited,
    waiting: waited,
    errors: 0,
  });
  const state = (limit: number, ceiling = 20): LimitState => ({ limit, applied: limit, floor: 1, ceiling, warmingUp: false });

  it('increaseLimit: latency at its baseline with callers waiting grows the limit', () => {
    const g = new GradientLimit();
    expect(g.update(sample(10, 10), state(10)).limit).toBe(16); // 10 x 1.5 + 1 headroom
    expect(g.update(sample(10, 11), state(15)).limit).toBe(20); // at the ceiling (Vegas' maxConcurrency 20)
  });

  it('decreaseLimit: latency five times its baseline lowers the limit', () => {
    const g = new GradientLimit();
    g.update(sample(10, 10), state(10));
    const d = g.update(sample(50, 11), state(10));
    expect(d.reason).toBe('latency');
    expect(d.gradient).toBe(0.5);
    expect(d.limit).toBeCloseTo(10 + 0.2 * (10 * 0.5 - 10)); // 9: no headroom at gradient 0.5
  });

  it('noChangeIfWithinThresholds: no callers waiting and latency within tolerance leaves the limit', () => {
    const g = new GradientLimit();
    g.update(sample(10, 10, 0), state(10));
    const d = g.update(sample(14, 9, 0), state(10));
    expect(d).toEqual({ limit: 10, reason: 'steady', gradient: 1 });
  });

  it('decreaseSmoothing: smoothing 0.5 takes half of each step', () => {
    const g = new GradientLimit({ smoothing: 0.5, headroom: 0 });
    g.update(sample(10, 100), state(100, 200));
    const first = g.update(sample(30, 100), state(100, 200)).limit;
    expect(first).toBe(100 - 0.5 * (100 - 100 * 0.5)); // 75
    const second = g.update(sample(30, 100), state(first, 200)).limit;
    expect(second).toBeLessThan(first);
    expect(second).toBeCloseTo(first - 0.5 * (first - first * 0.5), 0); // ~56
  });

  it('lowers on latency without throughput gain, holds when the latency bought 10 % more throughput', () => {
    // Limit 4 at 10 ms: 400/s. Limit 8 at 25 ms: 320/s, slower and no more served: lower.
    const lower = new GradientLimit();
    lower.update(sample(10, 4), state(4));
    const d = lower.update(sample(25, 8), state(8));
    expect(d.reason).toBe('latency');
    expect(d.limit).toBeLessThan(8);
    // Limit 8 at 18 ms (above 1.5 x 10): 444/s, 11 % more than limit 4 served: hold.
    const hold = new GradientLimit();
    hold.update(sample(10, 4), state(4));
    expect(hold.update(sample(18, 8), state(8))).toEqual({ limit: 8, reason: 'steady', gradient: 15 / 18 });
    // The same with the gain at 30 %, or turned off: latency decides.
    for (const throughputGain of [0.3, false] as const) {
      const g = new GradientLimit({ throughputGain });
      g.update(sample(10, 4), state(4));
      expect(g.update(sample(18, 8), state(8)).reason).toBe('latency');
    }
  });

  it('follows a lower latency quickly and a higher one only slowly while the pool queues', () => {
    const g = new GradientLimit({ longWindow: 100 });
    g.update(sample(10, 8), state(8));
    g.update(sample(6, 8), state(8));
    expect(g.baselineMs).toBe(8);
    g.update(sample(11, 8), state(8)); // within tolerance (1.5 x 8): a slow follow
    expect(g.baselineMs).toBeCloseTo(8 + 3 / 100);
    g.update(sample(40, 8), state(8)); // queueing: not a new baseline
    expect(g.baselineMs).toBeCloseTo(8 + 3 / 100);
    // At the floor nothing queues on our side: a long-term change, followed slowly too.
    g.update(sample(40, 1), { limit: 1, applied: 1, floor: 1, ceiling: 20, warmingUp: false });
    expect(g.baselineMs).toBeCloseTo(8.03 + (40 - 8.03) / 100);
  });

  it('rejects bad options, naming the field and the rule', () => {
    expect(() => new GradientLimit({ tolerance: 0.5 })).toThrow(InvalidConfigError);
    expect(() => new GradientLimit({ tolerance: 0.5 })).toThrow(/gradient.tolerance = 0.5: must be a number >= 1/);
    expect(() => new GradientLimit({ smoothing: 0 })).toThrow(/gradient.smoothing/);
    expect(() => new GradientLimit({ queueSize: 4 } as never)).toThrow(/gradient.queueSize = 4: is not an option/);
    expect(() => new GradientLimit({ throughputGain: -0.1 })).toThrow(/gradient.throughputGain = -0.1: must be false or a number >= 0/);
    expect(() => new GradientLimit({ throughputGain: true } as never)).toThrow(/gradient.throughputGain = true/);
  });
});
