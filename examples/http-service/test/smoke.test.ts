import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterEach, expect, it } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
const databaseUrl = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
let child: ChildProcessWithoutNullStreams | undefined;

afterEach(() => {
  if (child !== undefined && child.exitCode === null) child.kill('SIGKILL');
});

/** Starts the service the way `pnpm start` does, on a free port. */
function startService() {
  const env: NodeJS.ProcessEnv = { ...process.env, PG_URL: databaseUrl, PORT: '0' };
  delete env.POOL_READ_TOKEN;
  delete env.POOL_ADMIN_TOKEN;
  const proc = spawn(process.execPath, ['--conditions=@pool/source', '--import', 'tsx', 'src/main.ts'], { cwd: root, env });
  child = proc;
  let stdout = '';
  let stderr = '';
  proc.stdout.on('data', (chunk) => (stdout += chunk));
  proc.stderr.on('data', (chunk) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const waitFor = async (pattern: RegExp): Promise<RegExpExecArray> => {
    for (;;) {
      const match = pattern.exec(stdout);
      if (match !== null) return match;
      if (proc.exitCode !== null)
        throw new Error(`the service exited (${proc.exitCode}) before printing ${pattern}:\n${stdout}\n${stderr}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  return { proc, exited, waitFor, output: () => ({ stdout, stderr }) };
}

it('serves notes from PostgreSQL, metrics, the management API and dashboard, and stops gracefully on SIGTERM', async () => {
  const service = startService();
  const [, base] = await service.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:\d+)$/m);
  const [, token] = await service.waitFor(/^ {2}dashboard: \S+\/admin\/dashboard#token=([\w-]+)$/m);

  const created = await fetch(`${base}/notes`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: '{"text":"hello"}',
  });
  expect(created.status).toBe(201);
  const note = (await created.json()) as { id: number; text: string };
  expect(note.text).toBe('hello');
  expect(await (await fetch(`${base}/notes/${note.id}`)).json()).toMatchObject({ id: note.id, text: 'hello' });
  expect(await (await fetch(`${base}/notes`)).json()).toHaveLength(1);
  expect((await fetch(`${base}/notes/${note.id + 1000}`)).status).toBe(404);
  expect((await fetch(`${base}/notes`, { method: 'POST', body: 'not json' })).status).toBe(400);
  expect(await (await fetch(`${base}/healthz`)).json()).toMatchObject({ status: 'ok' });

  // Prometheus text: the pool's metrics beside the service's own.
  const metrics = await (await fetch(`${base}/metrics`)).text();
  expect(metrics).toMatch(/^db_client_connection_count\{pool_name="http-service",state="idle"\} \d+$/m);
  expect(metrics).toMatch(/^http_requests_total\{route="\/notes",status="201"\} 1$/m);
  expect(metrics).toMatch(/^http_requests_total\{route="\/notes\/:id",status="404"\} 1$/m);

  // The management API and dashboard under /admin, behind the token.
  expect((await fetch(`${base}/admin/pools`)).status).toBe(401);
  const pools = await fetch(`${base}/admin/pools`, { headers: { authorization: `Bearer ${token}` } });
  expect(((await pools.json()) as { pools: { name: string }[] }).pools.map((p) => p.name)).toEqual(['http-service']);
  const dashboard = await fetch(`${base}/admin/dashboard`);
  expect(dashboard.status).toBe(200);
  expect(await dashboard.text()).toContain('<html');

  service.proc.kill('SIGTERM');
  expect(await service.exited).toBe(0);
  const { stdout, stderr } = service.output();
  expect(stderr).toBe('');
  const table = /^Stopped cleanly: \d+ borrows served, pool closed \(0 connections open\), table (\w+) dropped\.$/m.exec(stdout)?.[1];
  expect(table).toBeDefined();
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    expect((await client.query('SELECT to_regclass($1) AS t', [table])).rows[0]?.t).toBeNull();
  } finally {
    await client.end();
  }
});
