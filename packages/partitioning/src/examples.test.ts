/**
 * The README's examples (the seed's "Partitioning" section and its "Complete Example"), run as written.
 */
import { ConnectionPool, PoolConfig } from '@pool/core';
import { PriorityWaitQueue, StarvationPrevention } from '@pool/queue';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { PartitionLimits } from './limits.js';
import { PartitionManager } from './manager.js';
import { PartitionType } from './partition-type.js';
import { type PartitionRequest, RoutingStrategy } from './routing.js';
import { flush, track } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

interface Db {
  query(sql: string): Promise<{ sql: string }[]>;
  execute(sql: string): Promise<{ sql: string }[]>;
}

function makeFactory() {
  const open = new Set<Db>();
  return {
    open,
    create: async (): Promise<Db> => {
      const db: Db = { query: async (sql) => [{ sql }], execute: async (sql) => [{ sql }] };
      open.add(db);
      return db;
    },
    close: async (db: Db) => {
      open.delete(db);
    },
  };
}

describe('README examples', () => {
  it('the runnable example', async () => {
    const factory = makeFactory();
    const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(20).enablePartitioning(true).build(), factory);
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased });
    manager.createPartition('tenant_acme', PartitionType.Tenant('acme_corp'), { maxConnections: 10, minConnections: 2 });
    manager.createPartition('tenant_globex', PartitionType.Tenant('globex'), { maxConnections: 10, minConnections: 2 });
    const rows = await manager.use({ tenant: 'acme_corp' }, (db) => db.query('SELECT * FROM orders'));
    expect(rows).toEqual([{ sql: 'SELECT * FROM orders' }]);
    expect(manager.getPartitionStatistics().tenant_acme?.connectionsAcquired).toBe(1);
    await manager.close();
    await pool.close();
    expect(factory.open.size).toBe(0);
  });

  it('Creating partitions, Partition request and Partition management', async () => {
    const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(100).enablePartitioning(true).build(), makeFactory());

    // Create partition manager
    const manager = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, connectionMemoryBytes: 8 * 1024 * 1024 });
    // Define resource limits
    const limits: PartitionLimits = {
      maxConnections: 50,
      minConnections: 5,
      maxWaitQueue: 100,
      cpuLimitMs: 60_000,
      memoryLimitBytes: 1024 * 1024 * 1024,
      ioLimit: 1000,
    };
    // Create partition
    const partition = manager.createPartition('tenant_acme', PartitionType.Tenant('ACME Corp'), limits);
    expect(partition.limits).toEqual(limits);
    expect(partition.type).toEqual({ kind: 'tenant', name: 'ACME Corp' });

    const request: PartitionRequest = {
      user: 'alice',
      application: 'web_app',
      service: 'analytics',
      tenant: 'acme_corp',
      sessionId: 'session_123',
      metadata: {},
    };
    expect(manager.routeRequest(request)).toBeNull(); // 'acme_corp' is neither the id nor the type's name
    manager.assign('acme_corp', 'tenant_acme');
    const partitionId = manager.routeRequest(request);
    expect(partitionId).toBe('tenant_acme');
    await manager.use(request, (db) => db.query('SELECT 1'));

    // Get statistics for all partitions
    const lines: string[] = [];
    const partitionStats = manager.getPartitionStatistics();
    for (const [id, stats] of Object.entries(partitionStats)) {
      lines.push(`${id}: ${stats.connectionsAcquired} acquired, ${stats.connectionsReleased} released`);
    }
    expect(lines).toEqual(['tenant_acme: 1 acquired, 1 released']);
    // List all partitions
    const partitions = manager.listPartitions();
    expect(partitions.map((p) => p.id)).toEqual(['tenant_acme']);
    await manager.close();
    await pool.close();
  });

  it('Routing strategies: every strategy constructs, Custom as in the seed', async () => {
    const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(10).enablePartitioning(true).build(), makeFactory());
    const customRouter = RoutingStrategy.Custom((request) => (request.user ? `partition_${request.user}` : null));
    for (const routing of [
      RoutingStrategy.TenantBased,
      RoutingStrategy.UserBased,
      RoutingStrategy.ApplicationBased,
      RoutingStrategy.ServiceBased,
      RoutingStrategy.LoadBalanced,
      customRouter,
    ]) {
      const manager = new PartitionManager({ pool, routing });
      manager.createPartition('partition_alice', PartitionType.User('alice'));
      expect(manager.routing).toBe(routing);
      expect(manager.routeRequest({ user: 'alice' })).toBe(
        routing === RoutingStrategy.UserBased || routing === RoutingStrategy.LoadBalanced || routing === customRouter
          ? 'partition_alice'
          : null,
      );
      await manager.close();
    }
    await pool.close();
  });

  it('the Complete Example: two ResourceGroup tiers on a pool with enablePartitioning', async () => {
    const factory = makeFactory();
    // 1. Create pool with partitioning
    const config = PoolConfig.builder().minSize(20).maxSize(200).initialSize(50).enablePartitioning(true).build();
    const pool = await ConnectionPool.create(config, factory);
    // 2. Set up partitioning for tenants
    const partitionMgr = new PartitionManager({ pool, routing: RoutingStrategy.TenantBased, defaultPartition: 'standard_tier' });
    partitionMgr.createPartition('enterprise_tier', PartitionType.ResourceGroup('Enterprise'), {
      maxConnections: 100,
      minConnections: 10,
    });
    partitionMgr.createPartition('standard_tier', PartitionType.ResourceGroup('Standard'), {
      maxConnections: 50,
      minConnections: 5,
    });
    partitionMgr.assign('acme_corp', 'enterprise_tier');
    // 4. Use in request handlers
    async function handleRequest(tenant: string) {
      return partitionMgr.use({ tenant }, (db) => db.execute('SELECT * FROM data'));
    }
    expect(await handleRequest('acme_corp')).toEqual([{ sql: 'SELECT * FROM data' }]);
    expect(await handleRequest('small_shop')).toEqual([{ sql: 'SELECT * FROM data' }]);
    const stats = partitionMgr.getPartitionStatistics();
    expect(stats.enterprise_tier?.connectionsAcquired).toBe(1);
    expect(stats.standard_tier?.connectionsAcquired).toBe(1);
    expect(stats.enterprise_tier?.limits).toMatchObject({
      maxConnections: 100,
      minConnections: 10,
      maxWaitQueue: 10_000,
      cpuLimitMs: null,
    });

    // The tiers' limits hold under load: the standard tier is capped at 50, the enterprise tier keeps
    // its 10 reserved connections while 200 standard requests queue.
    const standard = Array.from({ length: 200 }, () => track(partitionMgr.acquire({ tenant: 'small_shop' })));
    await flush();
    expect(standard.filter((t) => t.state === 'resolved')).toHaveLength(50);
    expect(partitionMgr.getPartitionStatistics().standard_tier).toMatchObject({ active: 50, waiting: 150, blockedOn: 'maxConnections' });
    const enterprise = await partitionMgr.acquire({ tenant: 'acme_corp' });
    enterprise.release();
    // Each round of releases lets the next 50 queued standard requests in.
    for (let round = 0; round < 4; round++) {
      for (const t of standard) if (t.state === 'resolved' && !t.value?.released) t.value?.release();
      await flush();
      expect(standard.filter((t) => t.state === 'resolved')).toHaveLength(Math.min(200, 100 + round * 50));
    }
    expect(standard.every((t) => t.state === 'resolved')).toBe(true);
    await partitionMgr.close();
    await pool.close();
    expect(factory.open.size).toBe(0);
  });

  it('Priorities inside a partition', async () => {
    const pool = await ConnectionPool.create(PoolConfig.builder().maxSize(10).enablePartitioning(true).build(), makeFactory());
    const manager = new PartitionManager({
      pool,
      routing: RoutingStrategy.TenantBased,
      waitQueue: () => new PriorityWaitQueue({ starvationPrevention: new StarvationPrevention({ thresholdMs: 5_000 }) }),
    });
    manager.createPartition('tenant_acme', PartitionType.Tenant('acme_corp'));
    expect(await manager.use({ tenant: 'acme_corp' }, (db) => db.query('SELECT 1'), { priority: 'critical' })).toEqual([
      { sql: 'SELECT 1' },
    ]);
    await manager.close();
    await pool.close();
  });
});
