import { InvalidConfigError, MAX_TIMER_MS } from '@pool/core';
import type { RedisOptions } from 'ioredis';
import type { BudgetRedisClient } from './store.js';

/**
 * What an instance does while Redis cannot be reached:
 *
 * - `'hold'` (default): connections already open stay open and are reused; a new connection may be
 *   opened only while this instance holds fewer than its fallback cap (`fallbackMaxConnections`, by
 *   default the number it held when Redis was lost: a closed connection may be replaced, none added).
 *   When every instance loses Redis at once (a Redis restart), the budget is never exceeded.
 * - `'local'`: the global budget is ignored until Redis answers again; only the pool's own `maxSize`
 *   limits the instance. Availability first: the budget may be exceeded during the outage.
 * - `'strict'`: no new connection without Redis, and once this instance's leases may have expired in
 *   Redis (one lease TTL after its last renewal) its idle connections are closed and borrowed ones
 *   are closed when released, so a partitioned instance gives its slots back in fact, not only on
 *   paper. Safety first.
 */
export type RedisUnavailablePolicy = 'hold' | 'local' | 'strict';

/** The policies of {@link RedisUnavailablePolicy}, for discoverability (`RedisUnavailable.Hold === 'hold'`). */
export const RedisUnavailable = Object.freeze({ Hold: 'hold', Local: 'local', Strict: 'strict' } as const);

/** Options of a {@link ClusterBudget}. Durations are milliseconds. */
export interface ClusterBudgetOptions {
  /**
   * The Redis the budget lives in: an ioredis client (standalone, Sentinel-managed or `Cluster`; you
   * keep owning it), or a `redis://` URL or ioredis options (the budget then creates, and closes, a
   * client of its own that fails fast instead of queueing commands while disconnected).
   */
  redis: BudgetRedisClient | string | RedisOptions;
  /**
   * The budget's name: one per database (or per database user, whatever `max_connections` you protect).
   * Every instance sharing a budget uses the same name, key prefix and limits. It becomes the Redis
   * Cluster hash tag (`{name}`), so it may not contain `{`, `}` or control characters.
   */
  name: string;
  /** Connections all instances together may hold (open or being opened) against the database. */
  maxConnections: number;
  /** Global limits per tenant (`wrap(factory, { tenant })`): connections all instances together may hold for it. */
  tenants?: Readonly<Record<string, number>>;
  /** Prefix of the budget's Redis keys. Default `'pool:budget:'`. */
  keyPrefix?: string;
  /** This instance's id in the budget. Default `<hostname>:<pid>:<random>`. */
  instanceId?: string;
  /**
   * A lease that is not renewed expires this long after its last renewal (Redis server time), and its
   * slots return to the budget: the bound on how long a crashed or partitioned instance keeps slots.
   * Default `15000`.
   */
  leaseTtlMs?: number;
  /** How often the instance renews all its leases (one script call). At most `leaseTtlMs / 2`. Default `leaseTtlMs / 3`. */
  heartbeatIntervalMs?: number;
  /**
   * While waiting for a slot, how often to ask again. A returned slot is announced through Redis
   * pub/sub, so a waiting instance usually asks at once; this bounds the wait when a message is lost.
   * Default `1000`.
   */
  retryIntervalMs?: number;
  /** A Redis call that takes longer is counted as failed (its effect is checked at the next contact). Default `2000`. */
  commandTimeoutMs?: number;
  /** What happens while Redis is unreachable. Default `'hold'`. */
  onRedisUnavailable?: RedisUnavailablePolicy;
  /**
   * The fallback cap under the `'hold'` policy: connections this instance may hold while Redis is
   * unreachable (for a tenant, also at most the tenant's limit). `null` (default): the number it held
   * when Redis was lost (so an instance that never reached Redis opens none).
   */
  fallbackMaxConnections?: number | null;
  /**
   * Fair sharing: an instance refused a slot while it holds less than its fair share (`limit / live
   * instances`) asks the others, through Redis pub/sub, to shrink; instances above their share then
   * close idle connections (down to their pool's `minSize`) and keep their pool at the reduced size for
   * `shrinkHoldMs`, so the budget follows the load. Default `true`.
   */
  fairSharing?: boolean;
  /** How long a pool stays shrunk after a shrink request. Default `10000`. */
  shrinkHoldMs?: number;
  /** At most one shrink request per scope per this interval, across the cluster (enforced in Redis). Default `2000`. */
  shrinkIntervalMs?: number;
}

