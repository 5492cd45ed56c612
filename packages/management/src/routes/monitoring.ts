import { z } from '@hono/zod-openapi';
import { exportMetrics, getDashboardData } from '../api.js';
import { ManagementError } from '../errors.js';
import { exportPools, type MetricsFormat } from '../metrics.js';
import { redactText } from '../redact.js';
import { DashboardData, ExportQuery, MetricsQuery, MonitorStatistics, NoQuery, Overview, OverviewQuery, PoolParams } from '../schemas.js';
import { JSON_TYPE, jsonResponse, type RouteContext, type RouteTable, textResponse } from './define.js';

const ok = <S>(description: string, schema: S) => ({ 200: { description, content: { 'application/json': { schema } } } });
const text = (description: string, types: readonly string[]) => ({
  200: { description, content: Object.fromEntries(types.map((t) => [t, { schema: z.string() }])) },
});

/** Monitor statistics, dashboard data, exports, `/metrics`, `/overview` and the OpenAPI document. */
export function monitoringRoutes(table: RouteTable, ctx: RouteContext): void {
  const json = (data: unknown) => jsonResponse(data, ctx.redaction);
  table.add(
    { tag: 'meta', access: 'read', errors: [400] },
    {
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApi',
      summary: 'This API, described in OpenAPI 3.1 (generated from the schemas the requests are validated against)',
      request: { query: NoQuery },
      responses: ok('The OpenAPI document', z.record(z.string(), z.unknown())),
    },
    () => new Response(JSON.stringify(ctx.openapi()), { headers: { 'content-type': JSON_TYPE } }),
  );
  table.add(
    { tag: 'monitoring', access: 'read', errors: [400, 404] },
    {
      method: 'get',
      path: '/pools/{pool}/monitor',
      operationId: 'getMonitorStatistics',
      summary: 'PoolMonitor statistics: every caller counted once, wait/hold/create percentiles, throughput, usage patterns, efficiency',
      request: { params: PoolParams, query: NoQuery },
      responses: ok('The monitor statistics', MonitorStatistics),
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      const stats = ctx.monitorStatistics(e);
      if (stats === null)
        throw new ManagementError(404, `Pool '${e.name}' has no monitor (the app's monitor option is false and none was given)`);
      return json(stats);
    },
  );
  table.add(
    { tag: 'monitoring', access: 'read', errors: [400, 404] },
    {
      method: 'get',
      path: '/pools/{pool}/dashboard',
      operationId: 'getDashboardData',
      summary: "The DashboardProvider's snapshot (the seed's get_dashboard_data)",
      description:
        "The pool's own DashboardProvider, or one the app made over the pool's monitor. A provider covers every pool of its monitor; the app's own monitors watch one pool each.",
      request: { params: PoolParams, query: NoQuery },
      responses: ok('The dashboard data', DashboardData),
    },
    (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      if (e.dashboard === null) throw new ManagementError(404, `Pool '${e.name}' has no dashboard provider (it has no monitor)`);
      return json(getDashboardData(e.dashboard, ctx.redaction));
    },
  );
  table.add(
    { tag: 'monitoring', access: 'read', errors: [400, 404, 406] },
    {
      method: 'get',
      path: '/pools/{pool}/export',
      operationId: 'exportMetrics',
      summary: "The pool's metrics export (the seed's export_metrics)",
      description:
        "With a configured exporter and no format asked for: the exporter's text in its own format. Otherwise this pool's monitor statistics in JSON (the @pool/monitoring schema) or CSV (its columns), as the format query or Accept header asks.",
      request: { params: PoolParams, query: ExportQuery },
      responses: text('The export', ['application/json', 'text/csv', 'text/plain']),
    },
    async (c) => {
      const e = ctx.entry(c.req.valid('param').pool);
      const asked = c.req.valid('query').format;
      if (e.exporter !== null && asked === undefined) {
        return textResponse(await exportMetrics(e.exporter, ctx.redaction), e.exporter.contentType);
      }
      if (e.monitor === null) throw new ManagementError(404, `Pool '${e.name}' has no monitor and no exporter to export`);
      const format = ctx.format(asked, c.req.raw, ['json', 'csv']) as 'json' | 'csv';
      const out = await exportPools([e], format);
      return textResponse(redactText(out.body, ctx.redaction), out.contentType, { vary: 'Accept' });
    },
  );
  table.add(
    { tag: 'monitoring', access: 'read', errors: [400, 406, 503] },
    {
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      summary: 'Metrics of every pool: Prometheus text, JSON or CSV',
      description:
        "Prometheus text (when configured) for scrapers, or every pool's monitor statistics as JSON or CSV. Chosen by the format query, else by the Accept header; without either, Prometheus when available, else JSON.",
      request: { query: MetricsQuery },
      responses: text('The metrics', ['text/plain; version=0.0.4', 'application/json', 'text/csv']),
    },
    async (c) => {
      const available: MetricsFormat[] = ctx.prometheus.available ? ['prometheus', 'json', 'csv'] : ['json', 'csv'];
      const format = ctx.format(c.req.valid('query').format, c.req.raw, available);
      const out = format === 'prometheus' ? await ctx.prometheus.render() : await exportPools(ctx.entries(), format);
      return textResponse(redactText(out.body, ctx.redaction), out.contentType, { vary: 'Accept' });
    },
  );
  table.add(
    { tag: 'dashboard', access: 'read', errors: [400] },
    {
      method: 'get',
      path: '/overview',
      operationId: 'getOverview',
      summary: 'Everything the web dashboard shows, for every pool, from one snapshot, with the recorded history',
      request: { query: OverviewQuery },
      responses: ok('The overview', Overview),
    },
    (c) => json(ctx.overview(c.req.valid('query').history ?? 'none')),
  );
}
