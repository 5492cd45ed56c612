import { ConnectionPool, type PooledConnection, QueuePriority } from '@pool/core';
import { ExportFormat, LeakDetector, MonitoringExporter, PoolMonitor } from '@pool/monitoring';
import { register as globalRegistry, Registry } from 'prom-client';
import { getMetricsFromIterator, type PromData, type PromHistogramData, type PromMetrics } from 'prom2javascript';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DEFAULT_BUCKETS, MetricsAlreadyRegisteredError, PrometheusCollector } from './prometheus-collector.js';
import { type FakeConnection, FakeFactory } from './test-support/fake-factory.js';

const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-03-10T09:00:00Z'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** Parses exposition text with a Prometheus text-format parser. */
function parse(text: string): Promise<PromMetrics> {
  return getMetricsFromIterator(text.split('\n')[Symbol.iterator]());
}

function sample(metrics: PromMetrics, name: string, labels: Record<string, string>): number | undefined {
  const family = metrics[name];
  if (family === undefined) return undefined;
  const found = (family.data as PromData[]).find((d) => Object.entries(labels).every(([k, v]) => d.labels[k] === v));
  return found?.value;
}

function histogram(metrics: PromMetrics, name: string, poolName: string): PromHistogramData {
  const family = metrics[name];
  expect(family?.type).toBe('histogram');
  const h = ((family?.data ?? []) as PromHistogramData[]).find((d) => d.labels.pool_name === poolName);
  expect(h).toBeDefined();
  return h as PromHistogramData;
}

async function setUp(options: { name?: string; maxSize?: number; factory?: FakeFactory } = {}) {
  const factory = options.factory ?? new FakeFactory();
  const max = options.maxSize ?? 1;
  const pool = await ConnectionPool.create({ minSize: 1, maxSize: max, initialSize: 1 }, factory, { name: options.name ?? 'main' });
  const monitor = new PoolMonitor(pool, { timeZone: 'UTC', borrowTiming: 'all' });
  const registry = new Registry();
  cleanups.push(
    () => pool.close(),
    () => monitor.close(),
  );
  return { factory, pool, monitor, registry };
}

/** With maxSize 1: acquisitions that waited exactly `waits` ms. Returns the last borrow, still held. */
async function acquireWithWaits(pool: ConnectionPool<FakeConnection>, waits: number[]): Promise<PooledConnection<FakeConnection>> {
  let held = await pool.acquire();
  for (const w of waits) {
    const next = pool.acquire();
    await vi.advanceTimersByTimeAsync(w);
    held.release();
    held = await next;
  }
  return held;
}

