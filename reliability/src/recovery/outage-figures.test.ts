import { describe, expect, it } from 'vitest';
import type { ConnectAttempt } from './connect-log.js';
import { median, outageFigures } from './outage-figures.js';

function attempt(startedAt: number, endedAt: number, failed: boolean, inFlightAtStart = 1): ConnectAttempt {
  return { startedAt, endedAt, failed, inFlightAtStart };
}

describe('outageFigures', () => {
  it('counts the attempts of the outage only, and the first round (before any failure came back)', () => {
    const attempts = [
      attempt(50, 60, false), // before the outage: not counted
      attempt(100, 103, true, 1),
      attempt(260, 262, true, 1),
      attempt(420, 421, true, 1),
      attempt(575, 576, true, 1),
      attempt(700, 710, false), // after the server was back: not counted
    ];
    expect(outageFigures(attempts, 100, 650)).toEqual({ attempts: 4, firstRound: 1, maxPer100ms: 1, peakInFlight: 1, minGapMs: 155 });
  });

  it('sees a pool that connects for every waiting caller at the start of the outage', () => {
    const attempts = [attempt(100, 103, true, 1), attempt(100.5, 103, true, 2), attempt(101, 104, true, 3), attempt(260, 262, true, 1)];
    expect(outageFigures(attempts, 100, 650)).toEqual({ attempts: 4, firstRound: 3, maxPer100ms: 3, peakInFlight: 3, minGapMs: 0.5 });
  });

  it('finds the busiest 100 ms anywhere (a sliding window) and the peak in flight', () => {
    const attempts = [
      attempt(0, 5, true),
      attempt(150, 300, true, 1),
      attempt(240, 300, true, 2),
      attempt(249, 300, true, 3),
      attempt(400, 401, true),
    ];
    const f = outageFigures(attempts, 0, 1_000);
    expect(f.maxPer100ms).toBe(3);
    expect(f.peakInFlight).toBe(3);
    expect(f.minGapMs).toBe(9);
    expect(f.firstRound).toBe(1);
  });

  it('counts attempts exactly 100 ms apart in separate windows', () => {
    const attempts = [attempt(0, 1, true), attempt(100, 101, true), attempt(200, 201, true), attempt(300, 301, true)];
    expect(outageFigures(attempts, 0, 1_000).maxPer100ms).toBe(1);
  });

  it('counts every attempt in the first round when none failed', () => {
    expect(outageFigures([attempt(10, 20, false)], 0, 100)).toEqual({
      attempts: 1,
      firstRound: 1,
      maxPer100ms: 1,
      peakInFlight: 1,
      minGapMs: Number.POSITIVE_INFINITY,
    });
  });
});

describe('median', () => {
  it('is the middle value, or the mean of the middle two', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([])).toBeNaN();
  });
});
