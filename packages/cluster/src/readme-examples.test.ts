/**
 * The README's examples, run against the real Redis (and PostgreSQL for the quick start) under a key
 * prefix unique to the run: the quick start, the wrap + attach shorthand, the seed's pool creation and
 * multi-tenant application with a budget, tenants, the Prometheus collector, and the runnable
 * `examples/two-instances.mjs`.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { type ConnectionFactory, ConnectionPool, PoolConfig } from '@pool/core';
import { PartitionManager, PartitionType, RoutingStrategy } from '@pool/partitioning';
import { pgFactory } from '@pool/pg';
import { Registry } from 'prom-client';
import { afterAll, afterEach, expect, it } from 'vitest';
import { ClusterBudget } from './budget.js';
import { ClusterBudgetCollector } from './prometheus.js';
import { deleteKeys, PG_URL, REDIS_URL, uniquePrefix } from './test-support/redis.js';

const keyPrefix = uniquePrefix();
const redis = REDIS_URL;
const cleanups: (() => Promise<unknown> | unknown)[] = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()?.();
});
afterAll(async () => {
  await deleteKeys(REDIS_URL, keyPrefix);
});

// The README writes `new ClusterBudget({ redis, name, ... })`; the tests add their own key prefix.
function newBudget(options: Omit<ConstructorParameters<typeof ClusterBudget>[0], 'redis' | 'keyPrefix'>): ClusterBudget {
  const budget = new ClusterBudget({ redis, keyPrefix, ...options });
  cleanups.push(() => budget.close());
  return budget;
}

const factory: ConnectionFactory<{ execute(sql: string): Promise<string> }> = {
  create: async () => ({ execute: async (sql: string) => sql }),
  close: async () => {},
};

it('README quick start: a pg pool on a budget', async () => {
  const budget = newBudget({ name: 'orders-db', maxConnections: 90 });
  const pool = await budget.createPool(
    { minSize: 2, maxSize: 30, acquireTimeoutMs: 5_000 },
    pgFactory({ connectionString: PG_URL, application_name: 'orders-api' }),
  );
  cleanups.push(() => pool.close());
  const { rows } = await pool.use((db) => db.query('SELECT now()'));
  expect(rows).toHaveLength(1);
  expect(budget.statistics().database.held).toBe(2);
  await pool.close();
  await budget.close();
  expect(budget.statistics().database.held).toBe(0);
});

it('README shorthand: wrap, ConnectionPool.create, attach', async () => {
  const budget = newBudget({ name: 'shorthand', maxConnections: 5 });
  const config = { maxSize: 3 };
  const pool = await ConnectionPool.create(config, budget.wrap(factory), { name: 'orders' });
  cleanups.push(() => pool.close());
  const detach = budget.attach(pool); // lets the budget shrink the pool for fair sharing and shed after an outage
  expect(budget.statistics().pools).toEqual(['orders']);
  expect(await pool.use((db) => db.execute('SELECT 1'))).toBe('SELECT 1');
  detach();
});

it("README seed translation: the seed's custom configuration on a budget", async () => {
  const config = PoolConfig.builder()
    .minSize(10)
    .maxSize(100)
    .initialSize(20)
    .acquireTimeoutMs(30_000)
    .maxLifetimeMs(3_600_000)
    .statementCacheSize(100)
    .build();
  // Up to 100 connections in this instance, and never more than the budget's 200 across all of them.
  const budget = newBudget({ name: 'main-db', maxConnections: 200 });
  const pool = await ConnectionPool.create(config, budget.wrap(factory));
  cleanups.push(() => pool.close());
  budget.attach(pool);
  expect(pool.size().total).toBe(20);
  expect((await budget.inspect()).used).toBe(20);
});

it("README seed translation: the seed's multi-tenant application with global tier limits", async () => {
  const pool = await ConnectionPool.create(PoolConfig.builder().minSize(2).maxSize(20).enablePartitioning(true).build(), factory);
  cleanups.push(() => pool.close());
  const budget = newBudget({
    name: 'tiers-db',
    maxConnections: 200,
    tenants: { Enterprise: 100, Standard: 50 },
  });
  const partitionMgr = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, defaultPartition: 'standard_tier' });
  cleanups.push(() => partitionMgr.close());
  partitionMgr.createPartition(
    'enterprise_tier',
    PartitionType.ResourceGroup('Enterprise'),
    { maxConnections: 100, minConnections: 10 },
    {
      isolated: { factory: budget.wrap(factory, { tenant: 'Enterprise' }) },
    },
  );
  partitionMgr.createPartition(
    'standard_tier',
    PartitionType.ResourceGroup('Standard'),
    { maxConnections: 50, minConnections: 5 },
    {
      isolated: { factory: budget.wrap(factory, { tenant: 'Standard' }) },
    },
  );
  partitionMgr.assign('acme_corp', 'enterprise_tier');
  budget.attachPartitions(partitionMgr);

  expect(await partitionMgr.use({ tenant: 'acme_corp' }, (db) => db.execute('SELECT * FROM data'))).toBe('SELECT * FROM data');
  expect(await partitionMgr.use({ tenant: 'initech' }, (db) => db.execute('SELECT 1'))).toBe('SELECT 1');
  await new Promise((r) => setTimeout(r, 100)); // the isolated pools fill to their minimums
  const snapshot = await budget.inspect();
  expect(snapshot.tenantsUsed.Enterprise).toBeGreaterThanOrEqual(1);
  expect(snapshot.tenantsUsed.Standard).toBeGreaterThanOrEqual(1);
  expect(budget.statistics().pools).toHaveLength(2);
});

it('README tenants: acme and globex with their own global limits', async () => {
  const url = 'unused';
  const pgFactoryLike = (_url: string) => factory;
  const pool = await ConnectionPool.create({ maxSize: 4, enablePartitioning: true }, factory);
  cleanups.push(() => pool.close());
  const budget = newBudget({
    name: 'main-db-tenants',
    maxConnections: 100,
    tenants: { acme: 30, globex: 10 }, // across the whole fleet
  });
  const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
  cleanups.push(() => manager.close());
  manager.createPartition(
    'tenant_acme',
    PartitionType.Tenant('acme'),
    { maxConnections: 20 },
    {
      isolated: { factory: budget.wrap(pgFactoryLike(url), { tenant: 'acme' }) },
    },
  );
  manager.createPartition(
    'tenant_globex',
    PartitionType.Tenant('globex'),
    { maxConnections: 10 },
    {
      isolated: { factory: budget.wrap(pgFactoryLike(url), { tenant: 'globex' }) },
    },
  );
  budget.attachPartitions(manager); // also attaches isolated partitions created later
  await manager.use({ tenant: 'globex' }, (db) => db.execute('SELECT 1'));
  expect((await budget.inspect()).tenantsUsed).toEqual({ globex: 1 });
});

it('README metrics: a collector on a registry', async () => {
  const budget = newBudget({ name: 'metrics-db', maxConnections: 7 });
  await budget.ready();
  const registry = new Registry();
  const collector = new ClusterBudgetCollector(budget, { registry }); // or [budgetA, budgetB]; default: the global registry
  cleanups.push(() => collector.close());
  expect(await registry.metrics()).toContain('pool_cluster_budget_limit{budget="metrics-db",tenant=""} 7');
});

it('examples/two-instances.mjs runs and ends with the budget shared', async () => {
  const dir = fileURLToPath(new URL('..', import.meta.url));
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--import', 'tsx', '--conditions=@pool/source', 'examples/two-instances.mjs'],
    {
      cwd: dir,
      env: { ...process.env, REDIS_URL, EXAMPLE_KEY_PREFIX: keyPrefix },
      timeout: 60_000,
    },
  );
  expect(stdout).toContain('[instance-a] holds 4 slot(s)');
  expect(stdout).toContain('[instance-a] shrank for instance-b');
  expect(stdout).toMatch(/Redis holds: instance-a=\d, instance-b=\d \(4 in use\)/);
  expect(stdout).toContain('[instance-b] holds 2 slot(s)');
  expect(stdout.trim().endsWith('done')).toBe(true);
}, 60_000);
