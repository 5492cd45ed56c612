import { DESTROY_REASONS, type DestroyReason, InvalidArgumentError } from '@pool/core';
import { type ExportFormat, type ExportFormatter, ExportFormatUnavailableError, type ExportOptions } from './export-format.js';
import type { HistogramSnapshot } from './histogram.js';
import type { PoolMonitor } from './pool-monitor.js';
import type { PoolMonitorStatistics } from './statistics.js';

/** The `schema` field of the JSON export. It changes only if a field is removed or changes meaning. */
export const JSON_SCHEMA = '@pool/monitoring/statistics/v1';

/** The JSON export: a versioned envelope around one {@link PoolMonitorStatistics} per pool. */
export interface JsonExport {
  /** Always {@link JSON_SCHEMA}. */
  schema: typeof JSON_SCHEMA;
  /** When the export was made (ISO 8601, UTC). */
  exportedAt: string;
  /** One entry per attached pool, in attach order. */
  pools: PoolMonitorStatistics[];
}

type Cell = string | number | null;
type Column = readonly [name: string, read: (s: PoolMonitorStatistics) => Cell];

// The reasons known when the CSV schema was fixed, in their column order. A reason added to core later
// gets a column after all of these, so existing columns never move.
const CSV_REASONS: readonly DestroyReason[] = [
  'idle',
  'lifetime',
  'usage',
  'errorRate',
  'validation',
  'reset',
  'replace',
  'broken',
  'destroyed',
  'evicted',
  'resize',
  'reclaimed',
  'closed',
];

function histogramColumns(prefix: string, pick: (s: PoolMonitorStatistics) => HistogramSnapshot): Column[] {
  return [
    [`${prefix}_count`, (s) => pick(s).count],
    [`${prefix}_mean_ms`, (s) => pick(s).meanMs],
    [`${prefix}_p50_ms`, (s) => pick(s).percentiles.p50],
    [`${prefix}_p90_ms`, (s) => pick(s).percentiles.p90],
    [`${prefix}_p95_ms`, (s) => pick(s).percentiles.p95],
    [`${prefix}_p99_ms`, (s) => pick(s).percentiles.p99],
    [`${prefix}_p999_ms`, (s) => pick(s).percentiles.p999],
    [`${prefix}_max_ms`, (s) => pick(s).maxMs],
  ];
}

function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

const COLUMNS: readonly Column[] = [
  ['timestamp', (s) => new Date(s.timestamp).toISOString()],
  ['pool_name', (s) => s.poolName],
  ['state', (s) => s.state],
  ['window_span_ms', (s) => s.windowSpanMs],
  ['total_connections', (s) => s.totalConnections],
  ['active_connections', (s) => s.activeConnections],
  ['idle_connections', (s) => s.idleConnections],
  ['pending_creates', (s) => s.pendingCreates],
  ['waiting', (s) => s.waiting],
  ['min_connections', (s) => s.minConnections],
  ['max_connections', (s) => s.maxConnections],
  ['connections_created', (s) => s.connectionsCreated],
  ['connections_destroyed', (s) => s.connectionsDestroyed],
  ['create_failures', (s) => s.createFailures],
  ['acquisitions', (s) => s.acquisitions],
  ['acquire_failures', (s) => s.acquireFailures],
  ['timeouts', (s) => s.timeouts],
  ['rejected', (s) => s.rejected],
  ['aborted', (s) => s.aborted],
  ['released_with_error', (s) => s.releasedWithError],
  ['reclaimed', (s) => s.reclaimed],
  ['leaks_detected', (s) => s.leaksDetected],
  ['validations', (s) => s.validations],
  ['validation_failures', (s) => s.validationFailures],
  ['success_rate', (s) => s.successRate],
  ['recent_success_rate', (s) => s.recentSuccessRate],
  ['window_acquisitions', (s) => s.windowAcquisitions],
  ['window_acquire_failures', (s) => s.windowAcquireFailures],
  ['average_acquire_time_ms', (s) => s.averageAcquireTimeMs],
  ['throughput_per_second', (s) => s.throughputPerSecond],
  ...histogramColumns('wait', (s) => s.waitTimeHistogram),
  ...histogramColumns('hold', (s) => s.holdTimeHistogram),
  ...histogramColumns('create', (s) => s.createTimeHistogram),
  ['time_zone', (s) => s.usagePatterns.timeZone],
  ['peak_hour', (s) => s.usagePatterns.peakHour],
  ['peak_hour_acquisitions', (s) => s.usagePatterns.peakHourAcquisitions],
  ['pool_utilization', (s) => s.efficiencyMetrics.poolUtilization],
  ['connection_reuse_rate', (s) => s.efficiencyMetrics.connectionReuseRate],
  ['cache_hit_rate', (s) => s.efficiencyMetrics.cacheHitRate],
  ['borrowed_time_ms', (s) => s.efficiencyMetrics.borrowedTimeMs],
  ['statement_cache_hits', (s) => s.efficiencyMetrics.statementCache?.hits ?? null],
  ['statement_cache_misses', (s) => s.efficiencyMetrics.statementCache?.misses ?? null],
  ['statement_cache_evictions', (s) => s.efficiencyMetrics.statementCache?.evictions ?? null],
  ['statement_cache_size', (s) => s.efficiencyMetrics.statementCache?.size ?? null],
  ['statement_cache_capacity', (s) => s.efficiencyMetrics.statementCache?.capacity ?? null],
  ['query_errors', (s) => s.efficiencyMetrics.queryErrors],
  ...[...CSV_REASONS, ...DESTROY_REASONS.filter((r) => !CSV_REASONS.includes(r))].map(
    (r): Column => [`destroyed_${snakeCase(r)}`, (s) => s.destroyedByReason[r] ?? 0],
  ),
];

