import { InvalidArgumentError, InvalidConfigError, PoolError } from '@pool/core';
import { checkOptionKeys } from '@pool/core/adapter';
import {
  Counter,
  Gauge,
  register as globalRegistry,
  type Metric,
  type OpenMetricsContentType,
  type PrometheusContentType,
  Registry,
} from 'prom-client';
import type { ClusterBudget } from './budget.js';
import type { BudgetState } from './events.js';
import type { ClusterBudgetStatistics, ScopeStatistics } from './statistics.js';

/** A prom-client registry, of either content type. */
export type AnyRegistry = Registry<PrometheusContentType> | Registry<OpenMetricsContentType>;

/** Options of a {@link ClusterBudgetCollector}. */
export interface ClusterBudgetCollectorOptions {
  /** The registry to register on. Default: prom-client's global `register`. */
  registry?: AnyRegistry;
  /** Prefix of every metric name. Default `'pool_cluster_budget_'`. */
  prefix?: string;
}

/** A metric name the collector needs is already registered on the registry. */
export class BudgetMetricsRegisteredError extends PoolError {
  /** The metric name that is taken. */
  readonly metric: string;

  constructor(metric: string) {
    super(
      'ERR_POOL_METRICS_REGISTERED',
      `A metric named '${metric}' is already registered on this registry: use one ClusterBudgetCollector per registry (add() more budgets to it), close the previous one, or pass another registry or prefix`,
    );
    this.name = 'BudgetMetricsRegisteredError';
    this.metric = metric;
  }
}

const STATES: readonly BudgetState[] = ['connecting', 'connected', 'recovering', 'degraded', 'closed'];
const KEYS = ['registry', 'prefix'];

type ScopeRow = { budget: string; tenant: string; instance: string; scope: ScopeStatistics };

function scopes(s: ClusterBudgetStatistics): ScopeRow[] {
  const rows: ScopeRow[] = [{ budget: s.budget, tenant: '', instance: s.instanceId, scope: s.database }];
  for (const [tenant, scope] of Object.entries(s.tenants)) rows.push({ budget: s.budget, tenant, instance: s.instanceId, scope });
  return rows;
}

/**
 * Publishes cluster budgets to Prometheus through prom-client: the global limit and use per budget
 * and tenant, this instance's leases (label `instance_id`), waiting requests, the budget's state, and
 * counters of grants, refusals by reason, returns, recoveries, shedding, fair-sharing requests and
 * Redis errors. Everything is read from `budget.statistics()` when Prometheus scrapes: no Redis call,
 * nothing added to the pool's paths. The global figures are as of the instance's last contact with
 * Redis (at most one heartbeat old while connected).
 *
 * Import it from `@pool/cluster/prometheus` (prom-client is an optional peer dependency, loaded only
 * there).
 *
 * @example
 * ```ts
 * import { ClusterBudgetCollector } from '@pool/cluster/prometheus';
 * import { register } from 'prom-client';
 * new ClusterBudgetCollector(budget); // registers on prom-client's global registry
 * app.get('/metrics', async (_req, res) => res.type(register.contentType).send(await register.metrics()));
 * ```
 */
export class ClusterBudgetCollector {
  /** The registry the metrics are registered on. */
  readonly registry: AnyRegistry;
  /** The names of the metrics this collector registered. */
  readonly metricNames: readonly string[];
  readonly #budgets = new Set<ClusterBudget>();
  readonly #metrics: Metric[] = [];
  #closed = false;

