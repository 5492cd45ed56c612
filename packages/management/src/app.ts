import type { IncomingMessage, ServerResponse } from 'node:http';
import { getRequestListener } from '@hono/node-server';
import { OpenAPIHono } from '@hono/zod-openapi';
import { isPoolError, now, type PoolError } from '@pool/core';
import type { PoolMonitor, PoolMonitorOptions, PoolMonitorStatistics } from '@pool/monitoring';
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { TokenAuthenticator } from './auth.js';
import { readJsonBody } from './body.js';
import { ManagementError } from './errors.js';
import { checkHistoryOptions, PoolHistory } from './history.js';
import { type MetricsFormat, monitorsOf, negotiateFormat, PrometheusProvider } from './metrics.js';
import { openApiDocument } from './openapi.js';
import { type CorsOptions, checkOptions, type ManagementAppOptions } from './options.js';
import { poolOverview, sample } from './overview.js';
import { type PoolEntry, resolvePools } from './pools.js';
import { type RedactOptions, redact, redactText } from './redact.js';
import { actionRoutes } from './routes/actions.js';
import { adaptiveRoutes } from './routes/adaptive.js';
import { dashboardRoutes } from './routes/dashboard.js';
import { type Env, JSON_TYPE, type RouteContext, type RouteDefinition, RouteTable } from './routes/define.js';
import { monitoringRoutes } from './routes/monitoring.js';
import { partitionRoutes } from './routes/partitions.js';
import { poolRoutes } from './routes/pools.js';
import {
  AuthFailureLimiter,
  authorize,
  checkOrigin,
  clientAddress,
  HostAllowList,
  type ManagementEnv,
  requireLoopback,
} from './security.js';
import type { PartitionManagerLike } from './types.js';

export type { CorsOptions, ManagementAppOptions } from './options.js';
export type { RouteDefinition } from './routes/define.js';

/** A Node.js request handler that also works as Express/Connect middleware (it calls `next` for paths outside `basePath`). */
export type NodeHandler = (req: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) => void;

const DEFAULT_MONITOR: PoolMonitorOptions = { windowMs: 60_000, windowSlots: 12 };
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

function patternOf(path: string): RegExp {
  const source = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([a-zA-Z]+)/g, '(?<$1>[^/]+)');
  return new RegExp(`^${source}$`);
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
 *
 * Every request passes, in order: the Host allow-list (403), the client check (without tokens:
 * loopback only, 403 when the transport cannot tell), for state-changing requests the cross-site check
 * (403), the bearer token with the per-client limit on failed attempts (401, 403, 429), then for
 * actions the bounded JSON body (415, 413, 400), then the route's schemas (400).
 */
export class ManagementApp {
  /** The hono application (mount with `parent.route('/', app.hono)`). */
  readonly hono: Hono<Env>;
  /** The path every route is under (`''` or e.g. `'/admin'`). */
  readonly basePath: string;
  /** The routes, as the OpenAPI document describes them. */
  readonly routes: readonly RouteDefinition[];
  /** Whether authentication is on. */
  readonly authenticated: boolean;
  /** The hosts requests may be addressed to (`serveManagement` adds the address it listens on). */
  readonly allowedHosts: HostAllowList;
  /**
   * The web-standard fetch handler. `env.remoteAddress` tells the app the client's address when your
   * server calls it (needed with `auth: false`, which answers loopback clients only and refuses a
   * request whose client it cannot tell); `env.incoming` is the Node request (`@hono/node-server`).
   */
  readonly fetch: (request: Request, env?: ManagementEnv) => Promise<Response>;
  /** A node:http request listener, also usable as Express/Connect middleware. */
  readonly handler: NodeHandler;
  readonly #entries: Map<string, PoolEntry>;
  readonly #owned: PoolMonitor[];
  readonly #watches: (() => void)[];
  readonly #prometheus: PrometheusProvider;
  readonly #auth: TokenAuthenticator | null;
  readonly #limiter: AuthFailureLimiter | null;
  readonly #redaction: RedactOptions;
  readonly #maxBody: number;
  readonly #refreshMs: number;
  readonly #onError: (error: unknown) => void;
  readonly #api: OpenAPIHono<Env>;
  readonly #patterns: { def: RouteDefinition; pattern: RegExp }[];
  readonly #corsOrigins: ReadonlySet<string>;
  readonly #history: Map<string, PoolHistory>;
  readonly #historyWindow: { windowMs: number; intervalMs: number };
  readonly #sampler: ReturnType<typeof setInterval>;
  readonly #failingSamples = new Set<string>();
  #openapi: object | undefined;
  #closed = false;

