import { now } from './clock.js';

/** An entry a {@link DeadlineQueue} can hold. The `dl*` fields belong to the queue. */
export interface DeadlineEntry {
  /** Set by {@link DeadlineQueue.add}: when the entry expires (monotonic ms). */
  deadline: number;
  dlPrev: DeadlineEntry | null;
  dlNext: DeadlineEntry | null;
  dlLane: unknown;
}

/** How many distinct timeouts keep their lane while empty (beyond it, an emptied lane is dropped). */
const MAX_RETAINED_LANES = 16;

interface Lane {
  readonly key: number;
  head: DeadlineEntry | null;
  tail: DeadlineEntry | null;
  heapIndex: number;
}

/**
 * Many deadlines, one timer. Entries are grouped in lanes by their timeout (whole milliseconds); within
 * a lane deadlines arrive in order, so a lane is a linked list whose head expires first, and a small
 * heap over the lanes' heads finds the earliest. With one common timeout (the usual case) add and
 * remove are O(1); with k distinct timeouts they are O(log k). Exactly one timer is armed, for the
 * earliest deadline, and none when the queue is empty.
 *
 * Used by the pool for acquire timeouts and reusable by extensions that keep their own waiters.
 */
export class DeadlineQueue<T extends DeadlineEntry> {
  readonly #lanes = new Map<number, Lane>();
  readonly #heap: Lane[] = [];
  readonly #onExpire: (entry: T) => void;
  readonly #unref: boolean;
  /** The lane used last: with one common timeout, every add hits it without a Map lookup. */
  #lastLane: Lane | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #armedFor = Number.POSITIVE_INFINITY;
  /** Whether the armed timer currently keeps the process alive. */
  #holding = false;
  /** A continuation of an expiry pass that yielded (many entries were due at once). */
  #continuation: ReturnType<typeof setImmediate> | undefined;
  #size = 0;

  /**
   * @param onExpire called once per entry whose deadline passed, after it was removed.
   * @param options.unref let the process exit while entries wait (default false: a waiting caller is live work).
   */
  constructor(onExpire: (entry: T) => void, options: { unref?: boolean } = {}) {
    this.#onExpire = onExpire;
    this.#unref = options.unref ?? false;
  }

  get size(): number {
    return this.#size;
  }

