import { Redis, type RedisOptions } from 'ioredis';
import type { ClusterBudgetOptions, ResolvedOptions } from './options.js';
import { type BudgetRedisClient, type BudgetStore, RedisBudgetStore } from './store.js';

/** How long Redis keeps a budget's keys after the last activity. */
const KEEP_MS = 7 * 24 * 3_600_000;

function isClient(value: unknown): value is BudgetRedisClient {
  const v = value as { call?: unknown; duplicate?: unknown } | null;
  return typeof v === 'object' && v !== null && typeof v.call === 'function' && typeof v.duplicate === 'function';
}

/**
 * @internal The Redis store of a budget on the `redis` option: the caller's ioredis client (they keep
 * owning it), or a client of the budget's own made from a URL or ioredis options (closed with the store).
 */
export function openRedisStore(redis: ClusterBudgetOptions['redis'], o: ResolvedOptions, instanceId: string): BudgetStore {
  const owns = !isClient(redis);
  // A client of our own fails fast while disconnected, instead of queueing the budget's commands.
  const defaults = { enableOfflineQueue: false, maxRetriesPerRequest: 1 };
  // ioredis' constructor types trip over exactOptionalPropertyTypes; the options are ioredis' own.
  const RedisClient = Redis as unknown as new (...args: unknown[]) => Redis;
  const client: BudgetRedisClient = isClient(redis)
    ? redis
    : typeof redis === 'string'
      ? new RedisClient(redis, defaults)
      : new RedisClient({ ...defaults, ...(redis as RedisOptions) });
  if (owns) client.on('error', () => {}); // reported through the budget's state and events instead
  return new RedisBudgetStore(client, owns, `${o.keyPrefix}{${o.name}}`, instanceId, KEEP_MS, o.commandTimeoutMs);
}
