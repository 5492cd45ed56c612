import { InvalidArgumentError } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { FactoryCounters } from './factory-counters.js';

interface Conn {
  cachedStatements: number;
}

describe('FactoryCounters', () => {
  it('reports only query errors without a statement cache', () => {
    const counters = new FactoryCounters<Conn>();
    counters.queryErrors += 2;
    counters.hits++; // ignored: no cache to report on
    counters.opened({ cachedStatements: 3 });
    expect(counters.statistics()).toEqual({ queryErrors: 2 });
  });

  it('reports the statement cache with its size summed over the connections still open', () => {
    const counters = new FactoryCounters<Conn>(100, (conn) => conn.cachedStatements);
    counters.hits = 5;
    counters.misses = 2;
    counters.evictions = 1;
    const [a, b, c] = [{ cachedStatements: 1 }, { cachedStatements: 2 }, { cachedStatements: 4 }];
    counters.opened(a);
    counters.opened(b);
    counters.opened(c);
    counters.closed(c);
    counters.closed({ cachedStatements: 9 }); // never opened: nothing to forget
    expect(counters.openConnections).toBe(2);
    expect(counters.statistics()).toEqual({
      queryErrors: 0,
      statementCache: { hits: 5, misses: 2, evictions: 1, size: 3, capacity: 100 },
    });
  });

  it('refuses a capacity that is not a non-negative integer, and a cache it cannot measure', () => {
    expect(() => new FactoryCounters(-1)).toThrow(InvalidArgumentError);
    expect(() => new FactoryCounters(1.5)).toThrow(/statementCacheCapacity = 1.5/);
    expect(() => new FactoryCounters(10)).toThrow(/cachedStatements = undefined: must be a function/);
  });
});
