import { Bench } from 'tinybench';

/** How long a child measures. The CLI picks these (a full run, or the smoke run CI does). */
export interface RunOptions {
  /** Measuring budget of one subject in one round, in ms. */
  timeMs: number;
  /** Warm-up budget before it, in ms (JIT tiers, pool at steady state). */
  warmupMs: number;
  /** Scale for the scenarios with a fixed size (queued waiters, PostgreSQL queries): 1 in a full run. */
  scale: number;
  /** True in the smoke run: sizes are tiny and figures meaningless; only the plumbing is proven. */
  smoke: boolean;
}

/** The figures of one batched throughput measurement. */
export interface BatchResult {
  /** Median time per operation, in ns. */
  nsPerOp: number;
  /** Relative median absolute deviation of the batch samples within this child. */
  relMad: number;
  /** Batches measured. */
  samples: number;
}

/**
 * Measures an asynchronous batch of `opsPerBatch` operations with tinybench and returns the median time
 * per operation. Each tinybench sample is one whole batch, so the timer's own cost and resolution (tens
 * of ns) are spread over thousands of operations instead of distorting a 200 ns one.
 */
export async function measureBatches(batch: () => Promise<unknown>, opsPerBatch: number, opts: RunOptions): Promise<BatchResult> {
  const bench = new Bench({
    time: opts.timeMs,
    warmupTime: opts.warmupMs,
    warmupIterations: opts.smoke ? 1 : 8,
    iterations: opts.smoke ? 2 : 10,
    throws: true,
  });
  bench.add('batch', batch, { async: true });
  await bench.run();
  const task = bench.tasks[0];
  if (task === undefined) throw new Error('tinybench ran no task');
  const result = task.result;
  if (result.state !== 'completed') {
    throw new Error(`tinybench task ended ${result.state}${'error' in result ? `: ${String(result.error)}` : ''}`);
  }
  const latency = result.latency;
  return {
    nsPerOp: (latency.p50 * 1e6) / opsPerBatch,
    relMad: latency.p50 === 0 ? 0 : latency.mad / latency.p50,
    samples: latency.samplesCount,
  };
}

/** Forces a full garbage collection when the process runs with `--expose-gc` (the harness always does). */
export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined) throw new Error('run with node --expose-gc (the harness starts its children that way)');
  gc();
  gc();
}

/** Active timers of the process (Node counts each armed `setTimeout`/`setInterval` as a `Timeout` resource). */
export function activeTimers(): number {
  let n = 0;
  for (const r of process.getActiveResourcesInfo()) if (r === 'Timeout') n++;
  return n;
}
