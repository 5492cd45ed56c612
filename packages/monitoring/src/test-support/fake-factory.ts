import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext } from '@pool/core';

/** A connection made by {@link FakeFactory}. */
export interface FakeConnection {
  readonly serial: number;
  closed: boolean;
}

/**
 * A small factory for monitoring tests: each `create()` takes the next delay from `createDelays`
 * (then `createDelayMs`) on the fake clock, and `statistics()` reports a statement cache the test
 * drives through `cache`.
 */
export class FakeFactory implements ConnectionFactory<FakeConnection> {
  createDelayMs = 0;
  /** Delays for the next create() calls, in order; then `createDelayMs`. */
  createDelays: number[] = [];
  /** Set to make the next create() calls fail. */
  failCreates = 0;
  /** Statement cache figures reported by statistics(); `null` reports none. */
  cache: { hits: number; misses: number; evictions: number; size: number; capacity: number } | null = null;
  queryErrors: number | undefined = undefined;
  readonly open = new Set<FakeConnection>();
  #serial = 0;

  async create(_ctx: CreateContext): Promise<FakeConnection> {
    const delay = this.createDelays.shift() ?? this.createDelayMs;
    if (delay > 0) await new Promise((resolve) => setTimeout(resolve, delay));
    if (this.failCreates > 0) {
      this.failCreates--;
      throw new Error('ECONNREFUSED (fake)');
    }
    const conn: FakeConnection = { serial: ++this.#serial, closed: false };
    this.open.add(conn);
    return conn;
  }

  async close(conn: FakeConnection, _ctx: OperationContext): Promise<void> {
    conn.closed = true;
    this.open.delete(conn);
  }

  statistics(): FactoryStatistics {
    const out: FactoryStatistics = {};
    if (this.cache !== null) out.statementCache = { ...this.cache };
    if (this.queryErrors !== undefined) out.queryErrors = this.queryErrors;
    return out;
  }
}

/** Lets pending promise callbacks run without moving the (fake) clock. */
export async function flush(times = 20): Promise<void> {
  for (let i = 0; i < times; i++) await Promise.resolve();
}
