import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ConnectionPool } from '@pool/core';

const reader = new PeriodicExportingMetricReader({
  exporter: new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE),
  exportIntervalMillis: 1e9,
});
const mp = new MeterProvider({ readers: [reader] });
const h = mp.getMeter('x').createHistogram('h', { unit: 's' });
const attrs = { 'db.client.connection.pool.name': 'main' };
const pool = await ConnectionPool.create({ maxSize: 10 }, { create: async () => ({}), close: async () => {} });
for (let round = 0; round < 4; round++) {
  const N = 1_000_000;
  let t = performance.now();
  for (let i = 0; i < N; i++) h.record(0, attrs);
  const rec = ((performance.now() - t) * 1e6) / N;
  t = performance.now();
  for (let i = 0; i < N; i++) {
    const c = await pool.acquire();
    c.release();
  }
  const loop = ((performance.now() - t) * 1e6) / N;
  console.log('record', rec.toFixed(0), 'loop', loop.toFixed(0));
}
await pool.close();
await mp.shutdown();