/** The CSV export's columns, in their fixed order (see the README for each one's meaning). */
export const CSV_COLUMNS: readonly string[] = Object.freeze(COLUMNS.map(([name]) => name));

/** Quotes a CSV field when needed (RFC 4180): commas, quotes, line breaks, or edge spaces. */
export function csvField(value: Cell): string {
  if (value === null) return '';
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(value) : '') : value;
  if (/[",\r\n]/.test(text) || text !== text.trim()) return `"${text.replace(/"/g, '""')}"`;
  return text;
}

const jsonFormatter: ExportFormatter = {
  format: 'json',
  contentType: 'application/json; charset=utf-8',
  render(monitor) {
    const out: JsonExport = { schema: JSON_SCHEMA, exportedAt: new Date().toISOString(), pools: monitor.allStatistics() };
    return JSON.stringify(out);
  },
};

const csvFormatter: ExportFormatter = {
  format: 'csv',
  contentType: 'text/csv; charset=utf-8; header=present',
  render(monitor, options) {
    const lines: string[] = [];
    if (options.header !== false) lines.push(CSV_COLUMNS.join(','));
    for (const s of monitor.allStatistics()) lines.push(COLUMNS.map(([, read]) => csvField(read(s))).join(','));
    return lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
  },
};

const BUILT_IN: Readonly<Record<string, ExportFormatter>> = { json: jsonFormatter, csv: csvFormatter };

/**
 * Exports a monitor's statistics in a chosen format (the seed's `MonitoringExporter`). JSON and CSV
 * are built in, with a stable, documented schema; Prometheus text comes from `@pool/prometheus`, whose
 * `PrometheusCollector` registers the `'prometheus'` format on the monitor it is created for.
 *
 * @example
 * ```ts
 * const exporter = new MonitoringExporter(monitor, ExportFormat.Json);
 * const json = await exporter.export();
 * const csv = await new MonitoringExporter(monitor, ExportFormat.Csv).export();
 * ```
 */
export class MonitoringExporter {
  /** The monitor exported. */
  readonly monitor: PoolMonitor;
  /** The format name. */
  readonly format: string;
  readonly #custom: ExportFormatter | null;

  /**
   * @param monitor the monitor to export.
   * @param format an {@link ExportFormat}, or a formatter of your own.
   * @throws ExportFormatUnavailableError when no formatter exists for `format` (for Prometheus: create
   *   `@pool/prometheus`'s `PrometheusCollector` for this monitor first).
   */
  constructor(monitor: PoolMonitor, format: ExportFormat | ExportFormatter) {
    if (typeof monitor !== 'object' || monitor === null || typeof (monitor as PoolMonitor).allStatistics !== 'function') {
      throw new InvalidArgumentError('monitor', monitor, 'must be a PoolMonitor');
    }
    this.monitor = monitor;
    if (typeof format === 'object' && format !== null) {
      if (typeof format.render !== 'function' || typeof format.format !== 'string' || typeof format.contentType !== 'string') {
        throw new InvalidArgumentError('format', format, 'must be an ExportFormat or { format, contentType, render(monitor, options) }');
      }
      this.#custom = format;
      this.format = format.format;
    } else {
      if (typeof format !== 'string')
        throw new InvalidArgumentError('format', format, "must be an ExportFormat ('json', 'csv', 'prometheus')");
      this.#custom = null;
      this.format = format;
      this.#formatter();
    }
  }

  /** The HTTP content type of the output. */
  get contentType(): string {
    return this.#formatter().contentType;
  }

  /**
   * Produces the export text. Always a promise, since some formats (Prometheus) are rendered
   * asynchronously. Rejects with `ExportFormatUnavailableError` if the format's provider went away.
   */
  async export(options: ExportOptions = {}): Promise<string> {
    if (typeof options !== 'object' || options === null) throw new InvalidArgumentError('options', options, 'must be { header? }');
    if (options.header !== undefined && typeof options.header !== 'boolean') {
      throw new InvalidArgumentError('options.header', options.header, 'must be true or false');
    }
    return this.#formatter().render(this.monitor, options);
  }

  #formatter(): ExportFormatter {
    if (this.#custom !== null) return this.#custom;
    const found = BUILT_IN[this.format] ?? this.monitor.getExportFormatter(this.format);
    if (found !== undefined) return found;
    throw new ExportFormatUnavailableError(
      this.format,
      this.format === 'prometheus'
        ? 'create a PrometheusCollector from @pool/prometheus for this monitor first (it provides the Prometheus format)'
        : "the built-in formats are 'json' and 'csv'; others are provided by registering a formatter on the monitor",
    );
  }
}
