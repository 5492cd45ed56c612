/**
 * Budget meters of a partition: a token bucket for `ioLimit` and a rolling one-minute integral of
 * held connections for `cpuLimitMs`. Both read the monotonic clock passed in (ms), so fake timers
 * drive them in tests.
 */

/** Tokens below 1 by less than this count as a whole token (float rounding on refill). */
const EPSILON = 1e-9;

/** Acquisitions per second: a token bucket with a one-second burst. */
export class TokenBucket {
  #rate: number;
  #capacity: number;
  #tokens: number;
  #at: number;

  constructor(ratePerSecond: number, t: number) {
    this.#rate = ratePerSecond;
    this.#capacity = Math.max(1, ratePerSecond);
    this.#tokens = this.#capacity;
    this.#at = t;
  }

  get rate(): number {
    return this.#rate;
  }

  #refill(t: number): void {
    if (t > this.#at) {
      this.#tokens = Math.min(this.#capacity, this.#tokens + ((t - this.#at) * this.#rate) / 1000);
      this.#at = t;
    }
  }

  /** True when one acquisition may start now. */
  available(t: number): boolean {
    this.#refill(t);
    return this.#tokens >= 1 - EPSILON;
  }

  /** Spends one token (call only after `available`). */
  take(t: number): void {
    this.#refill(t);
    this.#tokens = Math.max(0, this.#tokens - 1);
  }

  /** Milliseconds until a token is available (0 when one is). */
  delayMs(t: number): number {
    this.#refill(t);
    if (this.#tokens >= 1 - EPSILON) return 0;
    return ((1 - this.#tokens) * 1000) / this.#rate;
  }

  /** Tokens spent out of the burst (0 when the bucket is full). */
  used(t: number): number {
    this.#refill(t);
    return this.#capacity - this.#tokens;
  }

  /** Changes the rate, keeping the tokens already earned (capped to the new burst). */
  setRate(ratePerSecond: number, t: number): void {
    this.#refill(t);
    this.#rate = ratePerSecond;
    this.#capacity = Math.max(1, ratePerSecond);
    this.#tokens = Math.min(this.#tokens, this.#capacity);
  }
}

const BUCKET_MS = 1000;
const BUCKETS = 60;

/**
 * Connection-hold time in the last minute: the integral of "connections held" over a rolling window of
 * 60 one-second buckets (the current, partial one included, so the window spans 59 to 60 seconds).
 * O(1) per change; O(60) to predict when usage falls below a limit.
 */
export class HoldTimeWindow {
  readonly #buckets = new Float64Array(BUCKETS);
  #cur = 0;
  #curStart: number;
  #last: number;
  #active = 0;
  #total = 0;

  constructor(t: number) {
    this.#curStart = t;
    this.#last = t;
  }

  /** Connections currently held. */
  get active(): number {
    return this.#active;
  }

  #advance(t: number): void {
    if (t <= this.#last) return;
    let steps = 0;
    while (t >= this.#curStart + BUCKET_MS) {
      const end = this.#curStart + BUCKET_MS;
      const add = this.#active * (end - this.#last);
      this.#buckets[this.#cur] = (this.#buckets[this.#cur] as number) + add;
      this.#total += add;
      this.#last = end;
      this.#cur = (this.#cur + 1) % BUCKETS;
      this.#total -= this.#buckets[this.#cur] as number;
      this.#buckets[this.#cur] = 0;
      this.#curStart = end;
      if (++steps >= BUCKETS && t >= this.#curStart + BUCKET_MS) {
        // Every bucket now holds a full second at the current level: skipping whole seconds changes nothing.
        const skip = Math.floor((t - this.#curStart) / BUCKET_MS);
        this.#curStart += skip * BUCKET_MS;
        this.#last = this.#curStart;
      }
    }
    const add = this.#active * (t - this.#last);
    this.#buckets[this.#cur] = (this.#buckets[this.#cur] as number) + add;
    this.#total += add;
    this.#last = t;
    if (this.#total < 0) this.#total = 0;
  }

  /** One more (`+1`) or one fewer (`-1`) connection held from `t` on. */
  change(delta: number, t: number): void {
    this.#advance(t);
    this.#active += delta;
  }

  /** Hold time, in ms, within the window ending at `t`. */
  used(t: number): number {
    this.#advance(t);
    return this.#total;
  }

  /**
   * Milliseconds from `t` until usage drops below `limit`, assuming the connections held now stay held
   * (0 when it already is; `Infinity` when they alone keep it at or above the limit).
   */
  delayUntilBelow(limit: number, t: number): number {
    this.#advance(t);
    if (this.#total < limit) return 0;
    let leaving = 0;
    for (let j = 1; j < BUCKETS; j++) {
      leaving += this.#buckets[(this.#cur + j) % BUCKETS] as number;
      const boundary = this.#curStart + j * BUCKET_MS;
      if (this.#total - leaving + this.#active * (boundary - t) < limit) return boundary - t;
    }
    const last = this.#curStart + BUCKETS * BUCKET_MS;
    return this.#active * (last - this.#curStart - BUCKET_MS) < limit ? last - t : Number.POSITIVE_INFINITY;
  }

  /** The window's length in ms. */
  get windowMs(): number {
    return BUCKETS * BUCKET_MS;
  }
}
