import { ExportFormat, MonitoringExporter, type PoolMonitor, type PoolMonitorStatistics } from '@pool/monitoring';
import { ManagementError } from './errors.js';
import type { PoolEntry } from './pools.js';

/**
 * Where Prometheus text comes from: a `@pool/prometheus` `PrometheusCollector`, a prom-client
 * `Registry`, or anything else with `metrics()` and `contentType`.
 */
export interface PrometheusSource {
  /** The exposition text. */
  metrics(): Promise<string> | string;
  /** Its content type (`text/plain; version=0.0.4; charset=utf-8`). */
  readonly contentType: string;
}

/** The metric formats the API serves. */
export type MetricsFormat = 'prometheus' | 'json' | 'csv';

const MEDIA: Readonly<Record<string, MetricsFormat>> = {
  'text/plain': 'prometheus',
  'application/openmetrics-text': 'prometheus',
  'application/json': 'json',
  'text/csv': 'csv',
};

/**
 * Picks a format from an `Accept` header (RFC 9110 quality values). `text/plain` and
 * `application/openmetrics-text` mean Prometheus text (what Prometheus sends), `application/json`
 * JSON, `text/csv` CSV; `*\/*` or no header means the first of `available`. Returns `null` when
 * nothing acceptable is available.
 */
export function negotiateFormat(accept: string | undefined | null, available: readonly MetricsFormat[]): MetricsFormat | null {
  if (available.length === 0) return null;
  if (accept == null || accept.trim() === '') return available[0] as MetricsFormat;
  const ranges = accept
    .split(',')
    .map((part, index) => {
      const [type = '', ...params] = part.trim().split(';');
      let q = 1;
      for (const p of params) {
        const [k, v] = p.trim().split('=');
        if (k?.toLowerCase() === 'q') q = Number(v);
      }
      return { type: type.trim().toLowerCase(), q: Number.isFinite(q) ? q : 0, index };
    })
    .filter((r) => r.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index);
  for (const r of ranges) {
    if (r.type === '*/*') return available[0] as MetricsFormat;
    if (r.type === 'text/*') {
      const f = available.find((x) => x === 'prometheus' || x === 'csv');
      if (f !== undefined) return f;
      continue;
    }
    if (r.type === 'application/*') {
      if (available.includes('json')) return 'json';
      continue;
    }
    const f = MEDIA[r.type];
    if (f !== undefined && available.includes(f)) return f;
  }
  return null;
}

/**
 * Merges several Prometheus text expositions into one: samples of a metric family that appears in
 * more than one (the same metric for pools watched by different monitors) are put under one
 * `# HELP` / `# TYPE` header, as the format requires.
 */
