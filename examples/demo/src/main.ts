/**
 * `pnpm demo`: the @pool demo. Runs until Ctrl-C (or DEMO_DURATION_MS), then shuts down cleanly.
 *
 * Environment (all optional):
 *   DATABASE_URL             postgres://..., mysql://... or redis://...; default: a simulated database
 *   DEMO_PORT                the management server's port on 127.0.0.1 (default 9470; another one if taken)
 *   DEMO_HEALTH_INTERVAL_MS  how often the pool-health line is printed (default 5000)
 *   DEMO_WARMUP_MS           how long the traffic ramps up (default 4000)
 *   DEMO_DURATION_MS         stop by itself after this long (default: run until Ctrl-C)
 *   DEMO_LEAK_EVERY_MS       how often the buggy handler leaks a connection (default 20000; 0: never)
 *   DEMO_LEAK_THRESHOLD_MS   a borrow held this long is a leak, reclaimed at twice that (default 5000; at least
 *                            1000, above the longest legitimate hold: a report holds its connection up to 900 ms)
 */
import { startDemo } from './demo.js';

function numberFromEnv(name: string, fallback: number, min: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min) {
    console.error(`${name}=${raw} is not a number of milliseconds >= ${min}`);
    process.exit(2);
  }
  return value;
}

const leakEveryMs = numberFromEnv('DEMO_LEAK_EVERY_MS', 20_000, 0);
const durationMs = numberFromEnv('DEMO_DURATION_MS', 0, 0);

// Ctrl-C (SIGINT) or SIGTERM at any time, also during the warm-up, starts a clean shutdown; a second
// one exits at once.
const stopping = new AbortController();
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping.signal.aborted) {
      console.error('Second signal: exiting without waiting.');
      process.exit(130);
    }
    stopping.abort(signal);
  });
}
if (durationMs > 0) setTimeout(() => stopping.abort(`${durationMs / 1000} s are up`), durationMs).unref();

const demo = await startDemo({
  databaseUrl: process.env.DATABASE_URL,
  port: numberFromEnv('DEMO_PORT', 9_470, 0),
  healthIntervalMs: numberFromEnv('DEMO_HEALTH_INTERVAL_MS', 5_000, 100),
  warmupMs: numberFromEnv('DEMO_WARMUP_MS', 4_000, 0),
  leakEveryMs: leakEveryMs === 0 ? null : leakEveryMs,
  leakThresholdMs: numberFromEnv('DEMO_LEAK_THRESHOLD_MS', 5_000, 1_000),
  signal: stopping.signal,
}).catch((error: unknown) => {
  console.error(`The demo could not start: ${error instanceof Error ? error.message : String(error)}`);
  if (error instanceof Error && error.cause !== undefined) console.error(`  cause: ${String(error.cause)}`);
  process.exit(1);
});

if (!stopping.signal.aborted) {
  console.log(durationMs > 0 ? `Running for ${durationMs / 1000} s (Ctrl-C stops it sooner).` : 'Running. Press Ctrl-C to stop.');
  await new Promise((resolve) => stopping.signal.addEventListener('abort', resolve, { once: true }));
}
console.log(`\n${String(stopping.signal.reason)}: shutting down...`);
const report = await demo.stop();
console.log(report.line);
process.exitCode = report.clean ? 0 : 1;
