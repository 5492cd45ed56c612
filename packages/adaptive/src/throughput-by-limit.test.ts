import { describe, expect, it } from 'vitest';
import { ThroughputByLimit } from './throughput-by-limit.js';

describe('ThroughputByLimit', () => {
  it('averages the measurements at each limit, the newest weighted by 0.3', () => {
    const t = new ThroughputByLimit(10);
    t.tick();
    t.record(4, 100);
    expect(t.at(4)).toBe(100);
    t.tick();
    t.record(4, 200);
    expect(t.at(4)).toBeCloseTo(130);
    expect(t.at(5)).toBeUndefined();
  });

  it('forgets a limit measured more than `memory` intervals ago, and re-learns it from scratch', () => {
    const t = new ThroughputByLimit(3);
    t.tick();
    t.record(2, 50);
    for (let i = 0; i < 3; i++) t.tick();
    expect(t.at(2)).toBe(50);
    t.tick();
    expect(t.at(2)).toBeUndefined();
    t.record(2, 80);
    expect(t.at(2)).toBe(80);
  });

  it('gives the best lower limit in [from, below), else the nearest lower one, else nothing', () => {
    const t = new ThroughputByLimit(100);
    t.tick();
    t.record(2, 300);
    t.record(5, 400);
    t.record(6, 380);
    t.record(8, 500);
    expect(t.bestBelow(8, 5)).toBe(400); // 5 and 6 in range; 8 itself excluded
    expect(t.bestBelow(8, 7)).toBe(380); // nothing in [7, 8): the nearest lower, 6
    expect(t.bestBelow(5, 3)).toBe(300);
    expect(t.bestBelow(2, 1)).toBeUndefined();
  });
});
