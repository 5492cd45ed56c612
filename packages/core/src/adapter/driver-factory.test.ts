import { inspect } from 'node:util';
import type { CreateContext, OperationContext } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { DriverFactory } from './driver-factory.js';
import { FactoryCounters } from './factory-counters.js';

interface Conn {
  id: number;
  cachedStatements: number;
}

class FooFactory extends DriverFactory<Conn> {
  readonly #password = 'hunter2';
  #next = 0;
  constructor(statementCacheSize: number) {
    super(new FactoryCounters<Conn>(statementCacheSize, (conn) => conn.cachedStatements));
  }
  async create(_ctx: CreateContext): Promise<Conn> {
    const conn = { id: ++this.#next, cachedStatements: 2 };
    this.counters.opened(conn);
    this.counters.misses += 2;
    return conn;
  }
  async close(conn: Conn, _ctx: OperationContext): Promise<void> {
    this.counters.closed(conn);
  }
  override toString(): string {
    return `FooFactory(foo://app@db, password ${this.#password.length} chars)`;
  }
}

const ctx = { signal: new AbortController().signal, markBroken: () => {} };

describe('DriverFactory', () => {
  it('reports its counters as statistics and open connections', async () => {
    const factory = new FooFactory(10);
    const a = await factory.create(ctx);
    await factory.create(ctx);
    await factory.close(a, ctx);
    expect(factory.openConnections).toBe(1);
    expect(factory.statistics()).toEqual({
      queryErrors: 0,
      statementCache: { hits: 0, misses: 4, evictions: 0, size: 2, capacity: 10 },
    });
  });

  it('shows its toString to util.inspect, never its fields', () => {
    const factory = new FooFactory(0);
    expect(inspect(factory, { depth: 8, showHidden: true })).toBe('FooFactory(foo://app@db, password 7 chars)');
    expect(inspect({ factory })).toContain('FooFactory(foo://app@db');
  });
});
