import { context, SpanStatusCode, trace } from '@opentelemetry/api';
import { ConnectionPool } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ATTR_OUTCOME, ATTR_PARTITION, ATTR_POOL_NAME, ATTR_PRIORITY, METRIC, WAIT_SPAN_NAME } from './names.js';
import { PoolTelemetry } from './pool-telemetry.js';
import { FakeFactory } from './test-support/fake-factory.js';
import { OtelHarness } from './test-support/otel-harness.js';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.useRealTimers();
});

async function setUp(waitSpanThresholdMs: number) {
  const otel = new OtelHarness();
  const telemetry = new PoolTelemetry({
    meterProvider: otel.meterProvider,
    tracerProvider: otel.tracerProvider,
    waitSpanThresholdMs,
    borrowTiming: 'all',
  });
  const pool = await ConnectionPool.create({ maxSize: 4, enablePartitioning: true }, new FakeFactory(), { name: 'shared' });
  const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
  manager.createPartition('acme', PartitionType.Tenant('acme'), { maxConnections: 1, maxWaitQueue: 1 });
  cleanups.push(
    () => otel.close(),
    () => telemetry.close(),
    () => pool.close(),
    () => manager.close(),
  );
  return { otel, telemetry, pool, manager };
}

describe('wait spans of a partitioned pool', () => {
  it("covers the partition queue and nests under the caller's span, even when another task frees the room", async () => {
    const { otel, telemetry, pool, manager } = await setUp(0);
    telemetry.instrument(pool, { partitions: manager });
    const tracer = otel.tracer();
    const holder = await tracer.startActiveSpan('holder', async (span) => {
      const c = await manager.acquire({ tenant: 'acme' });
      span.end();
      return c;
    });
    const request = tracer.startSpan('request');
    const got = context.with(trace.setSpan(context.active(), request), () => manager.acquire({ tenant: 'acme' }, { priority: 'high' }));
    // The room is freed from another task, inside another trace: the waiter's span must not follow it there.
    await tracer.startActiveSpan('releaser', async (span) => {
      holder.release();
      span.end();
    });
    (await got).release();
    request.end();

    const spans = otel.spans();
    const waits = spans.filter((s) => s.name === WAIT_SPAN_NAME);
    expect(waits).toHaveLength(2);
    const byParent = (name: string) => {
      const parent = spans.find((s) => s.name === name);
      return waits.find((w) => w.parentSpanContext?.spanId === parent?.spanContext().spanId);
    };
    const queued = byParent('request');
    expect(queued?.spanContext().traceId).toBe(request.spanContext().traceId);
    expect(queued?.attributes).toEqual({
      [ATTR_POOL_NAME]: 'shared',
      [ATTR_PARTITION]: 'acme',
      [ATTR_PRIORITY]: 'high',
      [ATTR_OUTCOME]: 'acquired',
    });
    expect(byParent('holder')?.attributes[ATTR_OUTCOME]).toBe('acquired');
    expect(waits.some((w) => w.parentSpanContext?.spanId === spans.find((s) => s.name === 'releaser')?.spanContext().spanId)).toBe(false);
  });

  it('marks a refused acquire with its outcome, the partition and an error status', async () => {
    const { otel, telemetry, pool, manager } = await setUp(0);
    telemetry.instrument(pool, { partitions: manager });
    const held = await manager.acquire({ tenant: 'acme' });
    const queued = manager.acquire({ tenant: 'acme' }, { timeoutMs: 60_000 });
    await otel.tracer().startActiveSpan('request', async (span) => {
      await expect(manager.acquire({ tenant: 'acme' })).rejects.toMatchObject({ code: 'ERR_POOL_EXHAUSTED' });
      span.end();
    });
    held.release();
    (await queued).release();
    const refused = otel.spans().find((s) => s.name === WAIT_SPAN_NAME && s.attributes[ATTR_OUTCOME] === 'rejected');
    expect(refused?.attributes[ATTR_PARTITION]).toBe('acme');
    expect(refused?.status.code).toBe(SpanStatusCode.ERROR);
    expect(refused?.events.map((e) => e.name)).toEqual(['exception']);
    expect(refused?.parentSpanContext?.spanId).toBe(
      otel
        .spans()
        .find((s) => s.name === 'request')
        ?.spanContext().spanId,
    );
  });

  it('writes spans only for waits that reach the threshold, with the wait as their duration', async () => {
    vi.useFakeTimers();
    const { otel, telemetry, pool, manager } = await setUp(10);
    telemetry.instrument(pool, { partitions: manager });
    const first = await manager.acquire({ tenant: 'acme' });
    const second = manager.acquire({ tenant: 'acme' });
    await vi.advanceTimersByTimeAsync(25);
    first.release();
    (await second).release();
    const waits = otel.spans().filter((s) => s.name === WAIT_SPAN_NAME);
    expect(waits).toHaveLength(1);
    const [s, ns] = waits[0]?.duration ?? [0, 0];
    expect(s * 1000 + ns / 1e6).toBeCloseTo(25, 3);
  });

  it("records the callers' whole wait in the wait-time histogram with the partition", async () => {
    vi.useFakeTimers();
    const { otel, telemetry, pool, manager } = await setUp(10);
    telemetry.instrument(pool, { partitions: manager });
    const first = await manager.acquire({ tenant: 'acme' });
    const second = manager.acquire({ tenant: 'acme' });
    await vi.advanceTimersByTimeAsync(40);
    first.release();
    (await second).release();
    const h = (await otel.collect()).get(METRIC.waitTime)?.histogram({ [ATTR_POOL_NAME]: 'shared', [ATTR_PARTITION]: 'acme' });
    expect(h?.count).toBe(2);
    expect(h?.sum).toBeCloseTo(0.04, 6);
  });

  it("gives the manager's own acquire method back when detached", async () => {
    const { telemetry, pool, manager } = await setUp(0);
    const detach = telemetry.instrument(pool, { partitions: manager });
    expect(Object.hasOwn(manager, 'acquire')).toBe(true);
    detach();
    expect(Object.hasOwn(manager, 'acquire')).toBe(false);
    expect(manager.acquire).toBe(PartitionManager.prototype.acquire);
  });
});