/** @internal The validated options. */
export interface ResolvedOptions {
  name: string;
  maxConnections: number;
  tenants: Map<string, number>;
  keyPrefix: string;
  instanceId: string | undefined;
  leaseTtlMs: number;
  heartbeatIntervalMs: number;
  retryIntervalMs: number;
  commandTimeoutMs: number;
  onRedisUnavailable: RedisUnavailablePolicy;
  fallbackMaxConnections: number | null;
  fairSharing: boolean;
  shrinkHoldMs: number;
  shrinkIntervalMs: number;
}

const KEYS = [
  'redis',
  'name',
  'maxConnections',
  'tenants',
  'keyPrefix',
  'instanceId',
  'leaseTtlMs',
  'heartbeatIntervalMs',
  'retryIntervalMs',
  'commandTimeoutMs',
  'onRedisUnavailable',
  'fallbackMaxConnections',
  'fairSharing',
  'shrinkHoldMs',
  'shrinkIntervalMs',
];

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are exactly what is refused
const CONTROL = /[\u0000-\u001f\u007f]/;

/** @internal Checks a name used inside Redis keys and lease records. */
export function checkName(field: string, value: unknown, braces: boolean): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > 200) {
    throw new InvalidConfigError(field, value, 'must be a non-empty string of at most 200 characters');
  }
  if (CONTROL.test(value)) throw new InvalidConfigError(field, value, 'must not contain control characters (newlines, tabs...)');
  if (!braces && /[{}]/.test(value)) {
    throw new InvalidConfigError(field, value, "must not contain '{' or '}' (it is the Redis Cluster hash tag of the budget's keys)");
  }
  return value;
}

/** @internal */
export function checkLimit(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new InvalidConfigError(field, value, 'must be an integer between 1 and 1000000');
  }
  return value;
}

function duration(field: string, value: unknown, min: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > MAX_TIMER_MS) {
    throw new InvalidConfigError(field, value, `must be a number of milliseconds between ${min} and ${MAX_TIMER_MS}`);
  }
  return value;
}

/** @internal Checks a tenants map. */
export function checkTenants(field: string, value: unknown): Map<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidConfigError(field, value, 'must be an object mapping tenant names to global connection limits');
  }
  const out = new Map<string, number>();
  for (const [tenant, limit] of Object.entries(value)) {
    checkName(`${field} key`, tenant, true);
    out.set(tenant, checkLimit(`${field}.${tenant}`, limit));
  }
  return out;
}

