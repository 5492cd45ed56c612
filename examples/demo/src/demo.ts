/**
 * The seed's "Complete Example: Multi-Tenant Application", for real: one pool with partitions for two
 * tenant tiers, priority queues, a monitor, a leak detector and a dashboard, under generated tenant
 * traffic, with a pool-health line every few seconds and a clean shutdown.
 */
import { randomBytes } from 'node:crypto';
import { ConnectionPool, PoolConfig } from '@pool/core';
import { type ManagementServer, serveManagement } from '@pool/management';
import {
  type DashboardData,
  DashboardProvider,
  ExportFormat,
  LeakDetector,
  type LeakReport,
  MonitoringExporter,
  PoolMonitor,
  type QueueStatisticsLike,
} from '@pool/monitoring';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { PrometheusCollector } from '@pool/prometheus';
import { PriorityWaitQueue, QUEUE_PRIORITIES, type QueueLevelStatistics, type QueueStatistics, StarvationPrevention } from '@pool/queue';
import { Registry } from 'prom-client';
import { type Backend, selectBackend } from './backends.js';
import { Progress } from './progress.js';
import { ENTERPRISE_TENANTS, STANDARD_TENANTS, Traffic } from './traffic.js';

/** What the demo can be told (from the environment, see main.ts). */
export interface DemoOptions {
  /** A postgres://, mysql:// or redis:// URL; absent: the simulated database. */
  databaseUrl?: string | undefined;
  /** How often the pool-health line is printed. */
  healthIntervalMs: number;
  /** How long the traffic takes to ramp up to full rate. */
  warmupMs: number;
  /** How often the buggy handler leaks a connection; `null`: never. */
  leakEveryMs: number | null;
  /** A borrow held this long is reported as a leak (and reclaimed at twice that). */
  leakThresholdMs: number;
  /** The management server's port on 127.0.0.1 (`0`: any free port). */
  port: number;
  /** How far back the dashboard's history reaches (default 15 minutes), and how often it is sampled (default 5000 ms). */
  historyWindowMs?: number;
  historyIntervalMs?: number;
  /** Aborting it (Ctrl-C) cuts the warm-up short; the caller then calls `stop()`. */
  signal?: AbortSignal;
  out?: NodeJS.WriteStream;
  err?: NodeJS.WriteStream;
}

/** A running demo. */
export interface RunningDemo {
  readonly pool: ConnectionPool<unknown>;
  readonly manager: PartitionManager<unknown>;
  readonly monitor: PoolMonitor;
  readonly dashboard: DashboardProvider;
  readonly leakDetector: LeakDetector;
  readonly management: ManagementServer;
  /** The dashboard's address, with the read token in its fragment. */
  readonly dashboardUrl: string;
  /** The bearer token for the read endpoints of the API. */
  readonly readToken: string;
  /** Stops the traffic, ends every borrow, closes everything, and says whether anything was left open. */
  stop(): Promise<ShutdownReport>;
}

/** What shutting down found. */
export interface ShutdownReport {
  clean: boolean;
  line: string;
}

