import { InvalidConfigError } from '@pool/core';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import { ClusterBudget, kStore } from './budget.js';
import { BudgetMetricsRegisteredError, ClusterBudgetCollector } from './prometheus.js';
import { MemoryServer } from './test-support/memory-store.js';

const cleanup: (() => Promise<unknown> | unknown)[] = [];
afterEach(async () => {
  for (const c of cleanup.splice(0)) await c();
});

async function setUp() {
  const server = new MemoryServer();
  const budget = ClusterBudget[kStore]({ name: 'db', maxConnections: 5, tenants: { acme: 2 }, instanceId: 'a' }, server.view('a'));
  const factory = { create: async () => ({}), close: async () => {} };
  const pool = await budget.createPool({ maxSize: 3 }, factory);
  const acme = await budget.createPool({ maxSize: 3 }, factory, { tenant: 'acme' });
  cleanup.push(
    () => pool.close(),
    () => acme.close(),
    () => budget.close(),
  );
  return { server, budget, pool, acme };
}

describe('ClusterBudgetCollector', () => {
  it('publishes the budget per database and tenant, this instance’s leases, its state and counters', async () => {
    const { budget, pool, acme } = await setUp();
    const registry = new Registry();
    const collector = new ClusterBudgetCollector(budget, { registry });
    cleanup.push(() => collector.close());
    const held = [await pool.acquire(), await pool.acquire(), await acme.acquire()];
    const text = await registry.metrics();
    expect(text).toContain('pool_cluster_budget_limit{budget="db",tenant=""} 5');
    expect(text).toContain('pool_cluster_budget_limit{budget="db",tenant="acme"} 2');
    expect(text).toContain('pool_cluster_budget_used{budget="db",tenant=""} 3');
    expect(text).toContain('pool_cluster_budget_held{budget="db",tenant="",instance_id="a"} 3');
    expect(text).toContain('pool_cluster_budget_held{budget="db",tenant="acme",instance_id="a"} 1');
    expect(text).toContain('pool_cluster_budget_state{budget="db",instance_id="a",state="connected"} 1');
    expect(text).toContain('pool_cluster_budget_state{budget="db",instance_id="a",state="degraded"} 0');
    expect(text).toContain('pool_cluster_budget_grants_total{budget="db",source="redis"} 3');
    expect(text).toContain('# TYPE pool_cluster_budget_refusals_total counter');
    expect(text).toContain('pool_cluster_budget_instances{budget="db"} 1');
    for (const c of held) c.release();
  });

  it('refuses a registry where its names are taken, registering nothing, and unregisters on close', async () => {
    const { budget } = await setUp();
    const registry = new Registry();
    const first = new ClusterBudgetCollector(budget, { registry });
    const count = (await registry.getMetricsAsJSON()).length;
    expect(() => new ClusterBudgetCollector(budget, { registry })).toThrow(BudgetMetricsRegisteredError);
    expect((await registry.getMetricsAsJSON()).length).toBe(count);
    first.close();
    expect(await registry.getMetricsAsJSON()).toEqual([]);
    const other = new ClusterBudgetCollector(budget, { registry, prefix: 'app_budget_' });
    expect(other.metricNames.every((n) => n.startsWith('app_budget_'))).toBe(true);
    other.close();
  });

  it('rejects bad options naming them', async () => {
    const { budget } = await setUp();
    expect(() => new ClusterBudgetCollector(budget, { prefix: '9bad' })).toThrow(InvalidConfigError);
    expect(() => new ClusterBudgetCollector(budget, { registry: {} as Registry })).toThrow(/registry/);
    expect(() => new ClusterBudgetCollector(budget, { foo: 1 } as never)).toThrow(/foo = 1: is not a ClusterBudgetCollector option/);
    expect(() => new ClusterBudgetCollector({} as ClusterBudget)).toThrow(/must be a ClusterBudget/);
  });
});
