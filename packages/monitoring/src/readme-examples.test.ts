// The README's examples (the seed's "Monitoring" section, translated), run as written.
import { type ConnectionFactory, ConnectionPool } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DashboardProvider, ExportFormat, LeakDetector, MonitoringExporter, PoolMonitor } from './index.js';
import { FakeFactory } from './test-support/fake-factory.js';

let logs: string[];
let errors: string[];

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2025-03-10T14:20:00Z'));
  logs = [];
  errors = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logs.push(args.join(' '));
  });
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    errors.push(args.join(' '));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.useRealTimers();
});

/** A pool with a statement cache, for {@link traffic}: 20 acquisitions, 3 of which wait 40 ms. */
async function busyPool() {
  const factory = new FakeFactory();
  factory.cache = { hits: 75, misses: 25, evictions: 0, size: 20, capacity: 100 };
  const pool = await ConnectionPool.create({ minSize: 2, maxSize: 2, initialSize: 2, maintenanceIntervalMs: 1_000 }, factory);
  return { pool, factory };
}

async function traffic<C>(pool: ConnectionPool<C>): Promise<void> {
  for (let i = 0; i < 15; i++) (await pool.acquire()).release();
  const a = await pool.acquire();
  const b = await pool.acquire();
  const waiting = [pool.acquire(), pool.acquire(), pool.acquire()];
  await vi.advanceTimersByTimeAsync(40);
  a.release();
  b.release();
  for (const w of waiting) (await w).release();
}

describe('README: quick start', () => {
  it('runs as written', async () => {
    // --- README quick start ---
    const factory: ConnectionFactory<{ query(sql: string): Promise<unknown[]> }> = {
      create: async () => ({ query: async () => [] }),
      close: async () => {},
    };
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 10 }, factory, { name: 'main' });
    const monitor = new PoolMonitor(pool);

    await pool.use((db) => db.query('SELECT 1'));

    const stats = monitor.statistics();
    console.log(`${stats.poolName}: ${stats.activeConnections}/${stats.maxConnections} in use`);
    console.log(`wait p99: ${stats.waitTimeHistogram.percentiles.p99} ms`);

    monitor.close();
    await pool.close();
    // --- end ---
    expect(logs).toEqual(['main: 0/10 in use', 'wait p99: 0 ms']);
  });
});

