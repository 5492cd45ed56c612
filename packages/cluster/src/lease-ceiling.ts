import { InvalidArgumentError } from '@pool/core';
import type { ClusterBudget } from './budget.js';

/** The part of a pool {@link leaseCeiling} reads. */
export interface CeilingPool {
  size(): { total: number; pending: number };
}

/**
 * The most connections `pool` can hold of `budget` right now, for an adaptive limit's `ceiling`
 * (`@pool/adaptive`): what it has open or is opening, plus the slots free across the cluster (the
 * database budget's, and the tenant's when given, whichever is fewer), as of the last contact with
 * Redis. So an adaptive limit never rises above what this instance could lease.
 *
 * While Redis is unreachable it follows the budget's policy: `'hold'` and `'strict'` give what the pool
 * holds (nothing new can be leased), `'local'` gives `null` (no bound: the budget is ignored). Before
 * the first contact, and once the budget is closed, it gives `null`. Reading it makes no Redis call.
 *
 * @example
 * ```ts
 * import { adaptiveLimit } from '@pool/adaptive';
 * const pool = await budget.createPool({ maxSize: 30 }, factory);
 * adaptiveLimit(pool, { ceiling: leaseCeiling(budget, pool) });
 * ```
 */
export function leaseCeiling(budget: ClusterBudget, pool: CeilingPool, options: { tenant?: string } = {}): () => number | null {
  if (typeof budget !== 'object' || budget === null || typeof budget.statistics !== 'function') {
    throw new InvalidArgumentError('budget', budget, 'must be a ClusterBudget');
  }
  if (typeof pool !== 'object' || pool === null || typeof pool.size !== 'function')
    throw new InvalidArgumentError('pool', pool, 'must be a ConnectionPool');
  const tenant = options.tenant;
  if (tenant !== undefined && !(tenant in budget.statistics().tenants)) {
    throw new InvalidArgumentError('options.tenant', tenant, `has no global limit in budget '${budget.name}'`);
  }
  return () => {
    const s = budget.statistics();
    const size = pool.size();
    const holds = size.total + size.pending;
    if (s.state === 'closed' || s.state === 'connecting') return null;
    if (s.state !== 'connected') return s.policy === 'local' ? null : holds;
    let free = Number.POSITIVE_INFINITY;
    for (const scope of tenant === undefined ? [s.database] : [s.database, s.tenants[tenant]]) {
      if (scope === undefined || scope.globalUsed === null) return null;
      free = Math.min(free, Math.max(0, scope.limit - scope.globalUsed));
    }
    return holds + free;
  };
}
