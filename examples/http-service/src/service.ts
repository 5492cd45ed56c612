/**
 * A small JSON service on node:http, the way a production service wires the pool:
 *
 *   - one `createPgPool` for the process, with bounded waits, and every request's database work
 *     bounded by the request itself (a client that hangs up leaves the pool's queue at once);
 *   - pool errors mapped to HTTP: no connection in time is a 503 with `Retry-After`, not a 500;
 *   - `GET /metrics`: Prometheus text from prom-client's registry, the pool's metrics
 *     (`@pool/prometheus`) beside the service's own;
 *   - OpenTelemetry, when `OTEL_EXPORTER_OTLP_ENDPOINT` is set: a span per request, the pool's wait
 *     spans under it, and the pool's `db.client.connection.*` metrics (`@pool/opentelemetry`), over OTLP;
 *   - `/admin/*`: the management API and its dashboard (`@pool/management`), behind bearer tokens;
 *   - `GET /healthz`: can the pool serve a query right now;
 *   - a graceful shutdown: stop accepting, finish what is in flight, close the pool.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { ConnectionTimeoutError, PoolClosedError, PoolExhaustedError } from '@pool/core';
import { createManagementApp, type ManagementApp } from '@pool/management';
import { PoolMonitor } from '@pool/monitoring';
import { createPgPool, type PgConnection, type PgPool } from '@pool/pg';
import { PrometheusCollector } from '@pool/prometheus';
import { Counter, register } from 'prom-client';
import type { Telemetry } from './telemetry.js';

/** What {@link startService} needs. */
export interface ServiceOptions {
  databaseUrl: string;
  /** The table the notes live in (the example creates it and drops it on shutdown). */
  table: string;
  host: string;
  port: number;
  readToken: string;
  adminToken: string;
  /** OpenTelemetry, when the service exports it (see `startTelemetry`). */
  telemetry?: Telemetry | null;
}

