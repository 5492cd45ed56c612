/** One point of the limit over time. */
export interface LimitPoint {
  /** Seconds since the start of the run. */
  t: number;
  limit: number;
  /** Queries per second over the last sampling period. */
  throughput: number;
}

/**
 * An SVG line chart of the adaptive limit (left axis) and throughput (right axis) over time, with the
 * second load's period shaded. Hand-written SVG: no dependency, readable in any browser and on GitHub.
 */
export function limitChartSvg(points: readonly LimitPoint[], load: { from: number; to: number }, title: string): string {
  const W = 760;
  const H = 320;
  const m = { l: 50, r: 60, t: 36, b: 40 };
  const tMax = Math.max(1, ...points.map((p) => p.t));
  const lMax = Math.max(4, ...points.map((p) => p.limit)) * 1.15;
  const qMax = Math.max(1, ...points.map((p) => p.throughput)) * 1.15;
  const x = (t: number) => m.l + (t / tMax) * (W - m.l - m.r);
  const yL = (v: number) => H - m.b - (v / lMax) * (H - m.t - m.b);
  const yQ = (v: number) => H - m.b - (v / qMax) * (H - m.t - m.b);
  const step = (pts: readonly LimitPoint[]) =>
    pts
      .map((p, i) => (i === 0 ? `M${x(p.t).toFixed(1)},${yL(p.limit).toFixed(1)}` : `H${x(p.t).toFixed(1)}V${yL(p.limit).toFixed(1)}`))
      .join('');
  const line = (pts: readonly LimitPoint[]) =>
    pts.map((p, i) => `${i === 0 ? 'M' : 'L'}${x(p.t).toFixed(1)},${yQ(p.throughput).toFixed(1)}`).join('');
  const ticks: string[] = [];
  for (let t = 0; t <= tMax; t += 10) {
    ticks.push(
      `<line x1="${x(t)}" x2="${x(t)}" y1="${H - m.b}" y2="${H - m.b + 4}" stroke="#333"/><text x="${x(t)}" y="${H - m.b + 16}" text-anchor="middle">${t}</text>`,
    );
  }
  const lStep = Math.max(1, Math.ceil(lMax / 6));
  for (let v = 0; v <= lMax; v += lStep) {
    ticks.push(
      `<line x1="${m.l - 4}" x2="${W - m.r}" y1="${yL(v)}" y2="${yL(v)}" stroke="#eee"/><text x="${m.l - 8}" y="${yL(v) + 4}" text-anchor="end">${v}</text>`,
    );
  }
  const qStep = Math.max(1, Math.ceil(qMax / 6 / 50) * 50);
  for (let v = 0; v <= qMax; v += qStep) {
    ticks.push(`<text x="${W - m.r + 8}" y="${yQ(v) + 4}" fill="#999">${v}</text>`);
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="sans-serif" font-size="11">
<rect width="${W}" height="${H}" fill="#fff"/>
<text x="${W / 2}" y="18" text-anchor="middle" font-size="13">${escapeXml(title)}</text>
<rect x="${x(load.from)}" y="${m.t}" width="${x(load.to) - x(load.from)}" height="${H - m.t - m.b}" fill="#f4d7d7"/>
<text x="${(x(load.from) + x(load.to)) / 2}" y="${m.t + 14}" text-anchor="middle" fill="#a33">second load on the database</text>
${ticks.join('\n')}
<line x1="${m.l}" x2="${W - m.r}" y1="${H - m.b}" y2="${H - m.b}" stroke="#333"/>
<line x1="${m.l}" x2="${m.l}" y1="${m.t}" y2="${H - m.b}" stroke="#333"/>
<path d="${line(points)}" fill="none" stroke="#9bb" stroke-width="1"/>
<path d="${step(points)}" fill="none" stroke="#1565c0" stroke-width="2.5"/>
<text x="${W / 2}" y="${H - 6}" text-anchor="middle">seconds</text>
<text x="14" y="${H / 2}" text-anchor="middle" transform="rotate(-90 14 ${H / 2})" fill="#1565c0">adaptive limit (connections)</text>
<text x="${W - 12}" y="${H / 2}" text-anchor="middle" transform="rotate(90 ${W - 12} ${H / 2})" fill="#699">throughput (queries/s)</text>
</svg>
`;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
