import { type FactoryStatistics, InvalidArgumentError } from '@pool/core';

/**
 * What a factory knows about its connections, for its `statistics()` and `openConnections`: the running
 * counts its connections add to (a statement-cache hit, miss or eviction, a failed query), and the
 * connections open now. {@link FactoryCounters.statistics} turns them into the `FactoryStatistics` that
 * `@pool/monitoring` and `@pool/prometheus` read. A factory makes one and shares it with every
 * connection it opens.
 *
 * @example
 * ```ts
 * class FooFactory {
 *   readonly #counters = new FactoryCounters<FooConnection>(statementCacheSize, (conn) => conn.cachedStatements);
 *   async create(ctx: CreateContext): Promise<FooConnection> {
 *     const conn = await FooConnection.open(this.#counters, ctx);
 *     this.#counters.opened(conn);
 *     return conn;
 *   }
 *   async close(conn: FooConnection): Promise<void> {
 *     this.#counters.closed(conn);
 *     await conn.end();
 *   }
 *   statistics(): FactoryStatistics {
 *     return this.#counters.statistics();
 *   }
 * }
 * ```
 */
export class FactoryCounters<C = unknown> {
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
  readonly #open = new Set<C>();
  readonly #cachedStatements: ((conn: C) => number) | undefined;

  /**
   * `cachedStatements` tells how many statements an open connection holds now (summed into the cache
   * `size`); needed with a cache. Throws `InvalidArgumentError` unless `statementCacheCapacity` is a
   * non-negative integer, or when a cache has no `cachedStatements`.
   */
  constructor(statementCacheCapacity = 0, cachedStatements?: (conn: C) => number) {
    if (!Number.isInteger(statementCacheCapacity) || statementCacheCapacity < 0) {
      throw new InvalidArgumentError('statementCacheCapacity', statementCacheCapacity, 'must be an integer >= 0');
    }
    if (statementCacheCapacity > 0 && typeof cachedStatements !== 'function') {
      throw new InvalidArgumentError('cachedStatements', cachedStatements, 'must be a function (conn) => number when there is a cache');
    }
    this.statementCacheCapacity = statementCacheCapacity;
    this.#cachedStatements = cachedStatements;
  }

  /** A connection was opened (at the end of a successful `create()`). */
  opened(conn: C): void {
    this.#open.add(conn);
  }

  /** A connection is being closed (first thing in `close()`). Forgetting one never opened is a no-op. */
  closed(conn: C): void {
    this.#open.delete(conn);
  }

  /** Connections opened and not closed yet. */
  get openConnections(): number {
    return this.#open.size;
  }

  /**
   * The figures now: `queryErrors` always, and `statementCache` (its `size` summed over the open
   * connections) when there is a cache. Plain JSON, with no secrets.
   */
  statistics(): FactoryStatistics {
    const out: FactoryStatistics = { queryErrors: this.queryErrors };
    const cachedStatements = this.#cachedStatements;
    if (this.statementCacheCapacity > 0 && cachedStatements !== undefined) {
      let size = 0;
      for (const conn of this.#open) size += cachedStatements(conn);
      out.statementCache = { hits: this.hits, misses: this.misses, evictions: this.evictions, size, capacity: this.statementCacheCapacity };
    }
    return out;
  }
}
