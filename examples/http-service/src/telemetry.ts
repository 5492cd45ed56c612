/**
 * OpenTelemetry for the service, the way an application sets it up: the SDK (a tracer provider and a
 * meter provider exporting over OTLP/HTTP to `OTEL_EXPORTER_OTLP_ENDPOINT`, e.g. an OpenTelemetry
 * Collector on http://127.0.0.1:4318), registered globally, then `@pool/opentelemetry` on the pool.
 * Without `OTEL_EXPORTER_OTLP_ENDPOINT` nothing is set up and nothing is exported.
 */
import { metrics, type Tracer, trace } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import type { ConnectionPool } from '@pool/core';
import { PoolTelemetry } from '@pool/opentelemetry';

/** The service's OpenTelemetry, when enabled. */
export interface Telemetry {
  /** Where the OTLP exporters send to. */
  readonly endpoint: string;
  /** The service's tracer (one span per HTTP request; the pool's wait spans nest under it). */
  readonly tracer: Tracer;
  /** Publishes the pool's metrics and wait spans. */
  instrument<C>(pool: ConnectionPool<C>): void;
  /** Stops publishing and exports what is left (spans and a last collection of the metrics). */
  shutdown(): Promise<void>;
}

export function startTelemetry(env: NodeJS.ProcessEnv): Telemetry | null {
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (endpoint === undefined || endpoint === '') return null;
  // The exporters read OTEL_EXPORTER_OTLP_ENDPOINT themselves (and append /v1/traces, /v1/metrics).
  const tracerProvider = new NodeTracerProvider({ spanProcessors: [new BatchSpanProcessor(new OTLPTraceExporter())] });
  tracerProvider.register(); // the global tracer provider, and the AsyncLocalStorage context manager
  const meterProvider = new MeterProvider({
    readers: [
      new PeriodicExportingMetricReader({
        exporter: new OTLPMetricExporter(),
        exportIntervalMillis: Number(env.OTEL_METRIC_EXPORT_INTERVAL ?? 60_000),
      }),
    ],
  });
  metrics.setGlobalMeterProvider(meterProvider);
  // Uses the global providers just registered. A wait span for each acquire that waited at least
  // POOL_WAIT_SPAN_MS (default here 1 ms; 0: every acquire; spans are off unless a threshold is given).
  const poolTelemetry = new PoolTelemetry({ waitSpanThresholdMs: Number(env.POOL_WAIT_SPAN_MS ?? 1) });
  return {
    endpoint,
    tracer: trace.getTracer('pool-example-http-service'),
    instrument: (pool) => poolTelemetry.instrument(pool),
    async shutdown() {
      // The meter provider's shutdown exports a last collection, which still reads the pool: close after.
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
      poolTelemetry.close();
    },
  };
}
