import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { InvalidConfigError, isPoolError, type PoolError } from '@pool/core';
import type { PoolMonitor, PoolMonitorOptions, PoolMonitorStatistics } from '@pool/monitoring';
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import {
  exportMetrics,
  getDashboardData,
  getPartitionStatistics,
  getPoolConfig,
  getPoolSize,
  getPoolStatistics,
  getQueueStatistics,
  listPartitions,
} from './api.js';
import { type Access, type AuthOptions, bearerToken, isLoopbackHost, TokenAuthenticator } from './auth.js';
import { DASHBOARD_JS } from './dashboard/client.js';
import { DASHBOARD_HTML } from './dashboard/page.js';
import { DASHBOARD_CSS } from './dashboard/styles.js';
import { ManagementError } from './errors.js';
import { exportPools, type MetricsFormat, monitorsOf, negotiateFormat, PrometheusProvider, type PrometheusSource } from './metrics.js';
import { type OpenApiDocument, openApiDocument } from './openapi.js';
import { leaksOf, type PoolEntry, type PoolsOption, resolvePools } from './pools.js';
import { type RedactOptions, redact, redactText } from './redact.js';
import { type JsonSchema, validateSchema } from './schema.js';
import { COMPONENT_SCHEMAS } from './schemas.js';

/** Cross-origin access, off unless configured. */
export interface CorsOptions {
  /** Origins allowed to call the API from a browser, exactly as browsers send them (`https://ops.example.com`). */
  origins: readonly string[];
  /** How long browsers may cache a preflight answer, in seconds. Default `600`. */
  maxAgeSeconds?: number;
}

/** Options of {@link createManagementApp}. */
export interface ManagementAppOptions {
  /** The pools to manage: a record of named pools or entries, or a list (named by `name` or `pool.name`). */
  pools: PoolsOption;
  /**
   * Bearer tokens (`{ readToken, adminToken }`), or `false` to switch authentication off (then only
   * loopback clients are answered). Required: there is no unauthenticated default.
   */
  auth: AuthOptions;
  /** The path the app is served under, e.g. `'/admin'` (every route is prefixed). Default `''`. */
  basePath?: string;
  /** Browser access from other origins. Default: none (no CORS headers are sent). */
  cors?: CorsOptions | null;
  /** The largest request body accepted, in bytes; larger ones get 413. Default `16384`. */
  maxBodyBytes?: number;
  /**
   * A `PoolMonitor` is created for each pool given without one, so wait percentiles and throughput
   * are available. `false` switches that off; an object gives the monitors' options. Default
   * `{ windowMs: 60000, windowSlots: 12 }` (a one-minute window moving every 5 s).
   */
  monitor?: boolean | PoolMonitorOptions;
  /**
   * Prometheus text at `/metrics`: a source (`PrometheusCollector`, prom-client `Registry`), `true` to
   * have the app create `@pool/prometheus` collectors on private registries (loaded on first scrape;
   * needs `@pool/prometheus` and `prom-client` installed), or `false`. Default: served when every
   * monitor already has a collector, otherwise JSON and CSV only.
   */
  prometheus?: boolean | PrometheusSource | null;
  /** The web dashboard at `/dashboard`: `false` to leave it out, or its refresh interval. Default `{ refreshMs: 2000 }`. */
  dashboard?: boolean | { refreshMs?: number };
  /** More strings to redact from every response (passwords the app knows). The auth tokens always are. */
  secrets?: readonly string[];
  /** Called with unexpected errors (never with bad input). Default: a process warning (`POOL_MANAGEMENT_ERROR`). */
  onError?: (error: unknown) => void;
}

/** A Node.js request handler that also works as Express/Connect middleware (it calls `next` for paths outside `basePath`). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

/** A route of the management API (what the OpenAPI document describes). */
export interface RouteDefinition {
  readonly method: 'GET' | 'POST';
  /** The path, relative to `basePath`, with `:name` parameters (`/pools/:pool/size`). */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tag: 'pools' | 'partitions' | 'monitoring' | 'actions' | 'dashboard' | 'meta';
  /** `public` (the dashboard's static files), `read` (read or admin token), `admin` (admin token). */
  readonly access: 'public' | Access;
  readonly query?: Readonly<Record<string, { schema: JsonSchema; description: string }>>;
  /** The component schema of the JSON body, for actions. */
  readonly body?: string;
  readonly success: { status: 200 | 202; description: string; schema?: string; contentTypes: readonly string[] };
  /** Error statuses this route can answer besides 401/403/405 (documented in the OpenAPI document). */
  readonly errors: readonly number[];
}

interface RequestContext {
  readonly request: Request;
  readonly params: Readonly<Record<string, string>>;
  readonly query: Readonly<Record<string, string>>;
  readonly body: Record<string, unknown>;
  readonly entry: PoolEntry | undefined;
}

interface Route extends RouteDefinition {
  readonly pattern: RegExp;
  handle(ctx: RequestContext): Promise<Response> | Response;
}

type Env = { Bindings: { incoming?: IncomingMessage } };

const JSON_TYPE = 'application/json; charset=utf-8';
const FORMAT_QUERY = {
  format: {
    schema: { type: 'string', enum: ['prometheus', 'json', 'csv'] } as JsonSchema,
    description:
      'The format; overrides the Accept header (text/plain or application/openmetrics-text: Prometheus, application/json, text/csv).',
  },
};
const DEFAULT_MONITOR: PoolMonitorOptions = { windowMs: 60_000, windowSlots: 12 };
const OPTION_KEYS = ['pools', 'auth', 'basePath', 'cors', 'maxBodyBytes', 'monitor', 'prometheus', 'dashboard', 'secrets', 'onError'];
/** A path parameter: 1 to 256 characters, none of them a control character. */
function validParam(value: string): boolean {
  if (value.length === 0 || value.length > 256) return false;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return false;
  }
  return true;
}

