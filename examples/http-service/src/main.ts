/**
 * `pnpm --filter @pool/example-http-service start`: the service on http://127.0.0.1:3000.
 *
 * Environment: PG_URL (default postgres://postgres@127.0.0.1:5432/test), PORT (default 3000; 0: any
 * free port), HOST (default 127.0.0.1), POOL_READ_TOKEN / POOL_ADMIN_TOKEN for /admin (at least 16
 * characters; made fresh for the run when not given), OTEL_EXPORTER_OTLP_ENDPOINT (OpenTelemetry over
 * OTLP/HTTP, e.g. http://127.0.0.1:4318; off when not set), POOL_WAIT_SPAN_MS (default 1), and the
 * SDK's OTEL_METRIC_EXPORT_INTERVAL. SIGINT or SIGTERM stops it gracefully.
 */
import { randomBytes } from 'node:crypto';
import { startService } from './service.js';
import { startTelemetry } from './telemetry.js';

// Tokens from the environment stay out of the output; tokens made for this run are printed.
const given = process.env.POOL_READ_TOKEN !== undefined;
const readToken = process.env.POOL_READ_TOKEN ?? randomBytes(18).toString('base64url');
const adminToken = process.env.POOL_ADMIN_TOKEN ?? randomBytes(18).toString('base64url');

const telemetry = startTelemetry(process.env);
const service = await startService({
  telemetry,
  databaseUrl: process.env.PG_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
  // A table of our own, so runs (and CI jobs) sharing a server never collide; dropped on shutdown.
  table: `pool_example_http_${process.pid}_${Date.now().toString(36)}`,
  host: process.env.HOST ?? '127.0.0.1',
  port: Number(process.env.PORT ?? 3000),
  readToken,
  adminToken,
}).catch((error: unknown) => {
  console.error(`The service could not start: ${error instanceof Error ? error.message : String(error)}`);
  process.exit(1);
});

const shownRead = given ? '$POOL_READ_TOKEN' : readToken;
const shownAdmin = process.env.POOL_ADMIN_TOKEN !== undefined ? '$POOL_ADMIN_TOKEN' : adminToken;
console.log(`Listening on ${service.url}`);
console.log(
  telemetry === null
    ? '  OpenTelemetry: off (set OTEL_EXPORTER_OTLP_ENDPOINT to export traces and metrics over OTLP/HTTP)'
    : `  OpenTelemetry: traces and metrics to ${telemetry.endpoint} over OTLP/HTTP`,
);
console.log(`  notes:     curl -X POST -H 'content-type: application/json' -d '{"text":"hello"}' ${service.url}/notes`);
console.log(`  health:    curl ${service.url}/healthz`);
console.log(`  metrics:   curl ${service.url}/metrics`);
console.log(`  dashboard: ${service.url}/admin/dashboard#token=${shownRead}`);
console.log(`  admin API: curl -H 'Authorization: Bearer ${shownRead}' ${service.url}/admin/pools`);
console.log(
  `  resize:    curl -X POST -H 'Authorization: Bearer ${shownAdmin}' -H 'content-type: application/json' -d '{"maxSize":20}' ${service.url}/admin/pools/http-service/resize`,
);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: stopping...`);
    service.stop().then(
      (line) => console.log(line),
      (error: unknown) => {
        console.error(error);
        process.exitCode = 1;
      },
    );
  });
}
