import diagnostics from 'node:diagnostics_channel';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { MeterProvider, MetricReader } from '@opentelemetry/sdk-metrics';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { ConnectionPool, PoolChannel } from '@pool/core';
import { PoolTelemetry } from '@pool/opentelemetry';
import { closeFake, openFake } from '../fake.js';
import { measureBatches } from '../measure.js';
import type { Scenario } from '../scenario.js';

const BATCH = 2_000;

/** A reader collected once, at the end (as a periodic exporter would, between measurements). */
class EndReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

type PoolClass = typeof ConnectionPool;

/** Scenario 1's loop on a pool of `Pool` (maxSize 10, one warm connection), optionally inside `around`. */
async function uncontendedLoop(Pool: PoolClass, opts: Parameters<Scenario['run']>[1], attach?: (pool: ConnectionPool<unknown>) => void) {
  const pool = await Pool.create({ maxSize: 10, minSize: 0, maxWaitQueueSize: 1_000_000 }, { create: openFake, close: closeFake });
  attach?.(pool as ConnectionPool<unknown>);
  const c0 = await pool.acquire();
  c0.release();
  const r = await measureBatches(
    async () => {
      for (let i = 0; i < BATCH; i++) {
        const c = await pool.acquire();
        c.release();
      }
    },
    BATCH,
    opts,
  );
  return { pool, r };
}

/**
 * Scenario 7b: scenario 1's loop on core alone and on core with `@pool/opentelemetry` attached, with
 * the OpenTelemetry SDK an application runs (MeterProvider with a reader, a tracer provider, the
 * AsyncLocalStorage context manager) and every borrow made inside an active span, as in a request
 * handler. The difference is what leaving OpenTelemetry on costs each borrow.
 */
export const opentelemetryOverhead: Scenario = {
  id: '7b',
  title: 'OpenTelemetry overhead (scenario 1 with @pool/opentelemetry attached)',
  description:
    "Scenario 1's uncontended acquire + release, the SDK's MeterProvider, a tracer provider and the AsyncLocalStorage context manager set up, every borrow inside an active span: core alone; core with a no-op subscriber on its pool:acquire tracing channel (what tracing every acquire costs in core); core instrumented by @pool/opentelemetry's PoolTelemetry with its defaults (metrics; wait spans off); and with wait spans on (waitSpanThresholdMs: 1). Metrics collected once at the end.",
  subjects: ['core', 'core+traced', 'core+opentelemetry', 'core+opentelemetry+spans'],
  primary: 'nsPerOp',
  metrics: [
    { key: 'nsPerOp', label: 'ns/op', digits: 0 },
    { key: 'relMad', label: 'in-run MAD', digits: 3 },
  ],
  floor: 'core',
  run: async (subject, opts) => {
    if (!opentelemetryOverhead.subjects.includes(subject)) throw new Error(`unknown subject '${subject}'`);
    const contextManager = new AsyncLocalStorageContextManager().enable();
    context.setGlobalContextManager(contextManager);
    const reader = new EndReader();
    const meterProvider = new MeterProvider({ readers: [reader] });
    const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(new InMemorySpanExporter())] });
    const telemetry =
      subject === 'core+opentelemetry'
        ? new PoolTelemetry({ meterProvider, tracerProvider })
        : subject === 'core+opentelemetry+spans'
          ? new PoolTelemetry({ meterProvider, tracerProvider, waitSpanThresholdMs: 1 })
          : null;
    const noop = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} };
    if (subject === 'core+traced') diagnostics.tracingChannel(PoolChannel.Acquire).subscribe(noop);
    const request = tracerProvider.getTracer('bench').startSpan('request');
    const { pool, r } = await context.with(trace.setSpan(context.active(), request), () =>
      uncontendedLoop(ConnectionPool, opts, telemetry === null ? undefined : (p) => telemetry.instrument(p)),
    );
    request.end();
    if (telemetry !== null) {
      // Read what was gathered, as an exporter would, so the work is not optimised away.
      const { resourceMetrics } = await reader.collect();
      const names = resourceMetrics.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));
      if (!names.includes('db.client.connection.count')) throw new Error('the collection has no pool metrics');
      telemetry.close();
    }
    await pool.close();
    await meterProvider.shutdown();
    await tracerProvider.shutdown();
    return { nsPerOp: r.nsPerOp, relMad: r.relMad };
  },
};

/** The other build of @pool/core the A/B compares with (`POOL_BASELINE_CORE`: its `dist/index.js`). */
function baselinePath(): string | null {
  const p = process.env.POOL_BASELINE_CORE;
  return p === undefined || p === '' ? null : path.resolve(p);
}

/**
 * Scenario 1ab: scenario 1's loop, nobody subscribed to anything, on this checkout's @pool/core and on
 * another build of it (`POOL_BASELINE_CORE`, e.g. main's), interleaved round by round in one run: what
 * a change to core (here: the diagnostics channels) costs a program that does not listen.
 */
export const coreAB: Scenario = {
  id: '1ab',
  title: 'Scenario 1, this core against a baseline build (POOL_BASELINE_CORE)',
  description:
    "Scenario 1's uncontended acquire + release with no subscriber on any channel: this checkout's @pool/core ('core') and the build at POOL_BASELINE_CORE ('core-baseline', a dist/index.js), interleaved in one run.",
  subjects: ['core-baseline', 'core'],
  primary: 'nsPerOp',
  metrics: [
    { key: 'nsPerOp', label: 'ns/op', digits: 0 },
    { key: 'relMad', label: 'in-run MAD', digits: 3 },
  ],
  floor: 'core-baseline',
  unavailable: async () =>
    baselinePath() === null ? 'POOL_BASELINE_CORE is not set (the dist/index.js of the @pool/core build to compare with)' : null,
  run: async (subject, opts) => {
    let Pool: PoolClass;
    if (subject === 'core') Pool = ConnectionPool;
    else if (subject === 'core-baseline') {
      const file = baselinePath();
      if (file === null) throw new Error('POOL_BASELINE_CORE is not set');
      Pool = ((await import(pathToFileURL(file).href)) as { ConnectionPool: PoolClass }).ConnectionPool;
    } else throw new Error(`unknown subject '${subject}'`);
    const { pool, r } = await uncontendedLoop(Pool, opts);
    await pool.close();
    return { nsPerOp: r.nsPerOp, relMad: r.relMad };
  },
};