function patternOf(path: string): RegExp {
  const source = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([a-zA-Z]+)/g, '(?<$1>[^/]+)');
  return new RegExp(`^${source}$`);
}

function jsonResponse(status: number, data: unknown, redaction: RedactOptions): Response {
  return new Response(JSON.stringify(redact(data, redaction)), { status, headers: { 'content-type': JSON_TYPE } });
}

function textResponse(body: string, contentType: string, extra: Record<string, string> = {}): Response {
  return new Response(body, { status: 200, headers: { 'content-type': contentType, ...extra } });
}

function checkOptions(options: unknown): ManagementAppOptions {
  if (typeof options !== 'object' || options === null) {
    throw new InvalidConfigError('options', options, 'must be { pools, auth, ... }');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!OPTION_KEYS.includes(key))
      throw new InvalidConfigError(key, '[value]', `is not a management option; known: ${OPTION_KEYS.join(', ')}`);
  }
  if (!('auth' in o) || o.auth === undefined) {
    throw new InvalidConfigError(
      'auth',
      undefined,
      "is required: give { readToken, adminToken } (at least 16 characters each, e.g. crypto.randomBytes(32).toString('base64url')), or false to switch authentication off for loopback-only use",
    );
  }
  if (o.basePath !== undefined && (typeof o.basePath !== 'string' || !/^(\/[A-Za-z0-9._~-]+)*$/.test(o.basePath))) {
    throw new InvalidConfigError('basePath', o.basePath, "must be '' or a path such as '/admin' (no trailing slash)");
  }
  if (
    o.maxBodyBytes !== undefined &&
    (typeof o.maxBodyBytes !== 'number' || !Number.isInteger(o.maxBodyBytes) || o.maxBodyBytes < 64 || o.maxBodyBytes > 1_048_576)
  ) {
    throw new InvalidConfigError('maxBodyBytes', o.maxBodyBytes, 'must be an integer between 64 and 1048576');
  }
  if (o.cors != null) {
    const c = o.cors as Record<string, unknown>;
    if (typeof c !== 'object' || !Array.isArray(c.origins) || c.origins.length === 0) {
      throw new InvalidConfigError('cors.origins', c.origins, 'must be a non-empty array of origins such as https://ops.example.com');
    }
    for (const [i, origin] of (c.origins as unknown[]).entries()) {
      if (typeof origin !== 'string' || !/^https?:\/\/[^/\s]+$/.test(origin)) {
        throw new InvalidConfigError(
          `cors.origins[${i}]`,
          origin,
          "must be an origin such as 'https://ops.example.com' (scheme and host, no path, no '*')",
        );
      }
    }
    if (
      c.maxAgeSeconds !== undefined &&
      (typeof c.maxAgeSeconds !== 'number' || !Number.isInteger(c.maxAgeSeconds) || c.maxAgeSeconds < 0 || c.maxAgeSeconds > 86_400)
    ) {
      throw new InvalidConfigError('cors.maxAgeSeconds', c.maxAgeSeconds, 'must be an integer between 0 and 86400');
    }
  }
  if (o.monitor !== undefined && typeof o.monitor !== 'boolean' && (typeof o.monitor !== 'object' || o.monitor === null)) {
    throw new InvalidConfigError('monitor', o.monitor, 'must be true, false or PoolMonitor options');
  }
  const p = o.prometheus;
  if (p != null && typeof p !== 'boolean' && (typeof p !== 'object' || typeof (p as PrometheusSource).metrics !== 'function')) {
    throw new InvalidConfigError(
      'prometheus',
      p,
      'must be true, false, or a source with metrics() and contentType (a PrometheusCollector or prom-client Registry)',
    );
  }
  const d = o.dashboard;
  if (d !== undefined && typeof d !== 'boolean') {
    const refresh = (d as { refreshMs?: unknown } | null)?.refreshMs;
    if (
      typeof d !== 'object' ||
      d === null ||
      Object.keys(d).some((k) => k !== 'refreshMs') ||
      (refresh !== undefined && (typeof refresh !== 'number' || !Number.isInteger(refresh) || refresh < 250 || refresh > 3_600_000))
    ) {
      throw new InvalidConfigError(
        'dashboard',
        d,
        'must be true, false or { refreshMs } with refreshMs an integer between 250 and 3600000',
      );
    }
  }
  if (o.secrets !== undefined && (!Array.isArray(o.secrets) || o.secrets.some((s) => typeof s !== 'string'))) {
    throw new InvalidConfigError('secrets', '[value]', 'must be an array of strings');
  }
  if (o.onError !== undefined && typeof o.onError !== 'function') throw new InvalidConfigError('onError', o.onError, 'must be a function');
  return options as ManagementAppOptions;
}

function defaultOnError(error: unknown): void {
  const message = error instanceof Error ? `${error.name}: ${redactText(error.message)}` : redactText(String(error));
  process.emitWarning(`@pool/management: unexpected error while answering a request: ${message}`, { code: 'POOL_MANAGEMENT_ERROR' });
}

/**
 * The management API as an app: a hono application (web-standard `Request` → `Response`) that
 * serves the JSON endpoints, the operator actions, `/metrics`, the OpenAPI document and the web
 * dashboard for several named pools. Mount it in any server: `app.fetch` (a fetch handler),
 * `app.handler` (node:http, Express), or `app.hono` (a hono parent app). Create it with
 * {@link createManagementApp}; run it on its own with `serveManagement`.
 */
