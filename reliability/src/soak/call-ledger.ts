/**
 * The callers' own books: every acquire a caller started must settle exactly once (served or
 * rejected), and every connection a caller was handed must be given back exactly once (released or
 * destroyed, or ended by the pool). Loss is counted here, from the callers' side, not from the pool's
 * counters: a pool that drops a caller on the floor cannot hide it.
 */
export class CallLedger {
  started = 0;
  settled = 0;
  /** A call settled a second time (a callback called twice, a promise resolved after rejecting...). */
  settledTwice = 0;
  borrowed = 0;
  returned = 0;
  returnedTwice = 0;
  readonly #open = new Map<number, number>();
  #next = 0;

  /** A caller starts an acquire; returns its id. */
  start(): number {
    this.started++;
    const id = ++this.#next;
    this.#open.set(id, performance.now());
    return id;
  }

  /** The acquire `id` settled (either way). */
  settle(id: number): void {
    if (!this.#open.delete(id)) {
      this.settledTwice++;
      return;
    }
    this.settled++;
  }

  /** A caller got a connection. Returns a function to call when it gives it back. */
  borrow(): () => void {
    this.borrowed++;
    let done = false;
    return () => {
      if (done) {
        this.returnedTwice++;
        return;
      }
      done = true;
      this.returned++;
    };
  }

  /** Acquires that have not settled. */
  get unsettled(): number {
    return this.#open.size;
  }

  /** Unsettled acquires older than `ms` (monotonic now minus start). */
  unsettledOlderThan(ms: number): number {
    const t = performance.now();
    let n = 0;
    for (const start of this.#open.values()) if (t - start > ms) n++;
    return n;
  }

  /** Connections handed to callers and not given back. */
  get outstanding(): number {
    return this.borrowed - this.returned;
  }
}
