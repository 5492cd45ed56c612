import { ConnectionPool } from '@pool/core';
import { parse } from 'csv-parse/sync';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ExportFormat, type ExportFormatter } from './export-format.js';
import { CSV_COLUMNS, csvField, JSON_SCHEMA, type JsonExport, MonitoringExporter } from './monitoring-exporter.js';
import { PoolMonitor } from './pool-monitor.js';
import type { PoolMonitorStatistics } from './statistics.js';
import { type FakeConnection, FakeFactory } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-03-10T09:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

/** Two pools with some history: waits, holds, a timeout, a destroyed connection, a statement cache. */
async function busyMonitor(): Promise<{ monitor: PoolMonitor; pools: ConnectionPool<FakeConnection>[] }> {
  const factory = new FakeFactory();
  factory.cache = { hits: 30, misses: 10, evictions: 1, size: 8, capacity: 100 };
  const orders = await ConnectionPool.create({ minSize: 1, maxSize: 1, initialSize: 1 }, factory, { name: 'orders' });
  const reports = await ConnectionPool.create({ minSize: 2, maxSize: 2, initialSize: 2 }, new FakeFactory(), {
    name: 'reports, "eu-west"',
  });
  const monitor = new PoolMonitor([orders, reports], { timeZone: 'UTC' });
  const held = await orders.acquire();
  const next = orders.acquire();
  const late = orders.acquire({ timeoutMs: 5 }).catch((e: unknown) => e);
  await vi.advanceTimersByTimeAsync(25);
  await late;
  held.release();
  (await next).release();
  const r = await reports.acquire();
  await vi.advanceTimersByTimeAsync(10);
  await r.destroy(new Error('broken'));
  return { monitor, pools: [orders, reports] };
}

async function cleanUp(monitor: PoolMonitor, pools: ConnectionPool<FakeConnection>[]): Promise<void> {
  monitor.close();
  for (const p of pools) await p.close();
}

describe('MonitoringExporter JSON', () => {
  it('exports every pool in the documented envelope, and parses back to the statistics (the seed "Metrics Export")', async () => {
    const { monitor, pools } = await busyMonitor();
    const exporter = new MonitoringExporter(monitor, ExportFormat.Json);
    const json = await exporter.export();
    expect(exporter.contentType).toBe('application/json; charset=utf-8');
    const parsed = JSON.parse(json) as JsonExport;
    expect(parsed.schema).toBe(JSON_SCHEMA);
    expect(parsed.exportedAt).toBe('2025-03-10T09:00:00.035Z');
    expect(parsed.pools).toEqual(monitor.allStatistics());
    const orders = parsed.pools[0] as PoolMonitorStatistics;
    expect(orders.poolName).toBe('orders');
    expect(orders.timeouts).toBe(1);
    expect(orders.waitTimeHistogram.maxMs).toBe(25);
    expect(orders.efficiencyMetrics.statementCache).toEqual({ hits: 30, misses: 10, evictions: 1, size: 8, capacity: 100 });
    await cleanUp(monitor, pools);
  });
});

