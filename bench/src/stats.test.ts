import { describe, expect, it } from 'vitest';
import { median, pairedRatio, quantile, spread, summarize } from './stats.js';

describe('median', () => {
  it('takes the middle value of an odd-sized sample, whatever the input order', () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  it('averages the two middle values of an even-sized sample', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('is not dragged by one outlier the way a mean is', () => {
    expect(median([100, 101, 99, 100, 10_000])).toBe(100);
  });

  it('refuses an empty sample and non-numbers', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => median([1, Number.NaN])).toThrow(TypeError);
  });
});

describe('quantile', () => {
  it('interpolates linearly between order statistics', () => {
    expect(quantile([0, 10], 0.25)).toBe(2.5);
    expect(quantile([1, 2, 3, 4, 5], 0)).toBe(1);
    expect(quantile([1, 2, 3, 4, 5], 1)).toBe(5);
    expect(quantile([1, 2, 3, 4, 5], 0.99)).toBeCloseTo(4.96, 10);
  });

  it('rejects a quantile outside 0..1', () => {
    expect(() => quantile([1], 1.5)).toThrow(RangeError);
  });
});

describe('spread', () => {
  it('reports range, interquartile range and median absolute deviation', () => {
    const s = spread([1, 2, 3, 4, 100]);
    expect(s.min).toBe(1);
    expect(s.max).toBe(100);
    expect(s.iqr).toBe(2);
    expect(s.mad).toBe(1);
    expect(s.relRange).toBeCloseTo(99 / 3, 10);
    expect(s.relMad).toBeCloseTo(1 / 3, 10);
  });

  it('is zero for a single measurement', () => {
    expect(spread([7])).toMatchObject({ min: 7, max: 7, iqr: 0, mad: 0, relRange: 0 });
  });
});

describe('pairedRatio', () => {
  it('divides round by round and takes the median of the ratios', () => {
    // Drift doubles both series in round 3; a paired ratio is unaffected by it.
    const r = pairedRatio([200, 210, 400], [100, 100, 200]);
    expect(r?.median).toBe(2);
    expect(r?.min).toBe(2);
    expect(r?.max).toBe(2.1);
    expect(r?.count).toBe(3);
  });

  it('skips rounds where either side failed or the denominator is zero', () => {
    const r = pairedRatio([300, undefined, 50, 90], [100, 100, undefined, 0]);
    expect(r?.count).toBe(1);
    expect(r?.median).toBe(3);
  });

  it('is null when no round has both sides', () => {
    expect(pairedRatio([1], [undefined])).toBeNull();
    expect(pairedRatio([], [])).toBeNull();
  });
});

describe('summarize', () => {
  it('combines the median with the spread and the count', () => {
    expect(summarize([3, 1, 2])).toMatchObject({ median: 2, min: 1, max: 3, count: 3 });
  });
});
