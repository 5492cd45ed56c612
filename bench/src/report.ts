import type { Metric } from './scenario.js';
import { pairedRatio, type Summary, summarize } from './stats.js';

/** A scenario as the report sees it (no `run`: the report never measures). */
export interface ScenarioInfo {
  id: string;
  title: string;
  description: string;
  subjects: readonly string[];
  primary: string;
  metrics: readonly Metric[];
  floor?: string;
  baseline?: string;
}

/** One subject's figures in one round; `null` when that child failed. */
export type RoundMetrics = Record<string, number> | null;

/** A metric of one subject over the rounds. */
export interface MetricSummary extends Summary {
  /** What the table shows: the median, or the worst round for `combine: 'max'` metrics. */
  value: number;
}

/** One subject of one scenario, over every round. */
export interface SubjectSummary {
  subject: string;
  /** Rounds that produced figures. */
  rounds: number;
  metrics: Record<string, MetricSummary>;
  /** Time per op relative to the floor, paired round by round (1.2 = 20% slower than the floor). */
  timeVsFloor: Summary | null;
  /** Throughput relative to the baseline, paired round by round (2.5 = 2.5 times the baseline's ops/s). */
  speedVsBaseline: Summary | null;
  errors: string[];
}

/** A scenario's results. `skipped` says why it did not run. */
export interface ScenarioResult {
  scenario: ScenarioInfo;
  skipped?: string;
  /** subject -> figures per round, in round order. */
  raw: Record<string, RoundMetrics[]>;
  errors: Record<string, string[]>;
  subjects: SubjectSummary[];
}

function series(raw: RoundMetrics[], key: string): (number | undefined)[] {
  return raw.map((r) => {
    const v = r?.[key];
    return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
  });
}

/** Turns the per-round figures of a scenario into medians, spreads and paired ratios. */
export function summarizeScenario(
  scenario: ScenarioInfo,
  raw: Record<string, RoundMetrics[]>,
  errors: Record<string, string[]> = {},
): ScenarioResult {
  const subjects: SubjectSummary[] = [];
  const primaryOf = (subject: string): (number | undefined)[] => series(raw[subject] ?? [], scenario.primary);
  for (const subject of scenario.subjects) {
    const rounds = raw[subject] ?? [];
    const metrics: Record<string, MetricSummary> = {};
    for (const m of scenario.metrics) {
      const values = series(rounds, m.key).filter((v): v is number => v !== undefined);
      if (values.length === 0) continue;
      const s = summarize(values);
      metrics[m.key] = { ...s, value: m.combine === 'max' ? s.max : s.median };
    }
    const own = primaryOf(subject);
    subjects.push({
      subject,
      rounds: rounds.filter((r) => r !== null).length,
      metrics,
      timeVsFloor: scenario.floor === undefined ? null : pairedRatio(own, primaryOf(scenario.floor)),
      speedVsBaseline: scenario.baseline === undefined ? null : pairedRatio(primaryOf(scenario.baseline), own),
      errors: errors[subject] ?? [],
    });
  }
  return { scenario, raw, errors, subjects };
}

/** Formats a number with thousands separators and `digits` decimals. */
export function fmt(value: number | undefined, digits = 0): string {
  if (value === undefined || !Number.isFinite(value)) return '—';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

function ratio(s: Summary | null): string {
  if (s === null) return '—';
  return `${s.median.toFixed(2)}×`;
}

/** The rows of a scenario's table: a header row, then one row per subject. */
export function tableRows(result: ScenarioResult): string[][] {
  const { scenario } = result;
  const primary = scenario.metrics.find((m) => m.key === scenario.primary);
  const others = scenario.metrics.filter((m) => m.key !== scenario.primary);
  const header = ['subject', `${primary?.label ?? scenario.primary} (median)`, 'spread (min–max)'];
  if (scenario.floor !== undefined) header.push(`× ${scenario.floor} (time)`);
  if (scenario.baseline !== undefined) header.push(`faster than ${scenario.baseline}`);
  for (const m of others) header.push(m.combine === 'max' ? `${m.label} (worst)` : m.label);
  const rows = [header];
  for (const s of result.subjects) {
    const p = s.metrics[scenario.primary];
    const digits = primary?.digits ?? 0;
    const row = [
      s.errors.length > 0 && s.rounds === 0 ? `${s.subject} (failed)` : s.subject,
      fmt(p?.median, digits),
      p === undefined ? '—' : `${fmt(p.min, digits)}–${fmt(p.max, digits)}`,
    ];
    if (scenario.floor !== undefined) row.push(ratio(s.timeVsFloor));
    if (scenario.baseline !== undefined) row.push(ratio(s.speedVsBaseline));
    for (const m of others) row.push(fmt(s.metrics[m.key]?.value, m.digits));
    rows.push(row);
  }
  return rows;
}

/** A GitHub-flavoured Markdown table. */
export function markdownTable(rows: string[][]): string {
  const [header, ...body] = rows;
  if (header === undefined) return '';
  const line = (cells: string[]): string => `| ${cells.join(' | ')} |`;
  const align = header.map((_, i) => (i === 0 ? ':--' : '--:'));
  return [line(header), line(align), ...body.map(line)].join('\n');
}

/** A fixed-width table for the terminal. */
export function textTable(rows: string[][]): string {
  const widths: number[] = [];
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, cell.length);
  }
  return rows
    .map((row, r) => {
      const line = row.map((cell, i) => (i === 0 ? cell.padEnd(widths[i] ?? 0) : cell.padStart(widths[i] ?? 0))).join('  ');
      return r === 0 ? `${line}\n${'-'.repeat(line.length)}` : line;
    })
    .join('\n');
}
