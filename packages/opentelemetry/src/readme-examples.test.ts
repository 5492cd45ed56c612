// The README's examples, run as written.
import { context, metrics, trace } from '@opentelemetry/api';
import { ConsoleMetricExporter, MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { ConsoleSpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ConnectionPool } from '@pool/core';
import { afterEach, expect, it, vi } from 'vitest';
import { PoolTelemetry } from './index.js';

afterEach(() => {
  vi.restoreAllMocks();
  trace.disable();
  metrics.disable();
  context.disable();
});

it('quick start and SDK setup: the pool on the global providers, a request span, metrics exported', async () => {
  const printed: unknown[] = [];
  vi.spyOn(console, 'dir').mockImplementation((value: unknown) => void printed.push(value));
  vi.spyOn(console, 'log').mockImplementation((value: unknown) => void printed.push(value));
  const factory = {
    create: async () => ({ query: async (sql: string) => [{ sql }] }),
    close: async () => {},
  };
  // --- README quick start (the SDK first, as the README's second example sets it up) ---
  const tracerProvider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new ConsoleSpanExporter())] });
  tracerProvider.register(); // also registers the AsyncLocalStorage context manager
  const meterProvider = new MeterProvider({
    readers: [new PeriodicExportingMetricReader({ exporter: new ConsoleMetricExporter(), exportIntervalMillis: 60_000 })],
  });
  metrics.setGlobalMeterProvider(meterProvider);

  const pool = await ConnectionPool.create({ minSize: 2, maxSize: 10 }, factory, { name: 'main' });
  const telemetry = new PoolTelemetry({ waitSpanThresholdMs: 1 }); // the global providers; spans for waits of 1 ms or more
  telemetry.instrument(pool);

  await trace.getTracer('app').startActiveSpan('GET /orders', async (span) => {
    await pool.use((db) => db.query('SELECT * FROM orders')); // a wait here is a `pool.acquire` child of 'GET /orders'
    span.end();
  });
  // --- end ---
  await meterProvider.forceFlush();
  telemetry.close();
  await pool.close();
  await Promise.all([meterProvider.shutdown(), tracerProvider.shutdown()]);

  expect(printed).toContainEqual(expect.objectContaining({ name: 'GET /orders' }));
  const metricNames = printed.map((p) => (p as { descriptor?: { name?: string } }).descriptor?.name).filter((n) => n !== undefined);
  expect(metricNames).toEqual(expect.arrayContaining(['db.client.connection.count', 'db.client.connection.max']));
  const count = printed.find((p) => (p as { descriptor?: { name?: string } }).descriptor?.name === 'db.client.connection.count') as {
    dataPoints: { attributes: Record<string, string>; value: number }[];
  };
  expect(count.dataPoints).toContainEqual(
    expect.objectContaining({ attributes: { 'db.client.connection.pool.name': 'main', 'db.client.connection.state': 'idle' }, value: 2 }),
  );
});
