/**
 * The recent throughput at each whole limit a pool ran at while it was saturated: an exponential
 * average per limit, each entry forgotten `memory` intervals after it was last measured (conditions
 * change: an entry from before another load arrived says nothing about now).
 *
 * The Gradient algorithm asks it one question: did the latency it is about to answer buy throughput?
 * (The "lower the limit when latency rises *without throughput gain*".)
 */
export class ThroughputByLimit {
  readonly memory: number;
  readonly #weight: number;
  readonly #entries = new Map<number, { throughput: number; interval: number }>();
  #interval = 0;

  /**
   * @param memory intervals after which an entry no longer counts
   * @param weight weight of a new measurement in a limit's average (0 to 1)
   */
  constructor(memory: number, weight = 0.3) {
    this.memory = memory;
    this.#weight = weight;
  }

  /** Counts one judged interval (whether or not it is recorded): entries age by intervals. */
  tick(): void {
    this.#interval++;
    for (const [limit, e] of this.#entries) if (this.#interval - e.interval > this.memory) this.#entries.delete(limit);
  }

  /** Records the throughput (borrows ended per second) of an interval the pool ran saturated at `limit`. */
  record(limit: number, throughput: number): void {
    const e = this.#entries.get(limit);
    if (e === undefined) this.#entries.set(limit, { throughput, interval: this.#interval });
    else {
      e.throughput += this.#weight * (throughput - e.throughput);
      e.interval = this.#interval;
    }
  }

  /** The average throughput at `limit`, if measured recently. */
  at(limit: number): number | undefined {
    return this.#entries.get(limit)?.throughput;
  }

  /**
   * The best recent throughput at a limit in `[from, below)`; when none was measured there, the one at
   * the nearest lower limit measured (what lowering the limit is known to give up to). `undefined` when
   * no lower limit was measured recently.
   */
  bestBelow(below: number, from: number): number | undefined {
    let best: number | undefined;
    let nearest: { limit: number; throughput: number } | undefined;
    for (const [limit, e] of this.#entries) {
      if (limit >= below) continue;
      if (limit >= from && (best === undefined || e.throughput > best)) best = e.throughput;
      if (nearest === undefined || limit > nearest.limit) nearest = { limit, throughput: e.throughput };
    }
    return best ?? nearest?.throughput;
  }
}
