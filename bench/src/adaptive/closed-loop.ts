import type { ConnectionPool } from '@pool/core';
import type pg from 'pg';

/** What one closed-loop run measured. */
export interface LoopResult {
  /** Queries completed per second over the measuring window. */
  throughput: number;
  /** Caller latency (waiting for a connection + the query), in ms. */
  p50Ms: number;
  p99Ms: number;
  /** Use time alone (the query on its connection), in ms. */
  useP50Ms: number;
  useP99Ms: number;
  completed: number;
  errors: number;
}

/** The `q`-quantile of sorted values (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

/**
 * Runs `callers` callers in a closed loop (each sends its next query as soon as the last one returned)
 * for `warmupMs` then `measureMs`; the queries that ended in the measuring window count (throughput),
 * with their whole latency (a query that waited through the warm-up counts its full wait).
 * `onTick` is called every `tickMs` with the elapsed time (for sampling the limit).
 */
export async function closedLoop(
  pool: ConnectionPool<pg.Client>,
  sql: string,
  options: {
    callers: number;
    warmupMs: number;
    measureMs: number;
    tickMs?: number;
    onTick?: (elapsedMs: number) => void;
    /** Counts every completed query (for throughput over time). */
    counter?: { n: number };
  },
): Promise<LoopResult> {
  const { callers, warmupMs, measureMs } = options;
  const t0 = performance.now();
  const from = t0 + warmupMs;
  const until = from + measureMs;
  const latencies: number[] = [];
  const uses: number[] = [];
  let errors = 0;
  const timer =
    options.onTick === undefined ? undefined : setInterval(() => options.onTick?.(performance.now() - t0), options.tickMs ?? 250);
  await Promise.all(
    Array.from({ length: callers }, async () => {
      while (performance.now() < until) {
        const start = performance.now();
        let useStart = 0;
        try {
          await pool.use(async (c) => {
            useStart = performance.now();
            await c.query(sql);
          });
        } catch {
          errors++;
          continue;
        }
        const end = performance.now();
        if (options.counter !== undefined) options.counter.n++;
        if (end >= from && end <= until) {
          latencies.push(end - start);
          uses.push(end - useStart);
        }
      }
    }),
  );
  if (timer !== undefined) clearInterval(timer);
  latencies.sort((a, b) => a - b);
  uses.sort((a, b) => a - b);
  return {
    throughput: (latencies.length * 1000) / measureMs,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    useP50Ms: quantile(uses, 0.5),
    useP99Ms: quantile(uses, 0.99),
    completed: latencies.length,
    errors,
  };
}
