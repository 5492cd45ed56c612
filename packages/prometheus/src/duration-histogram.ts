import type { CumulativeHistogram } from '@pool/monitoring';
import { Histogram, type MetricObjectWithValues, type MetricValueWithName } from 'prom-client';

/** One labelled series of a {@link DurationHistogram}: a pool and its cumulative histogram. */
export interface DurationSeries {
  poolName: string;
  histogram: CumulativeHistogram;
}

type Exported = MetricObjectWithValues<MetricValueWithName<'pool_name'>>;

/**
 * A prom-client `Histogram` whose buckets are read, on scrape, from `@pool/monitoring`'s cumulative
 * HdrHistograms instead of being incremented per observation: the pool's hot path pays nothing for
 * it. It registers like any prom-client metric and renders through the registry's own formatter (text
 * or OpenMetrics). Bucket counts have the monitor's histogram precision (1% by default).
 * @internal
 */
export class DurationHistogram extends Histogram<'pool_name'> {
  readonly #name: string;
  readonly #help: string;
  readonly #bounds: readonly number[];
  readonly #boundsMs: readonly number[];
  readonly #read: () => readonly DurationSeries[];

  constructor(name: string, help: string, bucketsSeconds: readonly number[], read: () => readonly DurationSeries[]) {
    super({ name, help, labelNames: ['pool_name'], buckets: [...bucketsSeconds], registers: [], aggregator: 'sum' });
    this.#name = name;
    this.#help = help;
    this.#bounds = bucketsSeconds;
    this.#boundsMs = bucketsSeconds.map((s) => s * 1000);
    this.#read = read;
  }

  override async get(): Promise<Exported> {
    return this.#export();
  }

  /** What prom-client's registry renders text from (same data as {@link get}). */
  async getForPromString(): Promise<Exported> {
    return this.#export();
  }

  #export(): Exported {
    const name = this.#name;
    const values: Record<string, unknown>[] = [];
    for (const { poolName, histogram } of this.#read()) {
      const counts = histogram.countsAtOrBelow(this.#boundsMs);
      this.#bounds.forEach((le, i) => {
        values.push({ labels: { pool_name: poolName, le }, value: counts[i], metricName: `${name}_bucket` });
      });
      values.push({ labels: { pool_name: poolName, le: '+Inf' }, value: histogram.count, metricName: `${name}_bucket` });
      values.push({ labels: { pool_name: poolName }, value: histogram.sumMs / 1000, metricName: `${name}_sum` });
      values.push({ labels: { pool_name: poolName }, value: histogram.count, metricName: `${name}_count` });
    }
    return { name, help: this.#help, type: 'histogram', values, aggregator: 'sum' } as unknown as Exported;
  }
}
