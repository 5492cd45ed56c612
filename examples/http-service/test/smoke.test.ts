import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
function startService(extraEnv: NodeJS.ProcessEnv = {}) {
  const env: NodeJS.ProcessEnv = { ...process.env, PG_URL: databaseUrl, PORT: '0' };
  delete env.POOL_READ_TOKEN;
  delete env.POOL_ADMIN_TOKEN;
  delete env.OTEL_EXPORTER_OTLP_ENDPOINT;
  Object.assign(env, extraEnv);
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

/** What an OTLP/HTTP receiver (a Collector) got, by path: the JSON bodies. */
async function startOtlpReceiver() {
  const received: Record<string, unknown[]> = {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      (received[req.url ?? ''] ??= []).push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { endpoint: `http://127.0.0.1:${port}`, received, close: () => new Promise((r) => server.close(r)) };
}

type OtlpAttribute = { key: string; value: { stringValue?: string; intValue?: string | number } };
type OtlpSpan = { name: string; spanId: string; parentSpanId?: string; attributes: OtlpAttribute[] };
type OtlpMetric = { name: string; [kind: string]: unknown };

it('exports a span per request with the pool wait spans under it, and the pool metrics, over OTLP/HTTP', async () => {
  const receiver = await startOtlpReceiver();
  try {
    const service = startService({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, POOL_WAIT_SPAN_MS: '0' });
    const [, base] = await service.waitFor(/^Listening on (http:\/\/127\.0\.0\.1:\d+)$/m);
    await service.waitFor(/^ {2}OpenTelemetry: traces and metrics to http:\/\/127\.0\.0\.1:\d+ over OTLP\/HTTP$/m);
    const created = await fetch(`${base}/notes`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"text":"traced"}',
    });
    expect(created.status).toBe(201);
    // Prometheus keeps working beside OpenTelemetry.
    expect(await (await fetch(`${base}/metrics`)).text()).toMatch(
      /^db_client_connection_count\{pool_name="http-service",state="idle"\} \d+$/m,
    );
    service.proc.kill('SIGTERM');
    expect(await service.exited).toBe(0);
    expect(service.output().stderr).toBe('');

    const spans = (receiver.received['/v1/traces'] ?? []).flatMap((body) =>
      (body as { resourceSpans: { scopeSpans: { spans: OtlpSpan[] }[] }[] }).resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) => s.spans),
      ),
    );
    const request = spans.find((s) => s.name === 'POST /notes');
    expect(request).toBeDefined();
    const wait = spans.find((s) => s.name === 'pool.acquire' && s.parentSpanId === request?.spanId);
    expect(wait?.attributes).toEqual(
      expect.arrayContaining([
        { key: 'db.client.connection.pool.name', value: { stringValue: 'http-service' } },
        { key: 'connection_pool.acquire.outcome', value: { stringValue: 'acquired' } },
      ]),
    );

    const metrics = (receiver.received['/v1/metrics'] ?? []).flatMap((body) =>
      (body as { resourceMetrics: { scopeMetrics: { metrics: OtlpMetric[] }[] }[] }).resourceMetrics.flatMap((r) =>
        r.scopeMetrics.flatMap((s) => s.metrics),
      ),
    );
    const names = new Set(metrics.map((m) => m.name));
    for (const name of [
      'db.client.connection.count',
      'db.client.connection.max',
      'db.client.connection.pending_requests',
      'db.client.connection.timeouts',
    ]) {
      expect(names).toContain(name);
    }
    const count = metrics.find((m) => m.name === 'db.client.connection.count') as unknown as {
      sum: { dataPoints: { attributes: OtlpAttribute[] }[] };
    };
    expect(
      count.sum.dataPoints.map((p) => p.attributes.find((a) => a.key === 'db.client.connection.pool.name')?.value.stringValue),
    ).toContain('http-service');
  } finally {
    await receiver.close();
  }
});
