import { randomBytes } from 'node:crypto';
import diagnostics from 'node:diagnostics_channel';
import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { ClusterBudget } from '@pool/cluster';
import { ConnectionPool, PoolChannel } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ATTR_CONNECTION_STATE, ATTR_OUTCOME, ATTR_POOL_NAME, ATTR_PRIORITY, DEFAULT_BUCKETS, METRIC, WAIT_SPAN_NAME } from './names.js';
import { PoolTelemetry } from './pool-telemetry.js';
import { FakeFactory } from './test-support/fake-factory.js';
import { OtelHarness } from './test-support/otel-harness.js';

const cleanups: (() => unknown)[] = [];
beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

function durationMs(s: ReadableSpan): number {
  return s.duration[0] * 1000 + s.duration[1] / 1e6;
}

/** How many of `values` (seconds) fall in each bucket of DEFAULT_BUCKETS: (previous, bound], then above the last. */
function bucketCounts(values: number[]): number[] {
  const counts = new Array(DEFAULT_BUCKETS.length + 1).fill(0);
  for (const v of values) {
    const i = DEFAULT_BUCKETS.findIndex((b) => v <= b);
    counts[i === -1 ? DEFAULT_BUCKETS.length : i]++;
  }
  return counts;
}

describe('a scripted sequence on a plain pool', () => {
  it('gives every metric its exact value and attributes, and nests every wait span under the caller', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // no jitter in the create backoff
    const otel = new OtelHarness();
    const telemetry = new PoolTelemetry({
      meterProvider: otel.meterProvider,
      tracerProvider: otel.tracerProvider,
      waitSpanThresholdMs: 1,
      borrowTiming: 'all',
    });
    const factory = new FakeFactory();
    factory.createDelayMs = 5;
    const pool = await ConnectionPool.create(
      { minSize: 0, maxSize: 2, initialSize: 0, acquireTimeoutMs: 1_000, createRetryDelayMs: 20 },
      factory,
      { name: 'orders' },
    );
    cleanups.push(
      () => otel.close(),
      () => telemetry.close(),
      () => pool.close(),
    );
    telemetry.instrument(pool);
    const request = otel.tracer().startSpan('request');
    const inRequest = <T>(fn: () => T): T => context.with(trace.setSpan(context.active(), request), fn);

    // t=0: the first create fails at t=5, the retry (20 ms backoff) succeeds at t=30.
    factory.failures = 1;
    const pa = inRequest(() => pool.acquire({ priority: 'high' }));
    await vi.advanceTimersByTimeAsync(30);
    const a = await pa;
    // t=30: a second connection is created for b (5 ms).
    const pb = inRequest(() => pool.acquire());
    await vi.advanceTimersByTimeAsync(5);
    const b = await pb;
    // t=35: the pool is full; this one times out at t=85.
    const timedOut = inRequest(() => pool.acquire({ timeoutMs: 50 })).catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(50);
    expect(await timedOut).toMatchObject({ code: 'ERR_POOL_CONNECTION_TIMEOUT' });
    // t=85: a is returned (held 55 ms) and taken again at once by c.
    a.release();
    const c = await inRequest(() => pool.acquire());
    // d waits for b, returned at t=95 (held 60 ms): d waited 10 ms.
    const pd = inRequest(() => pool.acquire());
    await vi.advanceTimersByTimeAsync(10);
    b.release();
    const d = await pd;
    // t=95: c held 10 ms, d 0 ms.
    c.release();
    d.release();
    request.end();

    const m = await otel.collect();
    const orders = { [ATTR_POOL_NAME]: 'orders' };
    expect(m.get(METRIC.connectionCount)?.value({ ...orders, [ATTR_CONNECTION_STATE]: 'idle' })).toBe(2);
    expect(m.get(METRIC.connectionCount)?.value({ ...orders, [ATTR_CONNECTION_STATE]: 'used' })).toBe(0);
    expect(m.get(METRIC.pendingRequests)?.value(orders)).toBe(0);
    expect(m.get(METRIC.timeouts)?.value(orders)).toBe(1);
    expect(m.get(METRIC.idleMax)?.value(orders)).toBe(2);
    expect(m.get(METRIC.idleMin)?.value(orders)).toBe(0);
    expect(m.get(METRIC.max)?.value(orders)).toBe(2);
    expect(m.get(METRIC.limit)?.value(orders)).toBe(2);

    const create = m.get(METRIC.createTime)?.histogram(orders);
    expect(create?.count).toBe(2); // the failed attempt is not a creation
    expect(create?.sum).toBeCloseTo(0.01, 9);
    expect(create?.buckets.counts).toEqual(bucketCounts([0.005, 0.005]));
    const wait = m.get(METRIC.waitTime)?.histogram(orders);
    expect(wait?.count).toBe(4); // a, b, c, d: the timed-out acquire got no connection
    expect(wait?.sum).toBeCloseTo(0.045, 9);
    expect(wait?.min).toBe(0);
    expect(wait?.max).toBeCloseTo(0.03, 9);
    expect(wait?.buckets.boundaries).toEqual([...DEFAULT_BUCKETS]);
    expect(wait?.buckets.counts).toEqual(bucketCounts([0.03, 0.005, 0, 0.01]));
    const use = m.get(METRIC.useTime)?.histogram(orders);
    expect(use?.count).toBe(4);
    expect(use?.sum).toBeCloseTo(0.125, 9);
    expect(use?.buckets.counts).toEqual(bucketCounts([0.055, 0.06, 0.01, 0]));
    for (const name of [METRIC.createTime, METRIC.waitTime, METRIC.useTime]) {
      expect(m.get(name)?.data.descriptor.unit).toBe('s');
      expect(m.get(name)?.attributes()).toEqual([orders]);
    }

    // Spans: every acquire that waited at least 1 ms, under 'request'; c (served at once) has none.
    const waits = otel.spans().filter((s) => s.name === WAIT_SPAN_NAME);
    expect(waits.map((s) => [durationMs(s), s.attributes[ATTR_OUTCOME]])).toEqual([
      [30, 'acquired'],
      [5, 'acquired'],
      [50, 'timeout'],
      [10, 'acquired'],
    ]);
    for (const s of waits) {
      expect(s.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
      expect(s.spanContext().traceId).toBe(request.spanContext().traceId);
      expect(s.attributes[ATTR_POOL_NAME]).toBe('orders');
      expect(s.instrumentationScope.name).toBe('@pool/opentelemetry');
    }
    expect(waits[0]?.attributes[ATTR_PRIORITY]).toBe('high');
    expect(waits[1]?.attributes[ATTR_PRIORITY]).toBe('normal');
    expect(waits[2]?.status).toEqual({ code: SpanStatusCode.ERROR, message: expect.stringMatching(/Timed out after 50 ms/) });
    expect(waits[2]?.events.map((e) => e.name)).toEqual(['exception']);
    expect(waits[0]?.status.code).toBe(SpanStatusCode.UNSET);
  });
});

