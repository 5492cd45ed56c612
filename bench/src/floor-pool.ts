/** What the floor needs to open and close items when it has to (it never validates, times out or resets). */
export interface FloorFactory<T> {
  create(): Promise<T>;
  destroy(item: T): unknown;
}

interface FloorWaiter<T> {
  resolve: (item: T) => void;
  reject: (error: unknown) => void;
}

/**
 * The "floor": the least a correct asynchronous pool can do. A stack of idle items and a FIFO list of
 * waiters, nothing else: no timeouts, no validation, no events, no counters, no argument checks. An
 * acquire with an idle item costs one resolved promise; a release hands the item straight to the
 * oldest waiter. Every other pool in the benchmark is compared to it: the gap is what features cost.
 *
 * Items are created lazily, up to `max`, only when a caller has to wait.
 */
export class FloorPool<T> {
  readonly #idle: T[] = [];
  /** Waiters from `#head` to the end, oldest first; the consumed prefix is dropped in bulk. */
  #waiters: (FloorWaiter<T> | undefined)[] = [];
  #head = 0;
  #size = 0;
  readonly #max: number;
  readonly #factory: FloorFactory<T>;

  constructor(factory: FloorFactory<T>, max: number) {
    if (!Number.isInteger(max) || max < 1) throw new RangeError(`max must be an integer of at least 1, got ${max}`);
    this.#factory = factory;
    this.#max = max;
  }

  /** Items open (idle or lent) or being created. */
  get size(): number {
    return this.#size;
  }

  /** Idle items. */
  get idle(): number {
    return this.#idle.length;
  }

  /** Callers waiting. */
  get waiting(): number {
    return this.#waiters.length - this.#head;
  }

  /** Opens `n` items (within `max`) and makes them idle. */
  async fill(n: number): Promise<void> {
    const runs: Promise<void>[] = [];
    for (let i = 0; i < n && this.#size < this.#max; i++) {
      this.#size++;
      runs.push(this.#factory.create().then((item) => this.release(item)));
    }
    await Promise.all(runs);
  }

  acquire(): Promise<T> {
    const item = this.#idle.pop();
    if (item !== undefined) return Promise.resolve(item);
    return new Promise<T>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
      if (this.#size < this.#max) this.#grow();
    });
  }

  /** Gives an item back: to the oldest waiter if there is one, else onto the idle stack. */
  release(item: T): void {
    const w = this.#shift();
    if (w !== undefined) w.resolve(item);
    else this.#idle.push(item);
  }

  /** Closes a lent item instead of returning it; opens a replacement if someone is waiting. */
  destroy(item: T): void {
    this.#size--;
    this.#factory.destroy(item);
    if (this.waiting > 0) this.#grow();
  }

  #grow(): void {
    this.#size++;
    this.#factory.create().then(
      (item) => this.release(item),
      (error: unknown) => {
        this.#size--;
        this.#shift()?.reject(error);
      },
    );
  }

  #shift(): FloorWaiter<T> | undefined {
    if (this.#head === this.#waiters.length) return undefined;
    const w = this.#waiters[this.#head];
    this.#waiters[this.#head++] = undefined;
    if (this.#head === this.#waiters.length) {
      this.#waiters.length = 0;
      this.#head = 0;
    } else if (this.#head >= 1024 && this.#head * 2 >= this.#waiters.length) {
      this.#waiters = this.#waiters.slice(this.#head);
      this.#head = 0;
    }
    return w;
  }
}
