/**
 * Issue 21's benchmark: what adaptive sizing (@pool/adaptive) finds on the real PostgreSQL, against a
 * sweep of fixed pool sizes, and how it follows a capacity change. Run: `pnpm --filter @pool/bench
 * bench:adaptive` (see bench/README.md#adaptive-sizing). Writes results/adaptive.{json,md} and
 * results/adaptive-capacity.svg.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { adaptiveLimit, type LimitChange } from '@pool/adaptive';
import { ConnectionPool } from '@pool/core';
import { PrivatePostgres, runCommand } from '@pool/test-servers';
import pg from 'pg';
import { closedLoop, type LoopResult } from './adaptive/closed-loop.js';
import { type LimitPoint, limitChartSvg } from './adaptive/limit-chart.js';

/** The shared PostgreSQL, or (with `--database-cpus`) a private one pinned to those CPUs. */
let pgUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const CALLERS = 200;

const { values: args } = parseArgs({
  options: {
    rounds: { type: 'string', default: '2' },
    sizes: { type: 'string', default: '1,2,4,8,16,32,64' },
    warmup: { type: 'string', default: '2000' },
    'adaptive-warmup': { type: 'string', default: '15000' },
    measure: { type: 'string', default: '8000' },
    'query-ms': { type: 'string', default: '5' },
    part: { type: 'string', default: 'sweep,capacity' },
    out: { type: 'string', default: 'results' },
    /**
     * CPUs (a taskset list, e.g. `1`) for a private PostgreSQL started for the run; the benchmark itself
     * runs on the others. On a machine where client and database share few cores, this gives the
     * database cores of its own, as in production, so the client's CPU does not shape the curve.
     */
    'database-cpus': { type: 'string' },
  },
});
const rounds = Number(args.rounds);
const sizes = String(args.sizes).split(',').map(Number);
const parts = new Set(String(args.part).split(','));

async function openClient(): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: pgUrl, application_name: 'pool-bench-adaptive' });
  await client.connect();
  return client;
}

const factory = { create: openClient, close: (c: pg.Client) => c.end() };

