import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext } from '@pool/core';
import type { FactoryCounters } from './factory-counters.js';

/** `util.inspect.custom`, by its registered name (core imports nothing from Node). */
const INSPECT: unique symbol = Symbol.for('nodejs.util.inspect.custom');

/**
 * The base of an adapter's factory class. It keeps the {@link FactoryCounters} the factory shares with
 * its connections and reports them — `statistics()` for `@pool/monitoring` and `@pool/prometheus`,
 * `openConnections` — and makes `util.inspect` (and so `console.log` and most loggers) show the
 * factory's `toString()`, which the subclass writes without the password, instead of its fields.
 * The subclass writes `create`, `close` and the optional hooks (`validate`, `reset`, `isDirty`), and
 * calls `counters.opened(conn)` when `create()` succeeds and `counters.closed(conn)` first in `close()`.
 *
 * @example
 * ```ts
 * class FooFactory extends DriverFactory<FooConnection> {
 *   constructor(readonly url: string) {
 *     super(new FactoryCounters<FooConnection>());
 *   }
 *   async create(ctx: CreateContext): Promise<FooConnection> {
 *     const conn = await FooConnection.open(this.url, ctx);
 *     this.counters.opened(conn);
 *     return conn;
 *   }
 *   async close(conn: FooConnection, { signal }: OperationContext): Promise<void> {
 *     this.counters.closed(conn);
 *     await endOrDestroy(signal, () => conn.end(), () => conn.destroy());
 *   }
 *   override toString(): string {
 *     return `FooFactory(${describeUrl(this.url)})`;
 *   }
 * }
 * ```
 */
export abstract class DriverFactory<C> implements ConnectionFactory<C> {
  /** The counts this factory reports; shared with its connections. */
  protected readonly counters: FactoryCounters<C>;

  /** `counters` is the factory's own, made for it (and handed to its connections). */
  protected constructor(counters: FactoryCounters<C>) {
    this.counters = counters;
  }

  /** Opens a connection (see `ConnectionFactory.create`). */
  abstract create(ctx: CreateContext): Promise<C>;

  /** Closes a connection, also a broken one (see `ConnectionFactory.close`). */
  abstract close(conn: C, ctx: OperationContext): Promise<void>;

  /** Statement-cache figures (summed over open connections) and query errors. Plain JSON, never a secret. */
  statistics(): FactoryStatistics {
    return this.counters.statistics();
  }

  /** Connections opened by this factory and not closed yet. */
  get openConnections(): number {
    return this.counters.openConnections;
  }

  /** A short description of the factory and its server, without the password. */
  abstract toString(): string;

  /** What `util.inspect` shows: {@link toString}, never the fields (which may hold a password). */
  [INSPECT](): string {
    return this.toString();
  }
}