describe('a cluster-budgeted pool', () => {
  it("records a wait for a budget slot like any other wait, under the caller's span (real Redis)", async () => {
    vi.useRealTimers();
    const otel = new OtelHarness();
    const telemetry = new PoolTelemetry({
      meterProvider: otel.meterProvider,
      tracerProvider: otel.tracerProvider,
      waitSpanThresholdMs: 0,
      borrowTiming: 'all',
    });
    const budget = new ClusterBudget({
      redis: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379',
      name: `otel-wait-${randomBytes(4).toString('hex')}`,
      maxConnections: 1,
    });
    cleanups.push(
      () => otel.close(),
      () => budget.close(),
      () => telemetry.close(),
    );
    await budget.ready();
    const pool = await budget.createPool({ minSize: 0, maxSize: 2, acquireTimeoutMs: 10_000 }, new FakeFactory(), { name: 'budgeted' });
    cleanups.push(() => pool.close());
    telemetry.instrument(pool, { budget });
    const a = await pool.acquire();
    const request = otel.tracer().startSpan('request');
    // The budget's only slot is a's: b's connection waits for it.
    const pb = context.with(trace.setSpan(context.active(), request), () => pool.acquire());
    const deadline = Date.now() + 10_000;
    while (budget.statistics().database.waiting === 0) {
      if (Date.now() > deadline) throw new Error('b never waited for a slot');
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await a.destroy(); // closes a's connection: its slot goes back to the budget, and to b
    const b = await pb;
    b.release();
    request.end();

    const waits = otel.spans().filter((s) => s.name === WAIT_SPAN_NAME && s.parentSpanContext?.spanId === request.spanContext().spanId);
    expect(waits.map((s) => s.attributes)).toEqual([
      { [ATTR_POOL_NAME]: 'budgeted', [ATTR_OUTCOME]: 'acquired', [ATTR_PRIORITY]: 'normal' },
    ]);
    const wait = (await otel.collect()).get(METRIC.waitTime)?.histogram({ [ATTR_POOL_NAME]: 'budgeted' });
    expect(wait?.count).toBe(2);
    // The histogram holds the two waits the spans show: a's (a budget slot through Redis, then a connect)
    // and b's (for a's slot). Which one is longer depends on the machine: on a loaded one a's can be.
    const both = otel
      .spans()
      .filter((s) => s.name === WAIT_SPAN_NAME && s.attributes[ATTR_POOL_NAME] === 'budgeted')
      .map((s) => durationMs(s) / 1000);
    expect(both).toHaveLength(2);
    expect(both).toContainEqual(durationMs(waits[0] as ReadableSpan) / 1000);
    expect(wait?.max).toBeCloseTo(Math.max(...both), 3);
    expect(wait?.min).toBeCloseTo(Math.min(...both), 3);
  });
});

describe('sampled borrows (borrowTiming as a fraction)', () => {
  it('records the borrows that start in a sampling period, follows them to their release, and leaves the rest untimed', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0); // the first period starts at once
    const otel = new OtelHarness();
    // Periods of 100 ms every 200 ms.
    const telemetry = new PoolTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider, borrowTiming: 0.5 });
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 2, initialSize: 2 }, new FakeFactory(), { name: 'sampled' });
    cleanups.push(
      () => otel.close(),
      () => telemetry.close(),
      () => pool.close(),
    );
    const release = diagnostics.channel(PoolChannel.Release);
    telemetry.instrument(pool);
    await vi.advanceTimersByTimeAsync(0);
    expect(release.hasSubscribers).toBe(true); // in a period: core times borrows
    const a = await pool.acquire(); // t=0, in the period: recorded and followed
    await vi.advanceTimersByTimeAsync(150); // the period ended at t=100
    const b = await pool.acquire(); // t=150: not sampled
    a.release(); // held 150 ms: recorded (followed), then nothing is followed any more
    expect(release.hasSubscribers).toBe(false);
    await vi.advanceTimersByTimeAsync(10);
    b.release(); // untimed, unrecorded
    const m = await otel.collect();
    const attrs = { [ATTR_POOL_NAME]: 'sampled' };
    expect(m.get(METRIC.waitTime)?.histogram(attrs)?.count).toBe(1);
    const use = m.get(METRIC.useTime)?.histogram(attrs);
    expect(use?.count).toBe(1);
    expect(use?.sum).toBeCloseTo(0.15, 9);
    // The next period (t=200..300) picks borrows again.
    await vi.advanceTimersByTimeAsync(50);
    const c = await pool.acquire();
    await vi.advanceTimersByTimeAsync(20);
    c.release();
    const again = await otel.collect();
    expect(again.get(METRIC.waitTime)?.histogram(attrs)?.count).toBe(2);
    expect(again.get(METRIC.useTime)?.histogram(attrs)?.sum).toBeCloseTo(0.17, 9);
  });

  it('without spans, has core trace acquisitions only during sampling periods', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0.5); // the first period starts at 100 ms
    const otel = new OtelHarness();
    const telemetry = new PoolTelemetry({ meterProvider: otel.meterProvider, waitSpanThresholdMs: null, borrowTiming: 0.5 });
    const pool = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'unspanned' });
    cleanups.push(
      () => otel.close(),
      () => telemetry.close(),
      () => pool.close(),
    );
    const traced = diagnostics.tracingChannel(PoolChannel.Acquire).start;
    telemetry.instrument(pool);
    expect(traced.hasSubscribers).toBe(false);
    (await pool.acquire()).release(); // not traced, not recorded
    await vi.advanceTimersByTimeAsync(100);
    expect(traced.hasSubscribers).toBe(true);
    (await pool.acquire()).release(); // in the period: recorded
    await vi.advanceTimersByTimeAsync(100);
    expect(traced.hasSubscribers).toBe(false);
    const wait = (await otel.collect()).get(METRIC.waitTime)?.histogram({ [ATTR_POOL_NAME]: 'unspanned' });
    expect(wait?.count).toBe(1);
    telemetry.close();
    expect(traced.hasSubscribers).toBe(false);
  });
});
