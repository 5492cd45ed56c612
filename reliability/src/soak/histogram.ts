/**
 * A constant-memory latency histogram: logarithmic buckets 2% wide from 1 µs to about 30 minutes, so a
 * soak of any length records every wait without growing. Percentiles are accurate to one bucket (2%).
 */
export class LogHistogram {
  static readonly #GROWTH = 1.02;
  static readonly #MIN_MS = 0.001;
  static readonly #BUCKETS = 1_100;
  readonly #counts = new Float64Array(LogHistogram.#BUCKETS + 1);
  #count = 0;
  #max = 0;

  /** Records one value in milliseconds (negative values count as 0). */
  record(ms: number): void {
    const v = Math.max(0, ms);
    const i =
      v <= LogHistogram.#MIN_MS
        ? 0
        : Math.min(LogHistogram.#BUCKETS, 1 + Math.floor(Math.log(v / LogHistogram.#MIN_MS) / Math.log(LogHistogram.#GROWTH)));
    (this.#counts[i] as number)++;
    this.#count++;
    if (v > this.#max) this.#max = v;
  }

  get count(): number {
    return this.#count;
  }

  get maxMs(): number {
    return this.#max;
  }

  /** The value at percentile `p` (0-100), in ms: the upper edge of its bucket, capped at the maximum seen. */
  percentileMs(p: number): number {
    if (this.#count === 0) return 0;
    const rank = Math.ceil((p / 100) * this.#count);
    let seen = 0;
    for (let i = 0; i < this.#counts.length; i++) {
      seen += this.#counts[i] as number;
      if (seen >= rank) {
        const upper = i === 0 ? LogHistogram.#MIN_MS : LogHistogram.#MIN_MS * LogHistogram.#GROWTH ** i;
        return Math.min(upper, this.#max);
      }
    }
    return this.#max;
  }
}
