import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { accumulateAtOrBelow, boundIndex, DurationRecorder, DurationTotals, HIGHEST_TRACKABLE_US, HistogramLayout } from './histogram.js';

describe('HistogramLayout', () => {
  for (const digits of [1, 2, 3]) {
    it(`computes the same counts-array index as hdr-histogram-js (${digits} significant digits)`, () => {
      const layout = new HistogramLayout(digits);
      const hist = layout.newSlotHistogram();
      fc.assert(
        fc.property(fc.integer({ min: 0, max: 0x7fffffff }), (us) => {
          expect(layout.indexOf(us)).toBe(hist.countsArrayIndex(us));
        }),
        { numRuns: 5_000 },
      );
      for (let us = 0; us < 5_000; us++) expect(layout.indexOf(us)).toBe(hist.countsArrayIndex(us));
      for (let bit = 0; bit < 31; bit++) {
        for (const us of [2 ** bit - 1, 2 ** bit, 2 ** bit + 1]) {
          if (us <= 0x7fffffff) expect(layout.indexOf(us)).toBe(hist.countsArrayIndex(us));
        }
      }
    });
  }
});

describe('DurationRecorder', () => {
  it('gives percentiles within 1% at two significant digits, and the exact count, mean and max', () => {
    const layout = new HistogramLayout(2);
    const r = new DurationRecorder(layout);
    const values: number[] = [];
    for (let i = 1; i <= 10_000; i++) {
      const ms = i * 0.731;
      values.push(ms);
      r.record(ms);
    }
    const total = new DurationTotals(layout);
    total.add(r);
    const snap = total.snapshot();
    expect(snap.count).toBe(10_000);
    expect(snap.maxMs).toBe(10_000 * 0.731);
    expect(snap.meanMs).toBeCloseTo(values.reduce((a, b) => a + b, 0) / values.length, 9);
    const rank = (p: number) => values[Math.ceil((p / 100) * values.length) - 1] as number;
    for (const [key, p] of [
      ['p50', 50],
      ['p90', 90],
      ['p95', 95],
      ['p99', 99],
      ['p999', 99.9],
    ] as const) {
      expect(Math.abs(snap.percentiles[key] - rank(p)) / rank(p)).toBeLessThanOrEqual(0.01);
    }
  });

  it('counts durations longer than 35 minutes (slow path) and clamps beyond the trackable range', () => {
    const layout = new HistogramLayout(2);
    const r = new DurationRecorder(layout);
    r.record(60 * 60_000); // one hour
    r.record(30 * 24 * 3_600_000); // a month: beyond HIGHEST_TRACKABLE_US
    const total = new DurationTotals(layout);
    total.add(r);
    const snap = total.snapshot();
    expect(snap.count).toBe(2);
    expect(snap.maxMs).toBe(30 * 24 * 3_600_000);
    expect(snap.percentiles.p50).toBeGreaterThanOrEqual(3_600_000 * 0.99);
    expect(snap.percentiles.p50).toBeLessThanOrEqual(3_600_000 * 1.01);
    expect(snap.percentiles.p999).toBeLessThanOrEqual((HIGHEST_TRACKABLE_US / 1000) * 1.01);
  });

  it('ignores NaN and negative durations instead of poisoning the sums', () => {
    const r = new DurationRecorder(new HistogramLayout(2));
    r.record(Number.NaN);
    r.record(-5);
    r.record(2);
    expect(r.count).toBe(1);
    expect(r.sumMs).toBe(2);
  });

  it('reports an empty histogram as zeros', () => {
    const snap = new DurationTotals(new HistogramLayout(2)).snapshot();
    expect(snap).toEqual({ count: 0, meanMs: 0, maxMs: 0, percentiles: { p50: 0, p90: 0, p95: 0, p99: 0, p999: 0 } });
  });
});

describe('accumulateAtOrBelow', () => {
  it('counts values at or below each bound, like a Prometheus cumulative bucket', () => {
    const layout = new HistogramLayout(2);
    const r = new DurationRecorder(layout);
    const values = [0, 0.2, 0.5, 1, 2, 4.9, 5, 7, 10, 50, 100, 1000];
    for (const v of values) r.record(v);
    const bounds = [0.1, 1, 5, 10, 100, 10_000];
    const out = bounds.map(() => 0);
    accumulateAtOrBelow(
      r.hist,
      r.count,
      bounds.map((b) => boundIndex(layout, r.hist, b)),
      out,
    );
    expect(out).toEqual(bounds.map((b) => values.filter((v) => v <= b).length));
  });
});