  /** Schedules `entry` to expire `timeoutMs` from now (rounded up to whole ms); returns its deadline. */
  add(entry: T, timeoutMs: number, start: number = now()): number {
    const key = Math.ceil(timeoutMs);
    const deadline = start + key;
    entry.deadline = deadline;
    let lane = this.#lastLane;
    if (lane === undefined || lane.key !== key || lane.heapIndex < 0) {
      lane = this.#lanes.get(key);
      if (lane === undefined) {
        lane = { key, head: null, tail: null, heapIndex: -1 };
        this.#lanes.set(key, lane);
      }
      this.#lastLane = lane;
    }
    entry.dlLane = lane;
    entry.dlNext = null;
    entry.dlPrev = lane.tail;
    if (lane.tail === null) {
      lane.head = entry;
      lane.tail = entry;
      this.#heapPush(lane);
    } else if (lane.tail.deadline <= deadline) {
      lane.tail.dlNext = entry;
      lane.tail = entry;
    } else {
      // An earlier `start` than the lane's tail (a caller-supplied start): insert in order.
      let at: DeadlineEntry | null = lane.tail;
      while (at !== null && at.deadline > deadline) at = at.dlPrev;
      this.#insertAfter(lane, at, entry);
    }
    this.#size++;
    if (deadline < this.#armedFor) this.#arm(deadline);
    else if (!this.#unref && !this.#holding) this.#hold(true);
    return deadline;
  }

  /** Removes `entry`; false when it was not scheduled. */
  remove(entry: T): boolean {
    const lane = entry.dlLane as Lane | null | undefined;
    if (lane === null || lane === undefined) return false;
    const wasHead = lane.head === entry;
    if (entry.dlPrev === null) lane.head = entry.dlNext;
    else entry.dlPrev.dlNext = entry.dlNext;
    if (entry.dlNext === null) lane.tail = entry.dlPrev;
    else entry.dlNext.dlPrev = entry.dlPrev;
    entry.dlPrev = null;
    entry.dlNext = null;
    entry.dlLane = null;
    this.#size--;
    if (lane.head === null) {
      this.#heapRemove(lane);
      // Keep an emptied lane for its timeout's next entry (a pool that validates or resets on every
      // borrow empties and refills its lanes each time); forget it only when many timeouts are in use.
      if (this.#lanes.size > MAX_RETAINED_LANES) this.#lanes.delete(lane.key);
    } else if (wasHead && this.#heap.length > 1) {
      this.#siftDown(lane.heapIndex);
    }
    // Emptied: leave the timer armed (a queue that empties after every operation would otherwise arm and
    // clear a timer each time, which costs more than the operation) but stop it holding the process.
    if (this.#size === 0 && this.#holding) this.#hold(false);
    return true;
  }

  /** Stops the timer and forgets every entry without expiring them. */
  clear(): void {
    for (const lane of this.#heap) {
      let e = lane.head;
      while (e !== null) {
        const next: DeadlineEntry | null = e.dlNext;
        e.dlPrev = null;
        e.dlNext = null;
        e.dlLane = null;
        e = next;
      }
    }
    this.#heap.length = 0;
    this.#lanes.clear();
    this.#size = 0;
    this.#disarm();
  }

  #insertAfter(lane: Lane, at: DeadlineEntry | null, entry: DeadlineEntry): void {
    entry.dlPrev = at;
    entry.dlNext = at === null ? lane.head : at.dlNext;
    if (entry.dlNext === null) lane.tail = entry;
    else entry.dlNext.dlPrev = entry;
    if (at === null) {
      lane.head = entry;
      this.#siftUp(lane.heapIndex);
    } else at.dlNext = entry;
  }

  #fire = (): void => {
    this.#timer = undefined;
    this.#holding = false;
    this.#armedFor = Number.POSITIVE_INFINITY;
    const start = now();
    // A timer may fire up to a millisecond early against performance.now(); treat that as due.
    const due = start + 1;
    let expired = 0;
    for (;;) {
      const lane = this.#heap[0];
      if (lane === undefined || lane.head === null || lane.head.deadline > due) break;
      const entry = lane.head as T;
      this.remove(entry);
      this.#onExpire(entry);
      // Many entries due at once: expire them in slices of about a millisecond and yield in between,
      // so what each expiry scheduled (a caller's rejection handler) runs now, not after the last one.
      if (++expired % 128 === 0 && now() - start >= 1) {
        if (this.#size > 0) this.#continue();
        return;
      }
    }
    const next = this.#heap[0]?.head;
    if (next != null) this.#arm(next.deadline);
  };

  /** Resumes expiring right after the microtasks the last slice scheduled (not after a 1 ms timer). */
  #continue(): void {
    this.#armedFor = Number.NEGATIVE_INFINITY; // adds need not arm: the continuation handles every due entry
    this.#continuation = setImmediate(() => {
      this.#continuation = undefined;
      this.#fire();
    });
    if (this.#unref) this.#continuation.unref?.();
  }

  #arm(deadline: number): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#armedFor = deadline;
    this.#timer = setTimeout(this.#fire, Math.max(0, Math.ceil(deadline - now())));
    this.#holding = true;
    if (this.#unref) this.#hold(false);
  }

  #hold(hold: boolean): void {
    const timer = this.#timer;
    if (timer === undefined) return;
    this.#holding = hold;
    if (hold) timer.ref?.();
    else timer.unref?.();
  }

  #disarm(): void {
    if (this.#continuation !== undefined) clearImmediate(this.#continuation);
    this.#continuation = undefined;
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#holding = false;
    this.#armedFor = Number.POSITIVE_INFINITY;
  }

  #key(i: number): number {
    return (this.#heap[i] as Lane).head?.deadline ?? Number.POSITIVE_INFINITY;
  }

  #swap(i: number, j: number): void {
    const a = this.#heap[i] as Lane;
    const b = this.#heap[j] as Lane;
    this.#heap[i] = b;
    this.#heap[j] = a;
    a.heapIndex = j;
    b.heapIndex = i;
  }

  #heapPush(lane: Lane): void {
    lane.heapIndex = this.#heap.length;
    this.#heap.push(lane);
    this.#siftUp(lane.heapIndex);
  }

  #heapRemove(lane: Lane): void {
    const i = lane.heapIndex;
    const last = this.#heap.length - 1;
    if (i !== last) this.#swap(i, last);
    this.#heap.pop();
    lane.heapIndex = -1;
    if (i < this.#heap.length) {
      this.#siftDown(i);
      this.#siftUp(i);
    }
  }

  #siftUp(i: number): void {
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (this.#key(parent) <= this.#key(i)) return;
      this.#swap(i, parent);
      i = parent;
    }
  }

  #siftDown(i: number): void {
    const n = this.#heap.length;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < n && this.#key(l) < this.#key(m)) m = l;
      if (r < n && this.#key(r) < this.#key(m)) m = r;
      if (m === i) return;
      this.#swap(i, m);
      i = m;
    }
  }
}
