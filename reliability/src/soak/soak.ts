import { ConnectionPool, PoolError, type PooledConnection, type QueuePriority } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { PriorityWaitQueue, StarvationPrevention } from '@pool/queue';
import { type FaultInjectingFactory, type FaultSpec, SeededRandom, withFaults } from '@pool/testkit';
import { errorKind } from '../support/load.js';
import { pgBackend, type SoakBackend, simulatedBackend } from './backends.js';
import { CallLedger } from './call-ledger.js';
import { LogHistogram } from './histogram.js';
import { ProgressWindows, progressFailures } from './progress-windows.js';

/** Options of {@link runSoak}. Every field is optional. */
export interface SoakOptions {
  /** How long the load runs, in ms. Default `600000` (10 minutes). */
  durationMs?: number;
  /** Seed of every random choice (load mix, faults, chaos). Default `1`. */
  seed?: number;
  /** `'simulated'` (default): the testkit's SimulatedFactory. `'pg'`: a real PostgreSQL at `pgUrl`. */
  backend?: 'simulated' | 'pg';
  /** The PostgreSQL URL for `backend: 'pg'`. Default `PG_URL`, else `postgres://postgres@127.0.0.1:5432/test`. */
  pgUrl?: string;
  /** Concurrent callers. Default `48`. */
  concurrency?: number;
  /** The pool's `maxSize` (chaos resizes it between half and this). Default `16`. */
  maxSize?: number;
  /** Mean time between chaos events (kills, restarts, resizes, suspensions, outages), in ms. Default `2000`. */
  chaosIntervalMs?: number;
  /** Called with a progress line every `progressIntervalMs`. Default: none. */
  onProgress?: ((line: string) => void) | null;
  /** Default `10000`. */
  progressIntervalMs?: number;
  /** Throughput is judged per window of this many ms. Default `5000`. */
  windowMs?: number;
  /** Every window after the first must serve at least this fraction of the first window's acquires. Default `0.1`. */
  minWindowFraction?: number;
  /**
   * After the load's end, how long to wait for callers still in a call before counting them as lost
   * and reporting anyway. Default `10000` (a call is bounded by 2 s of acquire, 3 s of queries and 2 s of close).
   */
  settleGraceMs?: number;
  /**
   * Sabotage, to prove the soak fails: at `atMs` the pool is wedged, and chaos stops (nothing heals it).
   * `'never-settles'`: its `acquire()` returns promises that never settle. `'suspended'`: it is
   * suspended for good (acquires time out). Default: none.
   */
  wedge?: { atMs: number; how: 'never-settles' | 'suspended' } | null;
}

/** What a soak saw. `failures(report)` lists what makes it fail. */
export interface SoakReport {
  backend: string;
  seed: number;
  durationMs: number;
  /** Acquire attempts. */
  operations: number;
  /** Acquires that were served. */
  served: number;
  /** Failed acquires by error class or code. */
  acquireErrors: Record<string, number>;
  /** Failed queries on borrowed connections by error class or code. */
  queryErrors: Record<string, number>;
  waitP50Ms: number;
  waitP99Ms: number;
  waitMaxMs: number;
  /** Acquires still unsettled 5 s past their deadline. Must be 0. */
  hungAcquires: number;
  /** Acquires that rejected with something other than a PoolError. Must be 0. */
  nonPoolErrors: number;
  /** A connection handed to a caller while another caller held it. Must be 0. */
  doubleHandOuts: number;
  /**
   * Counted from the callers' side: acquires that never settled plus connections handed to a caller and
   * never given back. Must be 0.
   */
  lost: number;
  /** Acquires the callers started, and how many settled (served or rejected). */
  callsStarted: number;
  callsSettled: number;
  /** Acquires that settled twice, connections given back twice. Must be 0. */
  settledTwice: number;
  returnedTwice: number;
  /** Borrows the pool's own counters still count after every caller returned (a cross-check of `lost`). Must be 0. */
  poolOutstanding: number;
  /** Served acquires per window of `windowMs`. */
  windows: number[];
  windowMs: number;
  minWindowFraction: number;
  /** A phase of the ending that did not finish within its bound (callers, close, leak count), or null. */
  stuckPhase: string | null;
  /** The sabotage applied (`wedge`), or null. */
  wedged: string | null;
  /** When the sabotage really began, in ms from the start (its timer may run late on a busy machine), or null. */
  wedgedAtMs: number | null;
  /** Connections still open on the server after the pool closed. Must be 0. */
  leaked: number;
  /** Connections the pool still counts (open or being created) after close. Must be 0. */
  openAfterClose: number;
  connectionsCreated: number;
  connectionsDestroyed: number;
  destroyedByReason: Record<string, number>;
  /** Chaos events by kind. */
  chaos: Record<string, number>;
  /** Faults the fault-injecting factory injected, by operation. */
  injectedFaults: Record<string, number>;
  closeMs: number;
  heapStartBytes: number;
  heapEndBytes: number;
}

