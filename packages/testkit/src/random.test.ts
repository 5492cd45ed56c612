import { describe, expect, it } from 'vitest';
import { SeededRandom } from './random.js';

describe('SeededRandom', () => {
  it('replays the same sequence for the same seed', () => {
    const a = new SeededRandom(42);
    const b = new SeededRandom(42);
    const xs = Array.from({ length: 50 }, () => a.next());
    expect(Array.from({ length: 50 }, () => b.next())).toEqual(xs);
  });

  it('gives different sequences for different seeds', () => {
    const a = Array.from({ length: 5 }, (_, i, r = new SeededRandom(1)) => r.next() + i);
    const first = new SeededRandom(1);
    const second = new SeededRandom(2);
    expect(first.next()).not.toBe(second.next());
    expect(a).toHaveLength(5);
  });

  it('stays within [0, 1) and spreads over it', () => {
    const r = new SeededRandom(7);
    const xs = Array.from({ length: 10_000 }, () => r.next());
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });

  it('chance(p) comes up about p of the time, and never or always at 0 and 1', () => {
    const r = new SeededRandom(3);
    const hits = Array.from({ length: 10_000 }, () => r.chance(0.2)).filter(Boolean).length;
    expect(hits).toBeGreaterThan(1_800);
    expect(hits).toBeLessThan(2_200);
    expect(Array.from({ length: 100 }, () => r.chance(0)).some(Boolean)).toBe(false);
    expect(Array.from({ length: 100 }, () => r.chance(1)).every(Boolean)).toBe(true);
  });

  it('between and int stay within their bounds', () => {
    const r = new SeededRandom(9);
    for (let i = 0; i < 1_000; i++) {
      const x = r.between(5, 10);
      expect(x >= 5 && x < 10).toBe(true);
      const n = r.int(1, 3);
      expect([1, 2, 3]).toContain(n);
    }
    expect(r.between(4, 4)).toBe(4);
  });

  it('fork gives an independent but reproducible stream', () => {
    const a = new SeededRandom(5).fork();
    const b = new SeededRandom(5).fork();
    expect(a.next()).toBe(b.next());
  });

  it('rejects a seed that is not an integer, naming it', () => {
    expect(() => new SeededRandom(1.5)).toThrow(/seed = 1.5: must be an integer/);
    expect(() => new SeededRandom('1' as never)).toThrow(/seed/);
  });
});