/** Builds everything, warms up, and starts the traffic and the health line. */
export async function startDemo(options: DemoOptions): Promise<RunningDemo> {
  const out = options.out ?? process.stdout;
  const err = options.err ?? process.stderr;
  const print = (line: string): void => void out.write(`${line}\n`);
  const backend: Backend = selectBackend(options.databaseUrl);
  const { sizing } = backend;
  print(`@pool demo: a multi-tenant application on ${backend.description}`);

  // 1. Create pool with partitioning (the seed: min 20, max 200, initial 50). The pool's own queue is a
  //    priority queue too; starvation prevention raises a waiter one level per second it waits.
  const config = PoolConfig.builder()
    .minSize(sizing.minSize)
    .maxSize(sizing.maxSize)
    .initialSize(sizing.initialSize)
    .acquireTimeoutMs(2_000)
    .maxLifetimeMs(30 * 60_000)
    .idleTimeoutMs(5 * 60_000)
    .enablePartitioning(true)
    .build();
  const priorityQueue = () => new PriorityWaitQueue({ starvationPrevention: new StarvationPrevention({ thresholdMs: 1_000 }) });
  const progress = new Progress(out);
  const openedAt = performance.now();
  const spinner = setInterval(
    () => progress.spin(`Warming up: opening ${sizing.initialSize} connections... ${((performance.now() - openedAt) / 1000).toFixed(1)} s`),
    80,
  );
  let pool: ConnectionPool<unknown>;
  try {
    pool = await ConnectionPool.create(config, backend.factory, { name: 'app', waitQueue: priorityQueue() });
  } finally {
    clearInterval(spinner);
  }
  progress.done(`Warming up: ${pool.size().total} connections open in ${Math.round(performance.now() - openedAt)} ms`);

  // 2. Set up partitioning for tenants: two tiers (ResourceGroup partitions); enterprise tenants are
  //    assigned to theirs, every other tenant lands in the standard tier (the default partition).
  const partitionQueues: PriorityWaitQueue[] = [];
  const manager = new PartitionManager<unknown>({
    pool,
    routing: RoutingStrategy.TenantBased,
    defaultPartition: 'standard_tier',
    waitQueue: () => {
      const queue = priorityQueue();
      partitionQueues.push(queue);
      return queue;
    },
  });
  manager.createPartition('enterprise_tier', PartitionType.ResourceGroup('Enterprise'), sizing.enterprise);
  manager.createPartition('standard_tier', PartitionType.ResourceGroup('Standard'), sizing.standard);
  for (const tenant of ENTERPRISE_TENANTS) manager.assign(tenant, 'enterprise_tier');

  // 3. Set up monitoring: the seed's DashboardProvider (5 s refresh) and LeakDetector (300 s threshold,
  //    60 s checks), scaled down so a leak shows within a minute; leaks are reclaimed at twice the threshold.
  // Watching the manager makes the pool's figures count every caller once, also those that wait or time
  // out in a partition's queue (the pool itself never sees them).
  const monitor = new PoolMonitor(pool, { windowMs: 30_000, windowSlots: 6 }).watchPartitions(manager);
  const leakDetector = new LeakDetector({
    thresholdMs: options.leakThresholdMs,
    checkIntervalMs: Math.max(100, Math.min(1_000, options.leakThresholdMs / 5)),
    reclaimAfterMs: options.leakThresholdMs * 2,
    pools: [pool],
  });
  leakDetector.on('leak', () => {}); // reported by the health loop below, as in the seed
  leakDetector.on('reclaim', (leak) => {
    err.write(
      `Reclaimed connection ${leak.connectionId} from ${describeBorrower(leak)}: held ${seconds(leak.activeDurationMs)} and never released\n`,
    );
  });
  // Every queue a caller can wait in, the pool's own and the partitions', seen as one by the dashboard
  // and the management API, so the queue panel adds up to the callers waiting.
  const poolQueue = pool.waitQueue as PriorityWaitQueue;
  const allQueues = () => [poolQueue, ...partitionQueues];
  const queues = {
    get size() {
      return allQueues().reduce((sum, q) => sum + q.size, 0);
    },
    *values() {
      for (const queue of allQueues()) yield* queue.values();
    },
    statistics: () => mergeQueues(allQueues().map((q) => q.statistics())),
  };
  const dashboard = new DashboardProvider(monitor, Math.min(5_000, options.healthIntervalMs / 2), {
    leakDetector,
    partitions: manager,
    queue: queues,
  });

  // The management server (the seed's Web Management API) with the dashboard, on 127.0.0.1 only.
  // Tokens are made fresh for each run; the dashboard URL carries the read token in its fragment,
  // which never reaches a server or its logs.
  const registry = new Registry();
  const collector = new PrometheusCollector(monitor, { registry, leakDetector, partitions: manager, queue: queues });
  const readToken = randomBytes(18).toString('base64url');
  const adminToken = randomBytes(18).toString('base64url');
  const management = await listen(options.port, (port) =>
    serveManagement({
      pools: {
        [pool.name]: {
          pool,
          monitor,
          leakDetector,
          dashboard,
          partitions: manager,
          queue: queues,
          exporter: new MonitoringExporter(monitor, ExportFormat.Json),
        },
      },
      auth: { readToken, adminToken },
      prometheus: collector,
      history: { windowMs: options.historyWindowMs ?? 15 * 60_000, intervalMs: options.historyIntervalMs ?? 5_000 },
      port,
    }),
  );
  const dashboardUrl = `${management.url}/dashboard#token=${readToken}`;
  print(`Dashboard: ${dashboardUrl}`);
  print(`API:       curl -H 'Authorization: Bearer ${readToken}' ${management.url}/pools/${pool.name}/size`);
  print(`Admin:     curl -X POST -H 'Authorization: Bearer ${adminToken}' ${management.url}/pools/${pool.name}/evict`);

  // 4. Use in request handlers: the traffic generator's handlers call manager.use({ tenant }, ...).
  const traffic = new Traffic({
    manager,
    backend,
    targetConcurrency: Math.max(2, Math.round(sizing.maxSize * 0.25)),
    leakEveryMs: options.leakEveryMs,
    timeoutMs: config.acquireTimeoutMs,
  });
  traffic.start();
  const rampStart = performance.now();
  await new Promise<void>((resolve) => {
    const ramp = setInterval(() => {
      const fraction = options.warmupMs <= 0 ? 1 : Math.min(1, (performance.now() - rampStart) / options.warmupMs);
      traffic.intensity = fraction;
      progress.bar(fraction, `traffic ${Math.round(traffic.currentRatePerSecond)} req/s, ${pool.size().active} connections busy`);
      if (fraction >= 1 || options.signal?.aborted) {
        clearInterval(ramp);
        resolve();
      }
    }, 100);
  });
  progress.done(
    options.signal?.aborted
      ? 'Warm-up interrupted.'
      : `Warm: ${Math.round(traffic.baseRatePerSecond)} req/s from ${ENTERPRISE_TENANTS.length} enterprise and ${STANDARD_TENANTS.length} standard tenants`,
  );

  // 5. Monitor in background: the seed's health line, and a warning while leaks are held.
  const health = setInterval(() => {
    const data = dashboard.getDashboardData();
    print(healthLine(data, traffic.currentRatePerSecond));
    const leaks = leakDetector.getLeaks();
    if (leaks.length > 0) {
      const oldest = leaks[0] as LeakReport;
      err.write(
        `WARNING: ${leaks.length} ${leaks.length === 1 ? 'leak' : 'leaks'} detected! ` +
          `Oldest: connection ${oldest.connectionId} held ${seconds(oldest.activeDurationMs)} by ${describeBorrower(oldest)}\n`,
      );
    }
  }, options.healthIntervalMs);
  health.unref();

  let stopping: Promise<ShutdownReport> | undefined;
  const stop = (): Promise<ShutdownReport> => {
    stopping ??= (async () => {
      clearInterval(health);
      const inFlight = await traffic.stop();
      // Whatever is still borrowed now was leaked by the buggy handler: take it back before closing.
      const leaked = pool.borrowed();
      for (const conn of leaked) pool.reclaim(conn.id);
      await management.close();
      collector.close();
      leakDetector.close();
      monitor.close();
      await manager.close();
      await pool.close();
      const stats = pool.statistics();
      const counts = traffic.counts;
      const serverSide = backend.openOnServer();
      const open = pool.size().total;
      const clean = open === 0 && (serverSide === null || serverSide === 0) && stats.connectionsCreated === stats.connectionsDestroyed;
      const failures = Object.entries(counts.failures)
        .map(([code, n]) => `${n} ${code}`)
        .join(', ');
      print(
        `Traffic stopped: ${counts.succeeded} requests served, ${counts.failed} failed${failures === '' ? '' : ` (${failures})`}, ` +
          `${inFlight} finished during shutdown, ${leaked.length} leaked ${leaked.length === 1 ? 'connection' : 'connections'} reclaimed`,
      );
      const line = clean
        ? `Shut down cleanly: pool closed, 0 connections open (${stats.connectionsCreated} opened, ${stats.connectionsDestroyed} closed` +
          `${serverSide === null ? '' : ', 0 on the server'}), nothing leaked.`
        : `Shutdown incomplete: ${open} connections still open in the pool${serverSide === null ? '' : `, ${serverSide} on the server`} ` +
          `(${stats.connectionsCreated} opened, ${stats.connectionsDestroyed} closed).`;
      return { clean, line };
    })();
    return stopping;
  };

  return { pool, manager, monitor, dashboard, leakDetector, management, dashboardUrl, readToken, stop };
}

