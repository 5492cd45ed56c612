import { InvalidConfigError } from '@pool/core';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { HostCollector, type HostStatisticsLike } from './host-collector.js';
import { MetricsAlreadyRegisteredError } from './prometheus-collector.js';

function host(overrides: Partial<HostStatisticsLike> & { host: string }): HostStatisticsLike {
  return {
    role: 'standby',
    state: 'up',
    lagMs: 0,
    readWeight: 1,
    connections: { read: { total: 3, active: 1 }, write: 0 },
    reads: 10,
    ...overrides,
  };
}

describe('HostCollector', () => {
  it('publishes role, state, lag, read weight, connections and reads of every host, read at scrape time', async () => {
    let hosts: HostStatisticsLike[] = [
      host({
        host: 'db1:5432',
        role: 'primary',
        lagMs: null,
        readWeight: 0,
        connections: { read: { total: 0, active: 0 }, write: 4 },
        reads: 0,
      }),
      host({ host: 'db2:5432', lagMs: 1500, state: 'lagging', readWeight: 0 }),
    ];
    const registry = new Registry();
    const collector = new HostCollector([{ name: 'orders', hostStatistics: () => hosts }], { registry });
    const text = await registry.metrics();
    expect(text).toContain('pool_host_role{pool_name="orders",host="db1:5432",role="primary"} 1');
    expect(text).toContain('pool_host_role{pool_name="orders",host="db1:5432",role="standby"} 0');
    expect(text).toContain('pool_host_state{pool_name="orders",host="db2:5432",state="lagging"} 1');
    expect(text).toContain('pool_host_replica_lag_seconds{pool_name="orders",host="db2:5432"} 1.5');
    expect(text).not.toContain('pool_host_replica_lag_seconds{pool_name="orders",host="db1:5432"}');
    expect(text).toContain('pool_host_connections{pool_name="orders",host="db1:5432",side="write",state="total"} 4');
    expect(text).toContain('pool_host_connections{pool_name="orders",host="db2:5432",side="read",state="active"} 1');
    expect(text).toContain('pool_host_reads_total{pool_name="orders",host="db2:5432"} 10');

    // A failover: the standby is promoted, the old primary is down.
    hosts = [
      host({ host: 'db1:5432', role: 'primary', state: 'down', lagMs: null }),
      host({ host: 'db2:5432', role: 'primary', lagMs: null, reads: 12 }),
    ];
    const after = await registry.metrics();
    expect(after).toContain('pool_host_state{pool_name="orders",host="db1:5432",state="down"} 1');
    expect(after).toContain('pool_host_role{pool_name="orders",host="db2:5432",role="primary"} 1');
    expect(after).toContain('pool_host_reads_total{pool_name="orders",host="db2:5432"} 12');
    expect(after).not.toContain('pool_host_replica_lag_seconds{');

    collector.close();
    expect(await registry.metrics()).not.toContain('pool_host_');
  });

  it('refuses bad sources and options, and a metric name already taken', () => {
    expect(() => new HostCollector([{} as never])).toThrow(InvalidConfigError);
    expect(() => new HostCollector([], { prefix: '1x' })).toThrow(/prefix/);
    const registry = new Registry();
    const first = new HostCollector([], { registry });
    expect(() => new HostCollector([], { registry })).toThrow(MetricsAlreadyRegisteredError);
    first.close();
    new HostCollector([], { registry }).close();
  });
});
