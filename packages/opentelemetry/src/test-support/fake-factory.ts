import type { ConnectionFactory, CreateContext, FactoryStatistics, OperationContext } from '@pool/core';

/** A connection made by {@link FakeFactory}. */
export interface FakeConnection {
  readonly serial: number;
  closed: boolean;
}

/**
 * A small factory for the tests: `create()` takes `createDelayMs` on the (fake) clock, and the next
 * `failures` creations fail after that delay; `statistics()` reports the statement cache the test puts
 * in `cache`.
 */
export class FakeFactory implements ConnectionFactory<FakeConnection> {
  createDelayMs = 0;
  failures = 0;
  cache: { hits: number; misses: number; evictions: number; size: number; capacity: number } | null = null;
  #serial = 0;

  async create(_ctx: CreateContext): Promise<FakeConnection> {
    if (this.createDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.createDelayMs));
    if (this.failures > 0) {
      this.failures--;
      throw new Error('connection refused (FakeFactory)');
    }
    return { serial: ++this.#serial, closed: false };
  }

  async close(conn: FakeConnection, _ctx: OperationContext): Promise<void> {
    conn.closed = true;
  }

  statistics(): FactoryStatistics {
    return this.cache === null ? {} : { statementCache: { ...this.cache } };
  }
}