const TENANTS = [
  { id: 'gold', tenant: 'gold', weight: 3, limits: { maxConnections: 8, minConnections: 2, maxWaitQueue: 64 } },
  { id: 'silver', tenant: 'silver', weight: 2, limits: { maxConnections: 6, minConnections: 1, maxWaitQueue: 64 } },
  { id: 'bronze', tenant: 'bronze', weight: 1, limits: { maxConnections: 4, minConnections: 0, maxWaitQueue: 16 } },
  // A noisy neighbour: half the traffic.
  { id: 'noisy', tenant: 'noisy', weight: 6, limits: { maxConnections: 10, minConnections: 0, maxWaitQueue: 128 } },
] as const;
const PRIORITIES: QueuePriority[] = ['critical', 'high', 'normal', 'normal', 'low'];
const HANG_SLACK_MS = 5_000;
const QUERY_BOUND_MS = 1_000;

const BASE_FAULTS: Record<'create' | 'validate' | 'reset' | 'close', FaultSpec> = {
  create: { failRate: 0.02, hangRate: 0.002 },
  validate: { failRate: 0.005, invalidRate: 0.01, hangRate: 0.001 },
  reset: { failRate: 0.01, hangRate: 0.001 },
  close: { failRate: 0.01, hangRate: 0.001 },
};

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function heap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  gc?.();
  return process.memoryUsage().heapUsed;
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

/**
 * Runs a multi-tenant load with random faults against a pool (a PartitionManager with a
 * PriorityWaitQueue per partition, over @pool/testkit's SimulatedFactory or a real PostgreSQL, wrapped
 * in `withFaults`), for `durationMs`, then closes everything and reports. Nothing is asserted here:
 * see {@link soakFailures}.
 *
 * @example
 * ```ts
 * const report = await runSoak({ durationMs: 60_000 });
 * console.log(formatSoakReport(report));
 * if (soakFailures(report).length > 0) process.exitCode = 1;
 * ```
 */