/** @internal Validates every option; throws `InvalidConfigError` naming the field and the rule. */
export function resolveOptions(options: unknown): ResolvedOptions {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new InvalidConfigError('options', options, 'must be an object of cluster budget options');
  }
  const o = options as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!KEYS.includes(key)) throw new InvalidConfigError(key, o[key], `is not a cluster budget option; known: ${KEYS.join(', ')}`);
  }
  const redis = o.redis;
  if (redis === undefined || redis === null || (typeof redis !== 'string' && typeof redis !== 'object')) {
    throw new InvalidConfigError('redis', redis, 'must be an ioredis client (Redis or Cluster), a redis:// URL or ioredis options');
  }
  const name = checkName('name', o.name, false);
  const maxConnections = checkLimit('maxConnections', o.maxConnections);
  const tenants = o.tenants === undefined ? new Map<string, number>() : checkTenants('tenants', o.tenants);
  for (const [tenant, limit] of tenants) {
    if (limit > maxConnections) {
      throw new InvalidConfigError(`tenants.${tenant}`, limit, `must not exceed maxConnections (${maxConnections})`);
    }
  }
  const keyPrefix = o.keyPrefix === undefined ? 'pool:budget:' : o.keyPrefix;
  if (typeof keyPrefix !== 'string' || keyPrefix.length > 200 || CONTROL.test(keyPrefix) || /[{}]/.test(keyPrefix)) {
    throw new InvalidConfigError(
      'keyPrefix',
      keyPrefix,
      "must be a string of at most 200 characters without control characters, '{' or '}'",
    );
  }
  const instanceId = o.instanceId === undefined ? undefined : checkName('instanceId', o.instanceId, true);
  const leaseTtlMs = o.leaseTtlMs === undefined ? 15_000 : duration('leaseTtlMs', o.leaseTtlMs, 100);
  const heartbeatIntervalMs =
    o.heartbeatIntervalMs === undefined ? Math.floor(leaseTtlMs / 3) : duration('heartbeatIntervalMs', o.heartbeatIntervalMs, 10);
  if (heartbeatIntervalMs > leaseTtlMs / 2) {
    throw new InvalidConfigError(
      'heartbeatIntervalMs',
      heartbeatIntervalMs,
      `must be at most half of leaseTtlMs (${leaseTtlMs}), so one lost heartbeat does not expire the leases`,
    );
  }
  const retryIntervalMs = o.retryIntervalMs === undefined ? 1_000 : duration('retryIntervalMs', o.retryIntervalMs, 10);
  const commandTimeoutMs = o.commandTimeoutMs === undefined ? 2_000 : duration('commandTimeoutMs', o.commandTimeoutMs, 10);
  if (commandTimeoutMs >= leaseTtlMs) {
    throw new InvalidConfigError('commandTimeoutMs', commandTimeoutMs, `must be below leaseTtlMs (${leaseTtlMs})`);
  }
  const mode = o.onRedisUnavailable === undefined ? 'hold' : o.onRedisUnavailable;
  if (mode !== 'hold' && mode !== 'local' && mode !== 'strict') {
    throw new InvalidConfigError('onRedisUnavailable', mode, "must be 'hold', 'local' or 'strict'");
  }
  const fallback = o.fallbackMaxConnections === undefined ? null : o.fallbackMaxConnections;
  if (fallback !== null && (typeof fallback !== 'number' || !Number.isInteger(fallback) || fallback < 0 || fallback > maxConnections)) {
    throw new InvalidConfigError(
      'fallbackMaxConnections',
      fallback,
      `must be null (what was held when Redis was lost) or an integer between 0 and maxConnections (${maxConnections})`,
    );
  }
  if (fallback !== null && mode !== 'hold') {
    throw new InvalidConfigError('fallbackMaxConnections', fallback, `only applies to onRedisUnavailable: 'hold' (it is '${mode}')`);
  }
  const fairSharing = o.fairSharing === undefined ? true : o.fairSharing;
  if (typeof fairSharing !== 'boolean') throw new InvalidConfigError('fairSharing', fairSharing, 'must be true or false');
  const shrinkHoldMs = o.shrinkHoldMs === undefined ? 10_000 : duration('shrinkHoldMs', o.shrinkHoldMs, 0);
  const shrinkIntervalMs = o.shrinkIntervalMs === undefined ? 2_000 : duration('shrinkIntervalMs', o.shrinkIntervalMs, 10);
  return {
    name,
    maxConnections,
    tenants,
    keyPrefix,
    instanceId,
    leaseTtlMs,
    heartbeatIntervalMs,
    retryIntervalMs,
    commandTimeoutMs,
    onRedisUnavailable: mode,
    fallbackMaxConnections: fallback as number | null,
    fairSharing,
    shrinkHoldMs,
    shrinkIntervalMs,
  };
}
