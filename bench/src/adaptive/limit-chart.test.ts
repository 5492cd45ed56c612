import { describe, expect, it } from 'vitest';
import { quantile } from './closed-loop.js';
import { limitChartSvg } from './limit-chart.js';

describe('the adaptive bench helpers', () => {
  it('takes nearest-rank quantiles', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantile(values, 0.5)).toBe(50);
    expect(quantile(values, 0.99)).toBe(99);
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('draws the limit as a step line over time with the second load shaded, scaled to the data', () => {
    const points = [
      { t: 0, limit: 1, throughput: 100 },
      { t: 10, limit: 4, throughput: 400 },
      { t: 20, limit: 2, throughput: 200 },
      { t: 30, limit: 4, throughput: 400 },
    ];
    const svg = limitChartSvg(points, { from: 10, to: 20 }, 'title & more');
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('second load on the database');
    expect(svg).toContain('title &amp; more');
    // One step path: moves right (H) then vertically (V) at every point after the first.
    const step = /<path d="(M[^"]+)" fill="none" stroke="#1565c0"/.exec(svg)?.[1] ?? '';
    expect(step.match(/H/g)?.length).toBe(3);
    expect(step.match(/V/g)?.length).toBe(3);
    // The shaded band spans a third of the plot width (10 of 30 s).
    const band = /<rect x="([\d.]+)" y="\d+" width="([\d.]+)"/.exec(svg);
    expect(Number(band?.[2])).toBeCloseTo((760 - 50 - 60) / 3, 0);
  });
});
