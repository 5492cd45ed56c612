import { ConnectionPool } from '@pool/core';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { PartitionError } from './errors.js';
import { PartitionManager } from './manager.js';
import type { PartitionManagerOptions } from './manager-options.js';
import { PartitionType } from './partition-type.js';
import { type PartitionRequest, RoutingStrategy } from './routing.js';
import { type FakeConnection, FakeFactory, flush } from './test-support/fake-factory.js';

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

async function withManager(
  options: Omit<PartitionManagerOptions<FakeConnection>, 'pool'>,
  body: (manager: PartitionManager<FakeConnection>, pool: ConnectionPool<FakeConnection>) => Promise<void>,
) {
  const pool = await ConnectionPool.create({ maxSize: 10, enablePartitioning: true }, new FakeFactory());
  const manager = new PartitionManager({ pool, ...options });
  try {
    await body(manager, pool);
  } finally {
    await manager.close();
    await pool.close();
  }
}

const request: PartitionRequest = {
  user: 'alice',
  application: 'web_app',
  service: 'analytics',
  tenant: 'acme_corp',
  sessionId: 'session_123',
  metadata: {},
};

describe('key-based routing strategies', () => {
  it('TenantBased routes by request.tenant to the Tenant partition of that name', async () => {
    await withManager({ routing: RoutingStrategy.TenantBased }, async (manager) => {
      manager.createPartition('tenant_acme', PartitionType.Tenant('acme_corp'));
      manager.createPartition('tenant_globex', PartitionType.Tenant('globex'));
      expect(manager.routeRequest(request)).toBe('tenant_acme');
      expect(manager.routeRequest({ tenant: 'globex' })).toBe('tenant_globex');
      const conn = await manager.acquire(request);
      expect(conn.context).toEqual({ partition: 'tenant_acme', request, context: undefined });
      conn.release();
    });
  });

  it('UserBased, ApplicationBased and ServiceBased route by their own field', async () => {
    const cases = [
      [RoutingStrategy.UserBased, PartitionType.User('alice')],
      [RoutingStrategy.ApplicationBased, PartitionType.Application('web_app')],
      [RoutingStrategy.ServiceBased, PartitionType.Service('analytics')],
    ] as const;
    for (const [routing, type] of cases) {
      await withManager({ routing }, async (manager) => {
        manager.createPartition('target', type);
        manager.createPartition('other', PartitionType.Tenant('acme_corp'));
        expect(manager.routeRequest(request)).toBe('target');
      });
    }
  });

  it('prefers explicit route keys, then the type name, then a partition id equal to the key', async () => {
    await withManager({ routing: RoutingStrategy.TenantBased }, async (manager) => {
      manager.createPartition('enterprise_tier', PartitionType.ResourceGroup('Enterprise'), {}, { routeKeys: ['acme_corp'] });
      manager.createPartition('acme_own', PartitionType.Tenant('acme_corp'));
      manager.createPartition('initech', PartitionType.ResourceGroup('Initech'));
      expect(manager.routeRequest({ tenant: 'acme_corp' })).toBe('enterprise_tier');
      expect(manager.routeRequest({ tenant: 'initech' })).toBe('initech');
      expect(manager.assign('initech', 'enterprise_tier')).toBeUndefined();
      expect(manager.routeRequest({ tenant: 'initech' })).toBe('enterprise_tier');
      expect(manager.assign('acme_corp', 'initech')).toBe('enterprise_tier');
      expect(manager.routeRequest({ tenant: 'acme_corp' })).toBe('initech');
      expect(manager.unassign('acme_corp')).toBe(true);
      expect(manager.routeRequest({ tenant: 'acme_corp' })).toBe('acme_own');
      expect(manager.listPartitions().find((p) => p.id === 'enterprise_tier')?.routeKeys).toEqual(['initech']);
    });
  });
});

