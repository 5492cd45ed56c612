import { InvalidArgumentError, InvalidConfigError } from '@pool/core';
import type { PartitionKind } from './partition-type.js';

/**
 * Who is asking for a connection: the seed's `PartitionRequest`. Every field is optional (`null` or
 * absent means "not known"); the manager's {@link RoutingStrategy} decides which field picks the partition.
 *
 * @example
 * ```ts
 * const request: PartitionRequest = {
 *   user: 'alice',
 *   application: 'web_app',
 *   service: 'analytics',
 *   tenant: 'acme_corp',
 *   sessionId: 'session_123',
 *   metadata: {},
 * };
 * const partitionId = manager.routeRequest(request);
 * ```
 */
export interface PartitionRequest {
  readonly user?: string | null;
  readonly application?: string | null;
  readonly service?: string | null;
  readonly tenant?: string | null;
  /** Available to custom routers (for example to keep a session on one partition). */
  readonly sessionId?: string | null;
  /** Free-form routing hints for custom routers. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * A custom router: returns the id of the partition that should serve `request`, or `null`/`undefined`
 * when it has no opinion (the manager then uses its `defaultPartition`, or refuses the request).
 */
export type PartitionRouter = (request: PartitionRequest) => string | null | undefined;

/** The `Custom` routing strategy: a tagged object holding the router. */
export interface CustomRouting {
  readonly kind: 'custom';
  readonly route: PartitionRouter;
}

/** The built-in routing strategies (string values). */
export type BuiltInRouting = 'tenantBased' | 'userBased' | 'applicationBased' | 'serviceBased' | 'loadBalanced';

/**
 * How a {@link PartitionManager} picks the partition for a request: the seed's `RoutingStrategy`.
 *
 * - `TenantBased`, `UserBased`, `ApplicationBased`, `ServiceBased`: the request's `tenant` / `user` /
 *   `application` / `service` picks the partition: first a key given in a partition's `routeKeys` (or
 *   with `manager.assign()`), then a partition whose type is of the matching kind with that name
 *   (`PartitionType.Tenant('acme')` for `tenant: 'acme'`), then a partition with that id.
 * - `LoadBalanced`: the least-loaded partition (lowest `(active + waiting) / maxConnections`).
 * - `Custom(fn)`: `fn(request)` returns the partition id.
 *
 * @example
 * ```ts
 * new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
 * new PartitionManager({ pool, routing: RoutingStrategy.Custom((request) => (request.user ? `partition_${request.user}` : null)) });
 * ```
 */
export type RoutingStrategy = BuiltInRouting | CustomRouting;

/** The routing strategies: string values plus the `Custom` constructor. */
export const RoutingStrategy = Object.freeze({
  TenantBased: 'tenantBased',
  UserBased: 'userBased',
  ApplicationBased: 'applicationBased',
  ServiceBased: 'serviceBased',
  LoadBalanced: 'loadBalanced',
  /** Routes with your own function; see {@link PartitionRouter}. */
  Custom: (route: PartitionRouter): CustomRouting => {
    if (typeof route !== 'function') throw new InvalidConfigError('RoutingStrategy.Custom', route, 'must be given a function');
    return Object.freeze({ kind: 'custom', route });
  },
} as const);

/** The request field and partition kind a key-based strategy routes by. */
export const ROUTING_KEYS: Readonly<
  Record<Exclude<BuiltInRouting, 'loadBalanced'>, { field: keyof PartitionRequest; kind: PartitionKind }>
> = Object.freeze({
  tenantBased: { field: 'tenant', kind: 'tenant' },
  userBased: { field: 'user', kind: 'user' },
  applicationBased: { field: 'application', kind: 'application' },
  serviceBased: { field: 'service', kind: 'service' },
});

const BUILT_IN: readonly string[] = ['tenantBased', 'userBased', 'applicationBased', 'serviceBased', 'loadBalanced'];

/** Validates a routing strategy; throws `InvalidConfigError` naming `routing`. */
export function checkRouting(routing: unknown): RoutingStrategy {
  if (typeof routing === 'string' && BUILT_IN.includes(routing)) return routing as BuiltInRouting;
  if (typeof routing === 'object' && routing !== null && (routing as CustomRouting).kind === 'custom') {
    if (typeof (routing as CustomRouting).route !== 'function') {
      throw new InvalidConfigError('routing.route', (routing as CustomRouting).route, 'must be a function');
    }
    return routing as CustomRouting;
  }
  throw new InvalidConfigError(
    'routing',
    routing,
    `must be one of ${BUILT_IN.map((r) => `'${r}'`).join(', ')} (RoutingStrategy.TenantBased...) or RoutingStrategy.Custom(fn)`,
  );
}

const REQUEST_KEYS = ['user', 'application', 'service', 'tenant', 'sessionId', 'metadata'];
const STRING_KEYS = ['user', 'application', 'service', 'tenant', 'sessionId'] as const;

/** Validates a request; returns an `InvalidArgumentError` naming the field, or null. */
export function checkRequest(request: unknown): InvalidArgumentError | null {
  if (typeof request !== 'object' || request === null || Array.isArray(request)) {
    return new InvalidArgumentError('request', request, 'must be a PartitionRequest object ({ tenant, user, application, ... })');
  }
  const r = request as Record<string, unknown>;
  for (const key in r) {
    if (!Object.hasOwn(r, key)) continue;
    if (!REQUEST_KEYS.includes(key)) {
      return new InvalidArgumentError(`request.${key}`, r[key], `is not a PartitionRequest field; known: ${REQUEST_KEYS.join(', ')}`);
    }
  }
  for (const key of STRING_KEYS) {
    const v = r[key];
    if (v !== undefined && v !== null && typeof v !== 'string') {
      return new InvalidArgumentError(`request.${key}`, v, 'must be a string or null');
    }
  }
  const m = r.metadata;
  if (m !== undefined && (typeof m !== 'object' || m === null || Array.isArray(m))) {
    return new InvalidArgumentError('request.metadata', m, 'must be an object of string values');
  }
  return null;
}