  /**
   * @throws InvalidConfigError for a bad option; BudgetMetricsRegisteredError when a metric name is
   *   taken on the registry (nothing is registered then).
   */
  constructor(budgets: ClusterBudget | readonly ClusterBudget[], options: ClusterBudgetCollectorOptions = {}) {
    checkOptionKeys(options, KEYS, 'ClusterBudgetCollector');
    const registry = options.registry ?? globalRegistry;
    if (!(registry instanceof Registry)) throw new InvalidConfigError('registry', registry, 'must be a prom-client Registry');
    const prefix = options.prefix ?? 'pool_cluster_budget_';
    if (typeof prefix !== 'string' || !/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(prefix)) {
      throw new InvalidConfigError('prefix', prefix, 'must be a valid Prometheus metric name prefix ([a-zA-Z_:][a-zA-Z0-9_:]*)');
    }
    for (const b of Array.isArray(budgets) ? budgets : [budgets]) this.add(b as ClusterBudget);
    this.registry = registry;
    this.#define(prefix);
    this.metricNames = Object.freeze(this.#metrics.map((m) => (m as unknown as { name: string }).name));
    for (const name of this.metricNames) if (registry.getSingleMetric(name) !== undefined) throw new BudgetMetricsRegisteredError(name);
    for (const m of this.#metrics) registry.registerMetric(m);
  }

  /** Publishes one more budget. */
  add(budget: ClusterBudget): this {
    // Duck-typed: this entry point does not bundle the budget itself (a copy would fail instanceof).
    if (typeof budget !== 'object' || budget === null || typeof (budget as { statistics?: unknown }).statistics !== 'function') {
      throw new InvalidArgumentError('budget', budget, 'must be a ClusterBudget');
    }
    this.#budgets.add(budget);
    return this;
  }

  /** Stops publishing a budget. */
  remove(budget: ClusterBudget): this {
    this.#budgets.delete(budget);
    return this;
  }

  /** Unregisters every metric of this collector. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const name of this.metricNames) this.registry.removeSingleMetric(name);
  }

  #stats(): ClusterBudgetStatistics[] {
    return [...this.#budgets].map((b) => b.statistics());
  }

  #define(p: string): void {
    const self = this;
    const gauge = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (g: Gauge<string>, all: ClusterBudgetStatistics[]) => void,
    ): void => {
      this.#metrics.push(
        new Gauge({
          name: `${p}${name}`,
          help,
          labelNames,
          registers: [],
          collect(this: Gauge<string>) {
            this.reset();
            fill(this, self.#stats());
          },
        }),
      );
    };
    const counter = (
      name: string,
      help: string,
      labelNames: string[],
      fill: (c: Counter<string>, all: ClusterBudgetStatistics[]) => void,
    ): void => {
      this.#metrics.push(
        new Counter({
          name: `${p}${name}`,
          help,
          labelNames,
          registers: [],
          collect(this: Counter<string>) {
            this.reset();
            fill(this, self.#stats());
          },
        }),
      );
    };
    const perScope = (name: string, help: string, value: (r: ScopeRow) => number | null, withInstance: boolean): void => {
      gauge(name, help, withInstance ? ['budget', 'tenant', 'instance_id'] : ['budget', 'tenant'], (g, all) => {
        for (const s of all) {
          for (const r of scopes(s)) {
            const v = value(r);
            if (v === null) continue;
            g.set(
              withInstance ? { budget: r.budget, tenant: r.tenant, instance_id: r.instance } : { budget: r.budget, tenant: r.tenant },
              v,
            );
          }
        }
      });
    };
    perScope('limit', 'Connections all instances together may hold (tenant="" is the database budget).', (r) => r.scope.limit, false);
    perScope('used', 'Slots in use across the cluster, as of this instance’s last contact with Redis.', (r) => r.scope.globalUsed, false);
    perScope('held', 'Slots this instance holds as leases in Redis.', (r) => r.scope.held, true);
    perScope('open', 'Connections this instance has open or is opening through the budget.', (r) => r.scope.open, true);
    perScope(
      'unleased',
      'Connections open beyond this instance’s leases (granted while Redis was unreachable, or being shed).',
      (r) => r.scope.unleased,
      true,
    );
    perScope('waiting', 'Requests of this instance waiting for a slot.', (r) => r.scope.waiting, true);
    gauge('instances', 'Live instances in the budget, as of the last contact with Redis.', ['budget'], (g, all) => {
      for (const s of all) if (s.instances !== null) g.set({ budget: s.budget }, s.instances);
    });
    gauge('state', 'This instance’s standing with the budget: 1 for the current state.', ['budget', 'instance_id', 'state'], (g, all) => {
      for (const s of all)
        for (const state of STATES) g.set({ budget: s.budget, instance_id: s.instanceId, state }, s.state === state ? 1 : 0);
    });
    gauge('last_contact_age_seconds', 'Time since this instance last reached Redis.', ['budget', 'instance_id'], (g, all) => {
      const t = Date.now();
      for (const s of all)
        if (s.lastContactAt !== null) g.set({ budget: s.budget, instance_id: s.instanceId }, (t - s.lastContactAt) / 1000);
    });
    counter(
      'grants_total',
      'Slots granted, by Redis or by the fallback policy while Redis was unreachable.',
      ['budget', 'source'],
      (c, all) => {
        for (const s of all) {
          c.inc({ budget: s.budget, source: 'redis' }, s.counters.granted);
          c.inc({ budget: s.budget, source: 'fallback' }, s.counters.fallbackGranted);
        }
      },
    );
    counter('refusals_total', 'Requests for a slot refused, by reason.', ['budget', 'reason'], (c, all) => {
      for (const s of all) for (const [reason, n] of Object.entries(s.counters.refused)) c.inc({ budget: s.budget, reason }, n);
    });
    const simple = (name: string, help: string, pick: (s: ClusterBudgetStatistics) => number): void => {
      counter(name, help, ['budget'], (c, all) => {
        for (const s of all) c.inc({ budget: s.budget }, pick(s));
      });
    };
    simple('returns_total', 'Slots given back to Redis.', (s) => s.counters.returned);
    simple(
      'abandoned_total',
      'Requests for a slot abandoned (the pool no longer needed it, or the creation was aborted).',
      (s) => s.counters.abandoned,
    );
    simple(
      'recoveries_total',
      'Re-registrations after an outage, an expired registration or a disagreement.',
      (s) => s.counters.recoveries,
    );
    simple('shed_total', 'Connections shed because the budget did not grant them.', (s) => s.counters.shed);
    simple('shrink_closed_total', 'Idle connections closed at another instance’s fair-sharing request.', (s) => s.counters.shrinkClosed);
    simple('redis_errors_total', 'Redis calls that failed or timed out.', (s) => s.counters.redisErrors);
    counter(
      'shrink_requests_total',
      'Fair-sharing shrink requests this instance caused (sent) or received.',
      ['budget', 'direction'],
      (c, all) => {
        for (const s of all) {
          c.inc({ budget: s.budget, direction: 'sent' }, s.counters.shrinkRequestsSent);
          c.inc({ budget: s.budget, direction: 'received' }, s.counters.shrinkRequestsReceived);
        }
      },
    );
  }
}