export async function runSoak(options: SoakOptions = {}): Promise<SoakReport> {
  const durationMs = options.durationMs ?? 600_000;
  const seed = options.seed ?? 1;
  const concurrency = options.concurrency ?? 48;
  const maxSize = options.maxSize ?? 16;
  const chaosIntervalMs = options.chaosIntervalMs ?? 2_000;
  const windowMs = options.windowMs ?? 5_000;
  const minWindowFraction = options.minWindowFraction ?? 0.1;
  const settleGraceMs = options.settleGraceMs ?? 10_000;
  const wedge = options.wedge ?? null;
  const ledger = new CallLedger();
  const backend: SoakBackend<unknown> = (
    options.backend === 'pg'
      ? pgBackend(options.pgUrl ?? process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test')
      : simulatedBackend(seed)
  ) as SoakBackend<unknown>;
  const factory: FaultInjectingFactory<unknown> = withFaults(backend.factory, { seed, ...BASE_FAULTS });
  const heapStartBytes = heap();

  const pool = ConnectionPool.open(
    {
      minSize: 4,
      maxSize,
      acquireTimeoutMs: 2_000,
      createTimeoutMs: 1_000,
      validateOnAcquire: true,
      validationTimeoutMs: 300,
      resetTimeoutMs: 300,
      closeTimeoutMs: 2_000,
      maintenanceIntervalMs: 1_000,
      idleTimeoutMs: 10_000,
      maxLifetimeMs: 30_000,
      createRetryDelayMs: 50,
      createRetryMaxDelayMs: 1_000,
      leakDetectionThresholdMs: 10_000,
      enablePartitioning: true,
    },
    factory,
    { name: `soak-${seed}`, waitQueue: new PriorityWaitQueue() },
  );
  const poolErrors: Record<string, number> = {};
  pool.on('error', ({ error }) => bump(poolErrors, error.code));
  const manager = new PartitionManager<unknown>({
    pool,
    routing: RoutingStrategy.TenantBased,
    waitQueue: () => new PriorityWaitQueue({ starvationPrevention: new StarvationPrevention({ thresholdMs: 500 }) }),
  });
  manager.on('error', ({ error }) => bump(poolErrors, error.code));
  for (const t of TENANTS) manager.createPartition(t.id, PartitionType.Tenant(t.tenant), t.limits);
  const totalWeight = TENANTS.reduce((n, t) => n + t.weight, 0);
  const minimums = TENANTS.reduce((n, t) => n + t.limits.minConnections, 0);

  const report: SoakReport = {
    backend: backend.name,
    seed,
    durationMs,
    operations: 0,
    served: 0,
    acquireErrors: {},
    queryErrors: {},
    waitP50Ms: 0,
    waitP99Ms: 0,
    waitMaxMs: 0,
    hungAcquires: 0,
    nonPoolErrors: 0,
    doubleHandOuts: 0,
    lost: 0,
    callsStarted: 0,
    callsSettled: 0,
    settledTwice: 0,
    returnedTwice: 0,
    poolOutstanding: 0,
    windows: [],
    windowMs,
    minWindowFraction,
    stuckPhase: null,
    wedged: null,
    wedgedAtMs: null,
    leaked: 0,
    openAfterClose: 0,
    connectionsCreated: 0,
    connectionsDestroyed: 0,
    destroyedByReason: {},
    chaos: {},
    injectedFaults: {},
    closeMs: 0,
    heapStartBytes,
    heapEndBytes: 0,
  };
  const waits = new LogHistogram();
  const held = new Set<unknown>();
  const start = performance.now();
  const end = start + durationMs;
  const windows = new ProgressWindows(windowMs, start);
  let running = true;

  const pickTenant = (r: SeededRandom): string => {
    let x = r.next() * totalWeight;
    for (const t of TENANTS) {
      x -= t.weight;
      if (x < 0) return t.tenant;
    }
    return TENANTS[0].tenant;
  };

  /** Runs `work` on a borrowed connection, bounded: a query that hangs gets the connection destroyed. */
  const use = async (conn: PooledConnection<unknown>, r: SeededRandom, giveBack: () => void): Promise<void> => {
    const raw = conn.connection;
    let failure: unknown;
    let hung = false;
    const queries = r.int(1, 3);
    for (let i = 0; i < queries && failure === undefined; i++) {
      const work = r.chance(0.05) ? backend.dirty(raw) : backend.query(raw);
      let timer: ReturnType<typeof setTimeout> | undefined;
      const bound = new Promise<'hung'>((resolve) => {
        timer = setTimeout(() => resolve('hung'), QUERY_BOUND_MS);
      });
      try {
        const outcome = await Promise.race([work, bound]);
        if (outcome === 'hung') {
          hung = true;
          failure = new Error('query did not finish in time');
          work.catch(() => {});
        }
      } catch (error) {
        failure = error;
      } finally {
        clearTimeout(timer);
      }
    }
    if (failure !== undefined) bump(report.queryErrors, errorKind(failure));
    if (r.chance(0.3)) await sleep(r.int(0, 20));
    held.delete(raw);
    if (conn.released) {
      giveBack(); // ended by the pool (reclaim or forced close)
      return;
    }
    if (hung || r.chance(0.01)) {
      giveBack();
      await conn.destroy(failure);
    } else {
      conn.release(failure === undefined ? undefined : { error: failure });
      giveBack();
    }
  };

  const worker = async (n: number): Promise<void> => {
    const r = new SeededRandom(seed * 1_000 + n);
    while (running && performance.now() < end) {
      report.operations++;
      const timeoutMs = r.int(50, 2_000);
      const controller = r.chance(0.05) ? new AbortController() : null;
      const abortTimer = controller === null ? undefined : setTimeout(() => controller.abort(new Error('caller gave up')), r.int(1, 500));
      let settled = false;
      const watchdog = setTimeout(() => {
        if (!settled) report.hungAcquires++;
      }, timeoutMs + HANG_SLACK_MS);
      const t0 = performance.now();
      let conn: PooledConnection<unknown> | undefined;
      const call = ledger.start();
      try {
        conn = await manager
          .acquire(
            { tenant: pickTenant(r) },
            {
              timeoutMs,
              priority: PRIORITIES[r.int(0, PRIORITIES.length - 1)] as QueuePriority,
              ...(controller === null ? {} : { signal: controller.signal }),
            },
          )
          .then(
            (c) => {
              ledger.settle(call);
              return c;
            },
            (error: unknown) => {
              ledger.settle(call);
              throw error;
            },
          );
      } catch (error) {
        bump(report.acquireErrors, errorKind(error));
        if (!(error instanceof PoolError)) report.nonPoolErrors++;
      } finally {
        settled = true;
        clearTimeout(watchdog);
        clearTimeout(abortTimer);
      }
      if (conn === undefined) {
        await sleep(r.int(1, 10));
        continue;
      }
      report.served++;
      windows.record();
      waits.record(performance.now() - t0);
      const giveBack = ledger.borrow();
      const raw = conn.connection;
      if (held.has(raw)) report.doubleHandOuts++;
      held.add(raw);
      await use(conn, r, giveBack);
    }
  };

  const chaos = async (): Promise<void> => {
    const r = new SeededRandom(seed * 7_919);
    while (running && performance.now() < end && report.wedged === null) {
      await sleep(r.int(Math.floor(chaosIntervalMs / 2), Math.ceil(chaosIntervalMs * 1.5)));
      if (!running || performance.now() >= end || report.wedged !== null) break;
      const roll = r.next();
      try {
        if (roll < 0.3) {
          bump(report.chaos, 'killOne');
          await backend.killOne(r);
        } else if (roll < 0.38) {
          bump(report.chaos, 'serverRestart');
          await backend.killAll();
        } else if (roll < 0.53) {
          bump(report.chaos, 'resize');
          pool.resize({ maxSize: r.int(Math.max(minimums, Math.ceil(maxSize / 2)), maxSize) });
        } else if (roll < 0.63) {
          bump(report.chaos, 'suspend');
          pool.suspend();
          await sleep(r.int(50, 300));
          pool.resume();
        } else if (roll < 0.7) {
          bump(report.chaos, 'evictIdle');
          pool.evictIdle();
        } else if (roll < 0.8) {
          bump(report.chaos, 'outage');
          factory.faults.configure('create', { failRate: 1 });
          await sleep(r.int(300, 1_500));
          factory.faults.configure('create', BASE_FAULTS.create);
        } else {
          bump(report.chaos, 'hangs');
          factory.faults.hangNext(r.chance(0.5) ? 'validate' : 'reset', r.int(1, 3));
          factory.faults.hangNext('close', 1);
        }
      } catch (error) {
        bump(report.chaos, `failed:${errorKind(error)}`);
      }
    }
  };

  let progress: ReturnType<typeof setInterval> | undefined;
  if (options.onProgress != null) {
    const onProgress = options.onProgress;
    progress = setInterval(() => {
      const s = pool.size();
      const elapsed = Math.round((performance.now() - start) / 1000);
      const last = windows.lastFull();
      onProgress(
        `[soak ${elapsed}s] ops=${report.operations} served=${report.served}${last === undefined ? '' : ` (last ${windowMs / 1000} s: ${last})`} p99=${waits.percentileMs(99).toFixed(1)}ms ` +
          `pool total=${s.total} idle=${s.idle} pending=${s.pending} waiting=${s.waiting} unsettled=${ledger.unsettled} heap=${(process.memoryUsage().heapUsed / 2 ** 20).toFixed(1)}MiB`,
      );
    }, options.progressIntervalMs ?? 10_000);
    progress.unref();
  }

  // A ref'd heartbeat keeps the process alive until the report is made: a pool whose promises never
  // settle cannot end the process silently (exit 13 in an ES module), it shows in the report instead.
  const heartbeat = setInterval(() => {}, 1_000);
  const wedgeTimer =
    wedge === null
      ? undefined
      : setTimeout(() => {
          report.wedged = `${wedge.how} at ${wedge.atMs} ms`;
          report.wedgedAtMs = performance.now() - start;
          if (wedge.how === 'suspended') pool.suspend();
          else pool.acquire = () => new Promise<never>(() => {});
        }, wedge.atMs);
  try {
    const load = Promise.all([...Array.from({ length: concurrency }, (_, n) => worker(n)), chaos()]);
    const settledInTime = await within(load, end + settleGraceMs - performance.now());
    running = false;
    clearInterval(progress);
    clearTimeout(wedgeTimer);
    report.windows = windows.served(durationMs);
    if (!settledInTime) report.stuckPhase = `callers (${ledger.unsettled} acquires unsettled ${settleGraceMs} ms after the load's end)`;
    factory.faults.clear();
    factory.faults.releaseHangs();
    if (pool.state === 'open' && pool.suspended) pool.resume();
    // From the callers' side: acquires that never settled, connections never given back.
    report.callsStarted = ledger.started;
    report.callsSettled = ledger.settled;
    report.settledTwice = ledger.settledTwice;
    report.returnedTwice = ledger.returnedTwice;
    report.lost = ledger.unsettled + ledger.outstanding;
    report.hungAcquires = Math.max(report.hungAcquires, ledger.unsettledOlderThan(2_000 + HANG_SLACK_MS));
    const before = pool.statistics();
    report.poolOutstanding = before.acquired - before.released - ledger.outstanding;
    const closeStart = performance.now();
    if (
      !(await within(
        manager.close().then(() => pool.close()),
        CLOSE_BOUND_MS,
      ))
    ) {
      report.stuckPhase ??= `close (manager.close() and pool.close() took over ${CLOSE_BOUND_MS} ms)`;
    }
    report.closeMs = performance.now() - closeStart;
    const size = pool.size();
    report.openAfterClose = size.total + size.pending;
    // A connect that was abandoned (timed out) may still land: the pool closes it when it does.
    const counted = within(
      (async () => {
        for (let i = 0; i < 100; i++) {
          report.leaked = await backend.openOnServer();
          if (report.leaked === 0) break;
          await sleep(50);
        }
      })(),
      CLOSE_BOUND_MS,
    );
    if (!(await counted)) report.stuckPhase ??= `counting connections left on the server took over ${CLOSE_BOUND_MS} ms`;
    if (!(await within(backend.dispose(), CLOSE_BOUND_MS))) report.stuckPhase ??= `backend.dispose() took over ${CLOSE_BOUND_MS} ms`;
  } finally {
    running = false;
    clearInterval(progress);
    clearInterval(heartbeat);
    clearTimeout(wedgeTimer);
  }
  const stats = pool.statistics();
  report.connectionsCreated = stats.connectionsCreated;
  report.connectionsDestroyed = stats.connectionsDestroyed;
  report.destroyedByReason = Object.fromEntries(Object.entries(stats.destroyedByReason).filter(([, n]) => n > 0));
  report.injectedFaults = {
    ...factory.faults.injected,
    ...Object.fromEntries(Object.entries(poolErrors).map(([k, v]) => [`reported:${k}`, v])),
  };
  report.waitP50Ms = waits.percentileMs(50);
  report.waitP99Ms = waits.percentileMs(99);
  report.waitMaxMs = waits.maxMs;
  report.heapEndBytes = heap();
  return report;
}

const CLOSE_BOUND_MS = 30_000;

/** Resolves true when `work` settles within `ms`, false when the time runs out first (then `work` is left running). */
function within(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), Math.max(0, ms));
  });
  const done = work.then(
    () => true,
    () => true,
  );
  return Promise.race([done, late]).finally(() => clearTimeout(timer));
}