describe('unmatched requests', () => {
  it('fail with PartitionError naming the missing match when there is no default partition', async () => {
    await withManager({ routing: RoutingStrategy.TenantBased }, async (manager) => {
      manager.createPartition('tenant_acme', PartitionType.Tenant('acme_corp'));
      expect(manager.routeRequest({ tenant: 'nobody' })).toBeNull();
      const err = await manager.acquire({ tenant: 'nobody' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PartitionError);
      expect(err).toMatchObject({ code: 'ERR_POOL_PARTITION', reason: 'unrouted' });
      expect((err as Error).message).toContain("no partition serves tenant 'nobody'");
      await expect(manager.acquire({ user: 'alice' })).rejects.toThrow(/has no tenant/);
      expect(manager.unroutedRequests).toBe(2);
    });
  });

  it('go to the default partition when one is configured', async () => {
    await withManager({ routing: RoutingStrategy.TenantBased, defaultPartition: 'shared' }, async (manager) => {
      manager.createPartition('shared', PartitionType.ResourceGroup('Free tier'), { maxConnections: 2 });
      expect(manager.routeRequest({ tenant: 'nobody' })).toBe('shared');
      const conn = await manager.acquire({});
      expect((conn.context as { partition: string }).partition).toBe('shared');
      conn.release();
    });
  });
});

describe('LoadBalanced and Custom routing', () => {
  it('LoadBalanced picks the least-loaded partition relative to its size', async () => {
    await withManager({ routing: RoutingStrategy.LoadBalanced }, async (manager) => {
      manager.createPartition('small', PartitionType.ResourceGroup('small'), { maxConnections: 2 });
      manager.createPartition('large', PartitionType.ResourceGroup('large'), { maxConnections: 8 });
      const routed: string[] = [];
      const held = [];
      for (let i = 0; i < 5; i++) {
        const conn = await manager.acquire({});
        routed.push((conn.context as { partition: string }).partition);
        held.push(conn);
      }
      // Loads (held / maxConnections): a tie at 0 goes to the first; then small is at 1/2 while large climbs 0/8 .. 3/8.
      expect(routed).toEqual(['small', 'large', 'large', 'large', 'large']);
      for (const c of held) c.release();
      await flush();
      expect(manager.routeRequest({})).toBe('small');
    });
  });

  it('Custom routes with the given function (the seed example) and falls back when it has no answer', async () => {
    const router = RoutingStrategy.Custom((req) => (req.user ? `partition_${req.user}` : null));
    await withManager({ routing: router, defaultPartition: 'anonymous' }, async (manager) => {
      manager.createPartition('partition_alice', PartitionType.User('alice'));
      manager.createPartition('anonymous', PartitionType.ResourceGroup('anonymous'));
      expect(manager.routeRequest(request)).toBe('partition_alice');
      expect(manager.routeRequest({ tenant: 'acme' })).toBe('anonymous');
      expect(manager.routeRequest({ user: 'bob' })).toBe('anonymous');
    });
  });

  it('a custom router that throws fails the acquire with PartitionError carrying the cause', async () => {
    const boom = new Error('router exploded');
    await withManager(
      {
        routing: RoutingStrategy.Custom(() => {
          throw boom;
        }),
      },
      async (manager) => {
        const err = await manager.acquire({}).catch((e: unknown) => e);
        expect(err).toMatchObject({ code: 'ERR_POOL_PARTITION', reason: 'unrouted', cause: boom });
      },
    );
  });

  it('refuses route keys and assign() under a strategy that does not route by key', async () => {
    await withManager({ routing: RoutingStrategy.LoadBalanced }, async (manager) => {
      expect(() => manager.createPartition('a', PartitionType.ResourceGroup('a'), {}, { routeKeys: ['x'] })).toThrow(
        expect.objectContaining({ code: 'ERR_POOL_INVALID_CONFIG', field: 'routing' }),
      );
      manager.createPartition('a', PartitionType.ResourceGroup('a'));
      expect(() => manager.assign('x', 'a')).toThrow(/key-based routing/);
    });
  });
});

describe('request validation', () => {
  it('rejects a malformed request with InvalidArgumentError naming the field', async () => {
    await withManager({ routing: RoutingStrategy.TenantBased }, async (manager) => {
      manager.createPartition('a', PartitionType.Tenant('a'));
      await expect(manager.acquire({ tennant: 'a' } as never)).rejects.toMatchObject({
        code: 'ERR_POOL_INVALID_ARGUMENT',
        argument: 'request.tennant',
      });
      await expect(manager.acquire({ tenant: 42 } as never)).rejects.toMatchObject({ argument: 'request.tenant' });
      await expect(manager.acquire(null as never)).rejects.toMatchObject({ argument: 'request' });
      await expect(manager.acquire({ tenant: 'a' }, { timeoutMs: -1 })).rejects.toMatchObject({ argument: 'timeoutMs' });
      await expect(manager.acquire({ tenant: 'a' }, { priority: 'urgent' as never })).rejects.toMatchObject({ argument: 'priority' });
      await expect(manager.acquire({ tenant: 'a' }, { lable: 'x' } as never)).rejects.toMatchObject({ argument: 'options.lable' });
      expect(() => manager.routeRequest({ metadata: 'x' } as never)).toThrow(expect.objectContaining({ argument: 'request.metadata' }));
    });
  });
});
