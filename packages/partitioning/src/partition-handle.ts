import { type AcquireOptions, InvalidArgumentError, now, type PooledConnection } from '@pool/core';
import { acquireFrom } from './acquisition.js';
import { checkAcquireOptions } from './manager-options.js';
import type { ManagerState } from './manager-state.js';
import type { Partition, PartitionState } from './partition.js';

/** @internal Makes the {@link Partition} handle of `p`: a frozen view whose `acquire` and `use` bypass routing. */
export function makePartitionHandle<C>(m: ManagerState<C>, p: PartitionState<C>): Partition<C> {
  const acquire = (options?: AcquireOptions): Promise<PooledConnection<C>> => {
    const problem = checkAcquireOptions(options);
    if (problem !== null) return Promise.reject(problem);
    return acquireFrom(m, p, null, options);
  };
  return Object.freeze({
    id: p.id,
    type: p.type,
    get limits() {
      return p.limits;
    },
    get state() {
      return p.state;
    },
    isolated: p.isolated,
    pool: p.link.pool,
    acquire,
    async use<T>(fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>, options?: AcquireOptions): Promise<T> {
      if (typeof fn !== 'function') throw new InvalidArgumentError('fn', fn, 'must be a function');
      return runWith(await acquire(options), fn);
    },
    statistics: () => p.statistics(now()),
    toJSON: () => p.info(),
  });
}

/**
 * @internal Runs `fn` with `pooled` and releases it, also when `fn` throws (the error is then reported
 * to the pool as the borrow's error, and rethrown).
 */
export async function runWith<C, T>(
  pooled: PooledConnection<C>,
  fn: (connection: C, pooled: PooledConnection<C>) => T | Promise<T>,
): Promise<T> {
  let result: T;
  try {
    result = await fn(pooled.connection, pooled);
  } catch (error) {
    if (!pooled.released) pooled.release({ error });
    throw error;
  }
  if (!pooled.released) pooled.release();
  return result;
}
