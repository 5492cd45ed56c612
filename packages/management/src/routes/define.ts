import { createRoute, type OpenAPIHono, type RouteConfig, type RouteHandler, type z } from '@hono/zod-openapi';
import type { PoolMonitorStatistics } from '@pool/monitoring';
import type { Access } from '../auth.js';
import type { MetricsFormat, PrometheusProvider } from '../metrics.js';
import type { PoolEntry } from '../pools.js';
import { type RedactOptions, redact } from '../redact.js';
import { ErrorBody } from '../schemas.js';
import type { ManagementEnv } from '../security.js';
import type { PartitionManagerLike } from '../types.js';
import { validationError } from '../validation.js';

/** The hono environment of the app: what the transport passes (see {@link ManagementEnv}). */
export type Env = { Bindings: ManagementEnv };

/** A route of the management API (what the OpenAPI document describes), with who may call it. */
export interface RouteDefinition {
  readonly method: 'GET' | 'POST';
  /** The path, relative to `basePath`, with `:name` parameters (`/pools/:pool/size`). */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly tag: 'pools' | 'partitions' | 'monitoring' | 'actions' | 'dashboard' | 'meta';
  /** `public` (the dashboard's static files), `read` (read or admin token), `admin` (admin token). */
  readonly access: 'public' | Access;
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: a parameter, query key or body field broke a rule (error.field names it), or a body nested too deep',
  401: 'No token, a malformed Authorization header, or a token that is not valid',
  403: 'A host not in the allow-list; a cross-site request that would change something; an action with the read token; without tokens, a client that is not loopback or whose address is unknown',
  404: 'No such pool, partition or component (the message lists what exists)',
  405: 'The path exists but not with this method (the Allow header lists the methods)',
  406: 'None of the accepted formats can be served',
  409: 'The pool is closed or closing, or the action does not apply now',
  413: 'The body is larger than maxBodyBytes',
  415: 'An action without Content-Type: application/json',
  429: 'Too many failed authentications from this client; Retry-After says when to try again',
  503: 'Prometheus was configured but @pool/prometheus could not be loaded',
};

/** The error responses of a route, each with the `Error` schema. */
function errorResponses(
  statuses: readonly number[],
): Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorBody } } }> {
  const out: Record<number, { description: string; content: { 'application/json': { schema: typeof ErrorBody } } }> = {};
  for (const status of [...new Set(statuses)].sort((a, b) => a - b)) {
    out[status] = { description: ERROR_DESCRIPTIONS[status] ?? 'Error', content: { 'application/json': { schema: ErrorBody } } };
  }
  return out;
}

/** The `tag` and `access` of a route, beside its OpenAPI route config. */
export interface RouteMeta {
  tag: RouteDefinition['tag'];
  access: RouteDefinition['access'];
  /** Error statuses this route answers besides those every route can (403, 405; 401 and 429 with a token). */
  errors?: readonly number[];
}

/**
 * Collects the app's routes: each is registered on the OpenAPI app (which validates its parameters,
 * query and body against its schemas and documents it) and recorded with who may call it.
 */
export class RouteTable {
  readonly definitions: RouteDefinition[] = [];
  readonly #app: OpenAPIHono<Env>;

  constructor(app: OpenAPIHono<Env>) {
    this.#app = app;
  }

  add<const R extends RouteConfig>(
    meta: RouteMeta,
    config: R,
    handler: (c: Parameters<RouteHandler<R, Env>>[0]) => Response | Promise<Response>,
  ): void {
    const statuses = [...(meta.errors ?? []), 403, 405, ...(meta.access === 'public' ? [] : [401, 429])];
    const route = createRoute({
      ...config,
      tags: [meta.tag],
      security: meta.access === 'public' ? [] : [{ bearerAuth: [] }],
      'x-access': meta.access,
      responses: { ...config.responses, ...errorResponses(statuses) },
    } as R);
    this.definitions.push(
      Object.freeze({
        method: config.method.toUpperCase() as 'GET' | 'POST',
        path: config.path.replace(/\{(\w+)\}/g, ':$1'),
        operationId: config.operationId as string,
        summary: config.summary as string,
        tag: meta.tag,
        access: meta.access,
      }),
    );
    const known = (target: string): string[] => {
      const r = config.request as Record<string, unknown> | undefined;
      const schema =
        target === 'json'
          ? (r?.body as { content?: Record<string, { schema?: unknown }> } | undefined)?.content?.['application/json']?.schema
          : r?.[target === 'param' ? 'params' : target];
      const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
      return shape === undefined ? [] : Object.keys(shape);
    };
    this.#app.openapi(
      route,
      handler as never,
      ((result: { success: boolean; error?: z.ZodError; data: unknown; target: string }) => {
        if (!result.success) throw validationError(result.error as z.ZodError, result.target, result.data, known(result.target));
      }) as never,
    );
  }
}

const JSON_TYPE = 'application/json; charset=utf-8';

/** A JSON response, redacted. */
export function jsonResponse(data: unknown, redaction: RedactOptions, status = 200): Response {
  return new Response(JSON.stringify(redact(data, redaction)), { status, headers: { 'content-type': JSON_TYPE } });
}

/** A text response. */
export function textResponse(body: string, contentType: string, extra: Record<string, string> = {}): Response {
  return new Response(body, { status: 200, headers: { 'content-type': contentType, ...extra } });
}

export { JSON_TYPE };

/** What the route handlers use of the app. */
export interface RouteContext {
  readonly redaction: RedactOptions;
  /** All pools, in the order given. */
  entries(): PoolEntry[];
  /** The pool named `name`; 404 naming the known ones. */
  entry(name: string): PoolEntry;
  /** The pool's monitor statistics, or `null` without a monitor. */
  monitorStatistics(entry: PoolEntry): PoolMonitorStatistics | null;
  /** The pool's partition manager; 404 without one. */
  manager(entry: PoolEntry): PartitionManagerLike;
  /** One partition of the pool, as listed; 404 naming the known ones. */
  partition(entry: PoolEntry, id: string): object;
  /** The metrics format to serve: the one asked for, else negotiated from Accept; 406 when none can be. */
  format(asked: MetricsFormat | undefined, request: Request, available: readonly MetricsFormat[]): MetricsFormat;
  readonly prometheus: PrometheusProvider;
  /** Everything the dashboard shows (`GET /overview`). */
  overview(history: 'full' | 'none'): unknown;
  /** The OpenAPI document. */
  openapi(): object;
  /** Reports an unexpected error. */
  onError(error: unknown): void;
}
