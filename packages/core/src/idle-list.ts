/** The fields an {@link IdleList} links through; they belong to the list. */
export interface IdleEntry {
  label: string | undefined;
  /** The label the entry was indexed under when it was pushed. */
  idleLabel: string | undefined;
  idlePrev: IdleEntry | null;
  idleNext: IdleEntry | null;
  labelPrev: IdleEntry | null;
  labelNext: IdleEntry | null;
  inIdle: boolean;
}

interface Chain {
  head: IdleEntry | null;
  tail: IdleEntry | null;
}

/**
 * Idle connections, most recently released first (LIFO reuse keeps the working set warm and lets the
 * rest age out through the idle timeout), with a secondary index by label so a caller that prefers a
 * connection already prepared for it (`acquire({ label })`) finds one in O(1). Every operation is O(1).
 */
export class IdleList<T extends IdleEntry> {
  readonly #all: Chain = { head: null, tail: null };
  readonly #byLabel = new Map<string, Chain>();
  #size = 0;

  get size(): number {
    return this.#size;
  }

  push(e: T): void {
    e.inIdle = true;
    const all = this.#all;
    const head = all.head;
    e.idleNext = head;
    e.idlePrev = null;
    if (head === null) all.tail = e;
    else head.idlePrev = e;
    all.head = e;
    e.idleLabel = e.label;
    if (e.label !== undefined) {
      let chain = this.#byLabel.get(e.label);
      if (chain === undefined) {
        chain = { head: null, tail: null };
        this.#byLabel.set(e.label, chain);
      }
      e.labelNext = chain.head;
      e.labelPrev = null;
      if (chain.head === null) chain.tail = e;
      else chain.head.labelPrev = e;
      chain.head = e;
    }
    this.#size++;
  }

  /** Takes the most recently released entry, preferring one with `label` when given. */
  pop(label?: string): T | undefined {
    let e: IdleEntry | null = null;
    if (label !== undefined) e = this.#byLabel.get(label)?.head ?? null;
    if (e === null) {
      e = this.#all.head;
      if (e === null) return undefined;
      if (e.idleLabel === undefined) {
        // The head of the main chain, unlabelled: the common case, unlinked inline.
        const all = this.#all;
        const next = e.idleNext;
        all.head = next;
        if (next === null) all.tail = null;
        else next.idlePrev = null;
        e.idleNext = null;
        e.inIdle = false;
        this.#size--;
        return e as T;
      }
    }
    this.remove(e as T);
    return e as T;
  }

  /** Removes `e` if it is idle; false otherwise. */
  remove(e: T): boolean {
    if (!e.inIdle) return false;
    e.inIdle = false;
    if (e.idlePrev === null) this.#all.head = e.idleNext;
    else e.idlePrev.idleNext = e.idleNext;
    if (e.idleNext === null) this.#all.tail = e.idlePrev;
    else e.idleNext.idlePrev = e.idlePrev;
    e.idlePrev = null;
    e.idleNext = null;
    if (e.idleLabel !== undefined) {
      const chain = this.#byLabel.get(e.idleLabel) as Chain;
      if (e.labelPrev === null) chain.head = e.labelNext;
      else e.labelPrev.labelNext = e.labelNext;
      if (e.labelNext === null) chain.tail = e.labelPrev;
      else e.labelNext.labelPrev = e.labelPrev;
      if (chain.head === null) this.#byLabel.delete(e.idleLabel);
      e.labelPrev = null;
      e.labelNext = null;
      e.idleLabel = undefined;
    }
    this.#size--;
    return true;
  }

  /** Idle entries from the least recently released to the most recent (the reaping order). Safe to remove while iterating. */
  *oldestFirst(): IterableIterator<T> {
    let e = this.#all.tail;
    while (e !== null) {
      const newer: IdleEntry | null = e.idlePrev;
      yield e as T;
      e = newer;
    }
  }

  /** Idle entries carrying `label`. */
  countLabel(label: string): number {
    let n = 0;
    for (let e = this.#byLabel.get(label)?.head ?? null; e !== null; e = e.labelNext) n++;
    return n;
  }
}
