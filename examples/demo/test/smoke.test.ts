import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
let child: ChildProcessWithoutNullStreams | undefined;

afterEach(() => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
});

/** Starts the demo the way `pnpm demo` does (simulated database), with short intervals. */
function startDemo() {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    DEMO_PORT: '0', // any free port: the test reads the URL the demo prints
    DEMO_HEALTH_INTERVAL_MS: '300',
    DEMO_WARMUP_MS: '300',
    DEMO_LEAK_EVERY_MS: '400',
    DEMO_LEAK_THRESHOLD_MS: '1000', // above the longest legitimate hold (a 900 ms report)
  };
  delete env.DATABASE_URL;
  delete env.DEMO_DURATION_MS;
  const proc = spawn(process.execPath, ['--conditions=@pool/source', '--import', 'tsx', 'src/main.ts'], { cwd: root, env });
  child = proc;
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

it('warms up, serves the dashboard and the API, reports pool health and leaks, and shuts down cleanly on SIGINT', async () => {
  const demo = startDemo();
  await demo.waitFor(/^Warm: /m);

  // The management server on 127.0.0.1: the dashboard page, and the API with the printed read token.
  const dashboard = /^Dashboard: (http:\/\/127\.0\.0\.1:\d+)\/dashboard#token=([\w-]+)$/m.exec(demo.output().stdout);
  expect(dashboard).not.toBeNull();
  const [, base, token] = dashboard as RegExpExecArray;
  const page = await fetch(`${base}/dashboard`);
  expect(page.status).toBe(200);
  expect(page.headers.get('content-type')).toMatch(/^text\/html/);
  expect(await page.text()).toContain('<html');
  const auth = { authorization: `Bearer ${token}` };
  const size = await fetch(`${base}/pools/app/size`, { headers: auth });
  expect(size.status).toBe(200);
  const figures = (await size.json()) as { total: number; active: number };
  expect(figures.total).toBeGreaterThanOrEqual(50); // the seed's initialSize
  const partitions = await fetch(`${base}/pools/app/partitions`, { headers: auth });
  const listed = (await partitions.json()) as { partitions: { id: string; routeKeys: string[] }[] };
  expect(listed.partitions.map((p) => p.id).sort()).toEqual(['enterprise_tier', 'standard_tier']);
  expect(listed.partitions.find((p) => p.id === 'enterprise_tier')?.routeKeys).toEqual(['acme_corp', 'globex', 'initech']);
  const metrics = await fetch(`${base}/metrics`, { headers: { ...auth, accept: 'text/plain' } });
  expect(await metrics.text()).toMatch(/^db_client_connection_count\{.*pool_name="app".*\} \d+/m);
  expect((await fetch(`${base}/pools/app/size`)).status).toBe(401); // no token, no data

  await demo.waitFor(
    /^Pool health: [\d.]+% efficient, \d+ active \(\d+ open, \d+ waiting; \d+ req\/s; p99 wait [\d.]+ ms; enterprise \d+\/100, standard \d+\/50/m,
  );
  // The buggy handler's connection is reported, then reclaimed.
  await demo.waitFor(
    /^WARNING: 1 leak detected! Oldest: connection \d+ held [\d.]+ s by tenant \w+ \(nightly-report\) in enterprise_tier$/m,
  );
  await demo.waitFor(/^Reclaimed connection \d+ from tenant \w+ \(nightly-report\) in enterprise_tier/m);

  demo.proc.kill('SIGINT');
  const code = await demo.exited;
  const { stdout, stderr } = demo.output();
  expect(stdout).toContain('SIGINT: shutting down...');
  expect(stdout).toMatch(/^Traffic stopped: \d+ requests served, /m);
  expect(stdout).toMatch(
    /^Shut down cleanly: pool closed, 0 connections open \((\d+) opened, \1 closed, 0 on the server\), nothing leaked\.$/m,
  );
  // stderr holds the leak reports and nothing else (no error, no process warning).
  const unexpected = stderr
    .split('\n')
    .filter((line) => line !== '' && !/^(WARNING: \d+ leaks? detected! |Reclaimed connection \d+ )/.test(line));
  expect(unexpected).toEqual([]);
  expect(code).toBe(0);
});