  /** @internal Use {@link createManagementApp}. */
  constructor(options: ManagementAppOptions) {
    const o = checkOptions(options);
    this.#auth = o.auth === false ? null : new TokenAuthenticator(o.auth);
    this.authenticated = this.#auth !== null;
    this.allowedHosts = new HostAllowList(o.allowedHosts ?? []);
    this.#limiter = this.#auth === null || o.authFailureLimit === false ? null : new AuthFailureLimiter(o.authFailureLimit ?? {});
    this.#historyWindow = checkHistoryOptions(o.history);
    this.#redaction = { secrets: [...(this.#auth?.secrets ?? []), ...(o.secrets ?? [])] };
    this.#maxBody = o.maxBodyBytes ?? 16_384;
    this.#onError = o.onError ?? defaultOnError;
    this.basePath = o.basePath ?? '';
    this.#refreshMs = typeof o.dashboard === 'object' ? (o.dashboard.refreshMs ?? 2_000) : 2_000;
    this.#corsOrigins = new Set(o.cors?.origins ?? []);
    const autoMonitor = o.monitor === false ? false : typeof o.monitor === 'object' ? o.monitor : DEFAULT_MONITOR;
    const { entries, owned, watches } = resolvePools(o.pools, autoMonitor);
    this.#entries = entries;
    this.#owned = owned;
    this.#watches = watches;
    this.#prometheus = new PrometheusProvider(o.prometheus, monitorsOf(entries.values()));

    this.#api = new OpenAPIHono<Env>();
    this.#api.use('*', (c, next) => this.#guard(c, next));
    const table = new RouteTable(this.#api);
    const ctx = this.#routeContext();
    poolRoutes(table, ctx);
    partitionRoutes(table, ctx);
    monitoringRoutes(table, ctx);
    adaptiveRoutes(table, ctx);
    actionRoutes(table, ctx);
    if (o.dashboard !== false) dashboardRoutes(table);
    this.routes = Object.freeze([...table.definitions]);
    this.#patterns = this.routes.map((def) => ({ def, pattern: patternOf(def.path) }));
    this.hono = this.#mount(o.cors ?? null);

    this.#history = new Map(
      [...entries.keys()].map((name) => [name, new PoolHistory(this.#historyWindow.windowMs, this.#historyWindow.intervalMs)]),
    );
    this.#sample();
    this.#sampler = setInterval(() => this.#sample(), this.#historyWindow.intervalMs);
    this.#sampler.unref?.();

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

  /** The OpenAPI 3.1 document of this app, generated from the routes' schemas (also served at `<basePath>/openapi.json`). */
  get openapi(): object {
    this.#openapi ??= openApiDocument(this.#api, this.basePath, this.#auth?.hasAdmin ?? true);
    return this.#openapi;
  }

  /** The names of the managed pools. */
  get poolNames(): string[] {
    return [...this.#entries.keys()];
  }

  /** Closes the monitors and Prometheus collectors the app created (not the pools, nor what you passed in). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sampler);
    for (const unwatch of this.#watches) unwatch();
    for (const m of this.#owned) m.close();
    this.#prometheus.close();
  }

  /** `using app = createManagementApp(...)` closes it at the end of the scope. */
  [Symbol.dispose](): void {
    this.close();
  }

  /**
   * Everything the web dashboard shows, for every pool, from one consistent snapshot per pool (what
   * `GET /overview` returns), with the recorded history (`'full'`) or its latest sample. Plain JSON, redacted.
   */
  overview(history: 'full' | 'none' = 'none'): unknown {
    return redact(
      {
        timestamp: Date.now(),
        refreshMs: this.#refreshMs,
        readOnly: this.#auth !== null && !this.#auth.hasAdmin,
        history: this.#historyWindow,
        pools: [...this.#entries.values()].map((e) => {
          const h = this.#history.get(e.name) as PoolHistory;
          const latest = h.latest();
          return {
            ...poolOverview(e, this.#monitorStatistics(e)),
            history: history === 'full' ? h.points() : latest === undefined ? [] : [latest],
          };
        }),
      },
      this.#redaction,
    );
  }

  // ------------------------------------------------------------------------------------------ pipeline

  #mount(corsOptions: CorsOptions | null): Hono<Env> {
    const app = new Hono<Env>();
    app.use('*', async (c, next) => {
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
      app.use(
        '*',
        cors({
          origin: (origin) => (allowed.has(origin) ? origin : null),
          allowMethods: ['GET', 'HEAD', 'POST'],
          allowHeaders: ['Authorization', 'Content-Type'],
          maxAge: corsOptions.maxAgeSeconds ?? 600,
        }),
      );
    }
    app.route(this.basePath === '' ? '/' : this.basePath, this.#api);
    app.notFound((c) => {
      const relative = this.#relative(c.req.path);
      const path = relative ?? c.req.path;
      const methods =
        relative === null ? [] : [...new Set(this.#patterns.filter((r) => r.pattern.test(relative)).map((r) => r.def.method))];
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
    this.#api.onError((error) => this.#error(error));
    return app;
  }

  /** The checks every request under `basePath` passes before its route (see the class description). */
  async #guard(c: Context<Env>, next: () => Promise<void>): Promise<void> {
    const request = c.req.raw;
    const host = request.headers.get('host') ?? new URL(request.url).host;
    if (!this.allowedHosts.allows(host)) {
      throw new ManagementError(
        403,
        `Requests addressed to host ${JSON.stringify(host)} are not answered (DNS rebinding protection); add it to the app's allowedHosts if clients reach the app by that name`,
        { field: 'header.host' },
      );
    }
    const client = clientAddress(c.env);
    if (this.#auth === null) requireLoopback(client);
    const method = c.req.method;
    if (!SAFE_METHODS.has(method)) checkOrigin(request.headers, host, this.#corsOrigins);
    const path = this.#relative(c.req.path) ?? c.req.path;
    const candidates = this.#patterns.filter((r) => r.pattern.test(path));
    const route = candidates.find((x) => x.def.method === method || (x.def.method === 'GET' && method === 'HEAD'));
    const access = route?.def.access ?? (candidates.some((x) => x.def.access === 'public') ? 'public' : 'read');
    if (access !== 'public' && this.#auth !== null)
      authorize(this.#auth, this.#limiter, c.req.header('authorization'), access, client, now());
    if (route !== undefined && route.def.method === 'POST') {
      const body = await readJsonBody(request, this.#maxBody);
      c.req.bodyCache.json = Promise.resolve(body);
    }
    await next();
  }

  /** The path relative to `basePath`, or `null` when it is outside. */
  #relative(path: string): string | null {
    if (this.basePath === '') return path;
    if (path === this.basePath) return '/';
    return path.startsWith(`${this.basePath}/`) ? path.slice(this.basePath.length) : null;
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

  #sample(): void {
    const t = Date.now();
    for (const e of this.#entries.values()) {
      try {
        sample(this.#history.get(e.name) as PoolHistory, poolOverview(e, this.#monitorStatistics(e)), t);
        this.#failingSamples.delete(e.name);
      } catch (error) {
        // Reported once while it keeps failing (every interval would flood the log); requests report theirs.
        if (!this.#failingSamples.has(e.name)) this.#onError(error);
        this.#failingSamples.add(e.name);
      }
    }
  }

  #monitorStatistics(e: PoolEntry): PoolMonitorStatistics | null {
    if (e.monitor === null || e.monitorName === null || e.monitor.closed || e.monitor.getPool(e.monitorName) !== e.pool) return null;
    return e.monitor.statistics(e.monitorName);
  }

  #routeContext(): RouteContext {
    const entries = this.#entries;
    const manager = (e: PoolEntry): PartitionManagerLike => {
      if (e.partitions === null) throw new ManagementError(404, `Pool '${e.name}' has no partition manager configured`);
      return e.partitions;
    };
    return {
      redaction: this.#redaction,
      prometheus: this.#prometheus,
      entries: () => [...entries.values()],
      entry: (name) => {
        const e = entries.get(name);
        if (e === undefined) {
          throw new ManagementError(404, `No pool named ${JSON.stringify(name)}; known pools: ${[...entries.keys()].join(', ')}`, {
            field: 'path.pool',
          });
        }
        return e;
      },
      monitorStatistics: (e) => this.#monitorStatistics(e),
      manager,
      partition: (e, id) => {
        const list = manager(e).listPartitions() as readonly { id?: unknown }[];
        const found = list.find((p) => p.id === id);
        if (found === undefined) {
          throw new ManagementError(
            404,
            `No partition ${JSON.stringify(id)} in pool '${e.name}'; known: ${list.map((p) => String(p.id)).join(', ') || 'none'}`,
            { field: 'path.partition' },
          );
        }
        return found;
      },
      format: (asked, request, available) => this.#format(asked, request, available),
      overview: (history) => this.overview(history),
      openapi: () => this.openapi,
      onError: (error) => this.#onError(error),
    };
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
        { field: 'header.accept' },
      );
    }
    return format;
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
