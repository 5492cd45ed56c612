import { describe, expect, it } from 'vitest';
import { parseCli, roundOrder } from './args.js';

describe('parseCli', () => {
  it('defaults to a full run of every scenario', () => {
    const o = parseCli([]);
    expect(o).toMatchObject({ scenarios: [], subjects: [], rounds: 7, out: 'results/latest.json', cpuProf: null });
    expect(o.run).toEqual({ timeMs: 1_000, warmupMs: 300, scale: 1, smoke: false });
  });

  it('shrinks everything in smoke mode and writes elsewhere', () => {
    const o = parseCli(['--smoke']);
    expect(o.rounds).toBe(1);
    expect(o.run.smoke).toBe(true);
    expect(o.run.scale).toBeLessThan(1);
    expect(o.out).toBe('results/smoke.json');
  });

  it('reads scenario and subject lists', () => {
    const o = parseCli(['--scenario', '1, 2a', '--subject', 'core,floor', '--rounds', '3']);
    expect(o.scenarios).toEqual(['1', '2a']);
    expect(o.subjects).toEqual(['core', 'floor']);
    expect(o.rounds).toBe(3);
  });

  it('rejects bad numbers and unknown flags', () => {
    expect(() => parseCli(['--rounds', '0'])).toThrow(/--rounds must be a positive number/);
    expect(() => parseCli(['--rounds', '2.5'])).toThrow(/whole number/);
    expect(() => parseCli(['--time', 'soon'])).toThrow(/--time/);
    expect(() => parseCli(['--fast'])).toThrow();
  });
});

describe('roundOrder', () => {
  it('rotates the subjects by one per round so each runs in every position', () => {
    const s = ['a', 'b', 'c'];
    expect(roundOrder(s, 0)).toEqual(['a', 'b', 'c']);
    expect(roundOrder(s, 1)).toEqual(['b', 'c', 'a']);
    expect(roundOrder(s, 2)).toEqual(['c', 'a', 'b']);
    expect(roundOrder(s, 3)).toEqual(['a', 'b', 'c']);
    expect(roundOrder([], 5)).toEqual([]);
  });
});
