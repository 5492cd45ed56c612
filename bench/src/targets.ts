import type { ScenarioResult, SubjectSummary } from './report.js';

/** How a target came out. */
export type TargetStatus = 'met' | 'missed' | 'not measured';

/** One target of issue 9, checked against a run. */
export interface TargetCheck {
  id: string;
  /** The target in words. */
  goal: string;
  status: TargetStatus;
  /** What was measured, in words with the figure. */
  actual: string;
}

type Results = Readonly<Record<string, ScenarioResult | undefined>>;

function subject(results: Results, scenario: string, name: string): SubjectSummary | undefined {
  const r = results[scenario];
  if (r === undefined || r.skipped !== undefined) return undefined;
  const s = r.subjects.find((x) => x.subject === name);
  return s === undefined || s.rounds === 0 ? undefined : s;
}

function primary(results: Results, scenario: string, name: string): number | undefined {
  const r = results[scenario];
  const s = subject(results, scenario, name);
  return r === undefined || s === undefined ? undefined : s.metrics[r.scenario.primary]?.median;
}

function check(
  id: string,
  goal: string,
  value: number | undefined,
  ok: (v: number) => boolean,
  describe: (v: number) => string,
): TargetCheck {
  if (value === undefined || !Number.isFinite(value)) return { id, goal, status: 'not measured', actual: 'not measured in this run' };
  return { id, goal, status: ok(value) ? 'met' : 'missed', actual: describe(value) };
}

/** The fastest peer (lowest time per op) of a scenario, among `peers` that were measured. */
function fastestPeer(results: Results, scenario: string, peers: readonly string[]): { name: string; ns: number } | undefined {
  let best: { name: string; ns: number } | undefined;
  for (const name of peers) {
    const ns = primary(results, scenario, name);
    if (ns !== undefined && (best === undefined || ns < best.ns)) best = { name, ns };
  }
  return best;
}

const PEERS = ['generic-pool', 'tarn', 'pg-pool'] as const;

/**
 * Checks every target of issue 9 against a run's results. Ratios are the paired, per-round medians
 * the table shows; "fastest peer" compares medians of time per op.
 *
 * @param corePg the subject that stands for @pool/core in scenario 6 (`@pool/pg` once it exists).
 */