export class ManagementApp {
  /** The hono application (mount with `parent.route('/', app.hono)`). */
  readonly hono: Hono<Env>;
  /** The path every route is under (`''` or e.g. `'/admin'`). */
  readonly basePath: string;
  /** The routes, as the OpenAPI document describes them. */
  readonly routes: readonly RouteDefinition[];
  /** The OpenAPI 3.1 document of this app (also served at `<basePath>/openapi.json`). */
  readonly openapi: OpenApiDocument;
  /** Whether authentication is on. */
  readonly authenticated: boolean;
  /** The web-standard fetch handler. */
  readonly fetch: (request: Request, env?: { incoming?: IncomingMessage }) => Promise<Response>;
  /** A node:http request listener, also usable as Express/Connect middleware. */
  readonly handler: NodeHandler;
  readonly #entries: Map<string, PoolEntry>;
  readonly #owned: PoolMonitor[];
  readonly #prometheus: PrometheusProvider;
  readonly #auth: TokenAuthenticator | null;
  readonly #redaction: RedactOptions;
  readonly #maxBody: number;
  readonly #refreshMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #routes: Route[];
  #closed = false;

  /** @internal Use {@link createManagementApp}. */
  constructor(options: ManagementAppOptions) {
    const o = checkOptions(options);
    this.#auth = o.auth === false ? null : new TokenAuthenticator(o.auth);
    this.authenticated = this.#auth !== null;
    this.#redaction = { secrets: [...(this.#auth?.secrets ?? []), ...(o.secrets ?? [])] };
    this.#maxBody = o.maxBodyBytes ?? 16_384;
    this.#onError = o.onError ?? defaultOnError;
    this.basePath = o.basePath ?? '';
    const dashboardOn = o.dashboard !== false;
    this.#refreshMs = typeof o.dashboard === 'object' ? (o.dashboard.refreshMs ?? 2_000) : 2_000;
    const autoMonitor = o.monitor === false ? false : typeof o.monitor === 'object' ? o.monitor : DEFAULT_MONITOR;
    const { entries, owned } = resolvePools(o.pools, autoMonitor);
    this.#entries = entries;
    this.#owned = owned;
    this.#prometheus = new PrometheusProvider(o.prometheus, monitorsOf(entries.values()));
    this.#routes = this.#defineRoutes(dashboardOn);
    this.routes = this.#routes.map(({ pattern: _p, handle: _h, ...def }) => Object.freeze(def));
    this.openapi = openApiDocument(this.routes, this.basePath, this.#auth?.hasAdmin ?? true);
    this.hono = this.#build(o.cors ?? null);
    this.fetch = async (request, env) => this.hono.fetch(request, env ?? {});
    const listener = getRequestListener((request, env) => this.hono.fetch(request, env), { overrideGlobalObjects: false });
    const base = this.basePath;
    this.handler = (req, res, next) => {
      const url = req.url ?? '/';
      if (next !== undefined && base !== '' && url !== base && !url.startsWith(`${base}/`) && !url.startsWith(`${base}?`)) {
        next();
        return;
      }
      listener(req, res).catch((error: unknown) => {
        this.#onError(error);
        if (!res.headersSent)
          res.writeHead(500, { 'content-type': JSON_TYPE }).end(JSON.stringify(new ManagementError(500, 'Internal error').toBody()));
        else res.destroy();
      });
    };
  }

  /** The names of the managed pools. */
  get poolNames(): string[] {
    return [...this.#entries.keys()];
  }

  /** Closes the monitors and Prometheus collectors the app created (not the pools, nor what you passed in). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const m of this.#owned) m.close();
    this.#prometheus.close();
  }

  /** `using app = createManagementApp(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  // ------------------------------------------------------------------------------------------ routes

  #defineRoutes(dashboard: boolean): Route[] {
    const read = 'read' as const;
    const admin = 'admin' as const;
    const r = (def: RouteDefinition, handle: Route['handle']): Route => ({ ...def, pattern: patternOf(def.path), handle });
    const json = (data: unknown, status = 200) => jsonResponse(status, data, this.#redaction);
    const poolErrors = [404];
    const routes: Route[] = [
      r(
        {
          method: 'GET',
          path: '/openapi.json',
          operationId: 'getOpenApi',
          summary: 'This API, described in OpenAPI 3.1',
          tag: 'meta',
          access: read,
          success: { status: 200, description: 'The OpenAPI document', contentTypes: ['application/json'] },
          errors: [],
        },
        () => new Response(JSON.stringify(this.openapi), { headers: { 'content-type': JSON_TYPE } }),
      ),
      r(
        {
          method: 'GET',
          path: '/pools',
          operationId: 'listPools',
          summary: 'The managed pools, with their size and what is configured for each',
          tag: 'pools',
          access: read,
          success: { status: 200, description: 'The pools', schema: 'PoolList', contentTypes: ['application/json'] },
          errors: [],
        },
        () => json({ pools: [...this.#entries.values()].map((e) => this.#summary(e)) }),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool',
          operationId: 'getPool',
          summary: 'One pool: size, configuration and counters',
          tag: 'pools',
          access: read,
          success: { status: 200, description: 'The pool', schema: 'PoolDetails', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => {
          const e = entry as PoolEntry;
          return json({
            ...this.#summary(e),
            config: getPoolConfig(e.pool, this.#redaction),
            statistics: getPoolStatistics(e.pool, this.#redaction),
          });
        },
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/config',
          operationId: 'getPoolConfig',
          summary: "The pool's configuration (the seed's get_pool_config); credentials redacted",
          tag: 'pools',
          access: read,
          success: { status: 200, description: 'The configuration', schema: 'PoolConfig', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => json(getPoolConfig((entry as PoolEntry).pool, this.#redaction)),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/statistics',
          operationId: 'getPoolStatistics',
          summary: "The pool's counters (the seed's get_pool_statistics)",
          tag: 'pools',
          access: read,
          success: { status: 200, description: 'The counters', schema: 'PoolStatistics', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => json(getPoolStatistics((entry as PoolEntry).pool, this.#redaction)),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/size',
          operationId: 'getPoolSize',
          summary: "Total, idle, active, pending and waiting (the seed's get_pool_size)",
          tag: 'pools',
          access: read,
          success: { status: 200, description: 'The size', schema: 'PoolSize', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => json(getPoolSize((entry as PoolEntry).pool)),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/connections',
          operationId: 'listConnections',
          summary: 'Every open connection: state, age, borrows, current borrow (context redacted)',
          tag: 'pools',
          access: read,
          success: { status: 200, description: 'The connections', schema: 'ConnectionList', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => json({ connections: (entry as PoolEntry).pool.connections().map(({ owner: _owner, stack: _stack, ...c }) => c) }),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/monitor',
          operationId: 'getMonitorStatistics',
          summary: 'PoolMonitor statistics: wait/hold/create percentiles, throughput, usage patterns, efficiency',
          tag: 'monitoring',
          access: read,
          success: { status: 200, description: 'The monitor statistics', schema: 'MonitorStatistics', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => {
          const stats = this.#monitorStatistics(entry as PoolEntry);
          if (stats === null)
            throw new ManagementError(
              404,
              `Pool '${(entry as PoolEntry).name}' has no monitor (the app's monitor option is false and none was given)`,
            );
          return json(stats);
        },
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/queue',
          operationId: 'getQueueStatistics',
          summary: "The wait queue by priority (the seed's get_queue_statistics)",
          tag: 'pools',
          access: read,
          success: { status: 200, description: 'The queue', schema: 'QueueStatistics', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => json(getQueueStatistics((entry as PoolEntry).queue)),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/partitions',
          operationId: 'listPartitions',
          summary: "The pool's partitions (the seed's list_partitions)",
          tag: 'partitions',
          access: read,
          success: { status: 200, description: 'The partitions', schema: 'PartitionList', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => json({ partitions: listPartitions(this.#manager(entry as PoolEntry), this.#redaction) }),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/partition-statistics',
          operationId: 'getPartitionStatistics',
          summary: "Every partition's statistics, by id (the seed's get_partition_statistics)",
          tag: 'partitions',
          access: read,
          success: { status: 200, description: 'The statistics', schema: 'PartitionStatisticsMap', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => json(getPartitionStatistics(this.#manager(entry as PoolEntry), this.#redaction)),
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/partitions/:partition',
          operationId: 'getPartition',
          summary: 'One partition and its statistics',
          tag: 'partitions',
          access: read,
          success: { status: 200, description: 'The partition', schema: 'PartitionDetails', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry, params }) => {
          const e = entry as PoolEntry;
          const partition = this.#partition(e, params.partition as string);
          const statistics = (this.#manager(e).getPartitionStatistics() as Record<string, unknown>)[params.partition as string];
          return json({ partition, statistics });
        },
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/dashboard',
          operationId: 'getDashboardData',
          summary: "The DashboardProvider's snapshot (the seed's get_dashboard_data)",
          description:
            "The pool's own DashboardProvider, or one the app made over the pool's monitor. A provider covers every pool of its monitor; the app's own monitors watch one pool each.",
          tag: 'monitoring',
          access: read,
          success: { status: 200, description: 'The dashboard data', schema: 'DashboardData', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => {
          const e = entry as PoolEntry;
          if (e.dashboard === null) throw new ManagementError(404, `Pool '${e.name}' has no dashboard provider (it has no monitor)`);
          return json(getDashboardData(e.dashboard, this.#redaction));
        },
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/leaks',
          operationId: 'getDetectedLeaks',
          summary: "Borrows held past the leak threshold (the seed's get_detected_leaks)",
          description:
            "A LeakDetector's reports for this pool when one is configured, otherwise the borrows the pool flagged itself (leakDetectionThresholdMs).",
          tag: 'monitoring',
          access: read,
          success: { status: 200, description: 'The leaks', schema: 'LeakList', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => {
          const { source, reports } = leaksOf(entry as PoolEntry);
          return json({ source, leaks: reports });
        },
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/budget',
          operationId: 'getClusterBudget',
          summary: "The cluster-wide connection budget the pool's connections hold slots of (@pool/cluster)",
          description:
            "This instance's view of the budget (no Redis call): its state ('degraded' while Redis is unreachable, with the fallback cap in force), the global limit and use, leases held, waiting requests and counters. 404 when no budget is configured for the pool.",
          tag: 'monitoring',
          access: read,
          success: { status: 200, description: 'The budget', schema: 'ClusterBudget', contentTypes: ['application/json'] },
          errors: poolErrors,
        },
        ({ entry }) => {
          const e = entry as PoolEntry;
          if (e.budget === null) throw new ManagementError(404, `Pool '${e.name}' has no cluster budget configured`);
          return json(e.budget.statistics());
        },
      ),
      r(
        {
          method: 'GET',
          path: '/pools/:pool/export',
          operationId: 'exportMetrics',
          summary: "The pool's metrics export (the seed's export_metrics)",
          description:
            "With a configured exporter and no format asked for: the exporter's text in its own format. Otherwise this pool's monitor statistics in JSON (the @pool/monitoring schema) or CSV (its columns), as the format query or Accept header asks.",
          tag: 'monitoring',
          access: read,
          query: { format: { schema: { type: 'string', enum: ['json', 'csv'] }, description: 'json or csv; overrides the Accept header' } },
          success: { status: 200, description: 'The export', contentTypes: ['application/json', 'text/csv', 'text/plain'] },
          errors: [400, 404, 406],
        },
        async ({ entry, query, request }) => {
          const e = entry as PoolEntry;
          if (e.exporter !== null && query.format === undefined) {
            return textResponse(await exportMetrics(e.exporter, this.#redaction), e.exporter.contentType);
          }
          if (e.monitor === null) throw new ManagementError(404, `Pool '${e.name}' has no monitor and no exporter to export`);
          const format = this.#format(query.format as MetricsFormat | undefined, request, ['json', 'csv']) as 'json' | 'csv';
          const out = await exportPools([e], format);
          return textResponse(redactText(out.body, this.#redaction), out.contentType, { vary: 'Accept' });
        },
      ),
      r(
        {
          method: 'GET',
          path: '/metrics',
          operationId: 'getMetrics',
          summary: 'Metrics of every pool: Prometheus text, JSON or CSV',
          description:
            "Prometheus text (when configured) for scrapers, or every pool's monitor statistics as JSON or CSV. Chosen by the format query, else by the Accept header; without either, Prometheus when available, else JSON.",
          tag: 'monitoring',
          access: read,
          query: FORMAT_QUERY,
          success: {
            status: 200,
            description: 'The metrics',
            contentTypes: ['text/plain; version=0.0.4', 'application/json', 'text/csv'],
          },
          errors: [400, 406, 503],
        },
        async ({ query, request }) => {
          const available: MetricsFormat[] = this.#prometheus.available ? ['prometheus', 'json', 'csv'] : ['json', 'csv'];
          const format = this.#format(query.format as MetricsFormat | undefined, request, available);
          const out = format === 'prometheus' ? await this.#prometheus.render() : await exportPools([...this.#entries.values()], format);
          return textResponse(redactText(out.body, this.#redaction), out.contentType, { vary: 'Accept' });
        },
      ),
      r(
        {
          method: 'GET',
          path: '/overview',
          operationId: 'getOverview',
          summary: 'Everything the web dashboard shows, for every pool, from one snapshot',
          tag: 'dashboard',
          access: read,
          success: { status: 200, description: 'The overview', schema: 'Overview', contentTypes: ['application/json'] },
          errors: [],
        },
        () => json(this.overview()),
      ),
      r(
        {
          method: 'POST',
          path: '/pools/:pool/resize',
          operationId: 'resizePool',
          summary: 'Change minSize and/or maxSize (validated; shrinking closes idle connections now, borrowed ones as they return)',
          tag: 'actions',
          access: admin,
          body: 'ResizeRequest',
          success: { status: 200, description: 'The new bounds', schema: 'ResizeResult', contentTypes: ['application/json'] },
          errors: [400, 404, 409, 413, 415],
        },
        ({ entry, body }) => {
          const e = entry as PoolEntry;
          const current = e.pool.config;
          const minSize = (body.minSize as number | undefined) ?? current.minSize;
          const maxSize = (body.maxSize as number | undefined) ?? current.maxSize;
          if (minSize > maxSize) {
            const field = body.minSize !== undefined ? 'minSize' : 'maxSize';
            throw new ManagementError(
              400,
              `body.${field} = ${body[field]}: minSize (${minSize}) must not exceed maxSize (${maxSize})${body.maxSize === undefined ? ', the current maxSize' : body.minSize === undefined ? ', the current minSize' : ''}`,
              { field: `body.${field}` },
            );
          }
          const sizes: { minSize?: number; maxSize?: number } = {};
          if (body.minSize !== undefined) sizes.minSize = minSize;
          if (body.maxSize !== undefined) sizes.maxSize = maxSize;
          const config = e.pool.resize(sizes);
          return json({ minSize: config.minSize, maxSize: config.maxSize, size: getPoolSize(e.pool) });
        },
      ),
      r(
        {
          method: 'POST',
          path: '/pools/:pool/evict',
          operationId: 'evictIdle',
          summary: 'Soft eviction: close idle connections now, retire borrowed ones when they return, refill to minSize',
          tag: 'actions',
          access: admin,
          body: 'EmptyRequest',
          success: { status: 200, description: 'How many were closed now', schema: 'EvictResult', contentTypes: ['application/json'] },
          errors: [400, 404, 409, 413, 415],
        },
        ({ entry }) => {
          const e = entry as PoolEntry;
          const evicted = e.pool.evictIdle();
          return json({ evicted, size: getPoolSize(e.pool) });
        },
      ),
      r(
        {
          method: 'POST',
          path: '/pools/:pool/suspend',
          operationId: 'suspendPool',
          summary: 'Stop handing out connections (waiting callers keep waiting within their deadlines). Idempotent',
          tag: 'actions',
          access: admin,
          body: 'EmptyRequest',
          success: { status: 200, description: 'Suspended', schema: 'SuspendResult', contentTypes: ['application/json'] },
          errors: [400, 404, 409, 413, 415],
        },
        ({ entry }) => {
          const e = entry as PoolEntry;
          e.pool.suspend();
          return json({ suspended: e.pool.suspended, size: getPoolSize(e.pool) });
        },
      ),
      r(
        {
          method: 'POST',
          path: '/pools/:pool/resume',
          operationId: 'resumePool',
          summary: 'Hand out connections again and serve the waiters. Idempotent',
          tag: 'actions',
          access: admin,
          body: 'EmptyRequest',
          success: { status: 200, description: 'Resumed', schema: 'SuspendResult', contentTypes: ['application/json'] },
          errors: [400, 404, 409, 413, 415],
        },
        ({ entry }) => {
          const e = entry as PoolEntry;
          e.pool.resume();
          return json({ suspended: e.pool.suspended, size: getPoolSize(e.pool) });
        },
      ),
      r(
        {
          method: 'POST',
          path: '/pools/:pool/partitions/:partition/drain',
          operationId: 'drainPartition',
          summary: 'Drain a partition: refuse new acquires, serve or fail its waiters, remove it once its borrows are back',
          description: 'Answers 202 at once; GET the partition to follow it (state draining, then 404 once removed).',
          tag: 'actions',
          access: admin,
          body: 'DrainRequest',
          success: { status: 202, description: 'Draining', schema: 'DrainResult', contentTypes: ['application/json'] },
          errors: [400, 404, 409, 413, 415],
        },
        ({ entry, params, body }) => {
          const e = entry as PoolEntry;
          const manager = this.#manager(e);
          const id = params.partition as string;
          this.#partition(e, id);
          if (typeof manager.removePartition !== 'function') {
            throw new ManagementError(
              409,
              `The partition manager of pool '${e.name}' cannot drain partitions (it has no removePartition())`,
            );
          }
          const waiters = (body.waiters as 'serve' | 'fail' | undefined) ?? 'serve';
          manager.removePartition(id, { waiters }).catch((error: unknown) => this.#onError(error));
          return json({ partition: id, state: 'draining', waiters }, 202);
        },
      ),
    ];
    if (dashboard) {
      const page = (body: string, type: string, csp: string) => () =>
        new Response(body, { headers: { 'content-type': type, 'content-security-policy': csp, 'cache-control': 'no-cache' } });
      const assetCsp = "default-src 'none'; frame-ancestors 'none'";
      routes.push(
        r(
          {
            method: 'GET',
            path: '/dashboard',
            operationId: 'getDashboardPage',
            summary: 'The web dashboard (HTML; its data comes from /overview with a token)',
            tag: 'dashboard',
            access: 'public',
            success: { status: 200, description: 'The page', contentTypes: ['text/html'] },
            errors: [],
          },
          page(
            DASHBOARD_HTML,
            'text/html; charset=utf-8',
            "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
          ),
        ),
        r(
          {
            method: 'GET',
            path: '/dashboard/app.js',
            operationId: 'getDashboardScript',
            summary: "The dashboard's script",
            tag: 'dashboard',
            access: 'public',
            success: { status: 200, description: 'JavaScript', contentTypes: ['text/javascript'] },
            errors: [],
          },
          page(DASHBOARD_JS, 'text/javascript; charset=utf-8', assetCsp),
        ),
        r(
          {
            method: 'GET',
            path: '/dashboard/app.css',
            operationId: 'getDashboardStyles',
            summary: "The dashboard's stylesheet",
            tag: 'dashboard',
            access: 'public',
            success: { status: 200, description: 'CSS', contentTypes: ['text/css'] },
            errors: [],
          },
          page(DASHBOARD_CSS, 'text/css; charset=utf-8', assetCsp),
        ),
      );
    }
    return routes;
  }

  // ------------------------------------------------------------------------------------------ pipeline

  #build(corsOptions: CorsOptions | null): Hono<Env> {
    const app = new Hono<Env>();
    const hono = this.basePath === '' ? app : app.basePath(this.basePath);
    hono.use('*', async (c, next) => {
      await next();
      const h = c.res.headers;
      h.set('x-content-type-options', 'nosniff');
      h.set('referrer-policy', 'no-referrer');
      h.set('x-frame-options', 'DENY');
      if (!h.has('cache-control')) h.set('cache-control', 'no-store');
      if (!h.has('content-security-policy')) h.set('content-security-policy', "default-src 'none'; frame-ancestors 'none'");
    });
    if (corsOptions !== null) {
      const allowed = new Set(corsOptions.origins);
      hono.use(
        '*',
        cors({
          origin: (origin) => (allowed.has(origin) ? origin : null),
          allowMethods: ['GET', 'HEAD', 'POST'],
          allowHeaders: ['Authorization', 'Content-Type'],
          maxAge: corsOptions.maxAgeSeconds ?? 600,
        }),
      );
    }
    hono.use('*', async (c, next) => {
      const path = this.#relative(c.req.path) ?? c.req.path;
      const candidates = this.#routes.filter((route) => route.pattern.test(path));
      const route = candidates.find((x) => x.method === c.req.method || (x.method === 'GET' && c.req.method === 'HEAD'));
      const access = route?.access ?? (candidates.some((x) => x.access === 'public') ? 'public' : 'read');
      if (access !== 'public') this.#authorize(c, access);
      await next();
    });
    for (const route of this.#routes) {
      hono.on(route.method, route.path, (c) => this.#run(route, c));
    }
    app.notFound((c) => {
      const relative = this.#relative(c.req.path);
      const path = relative ?? c.req.path;
      const methods = relative === null ? [] : [...new Set(this.#routes.filter((r) => r.pattern.test(relative)).map((r) => r.method))];
      if (methods.length > 0) {
        const allow = methods.includes('GET') ? [...methods, 'HEAD'] : methods;
        return this.#error(
          new ManagementError(405, `${c.req.method} is not allowed on ${path}; allowed: ${allow.join(', ')}`, {
            headers: { allow: allow.join(', ') },
          }),
        );
      }
      return this.#error(new ManagementError(404, `No endpoint ${path}; the API is described at ${this.basePath}/openapi.json`));
    });
    app.onError((error) => this.#error(error));
    return app;
  }

  /** The path relative to `basePath`, or `null` when it is outside. */
  #relative(path: string): string | null {
    if (this.basePath === '') return path;
    if (path === this.basePath) return '/';
    return path.startsWith(`${this.basePath}/`) ? path.slice(this.basePath.length) : null;
  }

  #authorize(c: Context<Env>, access: Access): void {
    if (this.#auth === null) {
      const remote = c.env?.incoming?.socket?.remoteAddress;
      if (remote !== undefined && !isLoopbackHost(remote)) {
        throw new ManagementError(
          403,
          'Authentication is switched off, so only loopback clients are answered; configure auth tokens to serve other hosts',
        );
      }
      return;
    }
    const header = c.req.header('authorization');
    const token = bearerToken(header);
    const challenge = { 'www-authenticate': 'Bearer realm="pool-management"' };
    if (token === null) {
      throw new ManagementError(
        401,
        header === undefined
          ? 'Authentication required: send Authorization: Bearer <token>'
          : 'Malformed Authorization header: expected Bearer <token>',
        {
          headers: challenge,
        },
      );
    }
    const granted = this.#auth.check(token);
    if (granted === null)
      throw new ManagementError(401, 'The token is not valid', {
        headers: { 'www-authenticate': 'Bearer realm="pool-management", error="invalid_token"' },
      });
    if (access === 'admin' && granted !== 'admin') {
      throw new ManagementError(
        403,
        this.#auth.hasAdmin
          ? 'This action needs the admin token; the read token only reads'
          : 'This API is read-only: no admin token is configured',
      );
    }
  }

