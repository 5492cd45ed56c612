import { ConnectionPool, type PooledConnection } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { closeFake, type FakeConnection, openFake } from '../fake.js';
import type { RunOptions } from '../measure.js';
import type { Scenario } from '../scenario.js';
import { quantile } from '../stats.js';

const MAX = 10;
/** The flooding tenant: ten times as many callers as the pool has connections. */
const NOISY_CALLERS = 10 * MAX;
const QUIET_CALLERS = 2;

interface Borrow {
  acquire(tenant: 'noisy' | 'quiet'): Promise<PooledConnection<FakeConnection>>;
  close(): Promise<void>;
}

async function borrowerFor(subject: string): Promise<Borrow> {
  if (subject === 'core') {
    const pool = await ConnectionPool.create({ maxSize: MAX, maxWaitQueueSize: 1_000_000 }, { create: openFake, close: closeFake });
    return { acquire: () => pool.acquire(), close: () => pool.close() };
  }
  if (subject === 'core+partitioning') {
    const pool = await ConnectionPool.create(
      { maxSize: MAX, maxWaitQueueSize: 1_000_000, enablePartitioning: true },
      { create: openFake, close: closeFake },
    );
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('noisy', PartitionType.Tenant('noisy'), { maxConnections: MAX, maxWaitQueue: 1_000_000 });
    manager.createPartition('quiet', PartitionType.Tenant('quiet'), { maxConnections: MAX, minConnections: QUIET_CALLERS });
    return {
      acquire: (tenant) => manager.acquire({ tenant }),
      close: async () => {
        await manager.close();
        await pool.close();
      },
    };
  }
  throw new Error(`unknown subject '${subject}'`);
}

/**
 * Scenario 8b: one tenant floods the pool (100 callers over 10 connections) while a quiet tenant's two
 * callers keep working; both hold each connection for one event-loop turn. Latency of the quiet
 * tenant's acquires, without partitions (one shared FIFO queue) and with @pool/partitioning reserving
 * two connections for it.
 */
export const partitionFlood: Scenario = {
  id: '8b',
  title: 'Acquire latency of a quiet tenant under a flood from another',
  description:
    'A noisy tenant runs 100 callers over maxSize 10 while a quiet tenant runs 2; each holds its connection for one event-loop turn. p99 of the quiet tenant’s acquire latency: core alone (one FIFO queue for everyone) vs core + @pool/partitioning (quiet tenant: minConnections 2).',
  subjects: ['core', 'core+partitioning'],
  primary: 'quietP99Us',
  metrics: [
    { key: 'quietP99Us', label: 'quiet p99 µs', digits: 1 },
    { key: 'quietP50Us', label: 'quiet p50 µs', digits: 1 },
    { key: 'noisyP99Us', label: 'noisy p99 µs', digits: 1 },
    { key: 'opsPerSec', label: 'acquires/s', digits: 0 },
  ],
  baseline: 'core',
  run: async (subject, opts: RunOptions) => {
    const b = await borrowerFor(subject);
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const runFor = async (ms: number) => {
      const quiet: number[] = [];
      const noisy: number[] = [];
      const end = performance.now() + ms;
      const caller = async (tenant: 'noisy' | 'quiet', into: number[]): Promise<void> => {
        while (performance.now() < end) {
          const t0 = performance.now();
          const c = await b.acquire(tenant);
          into.push((performance.now() - t0) * 1000);
          await turn();
          c.release();
        }
      };
      const start = performance.now();
      await Promise.all([
        ...Array.from({ length: NOISY_CALLERS }, () => caller('noisy', noisy)),
        ...Array.from({ length: QUIET_CALLERS }, () => caller('quiet', quiet)),
      ]);
      return { quiet, noisy, elapsed: performance.now() - start };
    };
    await runFor(opts.warmupMs);
    const { quiet, noisy, elapsed } = await runFor(opts.timeMs);
    await b.close();
    return {
      quietP99Us: quantile(quiet, 0.99),
      quietP50Us: quantile(quiet, 0.5),
      noisyP99Us: quantile(noisy, 0.99),
      opsPerSec: ((quiet.length + noisy.length) / elapsed) * 1000,
    };
  },
};