/**
 * Why a soak failed (empty when it passed): any loss (counted from the callers' side), leak, double
 * hand-out, hang, non-PoolError, a stuck ending, or a window that served less than `minWindowFraction`
 * of the first.
 */
export function soakFailures(report: SoakReport): string[] {
  const out: string[] = [];
  if (report.lost !== 0) {
    const unsettled = report.callsStarted - report.callsSettled;
    out.push(
      `lost = ${report.lost} (callers' side: ${unsettled} of ${report.callsStarted} acquires never settled, ${report.lost - unsettled} connections never given back)`,
    );
  }
  if (report.settledTwice !== 0) out.push(`acquires settled twice = ${report.settledTwice}`);
  if (report.returnedTwice !== 0) out.push(`connections given back twice = ${report.returnedTwice}`);
  if (report.poolOutstanding !== 0) out.push(`the pool counts ${report.poolOutstanding} borrows nobody holds`);
  if (report.leaked !== 0) out.push(`leaked = ${report.leaked} (connections open on the server after close)`);
  if (report.openAfterClose !== 0) out.push(`open after close = ${report.openAfterClose}`);
  if (report.connectionsCreated !== report.connectionsDestroyed)
    out.push(`created ${report.connectionsCreated} != destroyed ${report.connectionsDestroyed} after close`);
  if (report.doubleHandOuts !== 0) out.push(`double hand-outs = ${report.doubleHandOuts}`);
  if (report.hungAcquires !== 0) out.push(`hung acquires = ${report.hungAcquires} (unsettled 5 s past their deadline)`);
  if (report.nonPoolErrors !== 0) out.push(`acquires rejected with a non-PoolError = ${report.nonPoolErrors}`);
  if (report.stuckPhase !== null) out.push(`stuck: ${report.stuckPhase}`);
  if (report.served === 0) out.push('no acquire was served');
  out.push(...progressFailures(report.windows, report.windowMs, report.minWindowFraction));
  return out;
}