/**
 * "Pool health: 34.2% efficient, 68 active (...)": the seed's line, with what an operator looks at next.
 * Waiting, failed, served and the p99 wait count every caller once, whichever queue it waited in.
 */
export function healthLine(data: DashboardData, ratePerSecond: number): string {
  const tiers = (data.partitions ?? [])
    .map((p) => `${p.id.replace(/_tier$/, '')} ${p.active ?? 0}/${p.maxConnections ?? '?'}${p.waiting ? ` +${p.waiting} queued` : ''}`)
    .join(', ');
  return (
    `Pool health: ${(data.poolEfficiency * 100).toFixed(1)}% efficient, ${data.activeConnections} active ` +
    `(${data.totalConnections} open, ${data.waiting} waiting; ${Math.round(ratePerSecond)} req/s; ` +
    `${data.acquireFailures} failed, ${(data.successRate * 100).toFixed(2)}% served; ` +
    `p99 wait ${data.waitPercentiles.percentiles.p99.toFixed(1)} ms; ${tiers})`
  );
}

function describeBorrower(leak: LeakReport): string {
  const request = (leak.context as { request?: { tenant?: string; application?: string } } | undefined)?.request;
  const who = request?.tenant === undefined ? 'an unknown borrower' : `tenant ${request.tenant}`;
  return `${who}${request?.application === undefined ? '' : ` (${request.application})`}${leak.partition === undefined ? '' : ` in ${leak.partition}`}`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/** The partitions' priority queues, summed into one for the dashboard's queue panel. */
function mergeQueues(all: QueueStatistics[]): QueueStatisticsLike {
  const merge = (levels: QueueLevelStatistics[]): QueueLevelStatistics => {
    const served = levels.reduce((sum, l) => sum + l.totalDequeued, 0);
    const sum = (pick: (l: QueueLevelStatistics) => number): number => levels.reduce((total, l) => total + pick(l), 0);
    return {
      currentSize: sum((l) => l.currentSize),
      totalEnqueued: sum((l) => l.totalEnqueued),
      totalDequeued: served,
      totalTimedOut: sum((l) => l.totalTimedOut),
      totalCancelled: sum((l) => l.totalCancelled),
      totalFailed: sum((l) => l.totalFailed),
      totalClosed: sum((l) => l.totalClosed),
      totalBoosted: sum((l) => l.totalBoosted),
      averageWaitMs: served === 0 ? 0 : sum((l) => l.averageWaitMs * l.totalDequeued) / served,
      maxWaitMs: Math.max(0, ...levels.map((l) => l.maxWaitMs)),
    };
  };
  const byPriority = Object.fromEntries(QUEUE_PRIORITIES.map((p) => [p, merge(all.map((s) => s.byPriority[p]))]));
  return { ...merge(all), byPriority };
}

/** Listens on `port`; when it is taken, on any free port instead (the URL printed says which). */
async function listen(port: number, serve: (port: number) => Promise<ManagementServer>): Promise<ManagementServer> {
  try {
    return await serve(port);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw error;
    return serve(0);
  }
}
