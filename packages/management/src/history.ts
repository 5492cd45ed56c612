import { InvalidConfigError } from '@pool/core';

/** Options of the server-side history the dashboard's charts are drawn from. */
export interface HistoryOptions {
  /** How far back the history reaches, in ms. Default `900000` (15 minutes). 60000 to 86400000. */
  windowMs?: number;
  /** How often each pool is sampled, in ms. Default `5000`. 100 to 600000, and at most 10000 samples per window. */
  intervalMs?: number;
}

/** One sample of one pool (what `GET /overview` returns in `history`). */
export interface HistoryPoint {
  /** Epoch ms. */
  t: number;
  active: number;
  idle: number;
  /** Callers waiting, in every queue. */
  waiting: number;
  /** Wait percentiles over the monitor's window at that moment, or `null` without a monitor. */
  p50: number | null;
  p95: number | null;
  p99: number | null;
  /** Acquisitions per second since the previous sample (`null` for the first). */
  rate: number | null;
  /** Failed acquisitions since the previous sample (`null` for the first). */
  failures: number | null;
}

const COLUMNS = ['t', 'active', 'idle', 'waiting', 'p50', 'p95', 'p99', 'rate', 'failures'] as const;
type Columns = Record<(typeof COLUMNS)[number], Float64Array>;

/** Checks history options; returns the window and the interval. */
export function checkHistoryOptions(value: unknown): { windowMs: number; intervalMs: number } {
  if (value === undefined || value === true) return { windowMs: 900_000, intervalMs: 5_000 };
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new InvalidConfigError('history', value, 'must be { windowMs?, intervalMs? }');
  }
  for (const key of Object.keys(value)) {
    if (key !== 'windowMs' && key !== 'intervalMs')
      throw new InvalidConfigError(`history.${key}`, '[value]', 'is not a history option; known: windowMs, intervalMs');
  }
  const { windowMs = 900_000, intervalMs = 5_000 } = value as HistoryOptions;
  if (typeof windowMs !== 'number' || !Number.isInteger(windowMs) || windowMs < 60_000 || windowMs > 86_400_000) {
    throw new InvalidConfigError('history.windowMs', windowMs, 'must be an integer number of milliseconds between 60000 and 86400000');
  }
  if (typeof intervalMs !== 'number' || !Number.isInteger(intervalMs) || intervalMs < 100 || intervalMs > 600_000) {
    throw new InvalidConfigError('history.intervalMs', intervalMs, 'must be an integer number of milliseconds between 100 and 600000');
  }
  if (windowMs / intervalMs > 10_000) {
    throw new InvalidConfigError(
      'history.intervalMs',
      intervalMs,
      `must be at least windowMs / 10000 (${Math.ceil(windowMs / 10_000)} ms)`,
    );
  }
  return { windowMs, intervalMs };
}

/**
 * A pool's recent history in constant memory: a ring of `ceil(windowMs / intervalMs)` samples, one
 * column per figure (`Float64Array`s, `NaN` for a figure that was not known), the oldest overwritten.
 */
export class PoolHistory {
  readonly capacity: number;
  /** The cumulative counters at the newest sample (rates are differences from them). */
  counts: { acquired: number; failed: number } | null = null;
  readonly #columns: Columns;
  #next = 0;
  #size = 0;

  constructor(windowMs: number, intervalMs: number) {
    this.capacity = Math.ceil(windowMs / intervalMs) + 1;
    this.#columns = Object.fromEntries(COLUMNS.map((c) => [c, new Float64Array(this.capacity)])) as Columns;
  }

  push(point: HistoryPoint): void {
    for (const c of COLUMNS) this.#columns[c][this.#next] = point[c] ?? Number.NaN;
    this.#next = (this.#next + 1) % this.capacity;
    if (this.#size < this.capacity) this.#size++;
  }

  get size(): number {
    return this.#size;
  }

  /** The samples, oldest first. */
  points(): HistoryPoint[] {
    const out: HistoryPoint[] = [];
    for (let k = this.#size; k >= 1; k--) out.push(this.#at((this.#next - k + this.capacity) % this.capacity));
    return out;
  }

  /** The newest sample, if any. */
  latest(): HistoryPoint | undefined {
    return this.#size === 0 ? undefined : this.#at((this.#next - 1 + this.capacity) % this.capacity);
  }

  #at(i: number): HistoryPoint {
    const c = this.#columns;
    const v = (col: Float64Array): number | null => (Number.isNaN(col[i] as number) ? null : (col[i] as number));
    return {
      t: c.t[i] as number,
      active: c.active[i] as number,
      idle: c.idle[i] as number,
      waiting: c.waiting[i] as number,
      p50: v(c.p50),
      p95: v(c.p95),
      p99: v(c.p99),
      rate: v(c.rate),
      failures: v(c.failures),
    };
  }
}
