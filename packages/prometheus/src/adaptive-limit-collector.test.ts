import { adaptiveLimit } from '@pool/adaptive';
import { ConnectionPool, InvalidConfigError } from '@pool/core';
import { Registry } from 'prom-client';
import { getMetricsFromIterator, type PromData, type PromMetrics } from 'prom2javascript';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveLimitCollector } from './adaptive-limit-collector.js';
import { MetricsAlreadyRegisteredError } from './prometheus-collector.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

function parse(text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
}

function value(metrics: PromMetrics, name: string, labels: Record<string, string>): number | undefined {
  const found = ((metrics[name]?.data ?? []) as PromData[]).find((d) => Object.entries(labels).every(([k, v]) => d.labels[k] === v));
  return found?.value;
}

const factory = { create: async () => ({}), close: async () => {} };

describe('AdaptiveLimitCollector', () => {
  it("publishes a running limiter's limit, bounds, latencies, throughput and changes, and leaves a stopped one out", async () => {
    const pool = await ConnectionPool.create({ maxSize: 16, acquireTimeoutMs: 60_000 }, factory, { name: 'orders' });
    const limiter = adaptiveLimit(pool);
    const registry = new Registry();
    const collector = new AdaptiveLimitCollector({ limiters: [limiter], registry });
    // 40 callers whose 5 ms borrows never slow down: the limit climbs to maxSize.
    let stop = false;
    const loops = Array.from({ length: 40 }, async () => {
      while (!stop) await pool.use(() => new Promise((r) => setTimeout(r, 5)));
    });
    await vi.advanceTimersByTimeAsync(10_000);
    const s = limiter.statistics();
    const m = await parse(await registry.metrics());
    const labels = { pool_name: 'orders', algorithm: 'gradient' };
    expect(value(m, 'pool_adaptive_limit', labels)).toBe(s.limit);
    expect(s.limit).toBe(16);
    expect(value(m, 'pool_adaptive_limit_floor', labels)).toBe(1);
    expect(value(m, 'pool_adaptive_limit_ceiling', labels)).toBe(16);
    expect(value(m, 'pool_adaptive_latency_seconds', { ...labels, kind: 'measured' })).toBeCloseTo((s.latencyMs as number) / 1000, 6);
    expect(value(m, 'pool_adaptive_latency_seconds', { ...labels, kind: 'baseline' })).toBeCloseTo(0.005, 3);
    expect(value(m, 'pool_adaptive_throughput', labels)).toBeCloseTo(s.throughput as number, 3);
    expect(value(m, 'pool_adaptive_limit_changes_total', { ...labels, direction: 'up' })).toBe(s.increases);
    expect(s.increases).toBeGreaterThan(3);
    expect(value(m, 'pool_adaptive_limit_changes_total', { ...labels, direction: 'down' })).toBe(0);
    stop = true;
    await vi.advanceTimersByTimeAsync(100);
    await Promise.all(loops);
    limiter.stop();
    expect(value(await parse(await registry.metrics()), 'pool_adaptive_limit', labels)).toBeUndefined();
    collector.close();
    expect(registry.getSingleMetric('pool_adaptive_limit')).toBeUndefined();
    await pool.close();
  });

  it('rejects what is not a limiter and a taken metric name, naming them', () => {
    const registry = new Registry();
    expect(() => new AdaptiveLimitCollector({ limiters: [{} as never], registry })).toThrow(InvalidConfigError);
    expect(() => new AdaptiveLimitCollector({ limiters: [{} as never], registry })).toThrow(/limiters\[0\]/);
    expect(() => new AdaptiveLimitCollector({ registry, limits: [] } as never)).toThrow(/limits/);
    const first = new AdaptiveLimitCollector({ registry });
    expect(() => new AdaptiveLimitCollector({ registry })).toThrow(MetricsAlreadyRegisteredError);
    first.close();
  });
});
