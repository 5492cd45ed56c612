import { InvalidArgumentError } from '@pool/core';

/**
 * A small, fast, seeded pseudo-random generator (mulberry32): the same seed always gives the same
 * sequence, so a simulation or a fault schedule that failed once can be replayed exactly.
 *
 * Not for cryptography. Use it wherever a test or a demo needs "random" behaviour that is reproducible.
 *
 * @example
 * ```ts
 * const random = new SeededRandom(42);
 * random.next();        // 0 <= x < 1, the same first value for every SeededRandom(42)
 * random.chance(0.1);   // true about one time in ten
 * random.between(5, 20); // a number in [5, 20)
 * ```
 */
export class SeededRandom {
  /** The seed this generator started from. */
  readonly seed: number;
  #state: number;

  constructor(seed = 1) {
    if (typeof seed !== 'number' || !Number.isInteger(seed)) {
      throw new InvalidArgumentError('seed', seed, 'must be an integer');
    }
    this.seed = seed;
    this.#state = seed >>> 0;
  }

  /** The next number in `[0, 1)`. */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** True with probability `p` (0 never, 1 always). A `p` of 0 or 1 does not advance the sequence. */
  chance(p: number): boolean {
    if (p <= 0) return false;
    if (p >= 1) return true;
    return this.next() < p;
  }

  /** A number in `[min, max)`; `min` when the two are equal. */
  between(min: number, max: number): number {
    if (max <= min) return min;
    return min + this.next() * (max - min);
  }

  /** An integer in `[min, max]`. */
  int(min: number, max: number): number {
    return Math.floor(this.between(min, max + 1));
  }

  /** A new generator whose sequence is derived from this one (for an independent stream of decisions). */
  fork(): SeededRandom {
    return new SeededRandom(Math.floor(this.next() * 2_147_483_647));
  }
}
