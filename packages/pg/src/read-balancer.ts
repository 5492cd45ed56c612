/**
 * Smooth weighted round robin (the nginx algorithm) over the hosts that may serve reads: over any run
 * of `sum(weights)` picks each host is chosen exactly `weight` times, interleaved rather than in
 * bursts, with no randomness and no allocation per pick. Weights are set whenever a host's role or
 * state changes; a weight of 0 takes a host out.
 */
export class ReadBalancer<T> {
  readonly #items: T[];
  readonly #weights: number[];
  readonly #current: number[];
  #total = 0;

  constructor(items: readonly T[]) {
    this.#items = [...items];
    this.#weights = items.map(() => 0);
    this.#current = items.map(() => 0);
  }

  /** Sets the read weight of item `index` (0: not chosen). Restarts the rotation so shares stay exact. */
  setWeight(index: number, weight: number): void {
    if (this.#weights[index] === weight) return;
    this.#weights[index] = weight;
    this.#total = this.#weights.reduce((a, b) => a + b, 0);
    this.#current.fill(0);
  }

  /** The weight of item `index`. */
  weight(index: number): number {
    return this.#weights[index] ?? 0;
  }

  /** True when some item has a weight above 0. */
  get available(): boolean {
    return this.#total > 0;
  }

  /** The next item, or `undefined` when every weight is 0. */
  pick(): T | undefined {
    if (this.#total <= 0) return undefined;
    const current = this.#current;
    const weights = this.#weights;
    let best = -1;
    let bestValue = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < current.length; i++) {
      const w = weights[i] as number;
      if (w <= 0) continue;
      const v = (current[i] as number) + w;
      current[i] = v;
      if (v > bestValue) {
        bestValue = v;
        best = i;
      }
    }
    current[best] = (current[best] as number) - this.#total;
    return this.#items[best];
  }
}
