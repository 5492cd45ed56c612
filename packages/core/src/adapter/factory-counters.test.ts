import { InvalidArgumentError } from '@pool/core';
import { describe, expect, it } from 'vitest';
import { FactoryCounters } from './factory-counters.js';

describe('FactoryCounters', () => {
  it('reports only query errors without a statement cache', () => {
    const counters = new FactoryCounters();
    counters.queryErrors += 2;
    counters.hits++; // ignored: no cache to report on
    expect(counters.statistics([{ cachedStatements: 3 }])).toEqual({ queryErrors: 2 });
  });

  it('reports the statement cache with its size summed over the open connections', () => {
    const counters = new FactoryCounters(100);
    counters.hits = 5;
    counters.misses = 2;
    counters.evictions = 1;
    const open = new Set([{ cachedStatements: 1 }, { cachedStatements: 2 }]);
    expect(counters.statistics(open)).toEqual({
      queryErrors: 0,
      statementCache: { hits: 5, misses: 2, evictions: 1, size: 3, capacity: 100 },
    });
    expect(counters.statistics()).toMatchObject({ statementCache: { size: 0 } });
  });

  it('refuses a capacity that is not a non-negative integer', () => {
    expect(() => new FactoryCounters(-1)).toThrow(InvalidArgumentError);
    expect(() => new FactoryCounters(1.5)).toThrow(/statementCacheCapacity = 1.5/);
  });
});
