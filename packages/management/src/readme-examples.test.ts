// The README's examples (the seed's "Web Management API", translated), run as written between the markers.
import { ConnectionPool, QueuePriority } from '@pool/core';
import { DashboardProvider, ExportFormat, LeakDetector, MonitoringExporter, PoolMonitor } from '@pool/monitoring';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { PriorityWaitQueue } from '@pool/queue';
import { SimulatedFactory } from '@pool/testkit';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { api, serveManagement } from './index.js';

let logs: string[];
let errors: string[];
const cleanups: (() => unknown)[] = [];

beforeEach(() => {
  logs = [];
  errors = [];
  vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
    logs.push(args.map((a) => (typeof a === 'string' ? a : JSON.stringify(a))).join(' '));
  });
  vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    errors.push(args.join(' '));
  });
});
afterEach(async () => {
  vi.restoreAllMocks();
  for (const fn of cleanups.splice(0).reverse()) await fn();
});

async function setUp() {
  const factory = new SimulatedFactory();
  const waitQueue = new PriorityWaitQueue();
  const pool = await ConnectionPool.create(
    { minSize: 2, maxSize: 10, initialSize: 2, enablePartitioning: true, closeTimeoutMs: 200 },
    factory,
    {
      name: 'main',
      waitQueue,
    },
  );
  const partitionManager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
  partitionManager.createPartition('tenant_acme', PartitionType.Tenant('acme'), { maxConnections: 5 });
  partitionManager.createPartition('tenant_globex', PartitionType.Tenant('globex'), { maxConnections: 5 });
  const monitor = new PoolMonitor(pool);
  const leakDetector = new LeakDetector({ thresholdMs: 20, checkIntervalMs: 10, pools: pool, warn: false });
  const dashboardProvider = new DashboardProvider(monitor, 1_000, { leakDetector, partitions: partitionManager });
  const exporter = new MonitoringExporter(monitor, ExportFormat.Csv);
  cleanups.push(
    () => pool.close(),
    () => partitionManager.close(),
    () => monitor.close(),
    () => leakDetector.close(),
  );
  return { factory, pool, waitQueue, partitionManager, monitor, leakDetector, dashboardProvider, exporter };
}

