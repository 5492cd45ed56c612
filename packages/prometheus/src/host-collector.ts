import { InvalidConfigError } from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import { Counter, Gauge, register as globalRegistry, type Metric, Registry } from 'prom-client';
import { type AnyRegistry, MetricsAlreadyRegisteredError } from './prometheus-collector.js';

/** One server of a multi-host pool, as `@pool/pg`'s `PgReplicaPool.hostStatistics()` reports it. */
export interface HostStatisticsLike {
  /** `host:port`. */
  readonly host: string;
  /** `'primary'`, `'standby'` or `'unknown'`. */
  readonly role: string;
  /** `'up'`, `'lagging'`, `'down'` or `'unknown'`. */
  readonly state: string;
  /** Replay lag in ms, or `null`. */
  readonly lagMs: number | null;
  /** Share of reads it gets now. */
  readonly readWeight: number;
  readonly connections: { readonly read: { readonly total: number; readonly active: number }; readonly write: number };
  /** Reads it served since the pool started. */
  readonly reads: number;
}

/** A pool over several servers: a name and per-host statistics (a `PgReplicaPool` qualifies). */
export interface HostStatisticsSource {
  readonly name: string;
  hostStatistics(): readonly HostStatisticsLike[];
}

/** Options of {@link HostCollector}. */
export interface HostCollectorOptions {
  /** Default: prom-client's global registry. */
  registry?: AnyRegistry;
  /** Metric name prefix. Default `'pool_'`. */
  prefix?: string;
}

const ROLES = ['primary', 'standby', 'unknown'] as const;
const STATES = ['up', 'lagging', 'down', 'unknown'] as const;

/**
 * Publishes each host of multi-host pools (role, state, replica lag, connections, reads) to
 * Prometheus, read at scrape time from `hostStatistics()`:
 *
 * - `pool_host_role{pool_name,host,role}` 1 for the current role, 0 for the others;
 * - `pool_host_state{pool_name,host,state}` likewise for `up`, `lagging`, `down`, `unknown`;
 * - `pool_host_replica_lag_seconds{pool_name,host}` (standbys whose lag is known);
 * - `pool_host_read_weight{pool_name,host}`;
 * - `pool_host_connections{pool_name,host,side,state}` (`side` read or write; `state` total or active for reads);
 * - `pool_host_reads_total{pool_name,host}`.
 *
 * @example
 * ```ts
 * const pool = createPgReplicaPool({ connectionString: 'postgres://app@db1,db2/app', name: 'orders' });
 * new HostCollector([pool]);
 * // pool_host_role{pool_name="orders",host="db2:5432",role="standby"} 1
 * ```
 */
export class HostCollector {
  /** The registry the metrics are registered on. */
  readonly registry: AnyRegistry;
  /** The names of the metrics this collector registered. */
  readonly metricNames: readonly string[];
  readonly #sources: HostStatisticsSource[];
  readonly #metrics: Metric[] = [];
  #closed = false;

  constructor(sources: readonly HostStatisticsSource[], options: HostCollectorOptions = {}) {
    if (!Array.isArray(sources)) throw new InvalidConfigError('sources', sources, 'must be an array of pools with hostStatistics()');
    sources.forEach((s, i) => {
      if (typeof s !== 'object' || s === null || typeof s.hostStatistics !== 'function' || typeof s.name !== 'string') {
        throw new InvalidConfigError(`sources[${i}]`, s, 'must have a name and hostStatistics() (a PgReplicaPool from @pool/pg)');
      }
    });
    checkOptionKeys(options, ['registry', 'prefix'], 'HostCollector');
    const registry = options.registry ?? globalRegistry;
    if (!(registry instanceof Registry)) throw new InvalidConfigError('registry', registry, 'must be a prom-client Registry');
    const prefix = options.prefix ?? 'pool_';
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
      throw new InvalidConfigError('prefix', prefix, 'must be a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
    }
    this.registry = registry;
    this.#sources = [...sources];
    const each = (fill: (source: HostStatisticsSource, h: HostStatisticsLike) => void) => () => {
      for (const source of this.#sources) for (const h of source.hostStatistics()) fill(source, h);
    };
    this.#gauge(
      `${prefix}host_role`,
      'The role of each host: 1 for its current role (primary, standby, unknown), 0 for the others.',
      ['pool_name', 'host', 'role'],
      (g) =>
        each((s, h) => {
          for (const role of ROLES) g.set({ pool_name: s.name, host: h.host, role }, h.role === role ? 1 : 0);
        }),
    );
    this.#gauge(
      `${prefix}host_state`,
      'The state of each host: 1 for its current state (up, lagging, down, unknown), 0 for the others.',
      ['pool_name', 'host', 'state'],
      (g) =>
        each((s, h) => {
          for (const state of STATES) g.set({ pool_name: s.name, host: h.host, state }, h.state === state ? 1 : 0);
        }),
    );
    this.#gauge(
      `${prefix}host_replica_lag_seconds`,
      'Replay lag of each standby whose lag is known, in seconds.',
      ['pool_name', 'host'],
      (g) =>
        each((s, h) => {
          if (h.lagMs !== null) g.set({ pool_name: s.name, host: h.host }, h.lagMs / 1000);
        }),
    );
    this.#gauge(`${prefix}host_read_weight`, 'The share of reads each host gets now (0: none).', ['pool_name', 'host'], (g) =>
      each((s, h) => g.set({ pool_name: s.name, host: h.host }, h.readWeight)),
    );
    this.#gauge(
      `${prefix}host_connections`,
      'Connections to each host: side read (state total or active) or write (state total).',
      ['pool_name', 'host', 'side', 'state'],
      (g) =>
        each((s, h) => {
          g.set({ pool_name: s.name, host: h.host, side: 'read', state: 'total' }, h.connections.read.total);
          g.set({ pool_name: s.name, host: h.host, side: 'read', state: 'active' }, h.connections.read.active);
          g.set({ pool_name: s.name, host: h.host, side: 'write', state: 'total' }, h.connections.write);
        }),
    );
    const reads = new Counter({
      name: `${prefix}host_reads_total`,
      help: 'Reads each host served.',
      labelNames: ['pool_name', 'host'],
      registers: [],
      collect: () => {
        reads.reset();
        each((s, h) => {
          if (Number.isFinite(h.reads) && h.reads >= 0) reads.inc({ pool_name: s.name, host: h.host }, h.reads);
        })();
      },
    });
    this.#metrics.push(reads);
    this.metricNames = Object.freeze(this.#metrics.map((m) => (m as unknown as { name: string }).name));
    for (const name of this.metricNames) {
      if (registry.getSingleMetric(name) !== undefined) throw new MetricsAlreadyRegisteredError(name);
    }
    for (const m of this.#metrics) registry.registerMetric(m);
  }

  #gauge(name: string, help: string, labelNames: string[], fill: (g: Gauge<string>) => () => void): void {
    const gauge: Gauge<string> = new Gauge({
      name,
      help,
      labelNames,
      registers: [],
      collect: () => {
        gauge.reset();
        fill(gauge)();
      },
    });
    this.#metrics.push(gauge);
  }

  /** Unregisters the metrics. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of this.metricNames) this.registry.removeSingleMetric(name);
  }
}
