/**
 * `@pool/pg` with `@opentelemetry/instrumentation-pg` registered, on the real PostgreSQL (PG_URL).
 *
 * instrumentation-pg patches `pg` through require-in-the-middle, which sees `require()` only, and only
 * the first load after it is enabled. Vitest hoists static imports above the test code, and loads
 * `@pool/pg` (through its `@pool/source` condition) as source whose `import pg from 'pg'` reaches pg
 * through Node's ESM loader. So this file imports neither pg nor `@pool/pg` statically: it enables the
 * instrumentation, then loads `pg` with `createRequire` (the `require()` the hook sees, which patches
 * `pg.Client.prototype` in place), then imports `@pool/pg` dynamically; `@pool/pg` gets the same cached
 * (now patched) module. An application does the same by registering its instrumentations before it
 * imports its database code (`node --import ./otel.js app.js`).
 */
import { createRequire } from 'node:module';
import { context, type Span, trace } from '@opentelemetry/api';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import type { ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ATTR_OUTCOME, ATTR_POOL_NAME, WAIT_SPAN_NAME } from './names.js';
import { PoolTelemetry } from './pool-telemetry.js';
import { OtelHarness } from './test-support/otel-harness.js';

const PG_URL = process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
const otel = new OtelHarness();
const instrumentation = new PgInstrumentation();
let poolPg: typeof import('@pool/pg');

beforeAll(async () => {
  instrumentation.setTracerProvider(otel.tracerProvider);
  instrumentation.enable();
  const pg = createRequire(import.meta.url)('pg') as { Client: { prototype: { query: { __wrapped?: boolean } } } };
  expect(pg.Client.prototype.query.__wrapped).toBe(true);
  poolPg = await import('@pool/pg');
});

afterAll(async () => {
  instrumentation.disable();
  await otel.close();
});

/** Polls `condition` (bounded: 10 s). */
async function waitFor(condition: () => boolean): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met within 10 s');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function childrenOf(parent: Span, spans: ReadableSpan[]): ReadableSpan[] {
  return spans.filter((s) => s.parentSpanContext?.spanId === parent.spanContext().spanId);
}

it("keeps pg's query span, with the pool's wait span beside it under the caller's span", async () => {
  const telemetry = new PoolTelemetry({ meterProvider: otel.meterProvider, tracerProvider: otel.tracerProvider, waitSpanThresholdMs: 0 });
  const pool = poolPg.createPgPool({ connectionString: PG_URL, max: 1, poolOptions: { name: 'pg-traced' } });
  telemetry.instrument(pool.pool);
  try {
    const tracer = otel.tracer();
    // The only connection is held, so the traced query waits for it.
    const holder = await pool.connect();
    const request = tracer.startSpan('request');
    const query = context.with(trace.setSpan(context.active(), request), () => pool.query('SELECT 1 AS one'));
    await waitFor(() => pool.pool.size().waiting === 1);
    holder.release();
    expect((await query).rows).toEqual([{ one: 1 }]);
    request.end();

    const children = childrenOf(request, otel.spans());
    const wait = children.find((s) => s.name === WAIT_SPAN_NAME);
    const pgQuery = children.find((s) => s.name.startsWith('pg.query'));
    expect(wait?.attributes).toMatchObject({ [ATTR_POOL_NAME]: 'pg-traced', [ATTR_OUTCOME]: 'acquired' });
    expect(pgQuery?.attributes).toMatchObject({ 'db.system.name': 'postgresql' });
    // The wait ends before the query starts: beside it, not around it.
    const end = (s: ReadableSpan) => s.endTime[0] * 1e9 + s.endTime[1];
    const start = (s: ReadableSpan) => s.startTime[0] * 1e9 + s.startTime[1];
    expect(end(wait as ReadableSpan)).toBeLessThanOrEqual(start(pgQuery as ReadableSpan));
  } finally {
    telemetry.close();
    await pool.end();
  }
});
