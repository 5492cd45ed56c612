import { describe, expect, it } from 'vitest';
import { ReadBalancer } from './read-balancer.js';

describe('ReadBalancer', () => {
  it('gives each item exactly its weight per round, interleaved', () => {
    const b = new ReadBalancer(['a', 'b', 'c']);
    b.setWeight(0, 5);
    b.setWeight(1, 1);
    b.setWeight(2, 1);
    const picks = Array.from({ length: 7 }, () => b.pick());
    expect(picks).toEqual(['a', 'a', 'b', 'a', 'c', 'a', 'a']);
    const counts = new Map<string, number>();
    for (let i = 0; i < 7000; i++) {
      const p = b.pick() as string;
      counts.set(p, (counts.get(p) ?? 0) + 1);
    }
    expect(Object.fromEntries(counts)).toEqual({ a: 5000, b: 1000, c: 1000 });
  });

  it('skips items of weight 0 and returns undefined when none is left', () => {
    const b = new ReadBalancer(['a', 'b']);
    expect(b.available).toBe(false);
    expect(b.pick()).toBeUndefined();
    b.setWeight(1, 2);
    expect([b.pick(), b.pick(), b.pick()]).toEqual(['b', 'b', 'b']);
    b.setWeight(1, 0);
    expect(b.pick()).toBeUndefined();
  });

  it('accepts fractional weights', () => {
    const b = new ReadBalancer(['a', 'b']);
    b.setWeight(0, 0.5);
    b.setWeight(1, 1.5);
    const picks = Array.from({ length: 400 }, () => b.pick());
    expect(picks.filter((p) => p === 'a')).toHaveLength(100);
  });
});