describe('README: the seed "Monitoring" examples', () => {
  it('Pool Statistics, Wait Time Histogram, Usage Patterns, Efficiency Metrics', async () => {
    const { pool } = await busyPool();
    const monitor = new PoolMonitor(pool, { timeZone: 'UTC' });
    await traffic(pool);

    // --- README: Pool Statistics ---
    const stats = monitor.statistics();

    console.log(`Connections created: ${stats.connectionsCreated}`);
    console.log(`Connections active: ${stats.activeConnections}`);
    console.log(`Success rate: ${(stats.successRate * 100).toFixed(2)}%`);
    console.log(`Avg acquire time: ${stats.averageAcquireTimeMs} ms`);
    // --- README: Wait Time Histogram ---
    const histogram = stats.waitTimeHistogram;
    console.log(`p50: ${histogram.percentiles.p50} ms`);
    console.log(`p95: ${histogram.percentiles.p95} ms`);
    console.log(`p99: ${histogram.percentiles.p99} ms`);
    // --- README: Usage Patterns ---
    const patterns = stats.usagePatterns;
    console.log(`Peak hour: ${patterns.peakHour}`);
    console.log(`Acquisitions by hour: ${patterns.acquisitionsByHour}`);
    // --- README: Efficiency Metrics ---
    const efficiency = stats.efficiencyMetrics;
    console.log(`Pool utilization: ${(efficiency.poolUtilization * 100).toFixed(2)}%`);
    console.log(`Cache hit rate: ${(efficiency.cacheHitRate * 100).toFixed(2)}%`);
    console.log(`Connection reuse: ${(efficiency.connectionReuseRate * 100).toFixed(2)}%`);
    // --- end ---

    const hours = Array.from({ length: 24 }, (_, h) => (h === 14 ? 20 : 0)).join(',');
    expect(logs).toEqual([
      'Connections created: 2',
      'Connections active: 0',
      'Success rate: 100.00%',
      `Avg acquire time: ${(3 * 40) / 20} ms`, // 3 of the 20 acquisitions waited 40 ms
      'p50: 0 ms',
      expect.stringMatching(/^p95: 40(\.\d+)? ms$/),
      expect.stringMatching(/^p99: 40(\.\d+)? ms$/),
      'Peak hour: 14',
      `Acquisitions by hour: ${hours}`,
      expect.stringMatching(/^Pool utilization: \d+\.\d\d%$/),
      'Cache hit rate: 0.00%', // no lookups since the monitor started
      'Connection reuse: 90.00%', // 2 first borrows out of 20
    ]);
    monitor.close();
    await pool.close();
  });

  it('Leak Detection', async () => {
    const { pool } = await busyPool();
    const monitor = new PoolMonitor(pool, { borrowTiming: 'all' });
    const forgotten = await pool.acquire();

    // --- README: Leak Detection ---
    const detector = new LeakDetector(300_000, 60_000).watch(pool); // threshold, check interval
    detector.on('leak', (leak) => console.error(`LEAK detected: connection ${leak.connectionId}`));

    // ...later:
    const leaks = detector.getLeaks();
    for (const leak of leaks) {
      console.error(`LEAK: Connection ${leak.connectionId} active for ${leak.activeDurationMs} ms`);
    }
    // --- end ---
    expect(errors).toEqual([]);
    await vi.advanceTimersByTimeAsync(300_000);
    for (const leak of detector.getLeaks()) {
      console.error(`LEAK: Connection ${leak.connectionId} active for ${leak.activeDurationMs} ms`);
    }
    expect(errors).toEqual([`LEAK detected: connection ${forgotten.id}`, `LEAK: Connection ${forgotten.id} active for 300000 ms`]);
    forgotten.release();
    detector.close();
    monitor.close();
    await pool.close();
  });

  it('Dashboard Provider', async () => {
    const { pool } = await busyPool();
    const monitor = new PoolMonitor(pool);
    const held = await pool.acquire();

    // --- README: Dashboard Provider ---
    const dashboard = new DashboardProvider(monitor, 5_000); // refresh every 5 seconds

    const data = dashboard.getDashboardData();
    console.log('Dashboard:');
    console.log(`  Active: ${data.activeConnections}`);
    console.log(`  Total: ${data.totalConnections}`);
    console.log(`  Success: ${(data.successRate * 100).toFixed(2)}%`);
    console.log(`  Efficiency: ${(data.poolEfficiency * 100).toFixed(2)}%`);
    // --- end ---

    expect(logs).toEqual([
      'Dashboard:',
      '  Active: 1',
      '  Total: 2',
      '  Success: 100.00%',
      expect.stringMatching(/^ {2}Efficiency: \d+\.\d\d%$/),
    ]);
    held.release();
    monitor.close();
    await pool.close();
  });

  it('Metrics Export (JSON and CSV)', async () => {
    const { pool } = await busyPool();
    const monitor = new PoolMonitor(pool);
    await traffic(pool);

    // --- README: Metrics Export ---
    // Export as JSON
    const json = await new MonitoringExporter(monitor, ExportFormat.Json).export();

    // Export as CSV
    const csv = await new MonitoringExporter(monitor, ExportFormat.Csv).export();
    // --- end ---

    expect(JSON.parse(json).pools[0].acquisitions).toBe(20);
    expect(csv.split('\r\n')[0]).toMatch(/^timestamp,pool_name,state,/);
    expect(csv.split('\r\n')).toHaveLength(3); // header, one pool, final line break
    monitor.close();
    await pool.close();
  });

  it('the complete example: monitoring in the background', async () => {
    const { pool } = await busyPool();
    const monitor = new PoolMonitor(pool, { borrowTiming: 'all' });
    const leaked = await pool.acquire();

    // --- README: monitor in the background ---
    const dashboard = new DashboardProvider(monitor, 5_000);
    const leakDetector = new LeakDetector(300_000, 60_000).watch(pool);
    leakDetector.on('leak', () => {}); // reported through getLeaks() below rather than as a process warning

    const timer = setInterval(() => {
      const data = dashboard.getDashboardData();
      console.log(`Pool health: ${(data.poolEfficiency * 100).toFixed(1)}% efficient, ${data.activeConnections} active`);

      const leaks = leakDetector.getLeaks();
      if (leaks.length > 0) console.error(`WARNING: ${leaks.length} leaks detected!`);
    }, 10_000);
    timer.unref(); // never keep the process alive for monitoring
    // --- end ---

    await vi.advanceTimersByTimeAsync(310_000);
    expect(logs).toHaveLength(31);
    expect(logs.at(-1)).toMatch(/^Pool health: 50\.\d% efficient, 1 active$/); // one of two connections lent out
    expect(errors).toEqual(['WARNING: 1 leaks detected!', 'WARNING: 1 leaks detected!']); // at 300 s and 310 s
    clearInterval(timer);
    leaked.release();
    leakDetector.close();
    monitor.close();
    await pool.close();
  });
});