describe('MonitoringExporter CSV', () => {
  it('has a stable, documented column order (the README lists the same)', () => {
    expect(CSV_COLUMNS).toEqual([
      'timestamp',
      'pool_name',
      'state',
      'window_span_ms',
      'total_connections',
      'active_connections',
      'idle_connections',
      'pending_creates',
      'waiting',
      'min_connections',
      'max_connections',
      'connections_created',
      'connections_destroyed',
      'create_failures',
      'acquisitions',
      'acquire_failures',
      'timeouts',
      'rejected',
      'aborted',
      'released_with_error',
      'reclaimed',
      'leaks_detected',
      'validations',
      'validation_failures',
      'success_rate',
      'recent_success_rate',
      'window_acquisitions',
      'window_acquire_failures',
      'average_acquire_time_ms',
      'throughput_per_second',
      'wait_count',
      'wait_mean_ms',
      'wait_p50_ms',
      'wait_p90_ms',
      'wait_p95_ms',
      'wait_p99_ms',
      'wait_p999_ms',
      'wait_max_ms',
      'hold_count',
      'hold_mean_ms',
      'hold_p50_ms',
      'hold_p90_ms',
      'hold_p95_ms',
      'hold_p99_ms',
      'hold_p999_ms',
      'hold_max_ms',
      'create_count',
      'create_mean_ms',
      'create_p50_ms',
      'create_p90_ms',
      'create_p95_ms',
      'create_p99_ms',
      'create_p999_ms',
      'create_max_ms',
      'time_zone',
      'peak_hour',
      'peak_hour_acquisitions',
      'pool_utilization',
      'connection_reuse_rate',
      'cache_hit_rate',
      'borrowed_time_ms',
      'statement_cache_hits',
      'statement_cache_misses',
      'statement_cache_evictions',
      'statement_cache_size',
      'statement_cache_capacity',
      'query_errors',
      'destroyed_idle',
      'destroyed_lifetime',
      'destroyed_usage',
      'destroyed_error_rate',
      'destroyed_validation',
      'destroyed_reset',
      'destroyed_replace',
      'destroyed_broken',
      'destroyed_destroyed',
      'destroyed_evicted',
      'destroyed_resize',
      'destroyed_reclaimed',
      'destroyed_closed',
      'destroyed_limit',
    ]);
  });

  it('writes a header row and one row per pool, which a CSV parser reads back to the statistics', async () => {
    const { monitor, pools } = await busyMonitor();
    const csv = await new MonitoringExporter(monitor, ExportFormat.Csv).export();
    expect(csv.endsWith('\r\n')).toBe(true);
    const rows = parse(csv, { columns: true }) as Record<string, string>[];
    expect(rows).toHaveLength(2);
    const stats = monitor.allStatistics();
    const [orders, reports] = rows as [Record<string, string>, Record<string, string>];
    expect(Object.keys(orders)).toEqual([...CSV_COLUMNS]);
    expect(orders.pool_name).toBe('orders');
    expect(reports.pool_name).toBe('reports, "eu-west"'); // quoted and escaped, read back intact
    expect(orders.timestamp).toBe('2025-03-10T09:00:00.035Z');
    for (const [row, s] of [
      [orders, stats[0]],
      [reports, stats[1]],
    ] as const) {
      expect(Number(row.acquisitions)).toBe(s!.acquisitions);
      expect(Number(row.timeouts)).toBe(s!.timeouts);
      expect(Number(row.success_rate)).toBe(s!.successRate);
      expect(Number(row.wait_p99_ms)).toBe(s!.waitTimeHistogram.percentiles.p99);
      expect(Number(row.hold_max_ms)).toBe(s!.holdTimeHistogram.maxMs);
      expect(Number(row.pool_utilization)).toBe(s!.efficiencyMetrics.poolUtilization);
      expect(Number(row.destroyed_destroyed)).toBe(s!.destroyedByReason.destroyed);
      expect(row.time_zone).toBe('UTC');
    }
    expect(orders.statement_cache_hits).toBe('30');
    expect(reports.statement_cache_hits).toBe(''); // not reported: empty, not 0
    expect(reports.destroyed_destroyed).toBe('1');
    await cleanUp(monitor, pools);
  });

  it('leaves the header out on request, to append rows to a file', async () => {
    const { monitor, pools } = await busyMonitor();
    const exporter = new MonitoringExporter(monitor, ExportFormat.Csv);
    const first = await exporter.export();
    await vi.advanceTimersByTimeAsync(1_000);
    const more = await exporter.export({ header: false });
    const rows = parse(first + more, { columns: true }) as Record<string, string>[];
    expect(rows.map((r) => r.pool_name)).toEqual(['orders', 'reports, "eu-west"', 'orders', 'reports, "eu-west"']);
    expect(rows.map((r) => r.timestamp)).toEqual([
      '2025-03-10T09:00:00.035Z',
      '2025-03-10T09:00:00.035Z',
      '2025-03-10T09:00:01.035Z',
      '2025-03-10T09:00:01.035Z',
    ]);
    await expect(exporter.export({ header: 'no' as never })).rejects.toThrow(/options.header/);
    await cleanUp(monitor, pools);
  });

  it('quotes fields the RFC 4180 way', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField(' padded ')).toBe('" padded "');
    expect(csvField(null)).toBe('');
    expect(csvField(0.25)).toBe('0.25');
    expect(csvField(Number.NaN)).toBe('');
  });
});

describe('MonitoringExporter formats', () => {
  it('explains that the Prometheus format comes from @pool/prometheus', () => {
    const monitor = new PoolMonitor();
    expect(() => new MonitoringExporter(monitor, ExportFormat.Prometheus)).toThrow(
      expect.objectContaining({
        code: 'ERR_POOL_EXPORT_FORMAT',
        format: 'prometheus',
        message: expect.stringMatching(/@pool\/prometheus/),
      }),
    );
    monitor.close();
  });

  it('uses a formatter registered on the monitor, until it is removed', async () => {
    const monitor = new PoolMonitor();
    const formatter: ExportFormatter = { format: 'prometheus', contentType: 'text/plain', render: async () => 'up 1\n' };
    const unregister = monitor.registerExportFormatter(formatter);
    const exporter = new MonitoringExporter(monitor, ExportFormat.Prometheus);
    expect(await exporter.export()).toBe('up 1\n');
    expect(exporter.contentType).toBe('text/plain');
    unregister();
    await expect(exporter.export()).rejects.toMatchObject({ code: 'ERR_POOL_EXPORT_FORMAT' });
    monitor.close();
  });

  it('accepts a formatter of your own', async () => {
    const monitor = new PoolMonitor();
    const exporter = new MonitoringExporter(monitor, {
      format: 'lines',
      contentType: 'text/plain',
      render: (m) => m.poolNames.join('\n'),
    });
    expect(exporter.format).toBe('lines');
    expect(await exporter.export()).toBe('');
    monitor.close();
  });

  it('rejects an unknown format or a bad formatter', () => {
    const monitor = new PoolMonitor();
    expect(() => new MonitoringExporter(monitor, 'xml' as never)).toThrow(/No exporter for format 'xml'/);
    expect(() => new MonitoringExporter(monitor, { format: 'x' } as never)).toThrow(/render/);
    expect(() => monitor.registerExportFormatter({ format: '' } as never)).toThrow(/formatter/);
    expect(() => new MonitoringExporter({} as never, ExportFormat.Json)).toThrow(/PoolMonitor/);
    monitor.close();
  });
});