export function mergeExpositions(texts: readonly string[]): string {
  if (texts.length === 1) return texts[0] as string;
  const families = new Map<string, { header: string[]; samples: string[] }>();
  for (const text of texts) {
    let current: { header: string[]; samples: string[] } | undefined;
    for (const line of text.split('\n')) {
      if (line === '') continue;
      const meta = /^# (HELP|TYPE) (\S+)/.exec(line);
      if (meta !== null) {
        const name = meta[2] as string;
        let family = families.get(name);
        if (family === undefined) {
          family = { header: [], samples: [] };
          families.set(name, family);
        }
        if (!family.header.some((h) => h.startsWith(`# ${meta[1]} `))) family.header.push(line);
        current = family;
        continue;
      }
      if (line.startsWith('#')) continue;
      if (current === undefined) {
        const name = /^[^\s{]+/.exec(line)?.[0] ?? line;
        current = families.get(name) ?? { header: [], samples: [] };
        families.set(name, current);
      }
      current.samples.push(line);
    }
  }
  const out: string[] = [];
  for (const f of families.values()) out.push(...f.header, ...f.samples);
  return `${out.join('\n')}\n`;
}

/** A view of some pools of some monitors, shaped like a monitor for `MonitoringExporter`'s built-in formats. */
function view(statistics: () => PoolMonitorStatistics[]): PoolMonitor {
  return { allStatistics: statistics, getExportFormatter: () => undefined } as unknown as PoolMonitor;
}

/** JSON or CSV of the given pools' monitor statistics, through `MonitoringExporter` (its schema and columns). */
export async function exportPools(entries: readonly PoolEntry[], format: 'json' | 'csv'): Promise<{ body: string; contentType: string }> {
  const monitored = entries.filter((e) => e.monitor !== null && e.monitorName !== null);
  const exporter = new MonitoringExporter(
    view(() => monitored.map((e) => (e.monitor as PoolMonitor).statistics(e.monitorName as string))),
    format === 'json' ? ExportFormat.Json : ExportFormat.Csv,
  );
  return { body: await exporter.export(), contentType: exporter.contentType };
}

/** The distinct monitors of the entries, in order. */
export function monitorsOf(entries: Iterable<PoolEntry>): PoolMonitor[] {
  const out: PoolMonitor[] = [];
  for (const e of entries) if (e.monitor !== null && !out.includes(e.monitor)) out.push(e.monitor);
  return out;
}

type PrometheusModule = {
  PrometheusCollector: new (
    monitor: PoolMonitor,
    options?: { registry?: unknown },
  ) => { metrics(): Promise<string>; contentType: string; close(): void };
};
type PromClientModule = { Registry: new () => unknown };

/**
 * Prometheus text for the app: from the configured source, or (with `prometheus: true`) from
 * `@pool/prometheus` collectors the app creates on first use, one private registry per monitor, or
 * from collectors the application already created for the monitors. `null` when none is available.
 */
export class PrometheusProvider {
  readonly #option: boolean | PrometheusSource | null;
  readonly #monitors: PoolMonitor[];
  #own: Promise<{ sources: PrometheusSource[]; close(): void }> | undefined;
  #closed = false;

  constructor(option: boolean | PrometheusSource | null | undefined, monitors: PoolMonitor[]) {
    this.#option = option ?? null;
    this.#monitors = monitors;
  }

  /** Whether Prometheus text can be served (without loading anything). */
  get available(): boolean {
    const option = this.#option;
    if (option === false) return false;
    if (option === true) return this.#monitors.length > 0;
    if (typeof option === 'object' && option !== null) return true;
    return this.#registered();
  }

  #registered(): boolean {
    return this.#monitors.length > 0 && this.#monitors.every((m) => m.getExportFormatter('prometheus') !== undefined);
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ body: string; contentType: string }> {
    const option = this.#option;
    if (typeof option === 'object' && option !== null) return { body: await option.metrics(), contentType: option.contentType };
    if (option === true) {
      const own = await this.#load();
      const texts = await Promise.all(own.sources.map((s) => s.metrics()));
      return { body: mergeExpositions(texts), contentType: own.sources[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' };
    }
    const exporters = this.#monitors.map((m) => new MonitoringExporter(m, ExportFormat.Prometheus));
    const texts = await Promise.all(exporters.map((e) => e.export()));
    return { body: mergeExpositions(texts), contentType: exporters[0]?.contentType ?? 'text/plain; version=0.0.4; charset=utf-8' };
  }

  #load(): Promise<{ sources: PrometheusSource[]; close(): void }> {
    this.#own ??= (async () => {
      let prometheus: PrometheusModule;
      let promClient: PromClientModule;
      try {
        prometheus = (await import('@pool/prometheus')) as unknown as PrometheusModule;
        promClient = (await import('prom-client')) as unknown as PromClientModule;
      } catch (error) {
        this.#own = undefined;
        throw new ManagementError(
          503,
          `Prometheus metrics need @pool/prometheus and prom-client (npm install @pool/prometheus prom-client): ${error instanceof Error ? error.message : String(error)}`,
          { cause: error },
        );
      }
      if (this.#closed) throw new ManagementError(503, 'The management app is closed');
      const collectors = this.#monitors.map((m) => new prometheus.PrometheusCollector(m, { registry: new promClient.Registry() }));
      return {
        sources: collectors,
        close: () => {
          for (const c of collectors) c.close();
        },
      };
    })();
    return this.#own;
  }

  /** Unregisters the collectors the app created. */
  close(): void {
    this.#closed = true;
    void this.#own?.then(
      (own) => own.close(),
      () => {},
    );
  }
}
