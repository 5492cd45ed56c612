import { QUEUE_PRIORITIES, type Waiter, WaiterList, type WaitQueue } from '@pool/core';

/**
 * A bare two-line priority order for tests of the manager's injected-queue support (no starvation
 * prevention: that is `@pool/queue`'s job). Serves higher priorities first, FIFO within a priority.
 */
export class TestPriorityQueue implements WaitQueue {
  readonly #lists = QUEUE_PRIORITIES.map(() => new WaiterList());

  get size(): number {
    let n = 0;
    for (const list of this.#lists) n += list.size;
    return n;
  }

  enqueue(waiter: Waiter): void {
    const level = QUEUE_PRIORITIES.indexOf(waiter.priority);
    waiter.queueData = level;
    this.#lists[level]?.pushBack(waiter);
  }

  dequeue(): Waiter | undefined {
    for (const list of this.#lists) {
      const w = list.shift();
      if (w !== undefined) {
        w.queueData = undefined;
        return w;
      }
    }
    return undefined;
  }

  requeue(waiter: Waiter): void {
    const level = QUEUE_PRIORITIES.indexOf(waiter.priority);
    waiter.queueData = level;
    this.#lists[level]?.pushFront(waiter);
  }

  remove(waiter: Waiter): boolean {
    if (typeof waiter.queueData !== 'number') return false;
    this.#lists[waiter.queueData]?.unlink(waiter);
    waiter.queueData = undefined;
    return true;
  }

  *values(): IterableIterator<Waiter> {
    for (const list of this.#lists) yield* list.values();
  }
}
