import { type ChildProcess, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { WorkerConfig, WorkerReport } from './cluster-worker.js';

const WORKER = fileURLToPath(new URL('./cluster-worker.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('../..', import.meta.url));

/** A child process running `cluster-worker.ts`. */
export class Worker {
  readonly child: ChildProcess;
  latest: WorkerReport | undefined;
  readonly exited: Promise<number | null>;
  #onReport: ((r: WorkerReport) => void)[] = [];

  constructor(readonly config: WorkerConfig) {
    this.child = fork(WORKER, [], {
      cwd: PACKAGE_DIR,
      execArgv: ['--import', 'tsx', '--conditions=@pool/source'],
      env: { ...process.env, WORKER_CONFIG: JSON.stringify(config) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    this.child.on('message', (m: WorkerReport) => {
      if (m?.type !== 'report') return;
      this.latest = m;
      for (const f of this.#onReport) f(m);
    });
    this.exited = new Promise((resolve) => this.child.once('exit', (code) => resolve(code)));
  }

  /** Resolves with the first report that satisfies `check`, or rejects after `timeoutMs`. */
  until(check: (r: WorkerReport) => boolean, timeoutMs: number, what: string): Promise<WorkerReport> {
    if (this.latest !== undefined && check(this.latest)) return Promise.resolve(this.latest);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#onReport = this.#onReport.filter((f) => f !== listener);
        reject(
          new Error(
            `worker ${this.config.index}: ${what} did not happen within ${timeoutMs} ms (last report: ${JSON.stringify(this.latest)})`,
          ),
        );
      }, timeoutMs);
      const listener = (r: WorkerReport): void => {
        if (!check(r)) return;
        clearTimeout(timer);
        this.#onReport = this.#onReport.filter((f) => f !== listener);
        resolve(r);
      };
      this.#onReport.push(listener);
    });
  }

  /** Asks the worker to stop its load, close its pool and budget, and exit; kills it if it hangs. */
  async stop(timeoutMs = 15_000): Promise<'stopped' | 'killed'> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return 'stopped';
    this.child.send({ type: 'stop' });
    const timer = new Promise<'killed'>((resolve) => setTimeout(() => resolve('killed'), timeoutMs).unref());
    const outcome = await Promise.race([this.exited.then(() => 'stopped' as const), timer]);
    if (outcome === 'killed') this.child.kill('SIGKILL');
    return outcome;
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}

/**
 * Counts, from PostgreSQL's own `pg_stat_activity`, the sessions whose `application_name` starts with
 * a prefix, as often as it can (one query in flight at a time), and keeps the maximum.
 */
export class ActivitySampler {
  readonly #client: pg.Client;
  readonly #prefix: string;
  #running = false;
  #loop: Promise<void> | undefined;
  max = 0;
  samples = 0;
  last = 0;
  /** The largest count per application_name seen in one sample. */
  readonly perApplication = new Map<string, number>();

  constructor(url: string, prefix: string) {
    this.#client = new pg.Client({ connectionString: url, application_name: 'cluster-test-sampler' });
    this.#prefix = prefix;
  }

  async start(): Promise<void> {
    await this.#client.connect();
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        const r = await this.#client.query<{ application_name: string; n: string }>(
          'SELECT application_name, count(*) AS n FROM pg_stat_activity WHERE starts_with(application_name, $1) GROUP BY application_name',
          [this.#prefix],
        );
        let total = 0;
        for (const row of r.rows) {
          const n = Number(row.n);
          total += n;
          if (n > (this.perApplication.get(row.application_name) ?? 0)) this.perApplication.set(row.application_name, n);
        }
        this.last = total;
        this.samples++;
        if (total > this.max) this.max = total;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop?.catch(() => {});
    await this.#client.end().catch(() => {});
  }
}

/** Sessions in `pg_stat_activity` whose `application_name` starts with `prefix`, counted once. */
export async function countSessions(url: string, prefix: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, application_name: 'cluster-test-counter' });
  await client.connect();
  try {
    const r = await client.query<{ n: string }>('SELECT count(*) AS n FROM pg_stat_activity WHERE starts_with(application_name, $1)', [
      prefix,
    ]);
    return Number(r.rows[0]?.n ?? 0);
  } finally {
    await client.end();
  }
}

/** Resolves after `ms` of real time (these tests run whole processes: their time is real). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `check` every 50 ms until it is true, or rejects after `timeoutMs` naming `what`. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await check()) return;
    await sleep(50);
  }
  throw new Error(`${what} did not happen within ${timeoutMs} ms`);
}
