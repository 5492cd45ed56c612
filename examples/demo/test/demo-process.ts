/** Runs the demo as its own process, the way `pnpm demo` does, for the smoke tests. */
import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const children = new Set<ChildProcessWithoutNullStreams>();

afterEach(() => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
});

/** A running demo process. */
export type DemoProcess = ReturnType<typeof startDemo>;

/**
 * Starts the demo with `pnpm demo`'s command, on `databaseUrl` (`undefined`: the simulated database), on
 * a free port and with short intervals: health lines every 300 ms, a 300 ms warm-up, a leaked connection
 * every `leakEveryMs`, reported after 1 s and reclaimed after 2 s.
 */
export function startDemo(databaseUrl: string | undefined, { leakEveryMs = 400 }: { leakEveryMs?: number } = {}) {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEMO_PORT: '0', // any free port: the test reads the URL the demo prints
    DEMO_HEALTH_INTERVAL_MS: '300',
    DEMO_WARMUP_MS: '300',
    DEMO_LEAK_EVERY_MS: String(leakEveryMs),
    DEMO_LEAK_THRESHOLD_MS: '1000', // above the longest legitimate hold (a 900 ms report)
  };
  if (databaseUrl === undefined) delete env.DATABASE_URL;
  else env.DATABASE_URL = databaseUrl;
  delete env.DEMO_DURATION_MS;
  const proc = spawn(process.execPath, ['--conditions=@pool/source', '--import', 'tsx', 'src/main.ts'], { cwd: root, env });
  children.add(proc);
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk) => (stdout += chunk));
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  /** Resolves once `pattern` has appeared on stdout or stderr. */
  const waitFor = async (pattern: RegExp): Promise<void> => {
    while (!pattern.test(stdout) && !pattern.test(stderr)) {
      if (proc.exitCode !== null) throw new Error(`the demo exited (${proc.exitCode}) before printing ${pattern}:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  return { proc, exited, waitFor, output: () => ({ stdout, stderr }) };
}

/** The management server the demo printed: its base URL and the read token's `Authorization` header. */
export function management(demo: DemoProcess): { base: string; auth: { authorization: string } } {
  const dashboard = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/dashboard#token=([\w-]+)$/m.exec(demo.output().stdout);
  expect(dashboard).not.toBeNull();
  const [, base, token] = dashboard as RegExpExecArray;
  return { base: base as string, auth: { authorization: `Bearer ${token}` } };
}

/** Fetches the dashboard page (public) and checks it is the HTML page. */
export async function expectDashboardPage(base: string): Promise<void> {
  const page = await fetch(`${base}/dashboard`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await page.text()).toContain('<html');
}

/** The pool-health line, with each tier's `active/max`. */
export function healthLinePattern(enterpriseMax: number, standardMax: number): RegExp {
  return new RegExp(
    `^Pool health: [\\d.]+% efficient, \\d+ active \\(\\d+ open, \\d+ waiting; \\d+ req/s; \\d+ failed, [\\d.]+% served; p99 wait [\\d.]+ ms; ` +
      `enterprise \\d+/${enterpriseMax}, standard \\d+/${standardMax}`,
    'm',
  );
}

/** Waits for the buggy handler's connection to be reported as a leak, then reclaimed. */
export async function expectLeakReportedAndReclaimed(demo: DemoProcess): Promise<void> {
  await demo.waitFor(
    /^WARNING: \d+ leaks? detected! Oldest: connection \d+ held [\d.]+ s by tenant \w+ \(nightly-report\) in enterprise_tier$/m,
  );
  await demo.waitFor(/^Reclaimed connection \d+ from tenant \w+ \(nightly-report\) in enterprise_tier/m);
}

/**
 * Sends SIGINT and checks the clean shutdown: the shutdown lines, every connection opened was closed
 * (and, for the simulation, none left on the "server"), nothing but leak reports on stderr, status 0.
 * Returns the demo's output.
 */
export async function expectCleanShutdownOnSigint(
  demo: DemoProcess,
  { simulated }: { simulated: boolean },
): Promise<{ stdout: string; stderr: string }> {
  demo.proc.kill('SIGINT');
  const code = await demo.exited;
  const { stdout, stderr } = demo.output();
  expect(stdout).toContain('SIGINT: shutting down...');
  expect(stdout).toMatch(/^Traffic stopped: \d+ requests served, /m);
  const onServer = simulated ? ', 0 on the server' : '';
  expect(stdout).toMatch(
    new RegExp(`^Shut down cleanly: pool closed, 0 connections open \\((\\d+) opened, \\1 closed${onServer}\\), nothing leaked\\.$`, 'm'),
  );
  // stderr holds the leak reports and nothing else (no error, no process warning).
  const unexpected = stderr
    .split('\n')
    .filter((line) => line !== '' && !/^(WARNING: \d+ leaks? detected! |Reclaimed connection \d+ )/.test(line));
  expect(unexpected).toEqual([]);
  expect(code).toBe(0);
  return { stdout, stderr };
}