describe('README: the seed "Web Management API"', () => {
  it('Pool management', async () => {
    const { pool } = await setUp();
    const held = await pool.acquire();
    // --- README: Pool management ---
    // Get pool configuration
    const config = api.getPoolConfig(pool);
    console.log(`Min: ${config.minSize}, Max: ${config.maxSize}`);

    // Get pool statistics
    const stats = api.getPoolStatistics(pool);
    console.log(`Active connections: ${stats.activeConnections}`);

    // Get pool size information
    const size = api.getPoolSize(pool);
    console.log(`Total: ${size.total}, Idle: ${size.idle}, Active: ${size.active}`);
    // --- end ---
    held.release();
    expect(logs).toEqual(['Min: 2, Max: 10', 'Active connections: 1', 'Total: 2, Idle: 1, Active: 1']);
  });

  it('Queue management', async () => {
    const { pool, waitQueue } = await setUp();
    pool.resize({ maxSize: 2 });
    const held = [await pool.acquire(), await pool.acquire()];
    const waiting = pool.acquire({ priority: QueuePriority.High });
    // --- README: Queue management ---
    // Get wait queue statistics (a @pool/queue PriorityWaitQueue, or any pool's waitQueue)
    const queueStats = api.getQueueStatistics(waitQueue);
    console.log(`Queue length: ${queueStats.currentSize}`);
    console.log(`Total enqueued: ${queueStats.totalEnqueued}`);
    console.log(`Avg wait time: ${queueStats.averageWaitMs} ms`);
    // --- end ---
    for (const c of held) c.release();
    (await waiting).release();
    expect(logs).toEqual(['Queue length: 1', 'Total enqueued: 1', 'Avg wait time: 0 ms']);
    expect(api.getQueueStatistics(waitQueue).byPriority.high.totalDequeued).toBe(1);
  });

  it('Partition management', async () => {
    const { partitionManager } = await setUp();
    await partitionManager.use({ tenant: 'acme' }, async () => {});
    await partitionManager.use({ tenant: 'acme' }, async () => {});
    await partitionManager.use({ tenant: 'globex' }, async () => {});
    // --- README: Partition management ---
    // Get statistics for all partitions
    const partitionStats = api.getPartitionStatistics(partitionManager);
    for (const [partitionId, stats] of Object.entries(partitionStats)) {
      console.log(`${partitionId}: ${stats.connectionsAcquired} acquired, ${stats.connectionsReleased} released`);
    }

    // List all partitions
    const partitions = api.listPartitions(partitionManager);
    console.log(
      'Partitions:',
      partitions.map((p) => p.id),
    );
    // --- end ---
    expect(logs).toEqual([
      'tenant_acme: 2 acquired, 2 released',
      'tenant_globex: 1 acquired, 1 released',
      'Partitions: ["tenant_acme","tenant_globex"]',
    ]);
  });

  it('Dashboard and monitoring', async () => {
    const { pool, dashboardProvider, leakDetector, exporter } = await setUp();
    const held = await pool.acquire({ context: { job: 'nightly export' } });
    await new Promise((r) => setTimeout(r, 60));
    leakDetector.check();
    // --- README: Dashboard and monitoring ---
    // Get dashboard data
    const dashboardData = api.getDashboardData(dashboardProvider);
    console.log(`Dashboard snapshot at ${new Date(dashboardData.timestamp).toISOString()}`);

    // Get detected leaks
    const leaks = api.getDetectedLeaks(leakDetector);
    if (leaks.length > 0) {
      console.error(`WARNING: ${leaks.length} connection leaks detected`);
    }

    // Export metrics
    const metrics = await api.exportMetrics(exporter);
    console.log(metrics);
    // --- end ---
    held.release();
    expect(logs[0]).toMatch(/^Dashboard snapshot at \d{4}-\d\d-\d\dT/);
    expect(errors).toEqual(['WARNING: 1 connection leaks detected']);
    expect(logs[1]?.split('\r\n')[0]).toMatch(/^timestamp,pool_name,/);
    expect(dashboardData.leaks.active).toBe(1);
  });
});

describe('README: quick start', () => {
  it('runs on its own and answers with the token', async () => {
    const factory = new SimulatedFactory();
    const env = { POOL_READ_TOKEN: undefined as string | undefined, POOL_ADMIN_TOKEN: undefined as string | undefined };
    const { randomBytes } = await import('node:crypto');
    // --- README: quick start (port 0 instead of 9470, env instead of process.env) ---
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 10 }, factory, { name: 'main' });

    const readToken = env.POOL_READ_TOKEN ?? randomBytes(24).toString('base64url');
    const adminToken = env.POOL_ADMIN_TOKEN ?? randomBytes(24).toString('base64url');
    const server = await serveManagement({ pools: { main: pool }, auth: { readToken, adminToken }, port: 0 });

    console.log(`API: ${server.url}/pools, dashboard: ${server.url}/dashboard#token=${readToken}`);
    // --- end ---
    const size = await fetch(`${server.url}/pools/main/size`, { headers: { authorization: `Bearer ${readToken}` } });
    expect(await size.json()).toEqual({ total: 2, idle: 2, active: 0, pending: 0, waiting: 0, limit: 10 });
    const resize = await fetch(`${server.url}/pools/main/resize`, {
      method: 'POST',
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: '{"maxSize":20}',
    });
    expect(await resize.json()).toMatchObject({ minSize: 2, maxSize: 20 });
    await server.close();
    await pool.close();
    expect(logs[0]).toMatch(/^API: http:\/\/127\.0\.0\.1:\d+\/pools, dashboard: /);
  });
});
