import { InvalidConfigError } from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import { Counter, Gauge, register as globalRegistry, type Metric, Registry } from 'prom-client';
import { type AnyRegistry, MetricsAlreadyRegisteredError } from './prometheus-collector.js';

/**
 * What the collector reads of an adaptive limiter (`@pool/adaptive`'s `AdaptiveLimiter`): its
 * `statistics()`. Duck-typed, so this package does not depend on `@pool/adaptive`.
 */
export interface AdaptiveLimiterLike {
  statistics(): {
    target: string;
    algorithm: string;
    state: 'running' | 'stopped';
    limit: number;
    floor: number;
    ceiling: number;
    baselineMs: number | null;
    latencyMs: number | null;
    throughput: number | null;
    increases: number;
    decreases: number;
  };
}

/** Options of an {@link AdaptiveLimitCollector}. */
export interface AdaptiveLimitCollectorOptions {
  /** The limiters to publish (more can be added with `add`). */
  limiters?: readonly AdaptiveLimiterLike[];
  /** The registry to register on. Default: prom-client's global `register`. */
  registry?: AnyRegistry;
  /** Prefix of the metric names. Default `'pool_'`. */
  prefix?: string;
}

const OPTION_KEYS = ['limiters', 'registry', 'prefix'];

function checkLimiter(field: string, limiter: unknown): AdaptiveLimiterLike {
  if (typeof limiter !== 'object' || limiter === null || typeof (limiter as AdaptiveLimiterLike).statistics !== 'function') {
    throw new InvalidConfigError(field, limiter, 'must be an AdaptiveLimiter from @pool/adaptive (with statistics())');
  }
  return limiter as AdaptiveLimiterLike;
}

/**
 * Publishes adaptive limits (`@pool/adaptive`) to Prometheus, read on scrape: the limit in force and
 * its bounds, the measured and baseline use time, the throughput, and the changes up and down. Label
 * `pool_name` is the limiter's target (a pool's name, or `<manager>/<partition>`); `algorithm` says
 * which algorithm moves it. Stopped limiters are left out.
 *
 * | metric | type | meaning |
 * | --- | --- | --- |
 * | `pool_adaptive_limit` | gauge | connections the limiter allows now |
 * | `pool_adaptive_limit_floor` / `_ceiling` | gauge | the bounds it moves within now |
 * | `pool_adaptive_latency_seconds{kind}` | gauge | mean use time of the last interval (`measured`) and the no-load `baseline` |
 * | `pool_adaptive_throughput` | gauge | borrows ended per second in the last interval |
 * | `pool_adaptive_limit_changes_total{direction}` | counter | changes of the limit, `up` and `down` |
 *
 * @example
 * ```ts
 * const limiter = adaptiveLimit(pool);
 * new AdaptiveLimitCollector({ limiters: [limiter] }); // on prom-client's global registry
 * ```
 */
export class AdaptiveLimitCollector {
  /** The registry the metrics are registered on. */
  readonly registry: AnyRegistry;
  /** The names of the metrics this collector registered. */
  readonly metricNames: readonly string[];
  readonly #limiters = new Set<AdaptiveLimiterLike>();
  readonly #metrics: Metric[] = [];
  #closed = false;

  /** @throws InvalidConfigError for a bad option; MetricsAlreadyRegisteredError when a name is taken. */
  constructor(options: AdaptiveLimitCollectorOptions = {}) {
    checkOptionKeys(options, OPTION_KEYS, 'AdaptiveLimitCollector');
    const registry = options.registry ?? globalRegistry;
    if (!(registry instanceof Registry)) throw new InvalidConfigError('registry', registry, 'must be a prom-client Registry');
    const prefix = options.prefix ?? 'pool_';
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
      throw new InvalidConfigError('prefix', prefix, 'must be a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
    }
    const limiters = options.limiters ?? [];
    if (!Array.isArray(limiters)) throw new InvalidConfigError('limiters', limiters, 'must be an array of AdaptiveLimiters');
    limiters.forEach((l, i) => {
      this.#limiters.add(checkLimiter(`limiters[${i}]`, l));
    });
    this.registry = registry;
    this.#define(prefix);
    this.metricNames = Object.freeze(this.#metrics.map((m) => (m as unknown as { name: string }).name));
    for (const name of this.metricNames) if (registry.getSingleMetric(name) !== undefined) throw new MetricsAlreadyRegisteredError(name);
    for (const m of this.#metrics) registry.registerMetric(m);
  }

  /** Publishes one more limiter. */
  add(limiter: AdaptiveLimiterLike): this {
    this.#limiters.add(checkLimiter('limiter', limiter));
    return this;
  }

  /** Stops publishing a limiter. */
  remove(limiter: AdaptiveLimiterLike): this {
    this.#limiters.delete(limiter);
    return this;
  }

  /** Removes the metrics from the registry. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of this.metricNames) this.registry.removeSingleMetric(name);
  }

  #read() {
    const out: ReturnType<AdaptiveLimiterLike['statistics']>[] = [];
    for (const l of this.#limiters) {
      const s = l.statistics();
      if (s.state === 'running') out.push(s);
    }
    return out;
  }

  #define(prefix: string): void {
    const read = () => this.#read();
    const gauge = (name: string, help: string, value: (s: ReturnType<AdaptiveLimiterLike['statistics']>) => number | null): void => {
      this.#metrics.push(
        new Gauge({
          name: `${prefix}${name}`,
          help,
          labelNames: ['pool_name', 'algorithm'],
          registers: [],
          collect() {
            this.reset();
            for (const s of read()) {
              const v = value(s);
              if (v !== null) this.set({ pool_name: s.target, algorithm: s.algorithm }, v);
            }
          },
        }),
      );
    };
    gauge('adaptive_limit', 'Connections the adaptive limit allows now (@pool/adaptive)', (s) => s.limit);
    gauge('adaptive_limit_floor', 'The lowest limit allowed now (minSize, or the warm-up floor)', (s) => s.floor);
    gauge('adaptive_limit_ceiling', 'The highest limit allowed now (maxSize, maxConnections, or a cluster lease)', (s) => s.ceiling);
    gauge('adaptive_throughput', 'Borrows ended per second in the last judged interval', (s) => s.throughput);
    this.#metrics.push(
      new Gauge({
        name: `${prefix}adaptive_latency_seconds`,
        help: 'Mean use time of the last judged interval (kind="measured") and the no-load baseline it is compared with (kind="baseline")',
        labelNames: ['pool_name', 'algorithm', 'kind'],
        registers: [],
        collect() {
          this.reset();
          for (const s of read()) {
            const labels = { pool_name: s.target, algorithm: s.algorithm };
            if (s.latencyMs !== null) this.set({ ...labels, kind: 'measured' }, s.latencyMs / 1000);
            if (s.baselineMs !== null) this.set({ ...labels, kind: 'baseline' }, s.baselineMs / 1000);
          }
        },
      }),
    );
    this.#metrics.push(
      new Counter({
        name: `${prefix}adaptive_limit_changes_total`,
        help: 'Changes of the adaptive limit, up and down',
        labelNames: ['pool_name', 'algorithm', 'direction'],
        registers: [],
        collect() {
          this.reset();
          for (const s of read()) {
            const labels = { pool_name: s.target, algorithm: s.algorithm };
            this.inc({ ...labels, direction: 'up' }, s.increases);
            this.inc({ ...labels, direction: 'down' }, s.decreases);
          }
        },
      }),
    );
  }
}