/** Finds the generate_series length whose sum takes about `targetMs` alone on the server. */
async function calibrate(targetMs: number): Promise<{ sql: string; n: number; ms: number }> {
  const client = await openClient();
  let n = 100_000;
  let ms = 0;
  for (let i = 0; i < 4; i++) {
    const times: number[] = [];
    for (let k = 0; k < 9; k++) {
      const t = performance.now();
      await client.query(`SELECT sum(i) FROM generate_series(1, ${n}) i`);
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    ms = times[4] as number;
    n = Math.max(1_000, Math.round((n * targetMs) / ms));
  }
  await client.end();
  return { sql: `SELECT sum(i) FROM generate_series(1, ${n}) i`, n, ms };
}

interface SweepRun extends LoopResult {
  config: string;
  round: number;
  /** Adaptive only: the limit at the end, and its mean over the measuring window. */
  limit?: number;
  meanLimit?: number;
}

async function runConfig(config: string, sql: string, round: number): Promise<SweepRun> {
  const warmupMs = Number(config === 'adaptive' ? args['adaptive-warmup'] : args.warmup);
  const measureMs = Number(args.measure);
  if (config === 'adaptive') {
    const pool = await ConnectionPool.create({ minSize: 0, maxSize: 64, acquireTimeoutMs: 120_000 }, factory);
    const limiter = adaptiveLimit(pool);
    const limits: number[] = [];
    const r = await closedLoop(pool, sql, {
      callers: CALLERS,
      warmupMs,
      measureMs,
      onTick: (t) => {
        if (t >= warmupMs) limits.push(limiter.limit);
      },
    });
    const limit = limiter.limit;
    await pool.close();
    return { ...r, config, round, limit, meanLimit: limits.reduce((a, b) => a + b, 0) / Math.max(1, limits.length) };
  }
  const size = Number(config);
  const pool = await ConnectionPool.create({ minSize: size, maxSize: size, initialSize: size, acquireTimeoutMs: 120_000 }, factory);
  const r = await closedLoop(pool, sql, { callers: CALLERS, warmupMs, measureMs });
  await pool.close();
  return { ...r, config, round };
}

function median(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

async function sweep(sql: string) {
  const configs = [...sizes.map(String), 'adaptive'];
  const runs: SweepRun[] = [];
  for (let round = 0; round < rounds; round++) {
    const order = configs.map((_, i) => configs[(i + round * 3) % configs.length] as string);
    for (const config of order) {
      const r = await runConfig(config, sql, round);
      runs.push(r);
      console.log(
        `round ${round + 1} ${config.padStart(8)}: ${r.throughput.toFixed(0)} q/s, p50 ${r.p50Ms.toFixed(1)} ms, p99 ${r.p99Ms.toFixed(1)} ms, use p99 ${r.useP99Ms.toFixed(1)} ms${r.limit === undefined ? '' : `, limit ${r.limit} (mean ${r.meanLimit?.toFixed(1)})`}`,
      );
    }
  }
  const summary = configs.map((config) => {
    const mine = runs.filter((r) => r.config === config);
    return {
      config,
      throughput: median(mine.map((r) => r.throughput)),
      p50Ms: median(mine.map((r) => r.p50Ms)),
      p99Ms: median(mine.map((r) => r.p99Ms)),
      useP99Ms: median(mine.map((r) => r.useP99Ms)),
      limit: config === 'adaptive' ? median(mine.map((r) => r.meanLimit as number)) : Number(config),
    };
  });
  const fixed = summary.filter((s) => s.config !== 'adaptive');
  const best = fixed.reduce((a, b) => (b.throughput > a.throughput ? b : a));
  const adaptive = summary.find((s) => s.config === 'adaptive') as (typeof summary)[number];
  const worst = summary.find((s) => s.config === '64');
  return {
    runs,
    summary,
    best: best.config,
    throughputRatio: adaptive.throughput / best.throughput,
    p99Ratio: adaptive.p99Ms / best.p99Ms,
    fixed64:
      worst === undefined
        ? null
        : {
            throughputRatio: worst.throughput / best.throughput,
            p99Ratio: worst.p99Ms / best.p99Ms,
            useP99Ratio: worst.useP99Ms / best.useP99Ms,
          },
  };
}

async function capacity(sql: string) {
  const totalS = 80;
  const load = { from: 30, to: 50 };
  const pool = await ConnectionPool.create({ minSize: 0, maxSize: 64, acquireTimeoutMs: 120_000 }, factory);
  const limiter = adaptiveLimit(pool);
  const changes: LimitChange[] = [];
  limiter.on('limitChanged', (c) => changes.push(c));
  const points: LimitPoint[] = [];
  const counter = { n: 0 };
  let lastN = 0;
  let lastT = 0;
  // The second load: 8 more sessions running the same query in a closed loop, on their own pool.
  const other = await ConnectionPool.create({ minSize: 0, maxSize: 8, acquireTimeoutMs: 120_000 }, factory);
  let otherRunning = false;
  let otherDone: Promise<unknown> = Promise.resolve();
  const t0 = performance.now();
  const main = closedLoop(pool, sql, {
    callers: CALLERS,
    warmupMs: 0,
    measureMs: totalS * 1000,
    counter,
    tickMs: 250,
    onTick: (ms) => {
      const t = ms / 1000;
      points.push({ t, limit: limiter.limit, throughput: ((counter.n - lastN) * 1000) / Math.max(1, ms - lastT) });
      lastN = counter.n;
      lastT = ms;
      if (!otherRunning && t >= load.from && t < load.to) {
        otherRunning = true;
        otherDone = Promise.all(
          Array.from({ length: 8 }, async () => {
            while (otherRunning) await other.use((c) => c.query(sql));
          }),
        );
      } else if (otherRunning && t >= load.to) {
        otherRunning = false;
      }
    },
  });
  await main;
  otherRunning = false;
  await otherDone;
  await other.close();
  await pool.close();
  const at = (t: number) => [...points].reverse().find((p) => p.t <= t)?.limit ?? Number.NaN;
  const before = at(load.from);
  const down = points.find((p) => p.t > load.from && p.limit < before);
  const during = points.filter((p) => p.t > load.from && p.t < load.to);
  const up = points.find((p) => p.t > load.to && p.limit >= before);
  return {
    load,
    points,
    changes: changes
      .map((c) => ({ ...c, t: 0 }))
      .map((c) => ({ reason: c.reason, previous: c.previous, limit: c.limit, latencyMs: c.latencyMs, throughput: c.throughput, at: c.at })),
    startedAt: Date.now() - (performance.now() - t0),
    limitBefore: before,
    minDuring: Math.min(...during.map((p) => p.limit)),
    downAfterS: down === undefined ? null : down.t - load.from,
    upAfterS: up === undefined ? null : up.t - load.to,
  };
}

const fmt = (v: number | null | undefined, d = 1) => (v === null || v === undefined || Number.isNaN(v) ? 'n/a' : v.toFixed(d));

/** Every CPU of the machine not in the taskset list `cpus` (e.g. `1` or `2-3`), as a taskset list. */
function otherCpus(cpus: string): string {
  const taken = new Set<number>();
  for (const part of cpus.split(',')) {
    const [a, b] = part.split('-').map(Number) as [number, number | undefined];
    if (!Number.isInteger(a) || (b !== undefined && !Number.isInteger(b)))
      throw new Error(`--database-cpus ${cpus}: not a CPU list such as 1 or 2-3`);
    for (let c = a; c <= (b ?? a); c++) taken.add(c);
  }
  const rest = os
    .cpus()
    .map((_, i) => i)
    .filter((i) => !taken.has(i));
  if (rest.length === 0) throw new Error(`--database-cpus ${cpus}: leaves no CPU for the benchmark itself`);
  return rest.join(',');
}

/**
 * A private PostgreSQL whose postmaster (so every backend it forks) runs on `cpus`, and this process
 * on the other CPUs.
 */
async function pinnedDatabase(cpus: string): Promise<{ server: PrivatePostgres; benchCpus: string }> {
  const benchCpus = otherCpus(cpus);
  const server = await PrivatePostgres.start({ settings: { max_connections: 300 } });
  const pid = server.status()?.pid;
  if (pid === undefined) throw new Error('the private PostgreSQL reports no postmaster pid');
  const children = (await runCommand('pgrep', ['-P', String(pid)]).catch(() => '')).split('\n').filter(Boolean);
  for (const p of [String(pid), ...children]) await runCommand('taskset', ['-a', '-p', '-c', cpus, p]);
  await runCommand('taskset', ['-a', '-p', '-c', benchCpus, String(process.pid)]);
  return { server, benchCpus };
}

async function main() {
  const load1 = os.loadavg();
  const pinned = args['database-cpus'] === undefined ? null : await pinnedDatabase(String(args['database-cpus']));
  if (pinned !== null) {
    pgUrl = pinned.server.url;
    console.log(`database: a private PostgreSQL on CPU ${args['database-cpus']} (${pgUrl}); benchmark on CPU ${pinned.benchCpus}`);
  }
  try {
    await measureAll(load1, pinned === null ? null : { databaseCpus: String(args['database-cpus']), benchCpus: pinned.benchCpus });
  } finally {
    await pinned?.server.destroy();
  }
}

async function measureAll(load1: number[], pinning: { databaseCpus: string; benchCpus: string } | null) {
  const cal = await calibrate(Number(args['query-ms']));
  console.log(`query: ${cal.sql} (${cal.ms.toFixed(1)} ms alone before the last calibration step)`);
  const result: Record<string, unknown> = {
    date: new Date().toISOString(),
    command: `node bench/dist/adaptive.js ${process.argv.slice(2).join(' ')}`.trim(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, loadavgStart: load1 },
    database: pinning === null ? 'shared' : { private: true, ...pinning },
    node: process.version,
    query: cal,
    callers: CALLERS,
  };
  const md: string[] = [];
  if (parts.has('sweep')) {
    const s = await sweep(cal.sql);
    result.sweep = s;
    md.push('| pool | throughput (q/s) | caller p50 (ms) | caller p99 (ms) | query p99 (ms) |', '| --- | ---: | ---: | ---: | ---: |');
    for (const r of s.summary) {
      const name =
        r.config === 'adaptive'
          ? `adaptive, maxSize 64 (mean limit ${fmt(r.limit)})`
          : `fixed ${r.config}${r.config === s.best ? ' (best)' : ''}`;
      md.push(`| ${name} | ${fmt(r.throughput, 0)} | ${fmt(r.p50Ms)} | ${fmt(r.p99Ms)} | ${fmt(r.useP99Ms)} |`);
    }
    md.push(
      '',
      `Adaptive vs best fixed (${s.best}): throughput ${fmt(s.throughputRatio * 100, 0)} % (target >= 90 %), caller p99 ${fmt(s.p99Ratio, 2)}x (target <= 1.25x).`,
    );
    if (s.fixed64 !== null) {
      md.push(
        `Fixed 64 vs best fixed: throughput ${fmt(s.fixed64.throughputRatio * 100, 0)} %, caller p99 ${fmt(s.fixed64.p99Ratio, 2)}x, query p99 ${fmt(s.fixed64.useP99Ratio, 1)}x.`,
      );
    }
  }
  if (parts.has('capacity')) {
    const c = await capacity(cal.sql);
    result.capacity = c;
    mkdirSync(String(args.out), { recursive: true });
    writeFileSync(
      join(String(args.out), 'adaptive-capacity.svg'),
      limitChartSvg(c.points, c.load, 'Adaptive limit (maxSize 64, 200 callers) while a second load runs on PostgreSQL'),
    );
    md.push(
      '',
      `Capacity change: limit ${fmt(c.limitBefore, 0)} before the second load; first lower ${fmt(c.downAfterS)} s after it started (target <= 10 s), lowest ${fmt(c.minDuring, 0)} during it; back to ${fmt(c.limitBefore, 0)} ${fmt(c.upAfterS)} s after it stopped (target <= 20 s).`,
    );
    console.log(`capacity: before ${c.limitBefore}, down after ${fmt(c.downAfterS)} s (min ${c.minDuring}), up after ${fmt(c.upAfterS)} s`);
  }
  (result.machine as Record<string, unknown>).loadavgEnd = os.loadavg();
  const where =
    pinning === null
      ? 'the shared PostgreSQL, on the same cores as the benchmark'
      : `a private PostgreSQL on CPU ${pinning.databaseCpus}, the benchmark on CPU ${pinning.benchCpus}`;
  md.push(
    '',
    `Machine: ${os.cpus().length} cores (${os.cpus()[0]?.model}), load average ${load1.map((v) => v.toFixed(2)).join(' ')} at the start, ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')} at the end; ${process.version}; ${where}.`,
  );
  mkdirSync(String(args.out), { recursive: true });
  writeFileSync(join(String(args.out), 'adaptive.json'), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(String(args.out), 'adaptive.md'), `${md.join('\n')}\n`);
  console.log(md.join('\n'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