  async #run(route: Route, c: Context<Env>): Promise<Response> {
    const raw = c.req.param() as Record<string, string>;
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(raw)) {
      if (!validParam(value))
        throw new ManagementError(400, `path parameter ${name}: must be 1 to 256 characters without control characters`, {
          field: `path.${name}`,
        });
      params[name] = value;
    }
    const query = this.#query(route, new URL(c.req.url).searchParams);
    let entry: PoolEntry | undefined;
    if (params.pool !== undefined) {
      entry = this.#entries.get(params.pool);
      if (entry === undefined) {
        throw new ManagementError(
          404,
          `No pool named ${JSON.stringify(params.pool)}; known pools: ${[...this.#entries.keys()].join(', ')}`,
          { field: 'path.pool' },
        );
      }
    }
    const body = route.method === 'POST' ? await this.#body(route, c.req.raw) : {};
    return route.handle({ request: c.req.raw, params, query, body, entry });
  }

  #query(route: Route, search: URLSearchParams): Record<string, string> {
    const out: Record<string, string> = {};
    const known = route.query ?? {};
    for (const [key, value] of search) {
      const spec = known[key];
      if (spec === undefined) {
        const names = Object.keys(known);
        throw new ManagementError(
          400,
          `query.${key} is not a parameter of this endpoint${names.length === 0 ? ' (it takes none)' : `; known: ${names.join(', ')}`}`,
          {
            field: `query.${key}`,
          },
        );
      }
      if (key in out) throw new ManagementError(400, `query.${key} is given more than once`, { field: `query.${key}` });
      const violation = validateSchema(spec.schema, value, `query.${key}`);
      if (violation !== null) throw new ManagementError(400, violation.message, { field: violation.path });
      out[key] = value;
    }
    return out;
  }

  async #body(route: Route, request: Request): Promise<Record<string, unknown>> {
    const max = this.#maxBody;
    const length = request.headers.get('content-length');
    if (length !== null) {
      if (!/^\d+$/.test(length))
        throw new ManagementError(400, `Content-Length ${JSON.stringify(length)} is not a number`, { field: 'header.content-length' });
      if (Number(length) > max) throw new ManagementError(413, `The body is ${length} bytes, larger than the ${max} bytes accepted`);
    }
    let text = '';
    if (request.body !== null) {
      const reader = request.body.getReader();
      const chunks: Uint8Array[] = [];
      let size = 0;
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
          await reader.cancel().catch(() => {});
          throw new ManagementError(413, `The body is larger than the ${max} bytes accepted`);
        }
        chunks.push(value);
      }
      if (size > 0) {
        const type = (request.headers.get('content-type') ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
        if (type !== 'application/json' && !/^application\/[a-z0-9.+-]+\+json$/.test(type)) {
          throw new ManagementError(
            415,
            `The body must be JSON (Content-Type: application/json), not ${type === '' ? 'untyped' : JSON.stringify(type)}`,
            {
              field: 'header.content-type',
            },
          );
        }
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks));
        } catch {
          throw new ManagementError(400, 'The body is not valid UTF-8', { field: 'body' });
        }
      }
    }
    let body: unknown = {};
    if (text.trim() !== '') {
      try {
        body = JSON.parse(text);
      } catch (error) {
        throw new ManagementError(400, `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`, {
          field: 'body',
        });
      }
    }
    const schema = COMPONENT_SCHEMAS[route.body as string] as JsonSchema;
    const violation = validateSchema(schema, body, 'body', COMPONENT_SCHEMAS);
    if (violation !== null) throw new ManagementError(400, violation.message, { field: violation.path });
    return body as Record<string, unknown>;
  }

  #format(asked: MetricsFormat | undefined, request: Request, available: readonly MetricsFormat[]): MetricsFormat {
    if (asked !== undefined) {
      if (!available.includes(asked)) {
        throw new ManagementError(
          406,
          asked === 'prometheus'
            ? 'Prometheus text is not configured: pass prometheus: true (with @pool/prometheus and prom-client installed) or a PrometheusCollector to createManagementApp'
            : `Format ${asked} is not available here; available: ${available.join(', ')}`,
          { field: 'query.format' },
        );
      }
      return asked;
    }
    const accept = request.headers.get('accept');
    const format = negotiateFormat(accept, available);
    if (format === null) {
      throw new ManagementError(
        406,
        `None of the accepted types (${accept}) is available; this endpoint serves ${available.join(', ')} (ask with ?format=)`,
        {
          field: 'header.accept',
        },
      );
    }
    return format;
  }

  #error(error: unknown): Response {
    const m = this.#toManagementError(error);
    const body = m.toBody();
    body.error.message = redactText(body.error.message, this.#redaction);
    return new Response(JSON.stringify(body), { status: m.status, headers: { 'content-type': JSON_TYPE, ...m.headers } });
  }

  #toManagementError(error: unknown): ManagementError {
    if (error instanceof ManagementError) return error;
    if (isPoolError(error)) {
      const e = error as PoolError & { field?: unknown; argument?: unknown; reason?: unknown };
      switch (e.code) {
        case 'ERR_POOL_INVALID_CONFIG':
        case 'ERR_POOL_INVALID_ARGUMENT': {
          const name =
            typeof e.field === 'string' ? e.field : typeof e.argument === 'string' ? e.argument.replace(/^sizes\./, '') : undefined;
          return new ManagementError(400, e.message, { code: e.code, ...(name === undefined ? {} : { field: `body.${name}` }) });
        }
        case 'ERR_POOL_CLOSED':
          return new ManagementError(409, e.message, { code: e.code });
        case 'ERR_POOL_PARTITION':
          return new ManagementError(e.reason === 'unknown' ? 404 : 409, e.message, { code: e.code });
        case 'ERR_POOL_EXPORT_FORMAT':
          return new ManagementError(406, e.message, { code: e.code });
      }
    }
    this.#onError(error);
    return new ManagementError(500, 'Internal error while answering the request; the server log has the details');
  }

  // ------------------------------------------------------------------------------------------ data

  #summary(e: PoolEntry) {
    return { name: e.name, state: e.pool.state, suspended: e.pool.suspended, size: getPoolSize(e.pool), features: e.features };
  }

  #monitorStatistics(e: PoolEntry): PoolMonitorStatistics | null {
    if (e.monitor === null || e.monitorName === null || e.monitor.closed || e.monitor.getPool(e.monitorName) !== e.pool) return null;
    return e.monitor.statistics(e.monitorName);
  }

  #manager(e: PoolEntry) {
    if (e.partitions === null) throw new ManagementError(404, `Pool '${e.name}' has no partition manager configured`);
    return e.partitions;
  }

  #partition(e: PoolEntry, id: string): object {
    const list = this.#manager(e).listPartitions() as readonly { id?: unknown }[];
    const found = list.find((p) => p.id === id);
    if (found === undefined) {
      throw new ManagementError(
        404,
        `No partition ${JSON.stringify(id)} in pool '${e.name}'; known: ${list.map((p) => String(p.id)).join(', ') || 'none'}`,
        {
          field: 'path.partition',
        },
      );
    }
    return found;
  }

  /**
   * Everything the web dashboard shows, for every pool, from one consistent snapshot per pool (what
   * `GET /overview` returns). Plain JSON, redacted.
   */
  overview(): unknown {
    return redact(
      {
        timestamp: Date.now(),
        refreshMs: this.#refreshMs,
        readOnly: this.#auth !== null && !this.#auth.hasAdmin,
        pools: [...this.#entries.values()].map((e) => {
          const stats = e.pool.statistics();
          const monitor = this.#monitorStatistics(e);
          const leaks = leaksOf(e);
          const partitions =
            e.partitions === null
              ? null
              : Object.entries(e.partitions.getPartitionStatistics())
                  .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
                  .map(([, s]) => s);
          return {
            name: e.name,
            state: stats.state,
            suspended: stats.suspended,
            size: getPoolSize(e.pool),
            minSize: e.pool.config.minSize,
            maxSize: e.pool.config.maxSize,
            acquired: stats.acquired,
            acquireFailures: stats.acquireFailures,
            timeouts: stats.timeouts,
            successRate: stats.successRate,
            throughputPerSecond: monitor?.throughputPerSecond ?? null,
            windowSpanMs: monitor?.windowSpanMs ?? null,
            wait: monitor?.waitTimeHistogram ?? null,
            queue: getQueueStatistics(e.queue),
            partitions,
            leaks: { active: leaks.active, detected: leaks.detected, reports: leaks.reports },
          };
        }),
      },
      this.#redaction,
    );
  }
}

/**
 * Creates the management app for one or several pools. Authentication is required: pass
 * `auth: { readToken, adminToken }` (bearer tokens, at least 16 characters), or `auth: false` for
 * loopback-only use.
 *
 * @example
 * ```ts
 * const app = createManagementApp({
 *   pools: { main: pool, reports: { pool: reportsPool, partitions: manager } },
 *   auth: { readToken: process.env.POOL_READ_TOKEN, adminToken: process.env.POOL_ADMIN_TOKEN },
 * });
 * http.createServer(app.handler).listen(9470, '127.0.0.1');
 * ```
 */
export function createManagementApp(options: ManagementAppOptions): ManagementApp {
  return new ManagementApp(options);
}
