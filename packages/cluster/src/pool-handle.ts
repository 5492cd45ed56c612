import type { ConnectionPool, PoolEventMap } from '@pool/core';

/**
 * @internal The budget's hold on one attached pool: closes surplus idle connections and caps the
 * pool's size (through `resize`, core's public API) while the budget needs it smaller, then gives the
 * owner's sizes back.
 *
 * Two reasons can cap a pool at once: shedding (it holds connections the budget did not grant, kept
 * until the excess is gone) and a fair-sharing hold (for `shrinkHoldMs`). The lower cap wins.
 */
export class PoolHandle<C = unknown> {
  readonly pool: ConnectionPool<C>;
  /** The sizes the pool's owner wants (updated when they call `resize` themselves). */
  #userMin: number;
  #userMax: number;
  #shedTarget: number | null = null;
  #holdTarget: number | null = null;
  #holdTimer: ReturnType<typeof setTimeout> | undefined;
  #applied: number | null = null;
  #ours = false;
  readonly #onResize: (e: PoolEventMap<C>['resize']) => void;

  constructor(pool: ConnectionPool<C>) {
    this.pool = pool;
    this.#userMin = pool.config.minSize;
    this.#userMax = pool.config.maxSize;
    this.#onResize = (e) => {
      if (this.#ours) return;
      // The owner resized: those are the sizes to give back, and a cap in force stays in force.
      this.#userMin = e.minSize;
      this.#userMax = e.maxSize;
      if (this.#applied !== null) {
        this.#applied = null;
        this.#apply();
      }
    };
    pool.on('resize', this.#onResize);
  }

  /** The owner's minimum size. */
  get minSize(): number {
    return this.#userMin;
  }

  /** The cap in force, or null. */
  get cap(): number | null {
    return this.#applied;
  }

  #open(): boolean {
    return this.pool.state === 'open';
  }

  #resize(sizes: { minSize?: number; maxSize?: number }): void {
    this.#ours = true;
    try {
      this.pool.resize(sizes);
    } finally {
      this.#ours = false;
    }
  }

  /**
   * Closes up to `count` idle connections (oldest first), never going below the owner's `minSize`.
   * Returns how many it closed. Needs no cap: the pool keeps its sizes.
   */
  closeIdle(count: number): number {
    if (!this.#open()) return 0;
    const s = this.pool.size();
    const cfg = this.pool.config;
    const k = Math.min(count, s.idle, s.total - this.#userMin);
    if (k <= 0) return 0;
    if (k === s.total) return this.pool.evictIdle(); // every connection is idle and minSize is 0
    // resize() closes idle connections, oldest first, while the pool holds more than maxSize; giving the
    // maximum back at once means nothing borrowed is retired and nothing is reopened (total - k >= minSize).
    const max = cfg.maxSize;
    this.#resize({ maxSize: s.total - k });
    this.#resize({ maxSize: max });
    return s.total - this.pool.size().total;
  }

  /** Caps the pool at `target` connections until {@link unshed}: idle ones above close now, borrowed ones when released. */
  shed(target: number): void {
    this.#shedTarget = Math.max(0, target);
    this.#apply();
  }

  /** Lifts the shedding cap. */
  unshed(): void {
    if (this.#shedTarget === null) return;
    this.#shedTarget = null;
    this.#apply();
  }

  /** True while a shedding cap is in force. */
  get shedding(): boolean {
    return this.#shedTarget !== null;
  }

  /** Caps the pool at `target` connections for `ms` (fair sharing). */
  hold(target: number, ms: number): void {
    this.#holdTarget = Math.max(0, target);
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#holdTimer = setTimeout(() => {
      this.#holdTimer = undefined;
      this.#holdTarget = null;
      this.#apply();
    }, ms);
    this.#holdTimer.unref?.();
    this.#apply();
  }

  #apply(): void {
    if (!this.#open()) return;
    const targets = [this.#shedTarget, this.#holdTarget].filter((t): t is number => t !== null);
    if (targets.length === 0) {
      if (this.#applied !== null) {
        this.#applied = null;
        this.#resize({ minSize: this.#userMin, maxSize: this.#userMax });
      }
      return;
    }
    const target = Math.min(...targets);
    const cap = Math.max(1, Math.min(target, this.#userMax));
    this.#applied = target;
    this.#resize({ minSize: Math.min(this.#userMin, cap), maxSize: cap });
    // A pool cannot be resized to 0: close everything idle and retire the borrowed as they come back.
    if (target === 0) this.pool.evictIdle();
  }

  /** Gives the owner's sizes back and stops listening. */
  detach(): void {
    if (this.#holdTimer !== undefined) clearTimeout(this.#holdTimer);
    this.#holdTimer = undefined;
    this.#shedTarget = null;
    this.#holdTarget = null;
    this.pool.off('resize', this.#onResize);
    if (this.#applied !== null && this.#open()) {
      this.#applied = null;
      this.#resize({ minSize: this.#userMin, maxSize: this.#userMax });
    }
    this.#applied = null;
  }
}
