import { type ConnectionPool, InvalidArgumentError } from '@pool/core';
import { AdaptiveLimiter } from './adaptive-limiter.js';
import { type AdaptiveLimitOptions, resolveAdaptiveOptions } from './adaptive-options.js';
import { type PartitionManagerLike, partitionTarget } from './partition-target.js';
import { poolTarget } from './pool-target.js';

const limiters = new WeakMap<object, AdaptiveLimiter>();

/**
 * Lets `pool` find how many connections the database serves best, and follow it: an adaptive limit
 * between `minSize` and `maxSize` (applied with `pool.setLimit()`), lowered when use time rises without
 * throughput gain and raised when callers wait while use time stays flat. Returns the running
 * {@link AdaptiveLimiter}; it stops when the pool closes, or with `limiter.stop()`. A pool has at most
 * one limiter: a second call while one runs throws.
 *
 * @throws InvalidConfigError for a bad option (naming it), InvalidArgumentError for a closed pool or a second limiter.
 * @example
 * ```ts
 * const pool = await ConnectionPool.create({ minSize: 1, maxSize: 64 }, factory);
 * const limiter = adaptiveLimit(pool); // Gradient, one interval per second
 * limiter.on('limitChanged', (c) => console.log(`${c.previous} -> ${c.limit} (${c.reason}, ${c.latencyMs} ms)`));
 * ```
 */
export function adaptiveLimit<C>(pool: ConnectionPool<C>, options?: AdaptiveLimitOptions): AdaptiveLimiter {
  if (typeof pool !== 'object' || pool === null || typeof (pool as ConnectionPool<C>).setLimit !== 'function') {
    throw new InvalidArgumentError('pool', pool, 'must be a ConnectionPool from @pool/core');
  }
  if (pool.state !== 'open') throw new InvalidArgumentError('pool', pool.name, `must be open, not ${pool.state}`);
  return register(pool, () => new AdaptiveLimiter(poolTarget(pool), resolveAdaptiveOptions(options)));
}

/**
 * Adapts the limit of one partition of a `@pool/partitioning` `PartitionManager` (a tenant's share of
 * a shared pool, or an isolated partition's own pool): its `maxConnections` moves between its
 * `minConnections` (at least 1) and the `maxConnections` it had when the limiter started, so a tenant
 * never gets more than its configured maximum. Measures only the partition's own borrows.
 *
 * @example
 * ```ts
 * manager.createPartition('tenant_acme', PartitionType.Tenant('acme'), { maxConnections: 20 });
 * const limiter = adaptivePartitionLimit(manager, 'tenant_acme');
 * ```
 */
export function adaptivePartitionLimit(
  manager: PartitionManagerLike,
  partitionId: string,
  options?: AdaptiveLimitOptions,
): AdaptiveLimiter {
  const target = partitionTarget(manager, partitionId);
  const key = manager.partition(partitionId) as object;
  return register(key, () => new AdaptiveLimiter(target, resolveAdaptiveOptions(options)));
}

/** The limiter running on `pool` (or on a partition handle), if any. */
export function adaptiveLimiterOf(pool: object): AdaptiveLimiter | undefined {
  const limiter = limiters.get(pool);
  return limiter?.running === true ? limiter : undefined;
}

function register(key: object, make: () => AdaptiveLimiter): AdaptiveLimiter {
  const existing = limiters.get(key);
  if (existing?.running === true) {
    throw new InvalidArgumentError('pool', existing.target, 'already has an adaptive limiter: stop() it first');
  }
  const limiter = make();
  limiters.set(key, limiter);
  return limiter;
}
