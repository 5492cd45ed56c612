// The README's examples, run as written.
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type ConnectionFactory, ConnectionPool } from '@pool/core';
import { ExportFormat, MonitoringExporter, PoolMonitor } from '@pool/monitoring';
import { Registry, register } from 'prom-client';
import { getMetricsFromIterator } from 'prom2javascript';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PrometheusCollector } from './index.js';

afterEach(() => {
  vi.unstubAllEnvs();
  vi.useRealTimers();
});

describe('README', () => {
  it('quick start: a /metrics endpoint on prom-client’s global registry', async () => {
    vi.stubEnv('METRICS_PORT', '0'); // any free port: tests of other packages may run beside this one
    // --- README quick start ---
    const factory: ConnectionFactory<{ query(sql: string): Promise<unknown[]> }> = {
      create: async () => ({ query: async () => [] }),
      close: async () => {},
    };
    const pool = await ConnectionPool.create({ minSize: 2, maxSize: 10 }, factory, { name: 'main' });
    const monitor = new PoolMonitor(pool);
    const collector = new PrometheusCollector(monitor); // registers on prom-client's global `register`

    const server = createServer(async (req, res) => {
      if (req.url !== '/metrics') {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': register.contentType });
      res.end(await register.metrics());
    });
    server.listen(Number(process.env.METRICS_PORT ?? 9464), '127.0.0.1');
    // --- end ---
    try {
      await once(server, 'listening');
      await pool.use((db) => db.query('SELECT 1'));
      const { port } = server.address() as AddressInfo;
      const response = await fetch(`http://127.0.0.1:${port}/metrics`);
      expect(response.headers.get('content-type')).toBe(register.contentType);
      const metrics = await getMetricsFromIterator((await response.text()).split('\n')[Symbol.iterator]());
      expect(metrics.db_client_connection_max?.data).toEqual([{ labels: { pool_name: 'main' }, value: 10 }]);
      expect(metrics.pool_acquisitions_total?.data).toEqual([{ labels: { pool_name: 'main' }, value: 1 }]);
    } finally {
      server.close();
      collector.close();
      monitor.close();
      await pool.close();
    }
  });

  it('the seed "Metrics Export": JSON, Prometheus and CSV', async () => {
    vi.useFakeTimers();
    const pool = await ConnectionPool.create({ minSize: 1, initialSize: 1 }, { create: async () => ({}), close: async () => {} });
    const monitor = new PoolMonitor(pool);
    const registry = new Registry();
    (await pool.acquire()).release();

    // --- README: Metrics Export ---
    new PrometheusCollector(monitor, { registry }); // provides ExportFormat.Prometheus for this monitor

    // Export as JSON
    const json = await new MonitoringExporter(monitor, ExportFormat.Json).export();

    // Export as Prometheus
    const prometheus = await new MonitoringExporter(monitor, ExportFormat.Prometheus).export();

    // Export as CSV
    const csv = await new MonitoringExporter(monitor, ExportFormat.Csv).export();
    // --- end ---

    expect(JSON.parse(json).pools[0].acquisitions).toBe(1);
    const parsed = await getMetricsFromIterator(prometheus.split('\n')[Symbol.iterator]());
    expect(parsed.pool_acquisitions_total?.data).toEqual([{ labels: { pool_name: pool.name }, value: 1 }]);
    expect(prometheus).toBe(await registry.metrics()); // only the pool metrics were on this registry
    expect(csv.split('\r\n')[1]).toContain(`,${pool.name},open,`);
    monitor.close();
    await pool.close();
  });
});
