import type { BudgetContext } from './budget-context.js';
import { DATABASE } from './scopes.js';
import type { BudgetSnapshot, ClusterBudgetStatistics, ScopeStatistics } from './statistics.js';
import type { RawSnapshot } from './store.js';

/** @internal One scope's figures as this instance sees them (no Redis call). */
export function readScopeStatistics(ctx: BudgetContext, scope: string, limit: number): ScopeStatistics {
  let held = 0;
  let open = 0;
  let waiting = 0;
  for (const g of ctx.groups.values()) {
    if (!g.has(scope)) continue;
    held += g.ids.length;
    open += g.open;
    waiting += g.queue.filter((r) => !r.settled).length;
  }
  return { limit, held, open, unleased: Math.max(0, open - held), globalUsed: ctx.globalUsed.get(scope) ?? null, waiting };
}

/**
 * @internal The budget's statistics as this instance sees them (no Redis call). `fallbackCap` is the
 * 'hold' policy's cap of the database scope, `pools` the attached pools' names.
 */
export function readStatistics(ctx: BudgetContext, fallbackCap: () => number, pools: string[]): ClusterBudgetStatistics {
  const tenants: Record<string, ScopeStatistics> = {};
  for (const tenant of ctx.o.tenants.keys()) tenants[tenant] = readScopeStatistics(ctx, `t:${tenant}`, ctx.o.tenants.get(tenant) as number);
  const c = ctx.counters;
  return {
    budget: ctx.name,
    instanceId: ctx.instanceId,
    state: ctx.state,
    policy: ctx.o.onRedisUnavailable,
    database: readScopeStatistics(ctx, DATABASE, ctx.o.maxConnections),
    tenants,
    instances: ctx.live,
    lastContactAt: ctx.lastContactAt,
    degradedSince: ctx.degradedSince,
    fallbackCap: ctx.state === 'degraded' && ctx.o.onRedisUnavailable === 'hold' ? fallbackCap() : null,
    leaseTtlMs: ctx.o.leaseTtlMs,
    heartbeatIntervalMs: ctx.o.heartbeatIntervalMs,
    pools,
    counters: { ...c, refused: { ...c.refused } },
  };
}

/** @internal The snapshot `inspect()` gives, from what the inspect script read in Redis. */
export function snapshotFromRaw(budget: string, raw: RawSnapshot): BudgetSnapshot {
  const byInstance = new Map<string, { held: number; tenants: Record<string, number> }>();
  for (const inst of raw.instances) byInstance.set(inst.id, { held: 0, tenants: {} });
  for (const h of raw.held) {
    const entry = byInstance.get(h.instance);
    if (entry === undefined) continue;
    if (h.scope === DATABASE) entry.held = h.leases;
    else if (h.scope.startsWith('t:')) entry.tenants[h.scope.slice(2)] = h.leases;
  }
  const tenantsUsed: Record<string, number> = {};
  for (const [scope, n] of Object.entries(raw.used)) if (scope.startsWith('t:')) tenantsUsed[scope.slice(2)] = n;
  return {
    budget,
    serverTime: raw.nowMs,
    epoch: raw.epoch,
    recoveringForMs: Math.max(0, raw.recoverUntil - raw.nowMs),
    used: raw.used[DATABASE] ?? 0,
    tenantsUsed,
    instances: raw.instances.map((i) => ({
      id: i.id,
      expiresInMs: i.expiresAt - raw.nowMs,
      ...(byInstance.get(i.id) as { held: number; tenants: Record<string, number> }),
    })),
    waiting: raw.wanting.map((w) => ({
      instance: w.instance,
      tenant: w.scope === DATABASE ? null : w.scope.slice(2),
      forMs: w.until - raw.nowMs,
    })),
  };
}
