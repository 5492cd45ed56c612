import { adaptiveLimit } from '@pool/adaptive';
import { ConnectionPool } from '@pool/core';
import { PoolMonitor } from '@pool/monitoring';
import { PrometheusCollector } from '@pool/prometheus';
import { Registry } from 'prom-client';
import { closeFake, openFake } from '../fake.js';
import { measureBatches } from '../measure.js';
import type { Scenario } from '../scenario.js';

const BATCH = 2_000;

/**
 * Scenario 7: scenario 1's loop (one caller, acquire + release, an idle connection free) on a bare pool
 * and on a pool watched by @pool/monitoring's PoolMonitor (histograms, usage patterns, efficiency) with
 * @pool/prometheus's collector registered, so the difference is what leaving observability on costs
 * each borrow.
 */
export const observability: Scenario = {
  id: '7',
  title: 'Observability overhead (scenario 1 with monitoring attached)',
  description:
    "Scenario 1's uncontended acquire + release on core alone; on core with @pool/monitoring's PoolMonitor attached (it listens to acquire, release and create) and @pool/prometheus's PrometheusCollector registered on a prom-client registry (it reads on scrape; scraped once at the end); and on core with @pool/adaptive's limiter (it listens to acquire, enqueue and release; its interval does not fire inside a batch).",
  subjects: ['core', 'core+monitoring', 'core+adaptive'],
  primary: 'nsPerOp',
  metrics: [
    { key: 'nsPerOp', label: 'ns/op', digits: 0 },
    { key: 'relMad', label: 'in-run MAD', digits: 3 },
  ],
  floor: 'core',
  run: async (subject, opts) => {
    if (subject !== 'core' && subject !== 'core+monitoring' && subject !== 'core+adaptive') throw new Error(`unknown subject '${subject}'`);
    const pool = await ConnectionPool.create({ maxSize: 10 }, { create: openFake, close: closeFake });
    // At maxSize from the start, so the limit never gets in the loop's way: only the listening is measured.
    const limiter = subject === 'core+adaptive' ? adaptiveLimit(pool, { initialLimit: 10 }) : null;
    const monitor = subject === 'core+monitoring' ? new PoolMonitor(pool) : null;
    const registry = new Registry();
    const collector = monitor === null ? null : new PrometheusCollector(monitor, { registry });
    const c0 = await pool.acquire();
    c0.release();
    const r = await measureBatches(
      async () => {
        for (let i = 0; i < BATCH; i++) {
          const c = await pool.acquire();
          c.release();
        }
      },
      BATCH,
      opts,
    );
    // Read what was gathered, as a dashboard and a scrape would, so the work is not optimised away.
    if (monitor !== null && monitor.statistics().connectionsCreated < 1) throw new Error('the monitor saw no connection');
    if (collector !== null && !(await registry.metrics()).includes('db_client_connection_count')) {
      throw new Error('the Prometheus scrape has no pool metrics');
    }
    if (limiter !== null && limiter.statistics().intervals < 1 && limiter.limit !== 10) throw new Error('the limiter is not running');
    limiter?.stop();
    collector?.close();
    monitor?.close();
    await pool.close();
    return { nsPerOp: r.nsPerOp, relMad: r.relMad };
  },
};