export function checkTargets(results: Results, corePg = 'core+pg'): TargetCheck[] {
  const out: TargetCheck[] = [];
  const core1 = subject(results, '1', 'core');
  out.push(
    check(
      '1-throughput',
      'Scenario 1: at least 2.5× generic-pool’s throughput',
      core1?.speedVsBaseline?.median,
      (v) => v >= 2.5,
      (v) => `${v.toFixed(2)}× generic-pool (${v >= 2.5 ? 'above' : 'short of'} 2.5× by ${Math.abs((v / 2.5 - 1) * 100).toFixed(0)}%)`,
    ),
  );
  out.push(
    check(
      '1-floor',
      'Scenario 1: within 1.5× of the floor’s time per op',
      core1?.timeVsFloor?.median,
      (v) => v <= 1.5,
      (v) => `${v.toFixed(2)}× the floor’s time (${v <= 1.5 ? 'within' : 'over'} 1.5× by ${Math.abs((v / 1.5 - 1) * 100).toFixed(0)}%)`,
    ),
  );
  for (const [id, callers, factor] of [
    ['2a', '100', 1],
    ['2b', '1,000', 1.5],
  ] as const) {
    const ns = primary(results, id, 'core');
    const peer = fastestPeer(results, id, PEERS);
    const speed = ns === undefined || peer === undefined ? undefined : peer.ns / ns;
    out.push(
      check(
        `${id}-peers`,
        `Scenario 2, ${callers} callers: at least ${factor === 1 ? '' : `${factor}× `}the fastest peer’s throughput`,
        speed,
        (v) => v >= factor,
        (v) =>
          `${v.toFixed(2)}× ${peer?.name ?? 'the fastest peer'} (${v >= factor ? 'above' : 'short of'} ${factor}× by ${Math.abs((v / factor - 1) * 100).toFixed(0)}%)`,
      ),
    );
    out.push(
      check(
        `${id}-floor`,
        `Scenario 2, ${callers} callers: within 1.25× of the floor’s time per op`,
        subject(results, id, 'core')?.timeVsFloor?.median,
        (v) => v <= 1.25,
        (v) =>
          `${v.toFixed(2)}× the floor’s time (${v <= 1.25 ? 'within' : 'over'} 1.25× by ${Math.abs((v / 1.25 - 1) * 100).toFixed(0)}%)`,
      ),
    );
  }
  const core5 = subject(results, '5', 'core');
  out.push(
    check(
      '5-heap',
      'Scenario 5: under 64 MiB of heap for 100,000 waiters',
      core5?.metrics.heapMiB100k?.median,
      (v) => v < 64,
      (v) => `${v.toFixed(1)} MiB per 100,000 waiters`,
    ),
  );
  out.push(
    check(
      '5-lateness',
      'Scenario 5: every timeout fires within 10 ms of its deadline',
      core5?.metrics.lateMaxMs?.max,
      (v) => v <= 10,
      (v) =>
        `latest timeout ${v.toFixed(2)} ms after its deadline (worst round); ${core5?.metrics.timersArmed?.max ?? '?'} timer(s) armed for 100,000 waiters`,
    ),
  );
  const corePgNs = primary(results, '6', corePg);
  const pgPoolNs = primary(results, '6', 'pg.Pool');
  out.push(
    check(
      '6-pg.Pool',
      'Scenario 6: at least pg.Pool’s throughput',
      corePgNs === undefined || pgPoolNs === undefined ? undefined : subject(results, '6', corePg)?.speedVsBaseline?.median,
      (v) => v >= 1,
      (v) => `${corePg} at ${v.toFixed(2)}× pg.Pool’s throughput`,
    ),
  );
  const floorRatio = subject(results, '6', corePg)?.timeVsFloor?.median;
  out.push(
    check(
      '6-floor',
      'Scenario 6: at least 95% of floor + pg’s throughput',
      floorRatio === undefined ? undefined : 1 / floorRatio,
      (v) => v >= 0.95,
      (v) => `${corePg} at ${(v * 100).toFixed(1)}% of floor+pg’s throughput`,
    ),
  );
  // Scenario 7 takes bare core as its "floor": the paired ratio is monitored time / bare time.
  const monitoredRatio = subject(results, '7', 'core+monitoring')?.timeVsFloor?.median;
  const overhead = monitoredRatio === undefined ? undefined : 1 - 1 / monitoredRatio;
  out.push(
    check(
      '7-overhead',
      'Scenario 7: monitoring costs at most 10% of scenario 1’s throughput',
      overhead,
      (v) => v <= 0.1,
      (v) => `monitoring costs ${(v * 100).toFixed(1)}% of the throughput`,
    ),
  );
  // Issue 18: OpenTelemetry attached costs at most 10% of scenario 1; core's channels cost nothing unheard.
  const otelRatio = subject(results, '7b', 'core+opentelemetry')?.timeVsFloor?.median;
  out.push(
    check(
      '7b-overhead',
      'Scenario 7b: @pool/opentelemetry costs at most 10% of scenario 1’s throughput',
      otelRatio === undefined ? undefined : 1 - 1 / otelRatio,
      (v) => v <= 0.1,
      (v) => `OpenTelemetry costs ${(v * 100).toFixed(1)}% of the throughput`,
    ),
  );
  const ab = subject(results, '1ab', 'core')?.timeVsFloor ?? undefined;
  out.push(
    check(
      '1ab-noise',
      'Scenario 1ab: core with no subscriber within noise of the baseline build (paired ratio within its round-to-round spread, or within 3%)',
      ab?.median,
      (v) => Math.abs(v - 1) <= 0.03 || (ab !== undefined && ab.min <= 1 && ab.max >= 1),
      (v) => `core at ${v.toFixed(3)}× the baseline’s time per operation (rounds ${ab?.min.toFixed(3)}–${ab?.max.toFixed(3)})`,
    ),
  );
  // Issue 19: read/write routing costs at most 5% per call against the single-host pool (the worse side).
  const routing = ['replica write', 'replica read']
    .map((name) => subject(results, '6r', name)?.timeVsFloor?.median)
    .filter((v): v is number => v !== undefined);
  out.push(
    check(
      '6r-overhead',
      'Scenario 6r: createPgReplicaPool’s routing costs at most 5% per call against createPgPool',
      routing.length === 0 ? undefined : Math.max(...routing) - 1,
      (v) => v <= 0.05,
      (v) => `routing costs ${(v * 100).toFixed(1)}% per call (the worse of writes and reads)`,
    ),
  );
  // Issue 12: a cluster budget must not talk to Redis when a pool lends an open connection.
  out.push(
    check(
      '9a-redis',
      'Scenario 9a: zero Redis round trips per borrow of an open connection (cluster budget)',
      subject(results, '9a', 'core+cluster')?.metrics.redisCallsPerOp?.max,
      (v) => v === 0,
      (v) => `${v === 0 ? 'no' : v.toFixed(4)} Redis call${v === 1 ? '' : 's'} per borrow (worst round)`,
    ),
  );
  // Issue 19: routing a call through a PoolCluster namespace costs at most 5% over one pool.
  const routed = subject(results, '10', 'cluster 1 node')?.timeVsFloor?.median;
  out.push(
    check(
      '10-routing',
      'Scenario 10: routing through createMysqlPoolCluster costs at most 5% per call over one createMysqlPool',
      routed === undefined ? undefined : routed - 1,
      (v) => v <= 0.05,
      (v) => `the cluster namespace takes ${Math.abs(v * 100).toFixed(1)}% ${v < 0 ? 'less' : 'more'} time per query than the pool`,
    ),
  );
  return out;
}
