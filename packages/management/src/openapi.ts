import type { RouteDefinition } from './app.js';
import type { JsonSchema } from './schema.js';
import { COMPONENT_SCHEMAS } from './schemas.js';

/** An OpenAPI 3.1 document (the parts this package writes). */
export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  servers: { url: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown>; responses: Record<string, unknown> };
}

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: a parameter, query key or body field broke a rule (error.field names it)',
  401: 'No token, a malformed Authorization header, or a token that is not valid',
  403: 'The token may not do this (an action with the read token), or a non-loopback client while authentication is off',
  404: 'No such pool, partition or component (the message lists what exists)',
  405: 'The path exists but not with this method (the Allow header lists the methods)',
  406: 'None of the accepted formats can be served',
  409: 'The pool is closed or closing, or the action does not apply now',
  413: 'The body is larger than maxBodyBytes',
  415: 'The body is not JSON',
  503: 'Prometheus was configured but @pool/prometheus could not be loaded',
};

/** `/pools/:pool` → `/pools/{pool}`. */
export function openApiPath(path: string): string {
  return path.replace(/:([a-zA-Z]+)/g, '{$1}');
}

const PARAM_DESCRIPTIONS: Record<string, string> = {
  pool: 'The pool name (as listed by GET /pools)',
  partition: 'The partition id (as listed by GET /pools/{pool}/partitions)',
};

/** Builds the OpenAPI 3.1 document of a management app from its routes. */
export function openApiDocument(routes: readonly RouteDefinition[], basePath: string, hasAdmin: boolean): OpenApiDocument {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const route of routes) {
    const path = openApiPath(route.path);
    const parameters: unknown[] = [];
    for (const match of route.path.matchAll(/:([a-zA-Z]+)/g)) {
      const name = match[1] as string;
      parameters.push({
        name,
        in: 'path',
        required: true,
        description: PARAM_DESCRIPTIONS[name] ?? name,
        schema: { type: 'string', minLength: 1, maxLength: 256 },
      });
    }
    for (const [name, spec] of Object.entries(route.query ?? {})) {
      parameters.push({ name, in: 'query', required: false, description: spec.description, schema: spec.schema });
    }
    const content: Record<string, unknown> = {};
    for (const type of route.success.contentTypes) {
      content[type] =
        route.success.schema === undefined
          ? { schema: { type: 'string' } }
          : { schema: { $ref: `#/components/schemas/${route.success.schema}` } };
    }
    const responses: Record<string, unknown> = { [String(route.success.status)]: { description: route.success.description, content } };
    const statuses = new Set<number>(route.errors);
    if (route.access !== 'public') {
      statuses.add(401);
      statuses.add(403);
    }
    statuses.add(405);
    for (const status of [...statuses].sort((a, b) => a - b)) responses[String(status)] = { $ref: `#/components/responses/E${status}` };
    const operation: Record<string, unknown> = {
      operationId: route.operationId,
      summary: route.summary,
      ...(route.description === undefined ? {} : { description: route.description }),
      tags: [route.tag],
      ...(parameters.length === 0 ? {} : { parameters }),
      security: route.access === 'public' ? [] : [{ bearerAuth: [] }],
      'x-access': route.access,
      ...(route.body === undefined
        ? {}
        : {
            requestBody: {
              required: false,
              content: { 'application/json': { schema: { $ref: `#/components/schemas/${route.body}` } } },
            },
          }),
      responses,
    };
    paths[path] = { ...(paths[path] ?? {}), [route.method.toLowerCase()]: operation };
  }
  const responses: Record<string, unknown> = {};
  for (const [status, description] of Object.entries(ERROR_DESCRIPTIONS)) {
    responses[`E${status}`] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: '@pool/management',
      version: '1.0.0',
      description:
        'Read and operate @pool connection pools: configuration, counters, wait queue, partitions, leaks, metrics, and operator actions. ' +
        `Every endpoint but the dashboard page and its assets needs a bearer token: the read token for GET, the admin token for POST${hasAdmin ? '' : ' (this instance has no admin token: it is read-only)'}. ` +
        'Errors are JSON ({ error: { status, code, message, field } }); passwords and connection strings are redacted from every response.',
    },
    servers: [{ url: basePath === '' ? '/' : basePath }],
    tags: [
      { name: 'pools', description: 'Pools: configuration, counters, size, connections, wait queue' },
      { name: 'partitions', description: 'Partitions of a pool (@pool/partitioning)' },
      { name: 'monitoring', description: 'Monitor statistics, dashboard data, leaks, metrics' },
      { name: 'actions', description: 'Operator actions (admin token)' },
      { name: 'dashboard', description: 'The web dashboard and its data' },
      { name: 'meta', description: 'This document' },
    ],
    paths,
    components: {
      schemas: { ...COMPONENT_SCHEMAS },
      securitySchemes: {
        bearerAuth: { type: 'http', scheme: 'bearer', description: 'The read token (GET) or the admin token (GET and POST)' },
      },
      responses,
    },
  };
}
