import type { RunOptions } from '../measure.js';
import type { Scenario } from '../scenario.js';
import { quantile } from '../stats.js';
import { makeAdapter, POOL_SUBJECTS, type PoolSubject } from '../subjects.js';

const MAX = 10;
const CALLERS = 2 * MAX;

/**
 * Scenario 8: twice as many callers as connections, each holding its connection for one event-loop turn
 * (`setImmediate`), so half of them always wait. Every acquire is timed; the tail (p99) shows whether
 * hand-off stays prompt and fair when the pool is saturated.
 */
export const overload: Scenario = {
  id: '8',
  title: 'Acquire latency under 2x overload',
  description:
    '20 callers over maxSize 10 (2x overload), each holding its connection for one event-loop turn (setImmediate) before releasing; latency of every acquire in µs. Its partition-flood half, a quiet tenant under a noisy one, is scenario 8b.',
  subjects: POOL_SUBJECTS,
  primary: 'p99Us',
  metrics: [
    { key: 'p99Us', label: 'p99 µs', digits: 1 },
    { key: 'p50Us', label: 'p50 µs', digits: 1 },
    { key: 'p999Us', label: 'p99.9 µs', digits: 1 },
    { key: 'maxUs', label: 'max µs', digits: 0 },
    { key: 'opsPerSec', label: 'acquires/s', digits: 0 },
  ],
  floor: 'floor',
  baseline: 'generic-pool',
  run: async (subject, opts: RunOptions) => {
    const a = await makeAdapter(subject as PoolSubject, { max: MAX });
    const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
    const runFor = async (ms: number, record: boolean): Promise<{ samples: number[]; elapsed: number }> => {
      const samples: number[] = [];
      const end = performance.now() + ms;
      const caller = async (): Promise<void> => {
        while (performance.now() < end) {
          const t0 = performance.now();
          const c = await a.acquire();
          const waited = performance.now() - t0;
          if (record) samples.push(waited * 1000);
          await turn();
          a.release(c);
        }
      };
      const start = performance.now();
      await Promise.all(Array.from({ length: CALLERS }, caller));
      return { samples, elapsed: performance.now() - start };
    };
    await runFor(opts.warmupMs, false);
    const { samples, elapsed } = await runFor(opts.timeMs, true);
    await a.close();
    return {
      p50Us: quantile(samples, 0.5),
      p99Us: quantile(samples, 0.99),
      p999Us: quantile(samples, 0.999),
      maxUs: quantile(samples, 1),
      opsPerSec: (samples.length / elapsed) * 1000,
    };
  },
};