/** The report as the text the soak command prints. */
export function formatSoakReport(r: SoakReport): string {
  const mib = (b: number): string => `${(b / 2 ** 20).toFixed(1)} MiB`;
  const list = (counts: Record<string, number>): string =>
    Object.keys(counts).length === 0
      ? 'none'
      : Object.entries(counts)
          .sort((a, b) => b[1] - a[1])
          .map(([k, v]) => `${k}=${v}`)
          .join(', ');
  const failures = soakFailures(r);
  return [
    `soak report (${r.backend}, seed ${r.seed}, ${(r.durationMs / 1000).toFixed(0)} s${r.wedged === null ? '' : `, wedged: ${r.wedged}`})`,
    `  operations        ${r.operations} acquires, ${r.served} served`,
    `  acquire errors    ${list(r.acquireErrors)}`,
    `  query errors      ${list(r.queryErrors)}`,
    `  wait              p50 ${r.waitP50Ms.toFixed(2)} ms, p99 ${r.waitP99Ms.toFixed(2)} ms, max ${r.waitMaxMs.toFixed(2)} ms`,
    `  chaos             ${list(r.chaos)}`,
    `  injected faults   ${list(r.injectedFaults)}`,
    `  connections       created ${r.connectionsCreated}, destroyed ${r.connectionsDestroyed} (${list(r.destroyedByReason)})`,
    `  callers           ${r.callsStarted} acquires started, ${r.callsSettled} settled; ${r.windows.length} windows of ${r.windowMs / 1000} s served ${r.windows.length === 0 ? 'none' : `${Math.min(...r.windows)}-${Math.max(...r.windows)} (first ${r.windows[0]}; floor ${Math.round(r.minWindowFraction * 100)}% of it)`}`,
    `  leaked = ${r.leaked}, lost = ${r.lost}, open after close = ${r.openAfterClose}, double hand-outs = ${r.doubleHandOuts}, hung acquires = ${r.hungAcquires}, non-PoolErrors = ${r.nonPoolErrors}`,
    `  close             ${r.closeMs.toFixed(0)} ms`,
    `  heap              start ${mib(r.heapStartBytes)}, end ${mib(r.heapEndBytes)}`,
    failures.length === 0 ? '  result            PASS' : `  result            FAIL: ${failures.join('; ')}`,
  ].join('\n');
}