/** A running service. */
export interface Service {
  readonly url: string;
  readonly pool: PgPool;
  /** Stops accepting requests, waits for those in flight, closes the pool; resolves with a summary line. */
  stop(): Promise<string>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startService(options: ServiceOptions): Promise<Service> {
  // One pool for the process. connectionTimeoutMillis bounds both the wait for a connection and a
  // connect; the statement cache prepares each parameterised query once per connection.
  const pool = createPgPool({
    connectionString: options.databaseUrl,
    max: 10,
    min: 1,
    idleTimeoutMillis: 60_000,
    connectionTimeoutMillis: 2_000,
    statementCacheSize: 50,
    application_name: 'pool-example-http-service',
    poolConfig: { maxWaitQueueSize: 100 }, // beyond 100 waiting requests, answer 503 at once
    poolOptions: { name: 'http-service' },
  });
  const table = escapeIdentifier(options.table);
  await pool.query(
    `CREATE TABLE IF NOT EXISTS ${table} (id serial PRIMARY KEY, text text NOT NULL, created_at timestamptz NOT NULL DEFAULT now())`,
  );

  // Metrics: the pool's, through a monitor, on prom-client's default registry beside the service's own.
  const monitor = new PoolMonitor(pool.pool);
  const collector = new PrometheusCollector(monitor);
  const requests = new Counter({ name: 'http_requests_total', help: 'HTTP requests served', labelNames: ['route', 'status'] });
  // The same pool through OpenTelemetry, when it is set up: metrics and wait spans.
  const telemetry = options.telemetry ?? null;
  telemetry?.instrument(pool.pool);

  // The management API and dashboard under /admin, reusing the same monitor and collector.
  const management: ManagementApp = createManagementApp({
    pools: { [pool.pool.name]: { pool: pool.pool, monitor } },
    auth: { readToken: options.readToken, adminToken: options.adminToken },
    basePath: '/admin',
    prometheus: collector,
  });

  /** Runs `fn` on a pooled connection, given up when the client goes away. */
  const withDb = <T>(res: ServerResponse, fn: (db: PgConnection) => Promise<T>): Promise<T> => {
    const gone = new AbortController();
    const onClose = (): void => {
      if (!res.writableFinished) gone.abort(new Error('the client closed the connection'));
    };
    res.once('close', onClose);
    return pool.use(fn, { signal: gone.signal }).finally(() => res.off('close', onClose));
  };

  /** Serves one request; `at.route` names the route for the metrics, also when it fails. */
  const routes = async (
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    at: { route: string },
  ): Promise<[status: number, body: unknown]> => {
    if (path === '/notes' && req.method === 'GET') {
      at.route = '/notes';
      const { rows } = await withDb(res, (db) => db.query(`SELECT id, text, created_at FROM ${table} ORDER BY id DESC LIMIT 50`));
      return [200, rows];
    }
    if (path === '/notes' && req.method === 'POST') {
      at.route = '/notes';
      const body = await readJson(req);
      if (typeof body !== 'object' || body === null || typeof (body as { text?: unknown }).text !== 'string') {
        throw new HttpError(400, 'expected a JSON body like {"text": "..."}');
      }
      const text = (body as { text: string }).text;
      const { rows } = await withDb(res, (db) =>
        db.query(`INSERT INTO ${table} (text) VALUES ($1) RETURNING id, text, created_at`, [text]),
      );
      return [201, rows[0]];
    }
    const match = /^\/notes\/(\d+)$/.exec(path);
    if (match !== null && req.method === 'GET') {
      at.route = '/notes/:id';
      const { rows } = await withDb(res, (db) => db.query(`SELECT id, text, created_at FROM ${table} WHERE id = $1`, [Number(match[1])]));
      if (rows.length === 0) throw new HttpError(404, `no note ${match[1]}`);
      return [200, rows[0]];
    }
    if (path === '/healthz' && req.method === 'GET') {
      at.route = '/healthz';
      await pool.use((db) => db.query('SELECT 1'), { timeoutMs: 1_000 });
      return [200, { status: 'ok', pool: pool.size() }];
    }
    throw new HttpError(404, `no route ${req.method} ${path}`);
  };

  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/admin' || path.startsWith('/admin/')) {
      management.handler(req, res);
      return;
    }
    if (path === '/metrics' && req.method === 'GET') {
      register
        .metrics()
        .then((text) => {
          res.writeHead(200, { 'content-type': register.contentType }).end(text);
        })
        .catch((error: unknown) => res.writeHead(500).end(String(error)));
      return;
    }
    const at = { route: 'unmatched' };
    const serve = (): Promise<number> =>
      routes(req, res, path, at).then(
        ([status, body]) => {
          requests.inc({ route: at.route, status });
          sendJson(res, status, body);
          return status;
        },
        (error: unknown) => {
          const [status, message, retry] = toHttp(error);
          requests.inc({ route: at.route, status });
          if (status === 500) console.error(error);
          sendJson(res, status, { error: message }, retry ? { 'retry-after': '1' } : {});
          return status;
        },
      );
    if (telemetry === null) {
      void serve();
      return;
    }
    // One span per request, active while it is served: the pool's wait spans (and a driver
    // instrumentation's query spans) become its children.
    void telemetry.tracer.startActiveSpan(`${req.method}`, { kind: SpanKind.SERVER }, (span) =>
      serve().then((status) => {
        span.updateName(`${req.method} ${at.route}`);
        span.setAttributes({ 'http.request.method': req.method ?? '', 'http.route': at.route, 'http.response.status_code': status });
        if (status >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
        span.end();
      }),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;

  let stopping: Promise<string> | undefined;
  return {
    url: `http://${options.host}:${port}`,
    pool,
    stop() {
      stopping ??= (async () => {
        // Stop accepting; idle keep-alive sockets are closed, requests in flight finish.
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
        management.close();
        collector.close();
        register.removeSingleMetric('http_requests_total');
        monitor.close();
        await pool.query(`DROP TABLE IF EXISTS ${table}`);
        await telemetry?.shutdown(); // exports the last spans and metrics while the pool is still open
        const stats = pool.statistics();
        await pool.end();
        return `Stopped cleanly: ${stats.acquired} borrows served, pool closed (${pool.size().total} connections open), table ${options.table} dropped.`;
      })();
      return stopping;
    },
  };
}

/** Pool errors are the database being busy or going away: 503 with Retry-After, not a 500. */
function toHttp(error: unknown): [status: number, message: string, retry: boolean] {
  if (error instanceof HttpError) return [error.status, error.message, false];
  if (error instanceof ConnectionTimeoutError) return [503, `the database is busy: no connection within ${error.timeoutMs} ms`, true];
  if (error instanceof PoolExhaustedError) return [503, 'the database is busy: too many requests are waiting', true];
  if (error instanceof PoolClosedError) return [503, 'the service is shutting down', true];
  return [500, 'internal error', false];
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...headers }).end(JSON.stringify(body));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > 64 * 1024) throw new HttpError(413, 'the body is larger than 64 KiB');
    chunks.push(chunk);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'the body is not JSON');
  }
}

function escapeIdentifier(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}
