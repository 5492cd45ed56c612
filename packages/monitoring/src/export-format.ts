import { type EnumValue, PoolError } from '@pool/core';
import type { PoolMonitor } from './pool-monitor.js';

/**
 * The formats a {@link MonitoringExporter} can produce. `Json` and `Csv` are built in; `Prometheus`
 * is provided by `@pool/prometheus` (creating its `PrometheusCollector` for a monitor registers it),
 * so an application that does not use Prometheus never loads `prom-client`.
 */
export const ExportFormat = Object.freeze({
  Json: 'json',
  Csv: 'csv',
  Prometheus: 'prometheus',
} as const);

/** One of the {@link ExportFormat} values. */
export type ExportFormat = EnumValue<typeof ExportFormat>;

/** Options a formatter receives from {@link MonitoringExporter.export}. */
export interface ExportOptions {
  /** CSV only: start with the header row. Default `true`; pass `false` to append rows to an existing file. */
  header?: boolean;
}

/**
 * Renders a monitor's figures in one format. Register one with
 * {@link PoolMonitor.registerExportFormatter} to make its `format` available to
 * {@link MonitoringExporter}; this is how `@pool/prometheus` provides `ExportFormat.Prometheus`.
 */
export interface ExportFormatter {
  /** The format name, e.g. `'prometheus'`. */
  readonly format: string;
  /** The HTTP content type of the output. */
  readonly contentType: string;
  /** Produces the text. */
  render(monitor: PoolMonitor, options: ExportOptions): string | Promise<string>;
}

/** No formatter is available for the requested export format. */
export class ExportFormatUnavailableError extends PoolError {
  /** The format that was asked for. */
  readonly format: string;

  constructor(format: string, hint: string) {
    super('ERR_POOL_EXPORT_FORMAT', `No exporter for format '${format}': ${hint}`);
    this.name = 'ExportFormatUnavailableError';
    this.format = format;
  }
}