describe('PrometheusCollector', () => {
  it('exposes the OpenTelemetry connection-pool gauges and counters, read on scrape', async () => {
    const { pool, monitor, registry } = await setUp({ maxSize: 3 });
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const a = await pool.acquire();
    const waiter = pool.acquire({ timeoutMs: 50 }).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);

    let m = await parse(await registry.metrics());
    expect(m.db_client_connection_count?.type).toBe('gauge');
    expect(sample(m, 'db_client_connection_count', { pool_name: 'main', state: 'used' })).toBe(2);
    expect(sample(m, 'db_client_connection_count', { pool_name: 'main', state: 'idle' })).toBe(0);
    expect(sample(m, 'db_client_connection_max', { pool_name: 'main' })).toBe(3);
    expect(sample(m, 'db_client_connection_idle_max', { pool_name: 'main' })).toBe(3);
    expect(sample(m, 'db_client_connection_idle_min', { pool_name: 'main' })).toBe(1);
    expect(m.db_client_connection_timeouts_total?.type).toBe('counter');
    expect(sample(m, 'db_client_connection_timeouts_total', { pool_name: 'main' })).toBe(0);

    // The waiter got a new connection; a third caller waits on a full pool and times out.
    const b = await waiter;
    const c = await pool.acquire();
    const late = pool.acquire({ timeoutMs: 50 }).catch(() => undefined);
    await vi.advanceTimersByTimeAsync(0);
    m = await parse(await registry.metrics());
    expect(sample(m, 'db_client_connection_pending_requests', { pool_name: 'main' })).toBe(1);
    await vi.advanceTimersByTimeAsync(50);
    await late;
    m = await parse(await registry.metrics());
    expect(sample(m, 'db_client_connection_pending_requests', { pool_name: 'main' })).toBe(0);
    expect(sample(m, 'db_client_connection_timeouts_total', { pool_name: 'main' })).toBe(1);
    expect(sample(m, 'pool_acquire_failures_total', { pool_name: 'main', reason: 'timeout' })).toBe(1);
    expect(sample(m, 'pool_acquisitions_total', { pool_name: 'main' })).toBe(3);
    expect(sample(m, 'pool_connections_created_total', { pool_name: 'main' })).toBe(3);
    a.release();
    b?.release();
    c.release();
  });

  it('renders the wait-time histogram in seconds: 100 acquisitions with known waits give the right buckets', async () => {
    const { pool, monitor, registry } = await setUp();
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const waits = Array.from({ length: 100 }, (_, i) => ((i * 37) % 100) + 1); // 1..100 ms, shuffled
    (await acquireWithWaits(pool, waits)).release();
    const all = [0, ...waits];

    const m = await parse(await registry.metrics());
    const h = histogram(m, 'db_client_connection_wait_time_seconds', 'main');
    expect(h.count).toBe(101);
    expect(h.sum).toBeCloseTo(all.reduce((a, b) => a + b, 0) / 1000, 9);
    expect(Object.keys(h.buckets).sort()).toEqual([...DEFAULT_BUCKETS.map(String), '+Inf'].sort());
    for (const le of DEFAULT_BUCKETS) expect(h.buckets[String(le)]).toBe(all.filter((w) => w / 1000 <= le).length);
    expect(h.buckets['+Inf']).toBe(101);
    // The precise recent percentiles sit beside it.
    expect(sample(m, 'pool_wait_time_recent_seconds', { pool_name: 'main', quantile: '1' })).toBe(0.1);
    const p99 = sample(m, 'pool_wait_time_recent_seconds', { pool_name: 'main', quantile: '0.99' }) as number;
    expect(Math.abs(p99 - 0.099)).toBeLessThanOrEqual(0.099 * 0.01);
  });

  it('renders use (hold) time and create time histograms', async () => {
    const factory = new FakeFactory();
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 2, initialSize: 0 }, factory, { name: 'lazy' });
    const monitor = new PoolMonitor(pool, { borrowTiming: 'all' });
    cleanups.push(
      () => pool.close(),
      () => monitor.close(),
    );
    const registry = new Registry();
    const collector = new PrometheusCollector(monitor, { registry, buckets: [0.01, 0.1, 1] });
    cleanups.push(() => collector.close());
    factory.createDelayMs = 30;
    const first = pool.acquire();
    await vi.advanceTimersByTimeAsync(30);
    const conn = await first;
    await vi.advanceTimersByTimeAsync(200);
    conn.release();
    for (let i = 0; i < 3; i++) {
      const c = await pool.acquire();
      await vi.advanceTimersByTimeAsync(5);
      c.release();
    }
    const m = await parse(await registry.metrics());
    const use = histogram(m, 'db_client_connection_use_time_seconds', 'lazy');
    expect(use.buckets).toEqual({ '0.01': 3, '0.1': 3, '1': 4, '+Inf': 4 });
    expect(use.sum).toBeCloseTo(0.215, 9);
    const create = histogram(m, 'db_client_connection_create_time_seconds', 'lazy');
    expect(create.buckets).toEqual({ '0.01': 0, '0.1': 1, '1': 1, '+Inf': 1 });
    expect(create.sum).toBeCloseTo(0.03, 9);
  });

  it('keeps histograms cumulative after the monitor window has moved on', async () => {
    const { pool, monitor, registry } = await setUp();
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    (await acquireWithWaits(pool, [20, 20])).release();
    await vi.advanceTimersByTimeAsync(20 * 60_000);
    (await acquireWithWaits(pool, [3])).release();
    const m = await parse(await registry.metrics());
    const h = histogram(m, 'db_client_connection_wait_time_seconds', 'main');
    expect(h.count).toBe(5);
    expect(h.buckets['0.025']).toBe(5);
    expect(h.buckets['0.005']).toBe(3);
    // The windowed percentiles only know the recent acquisitions.
    expect(sample(m, 'pool_wait_time_recent_seconds', { pool_name: 'main', quantile: '1' })).toBe(0.003);
  });

  it('reports several pools of one monitor, each under its pool_name, with labels escaped', async () => {
    const a = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, new FakeFactory(), { name: 'primary' });
    const b = await ConnectionPool.create({ minSize: 2, initialSize: 2 }, new FakeFactory(), { name: 'say "hi"\\ok\nthere' });
    const monitor = new PoolMonitor([a, b]);
    cleanups.push(
      () => a.close(),
      () => b.close(),
      () => monitor.close(),
    );
    const registry = new Registry();
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const m = await parse(await registry.metrics());
    expect(sample(m, 'db_client_connection_count', { pool_name: 'primary', state: 'idle' })).toBe(1);
    expect(sample(m, 'db_client_connection_count', { pool_name: 'say "hi"\\ok\nthere', state: 'idle' })).toBe(2);
    expect(histogram(m, 'db_client_connection_wait_time_seconds', 'say "hi"\\ok\nthere').count).toBe(0);
  });

  it('reads everything once per scrape, shared by all metrics', async () => {
    const { monitor, registry } = await setUp();
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const statistics = vi.spyOn(monitor, 'allStatistics');
    await registry.metrics();
    expect(statistics).toHaveBeenCalledTimes(1);
    await registry.metrics();
    expect(statistics).toHaveBeenCalledTimes(2);
  });

  it('counts destroyed connections by reason, reuse, borrowed time and utilization', async () => {
    const { pool, monitor, registry } = await setUp({ maxSize: 2 });
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const c = await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    await c.destroy(new Error('broken'));
    const again = pool.acquire();
    await vi.advanceTimersByTimeAsync(0);
    (await again).release();
    (await pool.acquire()).release();
    const m = await parse(await registry.metrics());
    expect(sample(m, 'pool_connections_destroyed_total', { pool_name: 'main', reason: 'destroyed' })).toBe(1);
    expect(sample(m, 'pool_connections_destroyed_total', { pool_name: 'main', reason: 'idle' })).toBe(0);
    expect(sample(m, 'pool_releases_with_error_total', { pool_name: 'main' })).toBe(1);
    // Three acquisitions: the first borrow of each of the two connections, then one reuse.
    expect(sample(m, 'pool_connection_reuses_total', { pool_name: 'main' })).toBe(1);
    expect(sample(m, 'pool_borrowed_seconds_total', { pool_name: 'main' })).toBeCloseTo(1, 9);
    expect(sample(m, 'pool_utilization_ratio', { pool_name: 'main' })).toBeCloseTo(1 / 2, 9);
  });

  it('publishes the statement cache figures the adapter reports', async () => {
    const factory = new FakeFactory();
    factory.cache = { hits: 90, misses: 10, evictions: 4, size: 25, capacity: 100 };
    const { monitor, registry } = await setUp({ factory });
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    factory.cache = { hits: 120, misses: 20, evictions: 5, size: 30, capacity: 100 };
    const m = await parse(await registry.metrics());
    expect(sample(m, 'pool_statement_cache_hits_total', { pool_name: 'main' })).toBe(120);
    expect(sample(m, 'pool_statement_cache_misses_total', { pool_name: 'main' })).toBe(20);
    expect(sample(m, 'pool_statement_cache_evictions_total', { pool_name: 'main' })).toBe(5);
    expect(sample(m, 'pool_statement_cache_size', { pool_name: 'main' })).toBe(30);
    expect(sample(m, 'pool_statement_cache_capacity', { pool_name: 'main' })).toBe(100);
    expect(sample(m, 'pool_statement_cache_hit_ratio', { pool_name: 'main' })).toBeCloseTo(30 / 40, 12);
  });

  it('publishes leaks from a LeakDetector', async () => {
    const { pool, monitor, registry } = await setUp({ maxSize: 2 });
    const detector = new LeakDetector({ thresholdMs: 1_000, checkIntervalMs: 500, reclaimAfterMs: 3_000, pools: pool, warn: false });
    cleanups.push(() => detector.close());
    const collector = new PrometheusCollector(monitor, { registry, leakDetector: detector });
    cleanups.push(() => collector.close());
    await pool.acquire();
    await vi.advanceTimersByTimeAsync(1_000);
    let m = await parse(await registry.metrics());
    expect(sample(m, 'pool_leaks_active', { pool_name: 'main' })).toBe(1);
    expect(sample(m, 'pool_leaks_detected_total', { pool_name: 'main' })).toBe(1);
    await vi.advanceTimersByTimeAsync(2_000);
    m = await parse(await registry.metrics());
    expect(sample(m, 'pool_leaks_active', { pool_name: 'main' })).toBe(0);
    expect(sample(m, 'pool_leaks_reclaimed_total', { pool_name: 'main' })).toBe(1);
    expect(sample(m, 'pool_connections_reclaimed_total', { pool_name: 'main' })).toBe(1);
  });

  it('publishes the wait queue by priority, and partitions from a PartitionManager-shaped source', async () => {
    const { pool, monitor, registry } = await setUp();
    const partitions = {
      getPartitionStatistics: () => ({
        tenant_acme: {
          pool: 'main',
          connectionsAcquired: 12,
          connectionsReleased: 11,
          active: 1,
          waiting: 2,
          timeouts: 1,
          rejections: { queueFull: 1, timeout: 1 },
          p99WaitMs: 250,
          limits: { maxConnections: 5 },
        },
      }),
    };
    const queue = {
      statistics: () => ({ byPriority: { critical: { totalEnqueued: 4, totalTimedOut: 1, totalBoosted: 0, averageWaitMs: 2 } } }),
    };
    const collector = new PrometheusCollector(monitor, { registry, partitions, queue });
    cleanups.push(() => collector.close());
    const held = await pool.acquire();
    const waiters = [pool.acquire({ priority: QueuePriority.Critical }), pool.acquire({ priority: QueuePriority.Low }), pool.acquire()];
    const m = await parse(await registry.metrics());
    expect(sample(m, 'pool_queue_waiting', { pool_name: 'main', priority: 'critical' })).toBe(1);
    expect(sample(m, 'pool_queue_waiting', { pool_name: 'main', priority: 'high' })).toBe(0);
    expect(sample(m, 'pool_queue_waiting', { pool_name: 'main', priority: 'normal' })).toBe(1);
    expect(sample(m, 'pool_queue_waiting', { pool_name: 'main', priority: 'low' })).toBe(1);
    expect(sample(m, 'pool_queue_enqueued_total', { pool_name: 'main', priority: 'critical' })).toBe(4);
    expect(sample(m, 'pool_queue_enqueued_total', { pool_name: 'main', priority: 'low' })).toBeUndefined(); // not reported
    expect(sample(m, 'pool_queue_timeouts_total', { pool_name: 'main', priority: 'critical' })).toBe(1);
    expect(sample(m, 'pool_queue_average_wait_seconds', { pool_name: 'main', priority: 'critical' })).toBe(0.002);
    const labels = { pool_name: 'main', partition: 'tenant_acme' };
    expect(sample(m, 'pool_partition_active_connections', labels)).toBe(1);
    expect(sample(m, 'pool_partition_max_connections', labels)).toBe(5);
    expect(sample(m, 'pool_partition_waiting', labels)).toBe(2);
    expect(sample(m, 'pool_partition_wait_p99_seconds', labels)).toBe(0.25);
    expect(sample(m, 'pool_partition_acquisitions_total', labels)).toBe(12);
    expect(sample(m, 'pool_partition_releases_total', labels)).toBe(11);
    expect(sample(m, 'pool_partition_timeouts_total', labels)).toBe(1);
    expect(sample(m, 'pool_partition_rejections_total', labels)).toBe(2);
    held.release();
    for (const w of waiters) (await w).release();
  });

  it('registers on prom-client’s global registry by default, and close() removes everything', async () => {
    const { monitor } = await setUp();
    const collector = new PrometheusCollector(monitor);
    cleanups.push(() => collector.close());
    expect(globalRegistry.getSingleMetric('db_client_connection_count')).toBeDefined();
    const m = await parse(await globalRegistry.metrics());
    expect(sample(m, 'db_client_connection_max', { pool_name: 'main' })).toBe(1);
    collector.close();
    collector.close();
    for (const name of collector.metricNames) expect(globalRegistry.getSingleMetric(name)).toBeUndefined();
    expect(() => new MonitoringExporter(monitor, ExportFormat.Prometheus)).toThrow(/PrometheusCollector/);
  });

  it('refuses a second collector on the same registry, registering nothing', async () => {
    const { monitor, registry } = await setUp();
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const before = registry.getMetricsAsArray().length;
    let error: unknown;
    try {
      new PrometheusCollector(monitor, { registry });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MetricsAlreadyRegisteredError);
    expect(error).toMatchObject({ code: 'ERR_POOL_METRICS_REGISTERED', metric: 'db_client_connection_count' });
    expect(registry.getMetricsAsArray()).toHaveLength(before);
    // A different prefix does not help: the OpenTelemetry names are fixed.
    expect(() => new PrometheusCollector(monitor, { registry, prefix: 'other_' })).toThrow(MetricsAlreadyRegisteredError);
  });

  it('lives beside the application’s own metrics on the same registry', async () => {
    const { monitor, registry } = await setUp();
    const { Counter } = await import('prom-client');
    const mine = new Counter({ name: 'http_requests_total', help: 'requests', registers: [registry] });
    mine.inc(3);
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    const all = await parse(await registry.metrics());
    expect(sample(all, 'http_requests_total', {})).toBe(3);
    const own = await parse(await collector.metrics());
    expect(own.http_requests_total).toBeUndefined();
    expect(own.db_client_connection_count).toBeDefined();
  });

  it('renders OpenMetrics when the registry is an OpenMetrics one', async () => {
    const { pool, monitor } = await setUp();
    const registry = new Registry();
    registry.setContentType(Registry.OPENMETRICS_CONTENT_TYPE as never);
    const collector = new PrometheusCollector(monitor, { registry: registry as never });
    cleanups.push(() => collector.close());
    (await pool.acquire()).release();
    const text = await collector.metrics();
    expect(collector.contentType).toBe(Registry.OPENMETRICS_CONTENT_TYPE);
    expect(text.endsWith('# EOF\n')).toBe(true);
    expect(text).toContain('# TYPE db_client_connection_timeouts counter');
    expect(text).toContain('db_client_connection_timeouts_total{pool_name="main"} 0');
    expect(text).toContain('db_client_connection_wait_time_seconds_bucket{pool_name="main",le="+Inf"} 1');
  });

  it('rejects bad options, naming them', async () => {
    const { monitor, registry } = await setUp();
    expect(() => new PrometheusCollector(monitor, { registry, buckets: [1, 0.5] })).toThrow(/buckets.*ascending/);
    expect(() => new PrometheusCollector(monitor, { registry, buckets: [] })).toThrow(/buckets/);
    expect(() => new PrometheusCollector(monitor, { registry, prefix: '9x' })).toThrow(/prefix/);
    expect(() => new PrometheusCollector(monitor, { registry, regsitry: registry } as never)).toThrow(
      /regsitry.*not a PrometheusCollector option/,
    );
    expect(() => new PrometheusCollector(monitor, { registry: {} as never })).toThrow(/prom-client Registry/);
    expect(() => new PrometheusCollector({} as never)).toThrow(/PoolMonitor/);
    expect(registry.getMetricsAsArray()).toHaveLength(0);
  });
});

describe('ExportFormat.Prometheus', () => {
  it('works through MonitoringExporter once a collector exists (the seed "Metrics Export")', async () => {
    const { pool, monitor, registry } = await setUp();
    const collector = new PrometheusCollector(monitor, { registry });
    cleanups.push(() => collector.close());
    (await acquireWithWaits(pool, [5])).release();

    const exporter = new MonitoringExporter(monitor, ExportFormat.Prometheus);
    const prometheus = await exporter.export();
    expect(exporter.contentType).toBe(registry.contentType);
    const m = await parse(prometheus);
    expect(histogram(m, 'db_client_connection_wait_time_seconds', 'main').count).toBe(2);
    expect(sample(m, 'pool_acquisitions_total', { pool_name: 'main' })).toBe(2);
    expect(Object.keys(m).sort()).toEqual([...collector.metricNames].sort());
  });
});
