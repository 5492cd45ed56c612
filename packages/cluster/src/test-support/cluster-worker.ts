// One application instance for the multi-process tests: a pool against the real PostgreSQL whose
// connections hold slots of a cluster budget in Redis, under a steady load. It reports to its parent
// over IPC and stops when told (or is killed with SIGKILL).
//
// Run as: node --import tsx --conditions=@pool/source cluster-worker.ts  (config in WORKER_CONFIG)
import { pgFactory } from '@pool/pg';
import { ClusterBudget } from '../budget.js';

export interface WorkerConfig {
  index: number;
  redisUrl: string;
  pgUrl: string;
  applicationName: string;
  keyPrefix: string;
  budgetName: string;
  maxConnections: number;
  poolMaxSize: number;
  concurrency: number;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  retryIntervalMs: number;
  commandTimeoutMs: number;
  shrinkHoldMs: number;
  /** Query each borrow runs. */
  sql: string;
}

/** What a worker tells its parent. */
export interface WorkerReport {
  type: 'report';
  index: number;
  pid: number;
  instanceId: string;
  /** Queries completed so far. */
  completed: number;
  /** Borrows that failed (timeouts while the budget is full or Redis is away). */
  failed: number;
  state: string;
  held: number;
  open: number;
  poolTotal: number;
  counters: Record<string, unknown>;
  lastError: string | null;
}

const config = JSON.parse(process.env.WORKER_CONFIG ?? '{}') as WorkerConfig;

const budget = new ClusterBudget({
  redis: config.redisUrl,
  name: config.budgetName,
  keyPrefix: config.keyPrefix,
  maxConnections: config.maxConnections,
  instanceId: `worker-${config.index}-${process.pid}`,
  leaseTtlMs: config.leaseTtlMs,
  heartbeatIntervalMs: config.heartbeatIntervalMs,
  retryIntervalMs: config.retryIntervalMs,
  commandTimeoutMs: config.commandTimeoutMs,
  shrinkHoldMs: config.shrinkHoldMs,
});
budget.on('error', () => {}); // counted in statistics; the parent reads them from the reports

const pool = await budget.createPool(
  { minSize: 0, maxSize: config.poolMaxSize, initialSize: 0, acquireTimeoutMs: 2_000, createRetryDelayMs: 20, createRetryMaxDelayMs: 200 },
  pgFactory({ connectionString: config.pgUrl, application_name: config.applicationName }),
);

let completed = 0;
let failed = 0;
let lastError: string | null = null;
let running = true;

async function loop(): Promise<void> {
  while (running) {
    try {
      await pool.use((db) => db.query(config.sql));
      completed++;
    } catch (error) {
      failed++;
      lastError = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

function report(): void {
  const s = budget.statistics();
  const message: WorkerReport = {
    type: 'report',
    index: config.index,
    pid: process.pid,
    instanceId: budget.instanceId,
    completed,
    failed,
    state: s.state,
    held: s.database.held,
    open: s.database.open,
    poolTotal: pool.size().total,
    counters: { ...s.counters },
    lastError,
  };
  process.send?.(message);
}

const loops = Array.from({ length: config.concurrency }, () => loop());
const reporter = setInterval(report, 100);
report();

process.on('message', (message: { type?: string }) => {
  if (message?.type !== 'stop') return;
  running = false;
  void (async () => {
    await Promise.all(loops);
    clearInterval(reporter);
    report();
    await pool.close();
    await budget.close();
    process.send?.({ type: 'stopped', index: config.index });
    process.disconnect?.();
  })();
});
