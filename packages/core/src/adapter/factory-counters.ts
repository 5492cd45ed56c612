import { type FactoryStatistics, InvalidArgumentError } from '@pool/core';

/** A connection with a prepared-statement cache: how many statements it holds now. */
export interface StatementCacheHolder {
  readonly cachedStatements: number;
}

/**
 * The running counts behind a factory's `statistics()`: its connections add to them (a statement-cache
 * hit, miss or eviction, a failed query), and {@link FactoryCounters.statistics} turns them into the
 * `FactoryStatistics` that `@pool/monitoring` and `@pool/prometheus` read. A factory makes one and shares
 * it with every connection it opens.
 *
 * @example
 * ```ts
 * class FooFactory {
 *   readonly #counters = new FactoryCounters(statementCacheSize);
 *   readonly #open = new Set<FooConnection>(); // each has `cachedStatements`
 *   statistics(): FactoryStatistics {
 *     return this.#counters.statistics(this.#open);
 *   }
 * }
 * ```
 */
export class FactoryCounters {
  /** The per-connection statement-cache capacity; `0`: no cache, and no `statementCache` in the statistics. */
  readonly statementCacheCapacity: number;
  /** Statements found in a connection's cache. */
  hits = 0;
  /** Statements not in the cache (prepared, then cached). */
  misses = 0;
  /** Statements evicted from a full cache (and closed on the server). */
  evictions = 0;
  /** Queries (or commands) that failed on the factory's connections. */
  queryErrors = 0;

  /** Throws `InvalidArgumentError` unless `statementCacheCapacity` is a non-negative integer. */
  constructor(statementCacheCapacity = 0) {
    if (!Number.isInteger(statementCacheCapacity) || statementCacheCapacity < 0) {
      throw new InvalidArgumentError('statementCacheCapacity', statementCacheCapacity, 'must be an integer >= 0');
    }
    this.statementCacheCapacity = statementCacheCapacity;
  }

  /**
   * The figures now: `queryErrors` always, and `statementCache` (its `size` summed over `connections`,
   * the open ones) when there is a cache. Plain JSON, with no secrets.
   */
  statistics(connections: Iterable<StatementCacheHolder> = []): FactoryStatistics {
    const out: FactoryStatistics = { queryErrors: this.queryErrors };
    if (this.statementCacheCapacity > 0) {
      let size = 0;
      for (const conn of connections) size += conn.cachedStatements;
      out.statementCache = { hits: this.hits, misses: this.misses, evictions: this.evictions, size, capacity: this.statementCacheCapacity };
    }
    return out;
  }
}
