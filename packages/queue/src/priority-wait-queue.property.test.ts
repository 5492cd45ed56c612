import { QUEUE_PRIORITIES, type QueuePriority, type Waiter, type WaiterExit } from '@pool/core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PriorityWaitQueue } from './priority-wait-queue.js';

type Op =
  | { kind: 'enqueue'; priority: QueuePriority }
  | { kind: 'dequeue' }
  | { kind: 'remove'; pick: number; reason: WaiterExit }
  | { kind: 'removeGone'; pick: number }
  | { kind: 'requeue' };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('enqueue' as const), priority: fc.constantFrom(...QUEUE_PRIORITIES) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('dequeue' as const) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('remove' as const),
      pick: fc.nat(),
      reason: fc.constantFrom<WaiterExit>('timeout', 'abort', 'failed', 'closed'),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('removeGone' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('requeue' as const) }) },
);

function fakeWaiter(id: number, priority: QueuePriority): Waiter {
  return {
    id,
    priority,
    enqueuedAt: performance.now(),
    deadline: Number.POSITIVE_INFINITY,
    context: undefined,
    owner: undefined,
    label: undefined,
    prev: null,
    next: null,
    queueData: undefined,
    settled: false,
    fail: () => false,
  };
}

describe('PriorityWaitQueue (model-based)', () => {
  it('matches a simple model of four FIFO lines under any sequence of operations', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        const queue = new PriorityWaitQueue();
        const model: Waiter[][] = [[], [], [], []];
        const gone: Waiter[] = [];
        const counts = { enqueued: 0, dequeued: 0, removed: { timeout: 0, abort: 0, failed: 0, closed: 0 } as Record<WaiterExit, number> };
        let lastDequeued: Waiter | undefined;
        let nextId = 0;
        const level = (w: Waiter) => QUEUE_PRIORITIES.indexOf(w.priority);
        for (const o of ops) {
          switch (o.kind) {
            case 'enqueue': {
              const w = fakeWaiter(++nextId, o.priority);
              queue.enqueue(w);
              model[level(w)]?.push(w);
              counts.enqueued++;
              break;
            }
            case 'dequeue': {
              const expected = model.find((line) => line.length > 0)?.shift();
              const got = queue.dequeue();
              expect(got).toBe(expected);
              if (got !== undefined) {
                counts.dequeued++;
                lastDequeued = got;
              }
              break;
            }
            case 'remove': {
              const all = model.flat();
              if (all.length === 0) break;
              const w = all[o.pick % all.length] as Waiter;
              const line = model[level(w)] as Waiter[];
              line.splice(line.indexOf(w), 1);
              expect(queue.remove(w, o.reason)).toBe(true);
              counts.removed[o.reason]++;
              gone.push(w);
              if (lastDequeued === w) lastDequeued = undefined;
              break;
            }
            case 'removeGone': {
              if (gone.length === 0) break;
              expect(queue.remove(gone[o.pick % gone.length] as Waiter, 'abort')).toBe(false);
              break;
            }
            case 'requeue': {
              if (lastDequeued === undefined) break;
              queue.requeue(lastDequeued);
              model[level(lastDequeued)]?.unshift(lastDequeued);
              counts.dequeued--;
              lastDequeued = undefined;
              break;
            }
          }
          expect(queue.size).toBe(model.flat().length);
          expect([...queue.values()]).toEqual(model.flat());
        }
        const s = queue.statistics();
        expect(s.currentSize).toBe(queue.size);
        expect(s.totalEnqueued).toBe(counts.enqueued);
        expect(s.totalDequeued).toBe(counts.dequeued);
        expect([s.totalTimedOut, s.totalCancelled, s.totalFailed, s.totalClosed]).toEqual([
          counts.removed.timeout,
          counts.removed.abort,
          counts.removed.failed,
          counts.removed.closed,
        ]);
        QUEUE_PRIORITIES.forEach((p, i) => {
          const b = s.byPriority[p];
          expect(b.currentSize).toBe(model[i]?.length);
          expect(b.totalEnqueued).toBe(
            b.currentSize + b.totalDequeued + b.totalTimedOut + b.totalCancelled + b.totalFailed + b.totalClosed,
          );
          expect(queue.levelSize(p)).toBe(model[i]?.length);
        });
      }),
      { numRuns: 300 },
    );
  });
});
